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
from typing import Any, TextIO

from baton.app.arbiter import Report
from baton.contract import PUSH_ARN_RE, EventEnvelope, parse_envelope, sent_at_iso
from baton.core.domain import Outcome
from baton.core.errors import InvalidRequest
from baton.core.policy import Policy
from baton.names import DETAIL_CUSTOMER_UPDATED, DETAIL_MESSAGE_REQUESTED

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
    lines: list[Line] = []
    for number, raw in enumerate(stream, start=1):
        text = raw.strip()
        if not text:
            continue
        line = Line(number, text)
        try:
            line.event = parse_envelope(text)
            if line.event.detail_type not in (DETAIL_MESSAGE_REQUESTED, DETAIL_CUSTOMER_UPDATED):
                raise InvalidRequest("detail-type", f"{line.event.detail_type!r} is not an event Baton takes")
        except InvalidRequest as exc:
            line.problem = exc
        lines.append(line)
    return lines


def _ids(line: Line) -> tuple[str | None, str | None]:
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
) -> ReplayRun:
    """Run ``lines`` through Baton on local AWS; return one Result per MessageRequested line (input order).

    ``actions`` are (time, callable(runtime)) run at their time on the simulated clock, between events: what a
    person does in the middle of the day (an unsubscribe click, say). ``inspect(runtime)`` runs after the last
    release, before the local AWS goes away (to read the ledger). ``on_progress(decided, requests, simulated
    time)`` is told how far the run is, a few times a second at most. On a ``dynamodb_endpoint`` the run has a
    table of its own (``baton.local.mocked_aws.replay_table``: ``table_name``, ``keep_table``, ``reuse_table``)."""
    from baton.local.mocked_aws import mocked_aws, register_push_endpoints, replay_table
    from baton.local.runtime import LocalRuntime
    from baton.names import MAX_RECEIVE_COUNT

    timed = [line for line in lines if line.event is not None and line.problem is None]
    if not timed:
        start = datetime.now().astimezone()
    else:
        start = min(line.event.time for line in timed if line.event) - timedelta(seconds=1)
    final: dict[str, Report] = {}
    per_line: dict[int, Report] = {}
    trail: list[Report] = []
    lock = threading.Lock()
    dead_letters: set[int] = set()  # lines whose record would have gone to the DLQ
    local = threading.local()
    requests = sum(1 for line in timed if line.is_request)
    decided: set[str] = set()  # requests with a final outcome
    told = [0.0]  # when on_progress was last called (monotonic seconds)

    def tell(now: datetime, force: bool = False) -> None:
        if on_progress is not None and (force or time.monotonic() - told[0] >= PROGRESS_EVERY_S):
            told[0] = time.monotonic()
            on_progress(min(len(decided), requests), requests, now)

    def observe(report: Report) -> None:
        with lock:
            trail.append(report)
            current = getattr(local, "line", None)
            if current is not None and report.request_id in ("", current[1] or ""):
                per_line.setdefault(current[0], report)
            if report.request_id and report.outcome is not Outcome.DUPLICATE:
                known = final.get(report.request_id)
                if known is None or report.outcome.final or not known.outcome.final:
                    final[report.request_id] = report
                if report.outcome.final:
                    decided.add(report.request_id)
        tell(report.at)

    problems: list[str] = []
    seen: set[str] = set()
    duplicates: set[int] = set()
    for line in lines:
        if line.problem is not None:
            problems.append(f"line {line.number}: {line.problem.reason}: {line.problem.message}")
        elif line.is_request:
            rid, _ = _ids(line)
            if rid is not None and rid in seen:
                duplicates.add(line.number)
            elif rid is not None:
                seen.add(rid)

    with (
        replay_table(dynamodb_endpoint, table_name, keep=keep_table, reuse=reuse_table) as table,
        mocked_aws(dynamodb_endpoint, table),
    ):
        runtime = LocalRuntime(policy, start, dynamodb_endpoint=dynamodb_endpoint, table_name=table)
        runtime.watch(observe)
        register_push_endpoints(_push_endpoints(timed))

        def process(line: Line) -> None:
            assert line.event is not None
            local.line = (line.number, _ids(line)[0])
            body = line.raw
            if line.event.detail_type == DETAIL_CUSTOMER_UPDATED:
                try:
                    from baton.contract import CustomerUpdated, parse_detail

                    parse_detail(CustomerUpdated, line.event.detail)
                except InvalidRequest as exc:
                    with lock:
                        problems.append(f"line {line.number}: {exc.reason}: {exc.message}")
                    return
                invoke = runtime.invoke_profile
            else:
                invoke = runtime.invoke_arbiter
            # as SQS does: a record the function reported failed (throttling past its retries, contention) comes
            # back, until the queue's redrive policy would move it to the dead-letter queue
            for _ in range(MAX_RECEIVE_COUNT):
                if not invoke([body])["batchItemFailures"]:
                    break
            else:
                with lock:
                    dead_letters.add(line.number)
            local.line = None

        ordered = sorted(timed, key=lambda ln: (ln.event.time if ln.event else start, ln.number))
        pending_actions = sorted(actions or [], key=lambda a: a[0])
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for when, group in groupby(ordered, key=lambda ln: ln.event.time if ln.event else start):
                batch = list(group)
                while pending_actions and pending_actions[0][0] <= when:
                    at, act = pending_actions.pop(0)
                    runtime.run_until(at)
                    act(runtime)
                runtime.run_until(when)
                if workers > 1 and len(batch) > 1:
                    # profile updates first, in file order; requests sharing the instant concurrently
                    for line in batch:
                        if not line.is_request:
                            process(line)
                    list(pool.map(process, [line for line in batch if line.is_request]))
                else:
                    for line in batch:
                        process(line)
        for at, act in pending_actions:
            runtime.run_until(at)
            act(runtime)
        runtime.run_until(None)
        tell(runtime.clock.now(), force=True)
        if inspect is not None:
            inspect(runtime)

    results: list[Result] = []
    for line in lines:
        rid, cid = _ids(line)
        detail: Any = line.event.detail if line.event else {}
        channel = detail.get("channel") if isinstance(detail, dict) else None
        category = detail.get("category") if isinstance(detail, dict) else None
        if line.problem is not None:
            if line.event is not None and not line.is_request:
                continue
            results.append(
                Result(line.number, rid, cid, _s(channel), _s(category), "rejected", line.problem.reason, None, None)
            )
            continue
        if not line.is_request:
            continue
        if line.number in duplicates:
            results.append(
                Result(line.number, rid, cid, _s(channel), _s(category), "duplicate", "request_id", None, None)
            )
            continue
        report = per_line.get(line.number)
        if report is not None and report.outcome is Outcome.REJECTED:
            problems.append(f"line {line.number}: {report.reason}: {report.detail}")
            results.append(_result(line.number, rid, cid, channel, category, report))
            continue
        chosen = final.get(rid or "") or report
        if chosen is None:
            why = f"dead_letter: failed {MAX_RECEIVE_COUNT} receives" if line.number in dead_letters else "no outcome"
            results.append(Result(line.number, rid, cid, _s(channel), _s(category), "lost", why, None, None))
        else:
            results.append(_result(line.number, rid, cid, channel, category, chosen))
    if stderr is not None:
        for problem in problems:
            print(problem, file=stderr)
    return ReplayRun(results=results, problems=problems, trail=trail)


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


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _result(number: int, rid: str | None, cid: str | None, channel: Any, category: Any, report: Report) -> Result:
    return Result(
        line=number,
        request_id=rid,
        customer_id=cid,
        channel=_s(channel),
        category=_s(category),
        outcome=report.outcome.value,
        reason=report.reason,
        decided_at=sent_at_iso(report.at),
        sent_at=sent_at_iso(report.sent_at),
        detail=report.detail,
    )
