"""Decisions through the real arbiter handler on DynamoDB Local, against the floor, in one run.

The arbiter: ``functions.arbiter.handler.lambda_handler`` with ``service=`` a Baton on DynamoDB Local (the
ledger), moto in-process for SES, one SQS record per invocation, production observability on (INFO logs and
EMF metrics, written to /dev/null).

The floor: for every decision, the very DynamoDB requests that decision made (same operations, same keys, same
expressions and item shapes: the parameters are kept by ``bench.hooks`` as the SDK received them) replayed with
a plain boto3 client and no logic, against a twin customer seeded identically, on the same endpoint. The
decision's SES send is replayed too. Both times are reported with and without the channel call (the time
inside the SES call, from the SDK's own events, subtracted from both sides); the ratio of record excludes it,
since SES latency in AWS is nothing like moto's.

The library floor (``LibraryFloor``): the same requests again, on a second twin, made through pynamodb's model
layer inside a handler with powertools' batch processor, logger, metrics and tracer, and no Baton logic. The
bench checks, decision by decision, that it made exactly the arbiter's requests. It splits the overhead into
what these requests cost through the libraries Baton is built on, and the rest: Baton's own code (contract,
policy, engine, ledger encoding, rendering) and what that code asks of libraries beyond these requests
(pydantic validating the event, the standard library's email package building the MIME, JSON, HMAC).

Decisions interleave (Baton, then its two floors, which take turns at going first, decision by decision), so
drift in the machine's speed hits all three.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.hooks import RECORDER, Call, Recording
from bench.world import CATEGORY, email, request_event, seed

REGION = "us-east-1"


@dataclass
class Sample:
    seconds: float
    cpu_seconds: float
    recording: Recording
    outcome: str = ""
    reason: str = ""

    @property
    def own_seconds(self) -> float:
        """Wall time less the time inside SES/SNS calls."""
        return self.seconds - self.recording.channel_seconds

    @property
    def own_cpu_seconds(self) -> float:
        return self.cpu_seconds - self.recording.channel_cpu_seconds


@dataclass
class Series:
    samples: list[Sample] = field(default_factory=list)

    def median(self, own: bool = True) -> float:
        return statistics.median(s.own_seconds if own else s.seconds for s in self.samples)

    def median_cpu(self) -> float:
        return statistics.median(s.own_cpu_seconds for s in self.samples)

    def mean(self, what: Callable[[Sample], float]) -> float:
        return statistics.fmean(what(s) for s in self.samples)

    def operations(self) -> list[str]:
        """The most common sequence of DynamoDB operations in the series."""
        from collections import Counter

        seqs = Counter(tuple(s.recording.operations) for s in self.samples)
        return list(seqs.most_common(1)[0][0]) if seqs else []


@contextlib.contextmanager
def production_observability() -> Iterator[None]:
    """INFO logs and EMF metrics on, as deployed (cdk.json log_level INFO), written to /dev/null."""
    from baton.entry.observability import logger

    sink = open(os.devnull, "w")  # noqa: SIM115 - closed below
    handler: Any = logger.registered_handler
    previous_stream, previous_level = handler.stream, logger.log_level
    previous_disabled = os.environ.get("POWERTOOLS_METRICS_DISABLED")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"
    handler.setStream(sink)
    logger.setLevel("INFO")
    try:
        with contextlib.redirect_stdout(sink):  # EMF metrics are printed
            yield
    finally:
        handler.setStream(previous_stream)
        logger.setLevel(previous_level)
        if previous_disabled is None:
            os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
        else:
            os.environ["POWERTOOLS_METRICS_DISABLED"] = previous_disabled
        sink.close()


@contextlib.contextmanager
def lambda_heap() -> Iterator[None]:
    """The timed decisions run with everything made before them frozen out of the cycle collector's walks, as in
    a Lambda container, where the handler's start and its composition root freeze what they built
    (``baton.entry.startup``). Here that is also moto and the bench's own setup, which no container holds: left in,
    they made every full collection walk them, on whichever side of the comparison it fell."""
    import gc

    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class Arbiter:
    """The real arbiter handler, with Baton on one DynamoDB Local table and moto's SES."""

    def __init__(self, endpoint: str, table: str, policy: Any):
        import boto3

        from baton.adapters.channels import AwsChannels
        from baton.adapters.dynamodb.ledger import DynamoLedger
        from baton.adapters.policy_source import StaticPolicy
        from baton.app.arbiter import Arbiter, Report
        from baton.app.keys import LOCAL_ADDRESS_SALT, LOCAL_SIGNING_KEYS
        from baton.app.unsubscribe import Links
        from baton.core.clock import SystemClock
        from baton.entry.observability import record_outcome
        from baton.local.composition import UNSUBSCRIBE_URL
        from baton.local.mocked_aws import CONFIGURATION_SET, SENDER

        self.reports: list[Report] = []

        def observe(report: Report) -> None:
            self.reports.append(report)
            record_outcome(report)

        self.ledger = DynamoLedger(
            table, retention=timedelta(days=90), host=endpoint, region=REGION, salt=LOCAL_ADDRESS_SALT
        )
        self.arbiter = Arbiter(
            ledger=self.ledger,
            channels=AwsChannels(
                boto3.client("sesv2", region_name=REGION),
                boto3.client("sns", region_name=REGION),
                sender=SENDER,
                configuration_set=CONFIGURATION_SET,
            ),
            policies=StaticPolicy(policy),
            clock=SystemClock(),
            observer=observe,
            links=Links(url=UNSUBSCRIBE_URL, keys=lambda: LOCAL_SIGNING_KEYS, mailto="unsubscribe@shop.example"),
        )

    def decide(self, customer_id: str, request_id: str) -> Sample:
        from baton.local.runtime import LocalContext, sqs_event
        from functions.arbiter.handler import lambda_handler

        event = sqs_event([request_event(customer_id, request_id, datetime.now(UTC))])
        context = LocalContext()
        self.reports.clear()
        with RECORDER.recording() as recording:
            began, began_cpu = time.perf_counter(), time.thread_time()
            response = lambda_handler(event, context, service=self.arbiter)
            seconds, cpu = time.perf_counter() - began, time.thread_time() - began_cpu
        if response.get("batchItemFailures"):
            raise RuntimeError(f"arbiter failed {customer_id}/{request_id}: {response}")
        report = self.reports[-1] if self.reports else None
        return Sample(
            seconds,
            cpu,
            recording,
            outcome=report.outcome.value if report else "",
            reason=report.reason if report else "",
        )


def _rename(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, dict):
        return {k: _rename(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename(v, names) for v in value]
    return value


class Floor:
    """The bare calls: a boto3 client per service, no logic, parameter validation off as pynamodb has it."""

    def __init__(self, endpoint: str):
        import boto3
        from botocore.config import Config

        config = Config(parameter_validation=False, retries={"mode": "standard", "total_max_attempts": 5})
        self._clients = {
            "dynamodb": boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint, config=config),
            "sesv2": boto3.client("sesv2", region_name=REGION, config=config),
            "sns": boto3.client("sns", region_name=REGION, config=config),
        }

    def method(self, call: Call) -> Callable[..., Any]:
        """The client method that makes ``call``'s request."""
        from botocore import xform_name

        return getattr(self._clients[call.service], xform_name(call.operation))

    def call(self, call: Call) -> Any:
        """One recorded call, made again (recorded, if at all, by the caller's recording)."""
        return self.method(call)(**call.params)

    def replay(self, calls: list[Call], names: dict[str, str]) -> Sample:
        prepared = [(self.method(c), _rename(c.params, names)) for c in calls]
        with RECORDER.recording() as recording:
            began, began_cpu = time.perf_counter(), time.thread_time()
            for method, params in prepared:
                method(**params)
            seconds, cpu = time.perf_counter() - began, time.thread_time() - began_cpu
        if recording.errors:
            raise RuntimeError(f"floor replay failed: {recording.errors}")
        return Sample(seconds, cpu, recording)


_CLAUSE = re.compile(r"\b(SET|REMOVE|ADD|DELETE) ")
_NAME_OP_VALUE = re.compile(r"^(#\w+) (=|<>|<=|>=|<|>) (:\w+)$")
_FUNCTION = re.compile(r"^(attribute_not_exists|attribute_exists) \((#\w+)\)$")
_OPERATORS = {"=": "__eq__", "<>": "__ne__", "<=": "__le__", ">=": "__ge__", "<": "__lt__", ">": "__gt__"}
# what the ledger writes to append to a list (a request's history): list_append(if_not_exists(#n, :[]), :new)
_LIST_APPEND = re.compile(r"^list_append \(if_not_exists \((#\w+), (:\w+)\), (:\w+)\)$")
APPEND = "append"  # a Step's method for _LIST_APPEND

Step = tuple[Any, str, Any]  # (pynamodb attribute, method name, python value or None)


def _terms(clause: str) -> list[str]:
    """The comma-separated terms of an update clause, commas inside a function's parentheses kept."""
    terms, depth, start = [], 0, 0
    for i, char in enumerate(clause):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(clause[start:i].strip())
            start = i + 1
    terms.append(clause[start:].strip())
    return [t for t in terms if t]


class LibraryFloor:
    """The libraries alone: the decision's DynamoDB requests made again through pynamodb's model layer (model
    instances, actions and conditions, as Baton's ledger makes them), inside a handler with powertools' batch
    processor, logger context, metrics and tracer that logs one line and adds two metrics a record as Baton
    does; no Baton logic (no contract, policy, engine, rendering or MIME). The channel call is replayed as sent.

    The recorded requests are read back into attributes and python values before the clock starts, so what is
    timed is the libraries' work: what Baton adds over this is its own code's cost."""

    def __init__(self, arbiter: Arbiter, floor: Floor):
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
        from pynamodb.transactions import TransactWrite

        from baton.entry.observability import logger, metrics, tracer

        self._m = arbiter.ledger._m  # the ledger's model classes, bound to the same table and client
        self._floor = floor
        self._transact = TransactWrite

        @logger.inject_lambda_context
        @metrics.log_metrics
        @tracer.capture_lambda_handler
        def handler(event: dict[str, Any], context: Any, replay: Callable[[str], None]) -> Any:
            def record_handler(record: Any) -> None:
                replay(record.body)

            processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)  # per call
            return process_partial_response(
                event=event, record_handler=record_handler, processor=processor, context=context
            )

        self._handler = handler
        self._logger, self._metrics = logger, metrics

    def replay(self, calls: list[Call], names: dict[str, str], body: str, report: dict[str, Any]) -> Sample:
        from aws_lambda_powertools.metrics import MetricUnit

        from baton.local.runtime import LocalContext, sqs_event

        steps = [self._plan(Call(c.service, c.operation, _rename(c.params, names))) for c in calls]

        def replay(record_body: str) -> None:
            json.loads(record_body)
            for step in steps:
                step()
            self._metrics.add_metric(name=f"Outcome_{report['outcome']}", unit=MetricUnit.Count, value=1)
            self._metrics.add_metric(name=f"Reason_{report['outcome']}", unit=MetricUnit.Count, value=1)
            self._logger.info("decision", **report)

        event, context = sqs_event([body]), LocalContext()
        with RECORDER.recording() as recording:
            began, began_cpu = time.perf_counter(), time.thread_time()
            response = self._handler(event, context, replay=replay)
            seconds, cpu = time.perf_counter() - began, time.thread_time() - began_cpu
        if response.get("batchItemFailures") or recording.errors:
            raise RuntimeError(f"library floor failed: {response} {recording.errors}")
        return Sample(seconds, cpu, recording)

    # -- a recorded request, as the model-layer call that makes it -------------------------------------------
    def _plan(self, call: Call) -> Callable[[], None]:
        p = call.params
        if call.service != "dynamodb":
            return lambda: self._floor.call(call)
        if call.operation == "BatchGetItem":
            if len(p["RequestItems"]) != 1:
                raise ValueError("library floor: a BatchGetItem over more than the ledger's table")
            (spec,) = p["RequestItems"].values()
            keys = [(k["pk"]["S"], k["sk"]["S"]) for k in spec["Keys"]]
            consistent = bool(spec.get("ConsistentRead"))

            def read() -> None:
                for _ in self._m.item.batch_get(keys, consistent_read=consistent):
                    pass

            return read
        if call.operation == "UpdateItem":
            model, key, actions, condition = self._update(p)
            return lambda: model(*key).update(actions=self._actions(actions), condition=self._joined(condition))
        if call.operation == "TransactWriteItems":
            return self._plan_transaction(p["TransactItems"])
        raise ValueError(f"library floor: no model-layer replay for {call.operation}")

    def _plan_transaction(self, items: list[dict[str, Any]]) -> Callable[[], None]:
        """A TransactWriteItems made again through the models: its puts and updates in one transaction."""
        entries: list[tuple[str, Any, Any, Any, Any]] = []
        for entry in items:
            if set(entry) - {"Put", "Update"}:
                raise ValueError(f"library floor: no model-layer replay for a transaction's {sorted(entry)}")
            if "Put" in entry:
                put = entry["Put"]
                model = self._model(put["Item"]["sk"]["S"])
                fields = {
                    self._name(model, k): self._value(model, k, v)
                    for k, v in put["Item"].items()
                    if k not in ("pk", "sk", "kind")
                }
                key = (put["Item"]["pk"]["S"], put["Item"]["sk"]["S"])
                entries.append(("save", model, key, fields, self._condition(model, put)))
            else:
                model, key, actions, condition = self._update(entry["Update"])
                entries.append(("update", model, key, actions, condition))

        def transact() -> None:
            with self._transact(connection=self._m.connection) as tx:
                for verb, model, key, body, condition in entries:
                    if verb == "save":
                        tx.save(model(*key, **body), condition=self._joined(condition))
                    else:
                        tx.update(model(*key), actions=self._actions(body), condition=self._joined(condition))

        return transact

    def _update(self, spec: dict[str, Any]) -> tuple[Any, tuple[str, str], list[Step], list[Step]]:
        model = self._model(spec["Key"]["sk"]["S"])
        names, values = spec.get("ExpressionAttributeNames", {}), spec.get("ExpressionAttributeValues", {})
        actions: list[Step] = []
        parts = _CLAUSE.split(spec["UpdateExpression"])[1:]
        for verb, clause in zip(parts[::2], parts[1::2], strict=True):
            for term in _terms(clause):
                name, _, value = term.partition(" = " if verb == "SET" else " ")
                attribute = self._attribute(model, names[name])
                if match := _LIST_APPEND.match(value):
                    if match.group(1) != name:
                        raise ValueError(f"library floor: cannot replay the update {term!r}")
                    actions.append((attribute, APPEND, self._value(model, names[name], values[match.group(3)])))
                    continue
                raw = None if verb == "REMOVE" else self._value(model, names[name], values[value])
                actions.append((attribute, verb.lower(), raw))
        key = (spec["Key"]["pk"]["S"], spec["Key"]["sk"]["S"])
        return model, key, actions, self._condition(model, spec)

    def _condition(self, model: Any, spec: dict[str, Any]) -> list[Step]:
        """The terms of a condition, all joined by AND (the only join the ledger writes)."""
        names, values = spec.get("ExpressionAttributeNames", {}), spec.get("ExpressionAttributeValues", {})
        text = spec.get("ConditionExpression") or ""
        if text.startswith("(") and text.endswith(")"):
            text = text[1:-1]
        terms: list[Step] = []
        for term in filter(None, text.split(" AND ")):
            if match := _FUNCTION.match(term):
                function, name = match.groups()
                method = "does_not_exist" if function == "attribute_not_exists" else "exists"
                terms.append((self._attribute(model, names[name]), method, None))
            elif match := _NAME_OP_VALUE.match(term):
                name, op, value = match.groups()
                raw = self._value(model, names[name], values[value])
                terms.append((self._attribute(model, names[name]), _OPERATORS[op], raw))
            else:
                raise ValueError(f"library floor: cannot replay the condition {text!r}")
        return terms

    @staticmethod
    def _made(step: Step) -> Any:
        """The action or condition term a step stands for, made by pynamodb."""
        attr, method, value = step
        if method == APPEND:
            return attr.set((attr | []).append(value))
        return getattr(attr, method)() if value is None else getattr(attr, method)(value)

    def _actions(self, steps: list[Step]) -> list[Any]:
        return [self._made(step) for step in steps]

    def _joined(self, steps: list[Step]) -> Any:
        condition = None
        for step in steps:
            part = self._made(step)
            condition = part if condition is None else condition & part
        return condition

    def _model(self, sk: str) -> Any:
        if sk == "STATE":
            return self._m.state
        if sk.startswith("R#"):
            return self._m.request
        if sk == "ADDR":
            return self._m.address
        raise ValueError(f"library floor: no model for the sort key {sk!r}")

    def _name(self, model: Any, attr_name: str) -> str:
        for name, attribute in model.get_attributes().items():
            if attribute.attr_name == attr_name:
                return name
        raise ValueError(f"library floor: {model.__name__} has no attribute stored as {attr_name!r}")

    def _attribute(self, model: Any, attr_name: str) -> Any:
        return getattr(model, self._name(model, attr_name))

    def _value(self, model: Any, attr_name: str, value: dict[str, Any]) -> Any:
        attribute = self._attribute(model, attr_name)
        return attribute.deserialize(attribute.get_value(value))


def _same_requests(calls: list[Call], replayed: list[Call], names: dict[str, str]) -> bool:
    """Whether ``replayed`` made exactly ``calls``' requests, renamed (a BatchGetItem's keys in any order)."""

    def canonical(call: Call, names: dict[str, str]) -> str:
        params = _rename(call.params, names)
        if call.operation == "BatchGetItem":
            params = {
                **params,
                "RequestItems": {
                    table: {**spec, "Keys": sorted(spec["Keys"], key=json.dumps)}
                    for table, spec in params["RequestItems"].items()
                },
            }
        return json.dumps([call.service, call.operation, params], sort_keys=True, default=str)

    return [canonical(c, names) for c in calls] == [canonical(c, {}) for c in replayed]


def _client_factory(endpoint: str) -> Callable[[], Any]:
    import boto3

    return lambda: boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


# -- overhead, round trips, capacity ---------------------------------------------------------------------


def _by_operation(series: Series) -> dict[str, dict[str, float]]:
    """Mean capacity per decision by operation: as DynamoDB Local reported it, and billed at the least."""
    out: dict[str, dict[str, float]] = {}
    n = len(series.samples)
    for sample in series.samples:
        for call in sample.recording.of("dynamodb"):
            row = out.setdefault(call.operation, {"rcu": 0.0, "wcu": 0.0, "billed_rcu": 0.0, "billed_wcu": 0.0})
            row["rcu"] += call.read_units / n
            row["wcu"] += call.write_units / n
            row["billed_rcu"] += max(call.read_units, call.least_read_units) / n
            row["billed_wcu"] += max(call.write_units, call.least_write_units) / n
    return {op: {k: round(v, 3) for k, v in row.items()} for op, row in out.items()}


def overhead(endpoint: str, table: str, policy: Any, decisions: int, warmup: int) -> dict[str, Any]:
    """Per customer: a send (the day's first ``promo`` email) and a suppress (the second: cap:category_daily),
    each through the arbiter, then its library floor on the customer's second twin and its floor on the first."""
    from baton.local.mocked_aws import create_table

    make = _client_factory(endpoint)
    create_table(make(), table)
    now = datetime.now(UTC)
    total = decisions + warmup
    seed(make, table, [f"{who}{i:05d}" for who in "bfl" for i in range(total)], 1, now, 4)
    arbiter, floor = Arbiter(endpoint, table, policy), Floor(endpoint)
    libraries = LibraryFloor(arbiter, floor)
    paths = {path: (Series(), Series(), Series()) for path in ("send", "suppress")}
    unexpected: list[str] = []
    expected = {"send": ("sent", "within_policy"), "suppress": ("suppressed", "cap:category_daily")}
    with production_observability(), lambda_heap():
        for i in range(total):
            customer, twin, third = f"b{i:05d}", f"f{i:05d}", f"l{i:05d}"
            names = {f"C#{customer}": f"C#{twin}", email(customer): email(twin)}
            third_names = {f"C#{customer}": f"C#{third}", email(customer): email(third)}
            for path, request_id in (("send", f"r{i:05d}-a"), ("suppress", f"r{i:05d}-b")):
                sample = arbiter.decide(customer, request_id)
                if (sample.outcome, sample.reason) != expected[path]:
                    unexpected.append(f"{customer}/{request_id}: {sample.outcome} {sample.reason}")
                report = {
                    "request_id": request_id, "customer_id": third, "outcome": sample.outcome,
                    "reason": sample.reason, "channel": "email", "category": CATEGORY, "release_at": None,
                }  # fmt: skip
                body = request_event(third, request_id, now)
                if i % 2:  # the two floors take turns at following Baton straight away
                    replayed = floor.replay(sample.recording.calls, names)
                    library = libraries.replay(sample.recording.calls, third_names, body, report)
                else:
                    library = libraries.replay(sample.recording.calls, third_names, body, report)
                    replayed = floor.replay(sample.recording.calls, names)
                if not _same_requests(sample.recording.calls, library.recording.calls, third_names):
                    unexpected.append(f"the library floor of {request_id} made other requests than the arbiter")
                if i >= warmup:
                    for series, measured in zip(paths[path], (sample, replayed, library), strict=True):
                        series.samples.append(measured)
    if unexpected:
        raise RuntimeError(f"decisions (or their library floor) took an unexpected path: {unexpected[:5]}")
    result: dict[str, Any] = {"decisions_per_path": decisions, "warmup": warmup, "paths": {}}
    for path, (mine, floor_series, library_series) in paths.items():
        result["paths"][path] = {
            "operations": mine.operations(),
            "round_trips": statistics.median(s.recording.round_trips for s in mine.samples),
            "round_trips_max": max(s.recording.round_trips for s in mine.samples),
            "rcu": round(mine.mean(lambda s: s.recording.read_units), 3),
            "wcu": round(mine.mean(lambda s: s.recording.write_units), 3),
            "billed_rcu": round(mine.mean(lambda s: s.recording.billed_read_units), 3),
            "billed_wcu": round(mine.mean(lambda s: s.recording.billed_write_units), 3),
            "by_operation": _by_operation(mine),
            "floor_rcu": round(floor_series.mean(lambda s: s.recording.read_units), 3),
            "floor_wcu": round(floor_series.mean(lambda s: s.recording.write_units), 3),
            "baton_ms": round(mine.median() * 1000, 3),
            "floor_ms": round(floor_series.median() * 1000, 3),
            "ratio": round(mine.median() / floor_series.median(), 3),
            "library_ms": round(library_series.median() * 1000, 3),
            "library_ratio": round(library_series.median() / floor_series.median(), 3),
            "baton_over_library": round(mine.median() / library_series.median(), 3),
            "library_cpu_ms": round(library_series.median_cpu() * 1000, 3),
            "baton_with_channel_ms": round(mine.median(own=False) * 1000, 3),
            "floor_with_channel_ms": round(floor_series.median(own=False) * 1000, 3),
            "ratio_with_channel": round(mine.median(own=False) / floor_series.median(own=False), 3),
            "baton_cpu_ms": round(mine.median_cpu() * 1000, 3),
            "floor_cpu_ms": round(floor_series.median_cpu() * 1000, 3),
            "channel_ms": round(statistics.median(s.recording.channel_seconds for s in mine.samples) * 1000, 3),
        }
    result["engagement"] = engagement_updates(arbiter, policy, [f"b{i:05d}" for i in range(warmup, total)], now)
    _progress(
        "overhead: "
        + ", ".join(f"{p} {r['baton_ms']} ms vs floor {r['floor_ms']} ms" for p, r in result["paths"].items())
    )
    return result


def engagement_updates(arbiter: Arbiter, policy: Any, customers: list[str], now: datetime) -> dict[str, Any]:
    """What adding one engagement to a customer's profile costs (the profile function's write, never on the
    decision path), on the customers the decisions were measured on: round trips, units, the attribute's size."""
    from baton.app.engagements import Engagement

    samples: list[Recording] = []
    for n, customer in enumerate(customers):
        opened = Engagement(key=f"bench-{n}", customer_id=customer, kind="open", at=now, channel="email")
        with RECORDER.recording() as recording:
            if not arbiter.ledger.record_engagement(opened, now, policy):
                raise RuntimeError(f"the engagement of {customer} was taken for a duplicate")
        samples.append(recording)
    sizes = [len(arbiter.ledger._m.state.get(f"C#{c}", "STATE").engagement.encode()) for c in customers]
    return {
        "updates": len(samples),
        "operations": samples[0].operations if samples else [],
        "round_trips": max((r.round_trips for r in samples), default=0),
        "rcu": round(statistics.mean(r.read_units for r in samples), 3) if samples else 0.0,
        "wcu": round(statistics.mean(r.write_units for r in samples), 3) if samples else 0.0,
        "billed_wcu": round(statistics.mean(r.billed_write_units for r in samples), 3) if samples else 0.0,
        "profile_bytes": max(sizes, default=0),
    }


# -- scale ---------------------------------------------------------------------------------------------


def scale(
    endpoint: str,
    prefix: str,
    policy: Any,
    customers_small: int,
    customers_large: int,
    history: int,
    decisions: int,
    warmup: int,
) -> dict[str, Any]:
    """Send-path decisions, interleaved: a 1-contact customer in a table of ``customers_small``, a 1-contact
    customer in a table of ``customers_large``, and a ``history``-contact customer in the small table."""
    from baton.local.mocked_aws import create_table

    make = _client_factory(endpoint)
    now = datetime.now(UTC)
    total = decisions + warmup
    small, large = f"{prefix}-small", f"{prefix}-large"
    for table in (small, large):
        create_table(make(), table)
    began = time.monotonic()
    measured_small = [f"s{i:06d}" for i in range(total)]
    measured_history = [f"h{i:06d}" for i in range(total)]
    measured_large = [f"l{i:06d}" for i in range(total)]
    if customers_small < 2 * total or customers_large < total:
        raise ValueError("the tables must hold at least the measured customers")
    seed(make, small, measured_small, 1, now, 4)
    seed(make, small, measured_history, history, now, 4)
    seed(make, small, (f"x{i:06d}" for i in range(customers_small - 2 * total)), 1, now, 4)
    seed(make, large, measured_large, 1, now, 4)
    seed(make, large, (f"x{i:06d}" for i in range(customers_large - total)), 1, now, 4)
    seeded = round(time.monotonic() - began, 1)
    _progress(f"scale: seeded {customers_small:,} + {customers_large:,} customers in {seeded} s")
    groups = {
        "small": (Arbiter(endpoint, small, policy), measured_small),
        "large": (Arbiter(endpoint, large, policy), measured_large),
        "history": (Arbiter(endpoint, small, policy), measured_history),
    }
    series = {name: Series() for name in groups}
    order = list(groups)
    with production_observability(), lambda_heap():
        for i in range(total):
            order = order[1:] + order[:1]  # rotate who goes first
            for name in order:
                arbiter, ids = groups[name]
                sample = arbiter.decide(ids[i], f"r{i:06d}")
                if sample.outcome != "sent":
                    raise RuntimeError(f"scale {name}: {ids[i]} was {sample.outcome} {sample.reason}, not sent")
                if i >= warmup:
                    series[name].samples.append(sample)
    medians = {name: s.median() for name, s in series.items()}
    result = {
        "customers": {"small": customers_small, "large": customers_large},
        "history_contacts": {"small": 1, "history": history},
        "decisions_per_group": decisions,
        "seed_seconds": seeded,
        "median_ms": {name: round(m * 1000, 3) for name, m in medians.items()},
        "wcu": {name: round(s.mean(lambda x: x.recording.write_units), 2) for name, s in series.items()},
        "rcu": {name: round(s.mean(lambda x: x.recording.read_units), 2) for name, s in series.items()},
        "customers_ratio": round(medians["large"] / medians["small"], 3),
        "history_ratio": round(medians["history"] / medians["small"], 3),
    }
    _progress(f"scale: {result['median_ms']}")
    return result
