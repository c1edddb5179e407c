"""``baton replay --report FILE``: one self-contained HTML page about a replay (local tooling, not deployed).

The page needs no network to be read: its CSS and script are inline, and its charts are SVG that the page's own
script draws from data embedded in it as JSON (so a browser test proves they drew). Four charts:

- ``per-day``: messages requested versus sent per day;
- ``distribution``: how many messages a customer got in a day, before (as requested) and after Baton;
- ``outcomes``: outcomes by reason (with a table of the same numbers);
- ``timeline``: one customer's requests and sends (with a table, the reasons in plain words).

Each series is an SVG ``<g class="series" data-series="KEY">`` in one colour, with the same meaning everywhere:

- blue ``#4c78a8``, ``requested``: every MessageRequested line, as automation fired it (without Baton);
- orange ``#f58518``, ``sent-a`` / ``outcomes-a``: under the replay's policy (``--policy``, A);
- green ``#54a24b``, ``sent-b`` / ``outcomes-b``: under the other policy (``--compare OTHER_POLICY``, B).

So the charts have 2, 2, 1 and 2 series (3, 3, 2 and 3 with ``--compare``). When a request waited for the
shopper's best hour (a category with ``send_time``), a fifth chart, ``hours``, shows the messages by the hour of
the customer's local day, requested (blue: when automation fired them, what sending at once gives) and sent
(each side), so that the move to the shoppers' hours shows; with ``--compare`` against a policy without
``send_time``, the two sides show it side by side.

Counting rules, also stated on the page: a day is the customer's local calendar day (their time zone from the
events' last CustomerUpdated, else the policy's ``timezone``); "sent" counts messages that went out, so a digest
is one message however many requests it carries. The page holds ids, channels, categories, outcomes and reasons,
never an address; any text that still looks like an email address or a phone number (a sender's id, a provider's
error message) is masked before it goes into the page.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from baton.core.domain import Outcome
from baton.core.engine import DIGEST, SEND_TIME
from baton.local.replay import Line, ReplayRun, Result
from baton.names import DETAIL_CUSTOMER_UPDATED, DETAIL_MESSAGE_REQUESTED
from baton.ops.explain import describe

REQUESTED_COLOUR = "#4c78a8"
SIDE_COLOURS = ("#f58518", "#54a24b")  # policy A, policy B
SIDE_NAMES = ("A", "B")
MAX_ROWS = 500  # longest table of requests on the page; the rest is counted, not listed
MAX_BINS = 30  # histogram bars at most
HOURS = range(24)  # the hours of a local day, for the chart by hour
OUTCOME_ORDER = ("sent", "suppressed", "cancelled", "expired", "failed", "rejected", "duplicate", "lost")
# reasons whose subject is another request's id: grouped by their kind in the outcomes chart
ABOUT_A_REQUEST = ("outranked", "excluded", "digest")

EMAIL_RE = re.compile(r"[^\s@<>()\[\]{},;:\"']+@[^\s@<>()\[\]{},;:\"']+\.[A-Za-z]{2,}")
PHONE_RE = re.compile(r"\+\d[\d ().-]{5,}\d")


@dataclass(frozen=True)
class Side:
    """One policy's replay of the events."""

    policy: str  # the policy's tag (version@hash)
    source: str  # where the policy came from (a file name)
    run: ReplayRun


def mask(text: str) -> str:
    """Email addresses and phone numbers out of a piece of text."""
    return PHONE_RE.sub("[phone]", EMAIL_RE.sub("[email]", text))


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {mask(k): _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


def _detail(line: Line) -> dict[str, Any]:
    if line.event is not None:
        return line.event.detail
    try:
        detail = json.loads(line.raw).get("detail")
    except (ValueError, AttributeError):
        return {}
    return detail if isinstance(detail, dict) else {}


def requests_per_customer(lines: Iterable[Line]) -> Counter[str]:
    """Every customer the events name, with their number of MessageRequested lines (0: a profile only)."""
    counts: Counter[str] = Counter()
    for line in lines:
        customer = _detail(line).get("customer_id")
        if isinstance(customer, str):
            counts[customer] += 1 if line.event is None or line.event.detail_type == DETAIL_MESSAGE_REQUESTED else 0
    return counts


def customer_zones(lines: Iterable[Line]) -> dict[str, ZoneInfo]:
    """Each customer's time zone, from the last CustomerUpdated that sets one (in replay order)."""
    updates = [
        line
        for line in lines
        if line.event is not None and line.problem is None and line.event.detail_type == DETAIL_CUSTOMER_UPDATED
    ]
    zones: dict[str, ZoneInfo] = {}
    for line in sorted(updates, key=lambda ln: (ln.event.time if ln.event else datetime.min, ln.number)):
        customer, zone = _detail(line).get("customer_id"), _detail(line).get("timezone")
        if isinstance(customer, str) and isinstance(zone, str):
            try:
                zones[customer] = ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return zones


def _parse(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class _Request:
    """One MessageRequested line and what each policy made of it."""

    line: int
    request_id: str | None
    customer_id: str | None
    channel: str | None
    category: str | None
    requested_at: datetime | None
    results: list[Result | None]


class _Report:
    def __init__(self, lines: Sequence[Line], sides: Sequence[Side], zone: ZoneInfo) -> None:
        self.sides = sides
        self.zone = zone
        self.zones = customer_zones(lines)
        times = {line.number: line.event.time for line in lines if line.event is not None}
        by_line = [{r.line: r for r in side.run.results} for side in sides]
        numbers = sorted({n for side in by_line for n in side})
        self.requests: list[_Request] = []
        for number in numbers:
            results = [side.get(number) for side in by_line]
            first = next(r for r in results if r is not None)
            self.requests.append(
                _Request(
                    number,
                    first.request_id,
                    first.customer_id,
                    first.channel,
                    first.category,
                    times.get(number),
                    results,
                )
            )

    # -- placing things in days -------------------------------------------------------------------------------

    def zone_of(self, customer: str | None) -> ZoneInfo:
        return self.zones.get(customer or "", self.zone)

    def day(self, moment: datetime, customer: str | None) -> date:
        return moment.astimezone(self.zone_of(customer)).date()

    def messages(self, side: int) -> list[tuple[str | None, datetime]]:
        """(customer, sent at) of each message that went out under a side: a digest's members are not counted
        again (their reason names the request the digest went out as)."""
        out = []
        for request in self.requests:
            result = request.results[side]
            sent_at = _parse(result.sent_at) if result is not None and result.outcome == "sent" else None
            if result is not None and sent_at is not None and not result.reason.startswith(f"{DIGEST}:"):
                out.append((request.customer_id, sent_at))
        return out

    # -- the charts ---------------------------------------------------------------------------------------------

    def per_day(self) -> dict[str, Any]:
        requested = Counter(
            self.day(r.requested_at, r.customer_id) for r in self.requests if r.requested_at is not None
        )
        sent = [Counter(self.day(at, customer) for customer, at in self.messages(i)) for i in range(len(self.sides))]
        return per_day_chart(requested, sent, self.label)

    def distribution(self) -> dict[str, Any]:
        before = Counter(
            (r.customer_id, self.day(r.requested_at, r.customer_id))
            for r in self.requests
            if r.requested_at is not None and r.customer_id is not None
        )
        after = [
            Counter((customer, self.day(at, customer)) for customer, at in self.messages(i) if customer is not None)
            for i in range(len(self.sides))
        ]
        keys = set(before).union(*after)
        # customer-days by how many messages they held, before and on each side (days without any count as 0)
        spreads = [Counter(counts[key] for key in keys) for counts in (before, *after)]
        return distribution_chart(spreads, self.label)

    def hours(self) -> dict[str, Any]:
        """Messages by the hour of the customer's local day: as requested, and as each side sent them."""
        requested = Counter(
            r.requested_at.astimezone(self.zone_of(r.customer_id)).hour
            for r in self.requests
            if r.requested_at is not None
        )
        sent = [
            Counter(at.astimezone(self.zone_of(customer)).hour for customer, at in self.messages(i))
            for i in range(len(self.sides))
        ]
        series = [_series("requested", "requested (sent at once)", REQUESTED_COLOUR, [requested[h] for h in HOURS])]
        for i, counts in enumerate(sent):
            series.append(
                _series(f"sent-{_key(i)}", self.label("sent", i), SIDE_COLOURS[i], [counts[h] for h in HOURS])
            )
        return {
            "id": "hours",
            "kind": "bars",
            "title": "Messages by hour of the day, requested and sent",
            "x_label": "hour of the customer's local day",
            "y_label": "messages",
            "categories": [f"{h:02d}" for h in HOURS],
            "series": series,
        }

    def optimised(self) -> bool:
        """Whether any request of any side waited for the shopper's best hour."""
        return any(SEND_TIME in reasons for side in self.sides for reasons in _waits(side.run).values())

    def outcome_rows(self) -> list[dict[str, Any]]:
        counts: list[Counter[tuple[str, str]]] = [Counter() for _ in self.sides]
        for request in self.requests:
            for i, result in enumerate(request.results):
                if result is not None:
                    counts[i][(result.outcome, _reason_group(result.reason))] += 1
        keys = set().union(*counts)
        order = sorted(
            keys,
            key=lambda k: (_outcome_rank(k[0]), -sum(c[k] for c in counts), k[1]),
        )
        return [
            {
                "outcome": outcome,
                "reason": reason,
                "words": describe(reason),
                "counts": [c[(outcome, reason)] for c in counts],
            }
            for outcome, reason in order
        ]

    def outcomes(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        series = [
            _series(f"outcomes-{_key(i)}", self.label("requests", i), SIDE_COLOURS[i], [r["counts"][i] for r in rows])
            for i in range(len(self.sides))
        ]
        return {
            "id": "outcomes",
            "kind": "hbars",
            "title": "Outcomes by reason",
            "x_label": "requests",
            "categories": [f"{row['outcome']} · {row['reason']}" for row in rows],
            "series": series,
        }

    def timeline(self, customer: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        zone = self.zone_of(customer)
        mine = sorted(
            (r for r in self.requests if r.customer_id == customer),
            key=lambda r: (r.requested_at is None, r.requested_at or datetime.min.replace(tzinfo=UTC), r.line),
        )
        waits = [_waits(side.run) for side in self.sides]
        rows = []
        for request in mine[:MAX_ROWS]:
            row: dict[str, Any] = {
                "line": request.line,
                "request_id": request.request_id or "",
                "channel": request.channel or "",
                "category": request.category or "",
                "requested": _local(request.requested_at, zone),
                "sides": [],
            }
            for i, result in enumerate(request.results):
                if result is None:
                    row["sides"].append(None)
                    continue
                at = _parse(result.sent_at) or _parse(result.decided_at)
                final = _reason_group(result.reason)
                waits_here = waits[i].get(result.request_id or "", [])
                waited = [describe(w) for w in waits_here if _reason_group(w) != final]
                row["sides"].append(
                    {
                        "outcome": result.outcome,
                        "at": _local(at, zone),
                        "reason": result.reason,
                        "words": describe(result.reason),
                        "detail": result.detail,
                        "waited": waited,
                    }
                )
            rows.append(row)

        points: list[list[dict[str, Any]]] = [[] for _ in range(len(self.sides) + 1)]
        for request in mine:
            asked = request.requested_at
            label = request.request_id or f"line {request.line}"
            if asked is not None:
                points[0].append({"t": _ms(asked), "label": f"{label} requested {_local(asked, zone)}"})
            for i, result in enumerate(request.results):
                sent_at = _parse(result.sent_at) if result is not None and result.outcome == "sent" else None
                if sent_at is not None:
                    points[i + 1].append(
                        {
                            "t": _ms(sent_at),
                            "from": _ms(asked) if asked is not None else None,
                            "label": f"{label} sent {_local(sent_at, zone)}",
                        }
                    )
        series = [_series("requested", "requested", REQUESTED_COLOUR, [], points=points[0])]
        for i in range(len(self.sides)):
            series.append(_series(f"sent-{_key(i)}", self.label("sent", i), SIDE_COLOURS[i], [], points=points[i + 1]))
        moments = [p["t"] for group in points for p in group]
        start, end = (min(moments), max(moments)) if moments else (0, 0)
        pad = max((end - start) // 20, 30 * 60 * 1000)
        chart = {
            "id": "timeline",
            "kind": "timeline",
            "title": f"Timeline of {customer}",
            "x_label": f"time in {zone.key}",
            "start": start - pad,
            "end": end + pad,
            "ticks": _ticks(start - pad, end + pad, zone) if moments else [],
            "series": series,
        }
        return chart, rows

    def label(self, what: str, side: int) -> str:
        return what if len(self.sides) == 1 else f"{what} under {SIDE_NAMES[side]}"

    # -- the comparison -----------------------------------------------------------------------------------------

    def comparison(self) -> dict[str, Any] | None:
        if len(self.sides) < 2:
            return None
        counts = [Counter(o for r in self.requests if (o := _outcome(r.results[i])) is not None) for i in range(2)]
        outcomes = sorted(set(counts[0]) | set(counts[1]), key=_outcome_rank)
        differing = [r for r in self.requests if _outcome(r.results[0]) != _outcome(r.results[1])]
        rows = []
        for request in differing[:MAX_ROWS]:
            zone = self.zone_of(request.customer_id)
            rows.append(
                {
                    "line": request.line,
                    "request_id": request.request_id or "",
                    "customer_id": request.customer_id or "",
                    "channel": request.channel or "",
                    "category": request.category or "",
                    "requested": _local(request.requested_at, zone),
                    "sides": [_brief(result, zone) for result in request.results],
                }
            )
        return {
            "counts": [
                {"outcome": o, "a": counts[0][o], "b": counts[1][o], "change": counts[1][o] - counts[0][o]}
                for o in outcomes
            ],
            "differences": rows,
            "differing": len(differing),
            "more": max(0, len(differing) - MAX_ROWS),
        }


def report_data(
    lines: Sequence[Line],
    sides: Sequence[Side],
    zone: ZoneInfo,
    customer: str | None = None,
    events: str = "",
) -> dict[str, Any]:
    """Everything the page shows, as plain JSON-able data (masked): the numbers the tests check.

    ``sides``: the replay of ``lines`` under one policy, or two (the second from ``--compare``). ``zone``: the
    time zone for customers whose own is not in the events (the policy's). ``customer``: whose timeline to show
    (default: the customer with the most requests, the first of them in the file on a tie)."""
    if not 1 <= len(sides) <= 2:
        raise ValueError("a report is of one replay or of two to compare")
    report = _Report(lines, sides, zone)
    per_customer = requests_per_customer(lines)
    chosen_by = "--customer"
    if customer is None:
        chosen_by = "the most requests"
        customer = max(per_customer, key=lambda c: per_customer[c], default="")
    rows = report.outcome_rows()
    charts = [report.per_day(), report.distribution(), report.outcomes(rows)]
    if report.optimised():
        charts.append(report.hours())
    timeline_rows: list[dict[str, Any]] = []
    if customer:
        chart, timeline_rows = report.timeline(customer)
        charts.append(chart)
    placed = sum(1 for r in report.requests if r.requested_at is not None)
    data = {
        "events": events,
        "zone": zone.key,
        "requests": len(report.requests),
        "unplaced": len(report.requests) - placed,
        "customers": sum(1 for n in per_customer.values() if n),
        "sides": [
            {
                "name": SIDE_NAMES[i],
                "policy": side.policy,
                "source": side.source,
                "colour": SIDE_COLOURS[i],
                "requests_sent": sum(1 for r in side.run.results if r.outcome == "sent"),
                "messages": len(report.messages(i)),
                "problems": len(side.run.problems),
            }
            for i, side in enumerate(sides)
        ],
        "charts": charts,
        "outcome_rows": rows,
        "customer": {
            "id": customer,
            "chosen_by": chosen_by,
            "zone": report.zone_of(customer).key,
            "requests": per_customer.get(customer, 0),
            "rows": timeline_rows,
            "more": max(0, per_customer.get(customer, 0) - MAX_ROWS),
        },
        "compare": report.comparison(),
        "lift": [_lift_of(SIDE_NAMES[i], side) for i, side in enumerate(sides) if side.run.lift_outcomes is not None],
    }
    masked: dict[str, Any] = _masked(data)
    return masked


def _lift_of(name: str, side: Side) -> dict[str, Any]:
    """The lift of one side's replay (its policy has a holdout), as ``baton lift --replay`` gives it."""
    from baton.local.lift import DEFAULT_WINDOW, lift, lift_table

    result = lift(side.run.lift_outcomes or [], DEFAULT_WINDOW)
    rows, sentences = lift_table(result)
    return {"name": name, "policy": side.policy, "figures": result.as_json(), "rows": rows, "sentences": sentences}


def render(data: dict[str, Any]) -> str:
    """The page: HTML escaped by Jinja2's autoescape; the chart data as JSON that cannot close its script tag."""
    from jinja2 import Environment

    template = files("baton.local").joinpath("report.html.j2").read_text(encoding="utf-8")
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return env.from_string(template).render(
        data=data,
        chart_json=_script_json({"charts": data["charts"]}),
        requested_colour=REQUESTED_COLOUR,
    )


def build_report(
    lines: Sequence[Line],
    sides: Sequence[Side],
    zone: ZoneInfo,
    customer: str | None = None,
    events: str = "",
) -> str:
    """The replay (or two, to compare) as one self-contained HTML page."""
    return render(report_data(lines, sides, zone, customer, events))


# -- helpers ------------------------------------------------------------------------------------------------------


def _key(side: int) -> str:
    return SIDE_NAMES[side].lower()


def _series(key: str, label: str, colour: str, values: list[int], **extra: Any) -> dict[str, Any]:
    return {"key": key, "label": label, "colour": colour, "values": values, **extra}


def per_day_chart(requested: Mapping[date, int], sent: Sequence[Mapping[date, int]], label: Any) -> dict[str, Any]:
    """The bars of requests and of each side's sends per customer-local day (the replay and whatif reports)."""
    days = _day_range(set(requested).union(*sent))
    series = [_series("requested", "requested", REQUESTED_COLOUR, [requested.get(d, 0) for d in days])]
    for i, counts in enumerate(sent):
        series.append(_series(f"sent-{_key(i)}", label("sent", i), SIDE_COLOURS[i], [counts.get(d, 0) for d in days]))
    return {
        "id": "per-day",
        "kind": "bars",
        "title": "Requested versus sent per day",
        "x_label": "day (each customer's local calendar day)",
        "y_label": "messages",
        "categories": [d.strftime("%a %d %b") for d in days],
        "days": [d.isoformat() for d in days],
        "series": series,
    }


def distribution_chart(spreads: Sequence[Mapping[int, int]], label: Any) -> dict[str, Any]:
    """Customer-days by the messages each held: ``spreads[0]`` as requested, then each side's sends (for each, how
    many customer-days held that many messages), in at most MAX_BINS bars (the replay and whatif reports)."""
    most = max([0, *(n for spread in spreads for n in spread)])
    width = max(1, math.ceil((most + 1) / MAX_BINS))
    bins = range(0, most + 1, width)

    def histogram(spread: Mapping[int, int]) -> list[int]:
        binned: Counter[int] = Counter()
        for messages, customer_days in spread.items():
            binned[messages // width] += customer_days
        return [binned[i] for i in range(len(bins))]

    series = [_series("requested", "before (as requested)", REQUESTED_COLOUR, histogram(spreads[0]))]
    for i, spread in enumerate(spreads[1:]):
        series.append(_series(f"sent-{_key(i)}", label("after", i), SIDE_COLOURS[i], histogram(spread)))
    return {
        "id": "distribution",
        "kind": "bars",
        "title": "Messages per customer per day, before and after",
        "x_label": "messages a customer got in a day",
        "y_label": "customer-days",
        "categories": [str(low) if width == 1 else f"{low}-{low + width - 1}" for low in bins],
        "customer_days": sum(spreads[0].values()),
        "series": series,
    }


def _day_range(days: set[date]) -> list[date]:
    if not days:
        return []
    first, last = min(days), max(days)
    if (last - first).days > 400:  # a long, sparse replay: only the days something happened
        return sorted(days)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _reason_group(reason: str) -> str:
    kind, _, _ = reason.partition(":")
    return kind if kind in ABOUT_A_REQUEST else reason


def _outcome_rank(outcome: str) -> tuple[int, str]:
    return (OUTCOME_ORDER.index(outcome) if outcome in OUTCOME_ORDER else len(OUTCOME_ORDER), outcome)


def _outcome(result: Result | None) -> str | None:
    return result.outcome if result is not None else None


def _waits(run: ReplayRun) -> dict[str, list[str]]:
    """Each request's reasons for waiting (deferrals), in order, once each."""
    waits: dict[str, list[str]] = defaultdict(list)
    for report in run.trail:
        if report.outcome is Outcome.DEFERRED and report.reason not in waits[report.request_id]:
            waits[report.request_id].append(report.reason)
    return waits


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %d %b %H:%M") if moment else ""


def _brief(result: Result | None, zone: ZoneInfo) -> dict[str, str] | None:
    if result is None:
        return None
    at = _parse(result.sent_at) or _parse(result.decided_at)
    words = describe(result.reason)
    return {"outcome": result.outcome, "reason": result.reason, "words": words, "at": _local(at, zone)}


def _ticks(start: int, end: int, zone: ZoneInfo) -> list[dict[str, Any]]:
    """Axis ticks on whole local hours (or local midnights), at most about eight."""
    hours = (end - start) / 3_600_000
    step = next((s for s in (1, 2, 3, 6, 12, 24, 48, 168, 720) if hours / s <= 8), 8760)
    first = datetime.fromtimestamp(start / 1000, UTC).astimezone(zone)
    if step >= 24:
        first = first.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    else:
        first = first.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        first += timedelta(hours=(-first.hour) % step)
    ticks, at = [], first.astimezone(UTC)
    while _ms(at) <= end:
        local = at.astimezone(zone)
        ticks.append({"t": _ms(at), "label": local.strftime("%a %H:%M" if step < 24 else "%a %d %b")})
        at += timedelta(hours=step)
    return ticks


def _script_json(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` can end the element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
