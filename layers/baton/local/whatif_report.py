"""``baton whatif --report FILE``: the replay report's page (``baton.local.report``: same template, charts and
colours) drawn from a run's aggregates (``Tally``), so it is as big at ten million requests as at a hundred: the
per-day, distribution and outcome charts and the outcome table; no customer timeline (``baton replay --report
--customer`` draws one); with ``--compare`` the outcome counts side by side and how many requests differ."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from baton.core.policy import Policy
from baton.local.commands.common import UsageError
from baton.local.report import (
    SIDE_COLOURS,
    SIDE_NAMES,
    _key,
    _masked,
    _outcome_rank,
    _series,
    distribution_chart,
    per_day_chart,
    render,
)
from baton.local.whatif import Tally
from baton.ops.explain import describe

Run = tuple[Policy, str | None, Tally]


def report_data(runs: list[Run], events: str, zone: str, differing: int | None = None) -> dict[str, Any]:
    """What the page shows, as plain data (the numbers the tests check)."""
    tallies = [tally for _, _, tally in runs]
    first = tallies[0]
    label = (lambda what, i: what) if len(runs) == 1 else (lambda what, i: f"{what} under {SIDE_NAMES[i]}")
    rows = _outcome_rows(tallies)
    charts = [_per_day(tallies, label), _distribution(tallies, label), _outcomes(rows, tallies, label)]
    data = {
        "events": events,
        "zone": zone,
        "requests": first.requests,
        "unplaced": first.unplaced,
        "customers": first.customers,
        "sides": [
            {
                "name": SIDE_NAMES[i],
                "policy": policy.tag,
                "source": Path(path).name if path else "default policy",
                "colour": SIDE_COLOURS[i],
                "requests_sent": tally.outcomes.get("sent", 0),
                "messages": tally.messages,
                "problems": tally.problems,
            }
            for i, (policy, path, tally) in enumerate(runs)
        ],
        "charts": charts,
        "outcome_rows": rows,
        "customer": {"id": "", "chosen_by": "", "zone": zone, "requests": 0, "rows": [], "more": 0},
        "compare": _comparison(tallies, differing),
    }
    masked: dict[str, Any] = _masked(data)
    return masked


def write_report(path: str, runs: list[Run], events: str, zone: str, differing: int | None = None) -> None:
    try:
        Path(path).write_text(render(report_data(runs, events, zone, differing)), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc}") from None


def _per_day(tallies: list[Tally], label: Any) -> dict[str, Any]:
    return per_day_chart(tallies[0].requested_per_day, [t.sent_per_day for t in tallies], label)


def _distribution(tallies: list[Tally], label: Any) -> dict[str, Any]:
    return distribution_chart([tallies[0].before, *(t.after for t in tallies)], label)


def _outcome_rows(tallies: list[Tally]) -> list[dict[str, Any]]:
    keys = set().union(*(t.groups for t in tallies))
    order = sorted(keys, key=lambda k: (_outcome_rank(k[0]), -sum(t.groups[k] for t in tallies), k[1]))
    return [
        {"outcome": o, "reason": r, "words": describe(r), "counts": [t.groups[(o, r)] for t in tallies]}
        for o, r in order
    ]


def _outcomes(rows: list[dict[str, Any]], tallies: list[Tally], label: Any) -> dict[str, Any]:
    return {
        "id": "outcomes",
        "kind": "hbars",
        "title": "Outcomes by reason",
        "x_label": "requests",
        "categories": [f"{row['outcome']} · {row['reason']}" for row in rows],
        "series": [
            _series(f"outcomes-{_key(i)}", label("requests", i), SIDE_COLOURS[i], [r["counts"][i] for r in rows])
            for i in range(len(tallies))
        ],
    }


def _comparison(tallies: list[Tally], differing: int | None) -> dict[str, Any] | None:
    if len(tallies) < 2:
        return None
    a, b = tallies[0].outcomes, tallies[1].outcomes
    return {
        "counts": [
            {"outcome": o, "a": a[o], "b": b[o], "change": b[o] - a[o]}
            for o in sorted(set(a) | set(b), key=_outcome_rank)
        ],
        "differences": [],
        "differing": differing if differing is not None else 0,
        "more": differing or 0,
    }
