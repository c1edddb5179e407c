"""Every AWS call a decision makes, seen through botocore's own events: no Baton code is touched.

pynamodb builds its own botocore session and client per connection (``pynamodb.connection.base``), so the
hooks are attached where every client is born: ``botocore.session.Session.create_client`` is wrapped once, and
each DynamoDB, SESv2 and SNS client it returns gets three handlers on its event emitter:

- ``provide-client-params``: the first event of a call. Keeps the parameters as the caller gave them (a
  shallow copy: the floor replays exactly these), starts the clocks, and for DynamoDB adds
  ``ReturnConsumedCapacity=INDEXES`` (the total plus the table/index split) to operations that accept it.
- ``after-call``: counts the call and reads ``ConsumedCapacity`` from the response.

Calls are recorded only inside ``RECORDER.recording()`` on the same thread; outside it the hooks do nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

SERVICES = ("dynamodb", "sesv2", "sns")
READ_OPERATIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})


@dataclass
class Call:
    service: str
    operation: str
    params: dict[str, Any]
    started: float = 0.0
    started_cpu: float = 0.0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    read_units: float = 0.0
    write_units: float = 0.0
    capacity: Any = None  # ConsumedCapacity as returned (table and index split)
    error: str | None = None

    @property
    def least_read_units(self) -> float:
        """What DynamoDB bills a read at the least: every key requested, found or not, 0.5 unit (eventually
        consistent) or 1 (strongly consistent) per item up to 4 KB. DynamoDB Local counts found items only."""
        if self.operation == "GetItem":
            return 1.0 if self.params.get("ConsistentRead") else 0.5
        if self.operation == "BatchGetItem":
            return sum(
                len(spec.get("Keys", ())) * (1.0 if spec.get("ConsistentRead") else 0.5)
                for spec in self.params.get("RequestItems", {}).values()
            )
        return 0.0

    @property
    def least_write_units(self) -> float:
        """What DynamoDB bills a write at the least: 1 unit per item written (up to 1 KB), 2 in a transaction.
        DynamoDB Local reports less than this for some transactions."""
        if self.operation == "TransactWriteItems":
            return 2.0 * sum(1 for item in self.params.get("TransactItems", ()) if "ConditionCheck" not in item)
        if self.operation == "BatchWriteItem":
            return float(sum(len(v) for v in self.params.get("RequestItems", {}).values()))
        if self.operation in ("PutItem", "UpdateItem", "DeleteItem"):
            return 1.0
        return 0.0


@dataclass
class Recording:
    calls: list[Call] = field(default_factory=list)

    def of(self, service: str) -> list[Call]:
        return [c for c in self.calls if c.service == service]

    @property
    def round_trips(self) -> int:
        return len(self.of("dynamodb"))

    @property
    def operations(self) -> list[str]:
        return [c.operation for c in self.of("dynamodb")]

    @property
    def read_units(self) -> float:
        return sum(c.read_units for c in self.of("dynamodb"))

    @property
    def billed_read_units(self) -> float:
        """Measured read units, raised to what DynamoDB bills at the least for the keys requested."""
        return sum(max(c.read_units, c.least_read_units) for c in self.of("dynamodb"))

    @property
    def write_units(self) -> float:
        return sum(c.write_units for c in self.of("dynamodb"))

    @property
    def billed_write_units(self) -> float:
        """Measured write units, raised to what DynamoDB bills at the least for the items written."""
        return sum(max(c.write_units, c.least_write_units) for c in self.of("dynamodb"))

    @property
    def channel_seconds(self) -> float:
        return sum(c.seconds for c in self.calls if c.service != "dynamodb")

    @property
    def channel_cpu_seconds(self) -> float:
        return sum(c.cpu_seconds for c in self.calls if c.service != "dynamodb")

    @property
    def errors(self) -> list[str]:
        return [f"{c.operation}: {c.error}" for c in self.calls if c.error]


def _units(consumed: Any, operation: str) -> tuple[float, float]:
    """(read, write) units from a ConsumedCapacity value (one dict, or a list of them for batches)."""
    entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
    read = write = 0.0
    for entry in entries:
        if "ReadCapacityUnits" in entry or "WriteCapacityUnits" in entry:
            read += float(entry.get("ReadCapacityUnits", 0.0))
            write += float(entry.get("WriteCapacityUnits", 0.0))
        elif operation in READ_OPERATIONS:
            read += float(entry.get("CapacityUnits", 0.0))
        else:
            write += float(entry.get("CapacityUnits", 0.0))
    return read, write


class Recorder:
    def __init__(self) -> None:
        self._local = threading.local()
        self._original: Any = None

    # -- attaching -------------------------------------------------------------------------------------
    def install(self) -> None:
        """Attach the hooks to every client created from now on, in any botocore session (pynamodb's too)."""
        import botocore.session

        if self._original is not None:
            return
        self._original = original = botocore.session.Session.create_client
        recorder = self

        def create_client(session: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
            client = original(session, service_name, *args, **kwargs)
            if service_name in SERVICES:
                recorder.attach(client, service_name)
            return client

        setattr(botocore.session.Session, "create_client", create_client)  # noqa: B010 - a method, replaced

    def uninstall(self) -> None:
        """New clients come without hooks again (those made meanwhile keep theirs, idle outside recording)."""
        import botocore.session

        if self._original is not None:
            setattr(botocore.session.Session, "create_client", self._original)  # noqa: B010
            self._original = None

    def attach(self, client: Any, service: str) -> None:
        events = client.meta.events
        service_id = client.meta.service_model.service_id.hyphenize()
        events.register(f"provide-client-params.{service_id}", self._start(service))
        events.register(f"after-call.{service_id}", self._finish)

    # -- recording -------------------------------------------------------------------------------------
    @contextmanager
    def recording(self) -> Iterator[Recording]:
        previous = getattr(self._local, "current", None)
        self._local.current = current = Recording()
        try:
            yield current
        finally:
            self._local.current = previous

    def _start(self, service: str) -> Any:
        def handler(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
            current: Recording | None = getattr(self._local, "current", None)
            if current is None:
                return
            call = Call(service, model.name, dict(params))  # the callers build fresh nested values per call
            if (
                service == "dynamodb"
                and "ReturnConsumedCapacity" in model.input_shape.members
                and "ReturnConsumedCapacity" not in params
            ):
                params["ReturnConsumedCapacity"] = "INDEXES"
            current.calls.append(call)
            context["bench_call"] = call
            call.started, call.started_cpu = time.perf_counter(), time.thread_time()

        return handler

    def _finish(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        call: Call | None = context.get("bench_call")
        if call is None:
            return
        call.seconds = time.perf_counter() - call.started
        call.cpu_seconds = time.thread_time() - call.started_cpu
        if "Error" in parsed:
            call.error = str(parsed["Error"].get("Code"))
        call.capacity = parsed.get("ConsumedCapacity")
        call.read_units, call.write_units = _units(call.capacity, call.operation)


RECORDER = Recorder()
