"""What the messages earn: the holdout group against the treated customers (``baton lift``, the replay report).

Pure: the customers' outcomes in, the figures out. A customer counts when they had at least one marketing request
the holdout applies to (not transactional, not of an exempt category), in the group the holdout assigned them
(treatment or holdout, whatever became of the request). They converted when they purchased within the attribution
window after their first such request. The absolute uplift (treatment rate minus holdout rate) comes with a 95 %
confidence interval by the two-proportion normal approximation (Wald, unpooled):
``d +- z * sqrt(p1 (1 - p1) / n1 + p0 (1 - p0) / n0)``, z = 1.96. The approximation needs at least
``MIN_PER_GROUP`` customers and ``MIN_EVENTS`` conversions and as many non-conversions in each group; below that no
interval is given and ``enough`` says why.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import NormalDist
from typing import Any

DEFAULT_WINDOW = timedelta(days=7)
MIN_PER_GROUP = 30
MIN_EVENTS = 5  # conversions, and non-conversions, per group: the usual rule for the normal approximation
Z95 = NormalDist().inv_cdf(0.975)


@dataclass(frozen=True)
class CustomerOutcome:
    """One customer of the comparison: the group, the first marketing request, the purchases (time, value)."""

    customer_id: str
    held_out: bool
    first_request_at: datetime
    purchases: tuple[tuple[datetime, float | None], ...] = ()
    unsubscribed: bool = False
    complained: bool = False

    def converted(self, window: timedelta) -> tuple[bool, float]:
        """Whether they purchased within ``window`` after the first request, and the value of those purchases."""
        inside = [
            value for at, value in self.purchases if self.first_request_at <= at <= self.first_request_at + window
        ]
        return bool(inside), sum(value or 0.0 for value in inside)


@dataclass(frozen=True)
class Group:
    customers: int = 0
    converted: int = 0
    revenue: float = 0.0
    unsubscribed: int = 0
    complained: int = 0

    def rate(self, count: int) -> float | None:
        return count / self.customers if self.customers else None


@dataclass(frozen=True)
class Lift:
    window: timedelta
    treatment: Group
    holdout: Group
    values_given: bool  # some purchase carried a value: revenue per customer is shown
    uplift_abs: float | None
    uplift_ci95: tuple[float, float] | None
    uplift_rel: float | None
    enough: str | None = None  # why no interval is given (too few customers or conversions), None when it is
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        t, h = self.treatment, self.holdout
        per_customer = (
            (lambda g: round(g.revenue / g.customers, 4) if g.customers else None) if self.values_given else None
        )
        return {
            "treatment_customers": t.customers,
            "holdout_customers": h.customers,
            "treatment_conversions": t.converted,
            "holdout_conversions": h.converted,
            "treatment_conversion_rate": _round(t.rate(t.converted)),
            "holdout_conversion_rate": _round(h.rate(h.converted)),
            "uplift_abs": _round(self.uplift_abs),
            "uplift_ci95": [_round(x) for x in self.uplift_ci95] if self.uplift_ci95 else None,
            "uplift_rel": _round(self.uplift_rel),
            "treatment_revenue_per_customer": per_customer(t) if per_customer else None,
            "holdout_revenue_per_customer": per_customer(h) if per_customer else None,
            "treatment_unsubscribe_rate": _round(t.rate(t.unsubscribed)),
            "holdout_unsubscribe_rate": _round(h.rate(h.unsubscribed)),
            "treatment_complaint_rate": _round(t.rate(t.complained)),
            "holdout_complaint_rate": _round(h.rate(h.complained)),
            "window": f"{int(self.window.total_seconds() // 3600)}h",
            "interval": "95% two-proportion normal approximation (Wald, unpooled)",
            "too_few": self.enough,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _group(outcomes: list[CustomerOutcome], window: timedelta) -> Group:
    converted, revenue = 0, 0.0
    for outcome in outcomes:
        did, value = outcome.converted(window)
        converted += did
        revenue += value
    return Group(
        customers=len(outcomes),
        converted=converted,
        revenue=revenue,
        unsubscribed=sum(o.unsubscribed for o in outcomes),
        complained=sum(o.complained for o in outcomes),
    )


def too_few(treatment: Group, holdout: Group) -> str | None:
    """Why the normal approximation does not hold for these groups, or None when it does."""
    for name, group in (("treatment", treatment), ("holdout", holdout)):
        if group.customers < MIN_PER_GROUP:
            return f"the {name} group has {group.customers} customers, fewer than {MIN_PER_GROUP}"
        for what, count in (("conversions", group.converted), ("non-conversions", group.customers - group.converted)):
            if count < MIN_EVENTS:
                return f"the {name} group has {count} {what}, fewer than {MIN_EVENTS}"
    return None


def two_proportion_ci(x1: int, n1: int, x0: int, n0: int, z: float = Z95) -> tuple[float, float, float]:
    """The difference p1 - p0 and its normal-approximation interval (unpooled standard error)."""
    p1, p0 = x1 / n1, x0 / n0
    diff = p1 - p0
    half = z * math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    return diff, diff - half, diff + half


def lift(outcomes: Iterable[CustomerOutcome], window: timedelta) -> Lift:
    every = list(outcomes)
    treatment = _group([o for o in every if not o.held_out], window)
    holdout = _group([o for o in every if o.held_out], window)
    values_given = any(value is not None for o in every for _, value in o.purchases)
    uplift_abs = uplift_rel = None
    interval = None
    if treatment.customers and holdout.customers:
        diff, low, high = two_proportion_ci(
            treatment.converted, treatment.customers, holdout.converted, holdout.customers
        )
        uplift_abs = diff
        holdout_rate = holdout.converted / holdout.customers
        uplift_rel = diff / holdout_rate if holdout_rate else None
        interval = (low, high)
    enough = too_few(treatment, holdout)
    return Lift(
        window=window,
        treatment=treatment,
        holdout=holdout,
        values_given=values_given,
        uplift_abs=uplift_abs,
        uplift_ci95=None if enough else interval,
        uplift_rel=uplift_rel,
        enough=enough,
    )


def lift_table(result: Lift) -> tuple[list[tuple[str, str, str]], list[str]]:
    """The figures in words: (what, treatment, holdout) rows and the sentences on the uplift; what ``baton lift``
    prints and the replay report shows."""
    figures = result.as_json()

    def pair(name: str, show: Any) -> tuple[str, str]:
        return show(figures[f"treatment_{name}"]), show(figures[f"holdout_{name}"])

    rows = [
        ("customers", *pair("customers", str)),
        ("converted", *pair("conversions", str)),
        ("conversion rate", *pair("conversion_rate", _pct)),
    ]
    if result.values_given:
        rows.append(("revenue per customer", *pair("revenue_per_customer", _money)))
    rows += [
        ("unsubscribe rate", *pair("unsubscribe_rate", _pct)),
        ("complaint rate", *pair("complaint_rate", _pct)),
    ]
    sentences = [
        f"attribution window: {figures['window']} after each customer's first marketing request",
        f"absolute uplift: {_pct(result.uplift_abs)} (percentage points)",
    ]
    if result.uplift_ci95 is not None:
        low, high = result.uplift_ci95
        sentences.append(f"95% confidence interval: {_pct(low)} to {_pct(high)} ({figures['interval']})")
    else:
        sentences.append(f"95% confidence interval: not given: {result.enough}")
    sentences.append(f"relative uplift: {_pct(result.uplift_rel)}")
    return rows, sentences


def lift_lines(result: Lift) -> list[str]:
    """The figures as ``baton lift`` prints them."""
    rows, sentences = lift_table(result)
    table = [f"{'':24}{'treatment':>12}{'holdout':>12}"] + [f"{what:24}{t:>12}{h:>12}" for what, t, h in rows]
    return [sentences[0], *table, *sentences[1:]]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f}%"


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
