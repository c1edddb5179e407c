"""``baton replay``: a file of EventBridge events through the real pipeline on a simulated clock.

Event ``time`` drives the clock (ties keep file order); releases fire at their due times in between; after the
last event the clock runs on until nothing waits. Every MessageRequested line gets one output line.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any, TextIO

from baton.app.arbiter import Report
from baton.contract import PUSH_ARN_RE, EventEnvelope, parse_envelope, sent_at_iso
from baton.core.domain import Outcome
from baton.core.errors import InvalidRequest
from baton.core.policy import Policy
from baton.local.lift import CustomerOutcome
from baton.names import (
    DETAIL_CONTACT_RECORDED,
    DETAIL_CUSTOMER_ENGAGED,
    DETAIL_CUSTOMER_UPDATED,
    DETAIL_MESSAGE_REQUESTED,
)

# The events a replay file may hold besides MessageRequested: each goes to the profile function.
PROFILE_EVENTS = (DETAIL_CUSTOMER_UPDATED, DETAIL_CONTACT_RECORDED, DETAIL_CUSTOMER_ENGAGED)

PROGRESS_EVERY_S = 0.25


@dataclass
class Line:
    number: int
    raw: str
    event: EventEnvelope | None = None
    problem: InvalidRequest | None = None

    @property
    def is_request(self) -> bool:
        return self.event is not None and self.event.detail_type == DETAIL_MESSAGE_REQUESTED


@dataclass
class Result:
    line: int
    request_id: str | None
    customer_id: str | None
    channel: str | None
    category: str | None
    outcome: str
    reason: str
    decided_at: str | None
    sent_at: str | None
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "request_id": self.request_id,
            "customer_id": self.customer_id,
            "channel": self.channel,
            "category": self.category,
            "outcome": self.outcome,
            "reason": self.reason,
            "decided_at": self.decided_at,
            "sent_at": self.sent_at,
        }


@dataclass
class ReplayRun:
    results: list[Result]
    problems: list[str] = field(default_factory=list)
    trail: list[Report] = field(default_factory=list)  # every report in order, for timelines
    # with a holdout in the policy: the customers ``baton lift`` compares, read from the run's ledger at its end
    lift_outcomes: list[CustomerOutcome] | None = None

    def summary(self) -> dict[str, Any]:
        outcomes = Counter(r.outcome for r in self.results)
        reasons = Counter(f"{r.outcome}:{r.reason}" for r in self.results if r.outcome != "sent")
        return {
            "requests": len(self.results),
            "outcomes": dict(sorted(outcomes.items())),
            "reasons": dict(reasons.most_common()),
            "problems": len(self.problems),
        }


def read_lines(stream: Iterable[str]) -> list[Line]:
    return [line for number, raw in enumerate(stream, start=1) if (line := read_line(number, raw)) is not None]


def read_line(number: int, raw: str) -> Line | None:
    """Line ``number`` of an events file, parsed (its problem kept when it cannot be used); None when blank."""
    text = raw.strip()
    if not text:
        return None
    line = Line(number, text)
    try:
        line.event = parse_envelope(text)
        if line.event.detail_type not in (DETAIL_MESSAGE_REQUESTED, *PROFILE_EVENTS):
            raise InvalidRequest("detail-type", f"{line.event.detail_type!r} is not an event Baton takes")
    except InvalidRequest as exc:
        line.problem = exc
    return line


def ids_of(line: Line) -> tuple[str | None, str | None]:
    detail: Any = line.event.detail if line.event else None
    if detail is None:
        try:
            detail = json.loads(line.raw).get("detail")
        except (ValueError, AttributeError):
            detail = None
    if not isinstance(detail, dict):
        return None, None
    rid, cid = detail.get("request_id"), detail.get("customer_id")
    return (rid if isinstance(rid, str) else None), (cid if isinstance(cid, str) else None)


@dataclass
class ReplayOptions:
    """How a replay runs: see ``replay``."""

    workers: int = 1
    dynamodb_endpoint: str | None = None
    table_name: str | None = None
    keep_table: bool = False
    reuse_table: bool = False
    on_progress: Callable[[int, int, datetime], None] | None = None
    actions: list[tuple[datetime, Callable[[Any], None]]] = field(default_factory=list)
    inspect: Callable[[Any], None] | None = None
    templates: Path | None = None


def replay(
    lines: list[Line],
    policy: Policy,
    *,
    workers: int = 1,
    dynamodb_endpoint: str | None = None,
    table_name: str | None = None,
    keep_table: bool = False,
    reuse_table: bool = False,
    on_progress: Callable[[int, int, datetime], None] | None = None,
    stderr: TextIO | None = None,
    actions: list[tuple[datetime, Callable[[Any], None]]] | None = None,
    inspect: Callable[[Any], None] | None = None,
    templates: Path | None = None,
) -> ReplayRun:
    """Run ``lines`` through Baton on local AWS; return one Result per MessageRequested line (input order).

    ``actions`` are (time, callable(runtime)) run at their time on the simulated clock, between events: what a
    person does in the middle of the day (an unsubscribe click, say). ``inspect(runtime)`` runs after the last
    release, before the local AWS goes away (to read the ledger). ``on_progress(decided, requests, simulated
    time)`` is told how far the run is, a few times a second at most. On a ``dynamodb_endpoint`` the run has a
    table of its own (``baton.local.mocked_aws.replay_table``: ``table_name``, ``keep_table``, ``reuse_table``).
    ``templates``: the template set's directory (default: the shipped set)."""
    options = ReplayOptions(
        workers=max(1, workers),
        dynamodb_endpoint=dynamodb_endpoint,
        table_name=table_name,
        keep_table=keep_table,
        reuse_table=reuse_table,
        on_progress=on_progress,
        actions=sorted(actions or [], key=lambda a: a[0]),
        inspect=inspect,
        templates=templates,
    )
    run = _Replay(lines, policy, options)
    run.run()
    results = run.results()
    if stderr is not None:
        for problem in run.problems:
            print(problem, file=stderr)
    return ReplayRun(results=results, problems=run.problems, trail=run.trail, lift_outcomes=run.lift_outcomes)


class _Replay:
    """One replay: what the reports said of each request as the run went, then one Result per request line."""

    def __init__(self, lines: list[Line], policy: Policy, options: ReplayOptions):
        self.lines, self.policy, self.options = lines, policy, options
        self.timed = [line for line in lines if line.event is not None and line.problem is None]
        self.start = min(
            (line.event.time for line in self.timed if line.event), default=datetime.now().astimezone() + _SECOND
        ) - _SECOND
        self.final: dict[str, Report] = {}  # each request's latest report, a final one kept over a deferral
        self.per_line: dict[int, Report] = {}  # the first report while its own line was processed
        self.trail: list[Report] = []
        self.dead_letters: set[int] = set()  # lines whose record would have gone to the DLQ
        self.decided: set[str] = set()  # requests with a final outcome
        self.requests = sum(1 for line in self.timed if line.is_request)
        self.problems, self.duplicates = problems_and_duplicates(lines)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._told = 0.0  # when on_progress was last called (monotonic seconds)
        self.lift_outcomes: list[CustomerOutcome] | None = None

    # -- the run -------------------------------------------------------------------------------------------
    def run(self) -> None:
        from baton.local.mocked_aws import mocked_aws, register_push_endpoints, replay_table
        from baton.local.runtime import LocalRuntime

        o = self.options
        with (
            replay_table(o.dynamodb_endpoint, o.table_name, keep=o.keep_table, reuse=o.reuse_table) as table,
            mocked_aws(o.dynamodb_endpoint, table),
        ):
            runtime = LocalRuntime(
                self.policy, self.start, dynamodb_endpoint=o.dynamodb_endpoint, table_name=table, templates=o.templates
            )
            runtime.watch(self._observe)
            register_push_endpoints(_push_endpoints(self.timed))
            self._events(runtime)
            for at, act in o.actions:
                runtime.run_until(at)
                act(runtime)
            runtime.run_until(None)
            self._tell(runtime.clock.now(), force=True)
            if self.policy.holdout is not None:
                from baton.app.keys import LOCAL_ADDRESS_SALT
                from baton.local.lift_source import customer_outcomes

                self.lift_outcomes = customer_outcomes(runtime.ledger, self.policy, LOCAL_ADDRESS_SALT)
            if o.inspect is not None:
                o.inspect(runtime)

    def _events(self, runtime: Any) -> None:
        """Each instant's events in file order, with what is due (and what a person does) released before them."""
        ordered = sorted(self.timed, key=lambda ln: (ln.event.time if ln.event else self.start, ln.number))
        actions = self.options.actions
        with ThreadPoolExecutor(max_workers=self.options.workers) as pool:
            for when, group in groupby(ordered, key=lambda ln: ln.event.time if ln.event else self.start):
                while actions and actions[0][0] <= when:
                    at, act = actions.pop(0)
                    runtime.run_until(at)
                    act(runtime)
                runtime.run_until(when)
                batch = list(group)
                # profile updates first, in file order; with workers, requests sharing the instant concurrently
                for line in batch:
                    if not line.is_request or self.options.workers == 1:
                        self._process(runtime, line)
                if self.options.workers > 1:
                    list(pool.map(lambda ln: self._process(runtime, ln), [ln for ln in batch if ln.is_request]))

    def _process(self, runtime: Any, line: Line) -> None:
        """One event through its function; redelivered as SQS would while the function reports it failed
        (throttling past its retries, contention), until the queue's redrive policy would dead-letter it."""
        from baton.names import MAX_RECEIVE_COUNT

        assert line.event is not None
        self._local.line = (line.number, ids_of(line)[0])
        invoke = runtime.invoke_arbiter
        if line.event.detail_type in PROFILE_EVENTS:
            problem = profile_problem(line)
            if problem is not None:
                with self._lock:
                    self.problems.append(problem)
                return
            invoke = runtime.invoke_profile
        for _ in range(MAX_RECEIVE_COUNT):
            if not invoke([line.raw])["batchItemFailures"]:
                break
        else:
            with self._lock:
                self.dead_letters.add(line.number)
        self._local.line = None

    def _observe(self, report: Report) -> None:
        with self._lock:
            self.trail.append(report)
            current = getattr(self._local, "line", None)
            if current is not None and report.request_id in ("", current[1] or ""):
                self.per_line.setdefault(current[0], report)
            if report.request_id and report.outcome is not Outcome.DUPLICATE:
                known = self.final.get(report.request_id)
                if known is None or report.outcome.final or not known.outcome.final:
                    self.final[report.request_id] = report
                if report.outcome.final:
                    self.decided.add(report.request_id)
        self._tell(report.at)

    def _tell(self, now: datetime, force: bool = False) -> None:
        tell = self.options.on_progress
        if tell is not None and (force or time.monotonic() - self._told >= PROGRESS_EVERY_S):
            self._told = time.monotonic()
            tell(min(len(self.decided), self.requests), self.requests, now)

    # -- the results -----------------------------------------------------------------------------------------
    def results(self) -> list[Result]:
        """One Result per MessageRequested line, in input order (and per line that could not be read)."""
        return [result for line in self.lines if (result := self._result_of(line)) is not None]

    def _result_of(self, line: Line) -> Result | None:
        rid, _ = ids_of(line)
        return result_of(
            line,
            duplicate=line.number in self.duplicates,
            report=self.per_line.get(line.number),
            final=self.final.get(rid or ""),
            dead_letter=line.number in self.dead_letters,
            problems=self.problems,
        )


def result_of(
    line: Line,
    *,
    duplicate: bool,
    report: Report | None,
    final: Report | None,
    dead_letter: bool = False,
    problems: list[str],
) -> Result | None:
    """The Result of one line (None for a line that is not a request): ``report`` is the first report while the
    line was processed, ``final`` its request's latest (a final one kept over a deferral); a request the arbiter
    rejected is added to ``problems``."""
    from baton.names import MAX_RECEIVE_COUNT

    rid, cid = ids_of(line)
    detail: Any = line.event.detail if line.event else {}
    fields = (line.number, rid, cid, _field(detail, "channel"), _field(detail, "category"))
    if line.problem is not None:
        if line.event is not None and not line.is_request:
            return None  # a profile event Baton could not use: listed among the problems
        return Result(*fields, "rejected", line.problem.reason, None, None)
    if not line.is_request:
        return None
    if duplicate:
        return Result(*fields, "duplicate", "request_id", None, None)
    if report is not None and report.outcome is Outcome.REJECTED:
        problems.append(f"line {line.number}: {report.reason}: {report.detail}")
        return _result(*fields, report)
    chosen = final or report
    if chosen is not None and isinstance(detail, dict) and "channels" in detail and "channel" not in detail:
        fields = (*fields[:3], chosen.channel, fields[4])  # the channel Baton chose (None: none)
    if chosen is not None:
        return _result(*fields, chosen)
    why = f"dead_letter: failed {MAX_RECEIVE_COUNT} receives" if dead_letter else "no outcome"
    return Result(*fields, "lost", why, None, None)


_SECOND = timedelta(seconds=1)


def problems_and_duplicates(lines: list[Line]) -> tuple[list[str], set[int]]:
    """The lines that could not be read, as problems; the request lines that repeat an earlier request_id."""
    problems: list[str] = []
    seen: set[str] = set()
    duplicates: set[int] = set()
    for line in lines:
        if line.problem is not None:
            problems.append(f"line {line.number}: {line.problem.reason}: {line.problem.message}")
        elif line.is_request:
            rid, _ = ids_of(line)
            if rid is not None and rid in seen:
                duplicates.add(line.number)
            elif rid is not None:
                seen.add(rid)
    return problems, duplicates


def profile_problem(line: Line) -> str | None:
    """A CustomerUpdated, ContactRecorded or CustomerEngaged line the contract refuses, as a problem (the profile
    function would drop it)."""
    from baton.contract import DETAIL_MODELS, parse_detail

    assert line.event is not None
    try:
        parse_detail(DETAIL_MODELS[line.event.detail_type], line.event.detail)
    except InvalidRequest as exc:
        return f"line {line.number}: {exc.reason}: {exc.message}"
    return None


def _field(detail: Any, name: str) -> str | None:
    value = detail.get(name) if isinstance(detail, dict) else None
    return value if isinstance(value, str) else None


def _push_endpoints(lines: list[Line]) -> list[str]:
    """Push endpoint ARNs the events name (profiles and recipients): the devices of a local run."""
    found: dict[str, None] = {}
    for line in lines:
        detail: Any = line.event.detail if line.event else {}
        for key in ("push_endpoint", "recipient"):
            value = detail.get(key) if isinstance(detail, dict) else None
            if isinstance(value, str) and PUSH_ARN_RE.match(value):
                found[value] = None
    return list(found)


def _result(
    number: int, rid: str | None, cid: str | None, channel: str | None, category: str | None, report: Report
) -> Result:
    return Result(
        line=number,
        request_id=rid,
        customer_id=cid,
        channel=channel,
        category=category,
        outcome=report.outcome.value,
        reason=report.reason,
        decided_at=sent_at_iso(report.at),
        sent_at=sent_at_iso(report.sent_at),
        detail=report.detail,
    )
