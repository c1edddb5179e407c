"""``baton whatif``: what a policy would have done to real traffic, fast: the arbiter's own code (``Arbiter``, the
policy engine, rendering) over an in-memory ledger on a simulated clock, one customer at a time.

Customers are independent (a decision reads and writes one customer's ledger), so a run is a function of each
customer's events alone: ``decide_customer``. Within a customer it goes as ``baton replay`` goes: events in time
order (ties in input order), each deferral released at its due time by the sweeper's own ``sweep``, and after the
last event the clock runs on until nothing waits. What differs from replay by nature: the channel accepts every
send (no provider failure, no bounce), nothing is retried or dead-lettered (no contention, no throttling), and a
request_id is a duplicate only within its customer (replay also counts one reused by another customer).

The engines (``baton.local.whatif_engines``) only move customers' events to ``decide_customer`` and its rows back.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from baton.app.arbiter import Report
from baton.app.ports import Envelope
from baton.app.render import Renderer
from baton.core.clock import SimulatedClock
from baton.core.domain import Outcome
from baton.core.policy import Policy
from baton.local.replay import Line, Result, ids_of, problems_and_duplicates, profile_problem, read_line, result_of

MAX_PROBLEMS = 1000  # problem lines listed (stderr) at most; the rest are counted
_SECOND = timedelta(seconds=1)


class AcceptingChannels:
    """``baton.app.ports.Channels`` that accepts every send, in process: whatif asks what the policy decides, not
    what a provider would do."""

    def send(self, envelope: Envelope) -> str:
        return f"whatif-{envelope.request_id}"


class _Releases:
    """``baton.app.release.ReleaseQueue`` handing each due release straight to the arbiter."""

    def __init__(self, arbiter: Any):
        self.arbiter = arbiter

    def send(self, releases: list[tuple[str, str]]) -> None:
        for customer, request in releases:
            self.arbiter.release(customer, request)


@dataclass
class Decider:
    """What one process builds once and uses for every customer: the policy and the template renderer."""

    policy: Policy
    text: str = ""  # the policy as JSON, when it came so
    renderer: Renderer = field(default_factory=Renderer)


def decide_customer(
    lines: list[Line], policy: Policy, renderer: Renderer | None = None
) -> tuple[list[Result], list[str]]:
    """Every event of one customer (and lines that name no usable customer) through the arbiter, on a fresh
    in-memory ledger and a simulated clock: one Result per request line in line order, and the problems."""
    from baton.adapters.policy_source import StaticPolicy
    from baton.app.release import sweep
    from baton.entry.ingress import profile_record
    from baton.local.composition import DueTimes, local_arbiter

    problems, duplicates = problems_and_duplicates(lines)
    timed = sorted(
        (line for line in lines if line.event is not None and line.problem is None),
        key=lambda ln: (ln.event.time if ln.event else datetime.min, ln.number),
    )
    start = timed[0].event.time - _SECOND if timed and timed[0].event else datetime.now().astimezone()
    clock = SimulatedClock(start)
    ledger = _memory_ledger()
    final: dict[str, Report] = {}

    def observe(report: Report) -> None:
        due.note(report)
        if report.request_id and report.outcome is not Outcome.DUPLICATE:
            known = final.get(report.request_id)
            if known is None or report.outcome.final or not known.outcome.final:
                final[report.request_id] = report

    arbiter = local_arbiter(ledger, AcceptingChannels(), policy, clock, observe, renderer, unsubscribe_links=False)
    policies = StaticPolicy(policy)
    queue = _Releases(arbiter)
    due = DueTimes(clock, ledger, lambda: sweep(ledger, queue, clock))
    per_line: dict[int, Report] = {}
    for line in timed:
        assert line.event is not None
        due.run_until(line.event.time)
        if line.is_request:
            rid = ids_of(line)[0] or ""
            reports = arbiter.request(line.event.detail, line.event.id)
            mine = next((r for r in reports if r.request_id in ("", rid)), None)
            if mine is not None:
                per_line[line.number] = mine
        elif (problem := profile_problem(line)) is not None:
            problems.append(problem)
        else:
            profile_record(ledger, clock, line.raw, policies)
    due.run_until(None)
    # the arbiter and the release queue refer to each other: without the cycle, this customer's ledger is freed
    # at once, not by the cycle collector later
    queue.arbiter = None
    results = []
    for line in lines:
        rid = ids_of(line)[0] or ""
        result = result_of(
            line,
            duplicate=line.number in duplicates,
            report=per_line.get(line.number),
            final=final.get(rid),
            problems=problems,
        )
        if result is not None:
            results.append(result)
    return results, problems


def _memory_ledger() -> Any:
    from baton.adapters.memory import MemoryLedger
    from baton.app.keys import LOCAL_ADDRESS_SALT

    return MemoryLedger(retention=timedelta(days=90), salt=LOCAL_ADDRESS_SALT)


def customer_key(raw: str) -> str:
    """The customer an events line belongs to ("" when it names none: it is decided alone, and rejected)."""
    try:
        detail = json.loads(raw).get("detail")
        customer = detail.get("customer_id") if isinstance(detail, dict) else None
    except (ValueError, AttributeError):
        return ""
    return customer if isinstance(customer, str) else ""


def row_json(result: Result) -> str:
    """One output line, as ``baton replay --out`` writes it."""
    return json.dumps(result.as_json())


# -- the figures --------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What a run adds up to, kept as aggregates so that a report of ten million requests is as big as one of a
    hundred: outcome and reason counts, requests and messages per customer-local day, and how many customer-days
    got how many messages (before and after). Tallies of parts add up (``add``)."""

    requests: int = 0
    customers: int = 0
    unplaced: int = 0  # request lines without a time (not in the charts by day)
    outcomes: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)  # "outcome:reason", outcomes other than sent
    groups: Counter[tuple[str, str]] = field(default_factory=Counter)  # (outcome, reason group) for the report
    requested_per_day: Counter[date] = field(default_factory=Counter)
    sent_per_day: Counter[date] = field(default_factory=Counter)
    before: Counter[int] = field(default_factory=Counter)  # requests in a customer-day -> customer-days
    after: Counter[int] = field(default_factory=Counter)  # messages in a customer-day -> customer-days
    messages: int = 0  # messages that went out (a digest once)
    problems: int = 0
    problem_lines: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in ("requests", "customers", "unplaced", "messages", "problems"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("outcomes", "reasons", "groups", "requested_per_day", "sent_per_day", "before", "after"):
            getattr(self, name).update(getattr(other, name))
        self.problem_lines.extend(other.problem_lines[: MAX_PROBLEMS - len(self.problem_lines)])

    def summary(self) -> dict[str, Any]:
        """The same keys and order as ``ReplayRun.summary``."""
        return {
            "requests": self.requests,
            "outcomes": dict(sorted(self.outcomes.items())),
            "reasons": dict(self.reasons.most_common()),
            "problems": self.problems,
        }

    def count_customer(self, lines: list[Line], results: list[Result], problems: list[str], zone: ZoneInfo) -> None:
        """Add one customer's results (``zone``: the policy's, for a customer whose events name none)."""
        from baton.core.engine import DIGEST
        from baton.local.report import _reason_group

        zone = _zone_of(lines, zone)
        times = {line.number: line.event.time for line in lines if line.event is not None}
        asked: Counter[date] = Counter()
        got: Counter[date] = Counter()
        for result in results:
            self.requests += 1
            self.outcomes[result.outcome] += 1
            if result.outcome != "sent":
                self.reasons[f"{result.outcome}:{result.reason}"] += 1
            self.groups[(result.outcome, _reason_group(result.reason))] += 1
            when = times.get(result.line)
            if when is None:
                self.unplaced += 1
            else:
                asked[when.astimezone(zone).date()] += 1
            if result.outcome == "sent" and result.sent_at and not result.reason.startswith(f"{DIGEST}:"):
                got[datetime.fromisoformat(result.sent_at).astimezone(zone).date()] += 1
        self.customers += 1 if results else 0
        self.messages += sum(got.values())
        self.requested_per_day.update(asked)
        self.sent_per_day.update(got)
        self.before.update(Counter(asked[day] for day in set(asked) | set(got)))
        self.after.update(Counter(got[day] for day in set(asked) | set(got)))
        self.problems += len(problems)
        self.problem_lines.extend(problems[: MAX_PROBLEMS - len(self.problem_lines)])


def _zone_of(lines: list[Line], default: ZoneInfo) -> ZoneInfo:
    """The customer's zone from their last CustomerUpdated naming one, as the replay report places days."""
    from baton.names import DETAIL_CUSTOMER_UPDATED

    zone = default
    for line in lines:
        event = line.event
        if event is not None and event.detail_type == DETAIL_CUSTOMER_UPDATED and isinstance(event.detail, dict):
            name = event.detail.get("timezone")
            if isinstance(name, str):
                try:
                    zone = ZoneInfo(name)
                except (ZoneInfoNotFoundError, ValueError):
                    continue
    return zone


def decide_and_count(decider: Decider, numbered: list[tuple[int, str]], zone: ZoneInfo, tally: Tally) -> list[Result]:
    """One customer's events: decided, and counted into ``tally``; the Results in line order."""
    lines = [line for number, raw in numbered if (line := read_line(number, raw)) is not None]
    results, problems = decide_customer(lines, decider.policy, decider.renderer)
    tally.count_customer(lines, results, problems, zone)
    return results
