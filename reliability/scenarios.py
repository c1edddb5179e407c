"""The reliability scenarios. Each takes its size as arguments and returns its figures (the keys of
``reliability/results.json``, plus details for the printed table): ``make reliability`` runs them at full size,
tests/reliability at a small one. Everything runs through the real handlers; only AWS is local (moto, DynamoDB
Local) and faults are injected over the real botocore clients (tests/faults)."""

from __future__ import annotations

import importlib.util
import json
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

from baton.core.domain import Outcome
from baton.local.runtime import LocalContext, sqs_event
from reliability.world import (
    CATEGORIES,
    FINAL,
    START,
    Req,
    cap_violations,
    engaged,
    local_world,
    provider_sends,
    reliability_policy,
    requests,
)
from tests.functional.harness import FaultPlan, inject

Figures = dict[str, Any]
DELIVERY_CHUNK = 300  # duplicates: deliveries enqueued at a time

_environments = threading.local()


def own_arbiter() -> ModuleType:
    """The arbiter handler module as this thread's own copy: each worker is a separate Lambda execution
    environment with its own module state (the batch processor is module-level and serves one event at a time)."""
    module = getattr(_environments, "arbiter", None)
    if module is None:
        import functions.arbiter.handler as original

        spec = importlib.util.spec_from_file_location(
            f"functions.arbiter.handler_env{threading.get_ident()}", original.__file__
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _environments.arbiter = module
    return module


def _outcomes(reqs: list[Req], records: dict[str, Any], sends: Counter[str]) -> tuple[int, Counter[str]]:
    """(requests without a final outcome in the ledger, or recorded sent with no provider send; statuses)."""
    statuses: Counter[str] = Counter()
    lost = 0
    for req in reqs:
        record = records.get(req.request_id)
        status = record.status if record is not None else "none"
        statuses[status] += 1
        if status not in FINAL or (status == "sent" and sends[req.request_id] == 0):
            lost += 1
    return lost, statuses


def _when(records: dict[str, Any]) -> dict[str, Any]:
    return {rid: r.sent_at or r.decided_at or START for rid, r in records.items()}


# -- duplicates ------------------------------------------------------------------------------------------------
def duplicates(count: int, customers: int, *, endpoint: str | None = None, workers: int = 1, seed: int = 7) -> Figures:
    """Every event delivered 3 times, shuffled, through the arbitration queue (batches of 10)."""
    reqs = requests(count, customers, prefix="d")
    names = sorted({r.customer_id for r in reqs})
    with local_world(reliability_policy(), endpoint, names) as world:
        bodies = [body for req in reqs for body in [req.body()] * 3]
        random.Random(seed).shuffle(bodies)
        handler = _environment_handler(world)
        invocations = 0
        # the shuffled deliveries arrive over time, a chunk at a time, as they do in production; the copies of one
        # event land in the same chunk (concurrent duplicates) or in later ones (redelivery after it settled).
        # Enqueueing all at once would only measure moto's SQS, which rescans the whole queue on every send.
        for start in range(0, len(bodies), DELIVERY_CHUNK):
            world.queue.send(bodies[start : start + DELIVERY_CHUNK])
            invocations += world.queue.drain(handler, LocalContext, workers=workers).invocations
        invocations += world.settle(handler, workers=workers)
        sends = provider_sends()
        records = world.records(set(names))
        lost, statuses = _outcomes(reqs, records, sends)
        dlq = world.queue.depth(world.queue.dlq_url)
    return {
        "duplicates_double_sends": sum(1 for n in sends.values() if n > 1),
        "duplicates_lost": lost,
        "detail": {
            "requests": count,
            "deliveries": len(bodies),
            "invocations": invocations,
            "statuses": dict(statuses),
            "dlq": dlq,
            "cap_violations": cap_violations(sends, {r.request_id: r for r in reqs}, _when(records)),
        },
    }


def _environment_handler(world: Any) -> Callable[[dict[str, Any], Any], Any]:
    def handler(event: dict[str, Any], context: Any) -> Any:
        return own_arbiter().lambda_handler(event, context, service=world.runtime.arbiter)

    return handler


# -- concurrency -----------------------------------------------------------------------------------------------
def concurrency(
    runs: int, workers: int, per_customer: int, *, endpoint: str | None, customers: int = 1, engagements: int = 0
) -> Figures:
    """``runs`` times: ``workers`` threads, released together, submit ``per_customer`` simultaneous requests for
    each customer, one record per invocation; failed records are redelivered until none fail. Caps are then
    recounted from the provider's sends. With ``engagements``, one more thread, released with them, sends that
    many CustomerEngaged per customer through the profile function meanwhile (each folded into the customer's
    engagement profile, beside the state the decisions write). ``decision_retries`` counts the decisions' commits
    refused for a concurrent write (each one a retry inside the arbiter)."""
    violations = 0
    lost = 0
    redeliveries = 0
    retries = Counter[str]()
    statuses: Counter[str] = Counter()
    profiles_short = 0
    for run in range(runs):
        reqs = [
            Req(f"k{run:02d}-{c:02d}-{n:04d}", f"cust-{c:02d}", CATEGORIES[n % len(CATEGORIES)])
            for c in range(customers)
            for n in range(per_customer)
        ]
        names = sorted({r.customer_id for r in reqs})
        side = [engaged(c, n) for c in names for n in range(engagements)]
        with local_world(reliability_policy(), endpoint, names, real_sleep=True) as world:
            _count_refused_commits(world.runtime.arbiter, retries)
            pending = [r.body() for r in reqs]
            random.Random(run).shuffle(pending)
            for _ in range(50):
                if not pending:
                    break
                pending = _all_at_once(world, pending, workers, side)
                side = []
                redeliveries += len(pending)
            if pending:
                raise RuntimeError(f"{len(pending)} records still failing after 50 redeliveries")
            world.settle(_environment_handler(world))  # deferred requests: released by the sweeper
            sends = provider_sends()
            records = world.records(set(names))
            violations += cap_violations(sends, {r.request_id: r for r in reqs}, _when(records))
            run_lost, run_statuses = _outcomes(reqs, records, sends)
            lost += run_lost
            statuses.update(run_statuses)
            counted = [world.runtime.ledger.load(c, None, None, True).ledger.engagement.count for c in names]
            profiles_short += sum(1 for n in counted if n != engagements)
    return {
        "concurrency_runs": runs,
        "concurrency_cap_violations": violations,
        "detail": {
            "workers": workers,
            "requests_per_customer": per_customer,
            "customers_per_run": customers,
            "lost": lost,
            "redelivered": redeliveries,
            "statuses": dict(statuses),
            "engagements_per_customer": engagements,
            "decision_commits": retries.pop("commits", 0),
            "decision_retries": retries.pop("refused", 0),
            # why each was refused: ConditionalCheckFailed (another decision moved the version first) or
            # TransactionConflict (another write to the state item at the same moment: an engagement's would show
            # here, since it never moves the version)
            "decision_retries_by_reason": dict(retries),
            "profiles_miscounted": profiles_short,  # customers whose profile does not count every engagement once
        },
    }


def _count_refused_commits(arbiter: Any, counts: Counter[str]) -> None:
    """Count the arbiter's commits (``commits``), those the ledger refused for a concurrent write (``refused``:
    ConcurrentUpdate, after which the arbiter reads again and retries) and the cancellation reasons behind them.
    The real commit runs; only its outcome is tallied."""
    from baton.core.errors import ConcurrentUpdate

    ledger = arbiter.ledger
    commit = ledger.commit
    lock = threading.Lock()

    def counted(*args: Any, **kwargs: Any) -> Any:
        try:
            return commit(*args, **kwargs)
        except ConcurrentUpdate as exc:
            with lock:
                counts["refused"] += 1
                for reason in getattr(exc.__cause__, "cancellation_reasons", None) or []:
                    if reason is not None and getattr(reason, "code", None) not in (None, "None"):
                        counts[reason.code] += 1
            raise
        finally:
            with lock:
                counts["commits"] += 1

    ledger.commit = counted


def _all_at_once(world: Any, bodies: list[str], workers: int, side: list[str] | None = None) -> list[str]:
    """``bodies`` through the arbiter from ``workers`` threads, and ``side`` (if any) through the profile function
    from one more, all released at once. Returns the arbiter records that failed (to redeliver)."""
    gate = threading.Barrier(workers + (1 if side else 0))
    failed: list[str] = []
    lock = threading.Lock()

    def work(share: list[str]) -> None:
        module = own_arbiter()
        gate.wait()
        for body in share:
            response = module.lambda_handler(sqs_event([body]), LocalContext(), service=world.runtime.arbiter)
            if response["batchItemFailures"]:
                with lock:
                    failed.append(body)

    def engage(bodies: list[str]) -> None:
        gate.wait()
        for body in bodies:
            for _ in range(50):  # a record the profile function fails comes back, as SQS would bring it
                if not world.runtime.invoke_profile([body])["batchItemFailures"]:
                    break
            else:
                raise RuntimeError("an engagement still failing after 50 redeliveries")

    with ThreadPoolExecutor(max_workers=workers + 1) as pool:
        futures = [pool.submit(work, bodies[i::workers]) for i in range(workers)]
        if side:
            futures.append(pool.submit(engage, side))
        for future in futures:
            future.result()
    return failed


# -- faults ----------------------------------------------------------------------------------------------------
def faults(count: int, customers: int, *, probability: float = 0.2, seed: int = 20261127) -> Figures:
    """Every AWS call the functions make (DynamoDB, SES, SQS) fails with ``probability``: throttling, 5xx,
    timeout (the call applied, the answer lost), crash before or after the call. The queue redelivers until
    success or the DLQ; the sweeper resumes unconfirmed sends. Single-threaded, so the seed fixes the run."""
    from baton.ops.dlq import inspect, redrive

    reqs = requests(count, customers, prefix="f")
    names = sorted({r.customer_id for r in reqs})
    plan = FaultPlan(probability=probability, seed=seed, scoped=True)
    with local_world(reliability_policy(), None, names) as world, inject(plan):
        world.queue.send([r.body() for r in reqs])
        invocations = world.settle(world.arbiter(plan.armed), armed=plan.armed)
        plan.enabled = False
        sends = provider_sends()
        records = world.records(set(names))
        letters = inspect(world.queue.sqs, world.queue.dlq_url, world.runtime.ledger, limit=10 * count)
        in_dlq = {letter.request_id for letter in letters if letter.request_id and letter.reason}
        lost = 0
        statuses: Counter[str] = Counter()
        for req in reqs:
            record = records.get(req.request_id)
            status = record.status if record is not None else "none"
            statuses[status] += 1
            settled = status in FINAL and not (status == "sent" and sends[req.request_id] == 0)
            if not settled and req.request_id not in in_dlq:
                lost += 1
        reasons = Counter(letter.reason.split(":", 1)[0] for letter in letters)
        figures = {
            "faults_requests": count,
            "faults_lost": lost,
            "faults_cap_violations": cap_violations(sends, {r.request_id: r for r in reqs}, _when(records)),
            "faults_double_sends": sum(n - 1 for n in sends.values() if n > 1),
        }
        # after the fix: redrive the DLQ with the faults gone; every request must end
        moved = redrive(world.queue.sqs, world.queue.dlq_url, world.queue.url)
        world.settle(world.arbiter())
        after = world.records(set(names))
        sends_after = provider_sends()
        open_after, _ = _outcomes(reqs, after, sends_after)
    injected = Counter(i.kind for i in plan.injected)
    return {
        **figures,
        "detail": {
            "calls": sum(plan.calls.values()),
            "injected": dict(injected),
            "invocations": invocations,
            "statuses": dict(statuses),
            "dlq": len(letters),
            "dlq_reasons": dict(reasons),
            "redriven": moved,
            "open_after_redrive": open_after,
            "double_sends_after_redrive": sum(n - 1 for n in sends_after.values() if n > 1),
            "cap_breaches_counting_copies": cap_violations(
                sends, {r.request_id: r for r in reqs}, _when(records), repeats=True
            ),
            "cap_violations_after_redrive": cap_violations(sends_after, {r.request_id: r for r in reqs}, _when(after)),
        },
    }


# -- bad input -------------------------------------------------------------------------------------------------
def bad_input(
    events: int, *, per_batch: int = 7, neighbours: int = 3, customers: int = 20, endpoint: str | None = None
) -> Figures:
    """``events`` malformed bodies from hypothesis, ``per_batch`` per batch with ``neighbours`` valid requests
    in the same batch, through the real arbiter handler. At full size the ledger is on DynamoDB Local
    (``endpoint``): moto copies a whole table for every transaction, which at 10,000 events grows past memory."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    from reliability.malformed import CID, RID, malformed_body

    names = [f"cust-{c:03d}" for c in range(customers)]
    counts = Counter[str]()
    unreported: list[str] = []
    crashes: list[str] = []
    with local_world(reliability_policy(), endpoint, names) as world:
        serial = [0]

        @settings(
            max_examples=events // per_batch + 50,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(st.lists(malformed_body, min_size=per_batch, max_size=per_batch))
        def one_batch(bad: list[str]) -> None:
            left = events - counts["malformed"]
            if left <= 0:
                return
            batch: list[tuple[str, str | None]] = []
            for body in bad[:left]:
                serial[0] += 1
                n = serial[0]
                unique = body.replace(RID, f"bad-{n}").replace(CID, names[n % customers])
                batch.append((unique, None))
            for k in range(neighbours):
                serial[0] += 1
                req = Req(f"ok-{serial[0]}", names[serial[0] % customers], "sale", transactional=True)
                batch.insert((k * 3 + 1) % (len(batch) + 1), (req.body(), req.request_id))
            counts["malformed"] += sum(1 for _, rid in batch if rid is None)
            counts["valid"] += neighbours
            counts["batches"] += 1
            start = len(world.reports)
            try:
                response = world.runtime.invoke_arbiter([body for body, _ in batch])
            except Exception as exc:
                crashes.append(f"{type(exc).__name__}: {exc}")
                return
            if response["batchItemFailures"]:
                crashes.append(f"batch failed: {response['batchItemFailures']}")
            _attribute(batch, world.reports[start:], counts, unreported)

        one_batch()
    return {
        "bad_input_events": counts["malformed"],
        "bad_input_crashes": len(crashes),
        "bad_input_unreported": len(unreported),
        "detail": {
            "batches": counts["batches"],
            "valid_neighbours": counts["valid"],
            "neighbours_not_sent": counts["neighbour_missed"],
            "examples_unreported": unreported[:5],
            "examples_crashes": crashes[:5],
        },
    }


def _attribute(batch: list[tuple[str, str | None]], reports: list[Any], counts: Counter[str], out: list[str]) -> None:
    """The batch processor handles records in order, and each record's reports come out in order: walk both."""
    i = 0
    for body, rid in batch:
        report = reports[i] if i < len(reports) else None
        if rid is not None:  # a valid neighbour: its own report, sent
            if report is None or report.request_id != rid or report.outcome is not Outcome.SENT:
                counts["neighbour_missed"] += 1
            else:
                i += 1
            continue
        rejected = report is not None and (
            report.outcome is Outcome.REJECTED
            or (report.outcome is Outcome.DUPLICATE and report.reason.startswith("rejected"))
        )
        if not rejected:
            out.append(body[:300])
        if report is not None:
            i += 1


# -- load ------------------------------------------------------------------------------------------------------
def write_load_file(path: Path, count: int, customers: int, per_instant: int = 100) -> None:
    """``customers`` profiles, then ``count`` requests over them, ``per_instant`` sharing each second."""
    from datetime import timedelta

    from reliability.world import profile

    with path.open("w", encoding="utf-8") as out:
        for c in range(customers):
            out.write(profile(f"cust-{c:05d}") + "\n")
        for n, req in enumerate(requests(count, customers, prefix="l")):
            out.write(req.body(START + timedelta(seconds=1 + n // per_instant)) + "\n")


def load(count: int, customers: int, *, workers: int, endpoint: str | None) -> Figures:
    """``baton replay`` (the command itself) of ``count`` requests over ``customers`` customers."""
    from baton.local.cli import main

    with tempfile.TemporaryDirectory(prefix="baton-load-") as tmp:
        events, out = Path(tmp) / "load.jsonl", Path(tmp) / "out.jsonl"
        write_load_file(events, count, customers)
        argv = ["replay", str(events), "--workers", str(workers), "--out", str(out), "--quiet"]
        if endpoint:
            argv += ["--dynamodb-endpoint", endpoint]
        began = time.monotonic()
        status = main(argv)
        seconds = time.monotonic() - began
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    expected = {req.request_id for req in requests(count, customers, prefix="l")}
    by_id = Counter(row["request_id"] for row in rows)
    final = {row["request_id"] for row in rows if row["outcome"] in FINAL}
    unaccounted = sum(1 for rid in expected if rid not in final or by_id[rid] != 1)
    return {
        "load_requests": len(rows),
        "load_unaccounted": unaccounted + abs(len(rows) - count),
        "detail": {
            "exit_status": status,
            "seconds": round(seconds, 1),
            "requests_per_second": round(count / seconds, 1) if seconds else None,
            "outcomes": dict(Counter(row["outcome"] for row in rows)),
            # what `baton replay` said of each request without a final outcome (a dead letter, or none at all)
            "lost": [
                {k: row[k] for k in ("request_id", "customer_id", "category", "reason")}
                for row in rows
                if row["outcome"] not in FINAL
            ][:50],
        },
    }
