"""The local runtime: the real Lambda handlers, the real service and adapters, on local AWS and a simulated
clock. ``baton replay``, ``make demo`` and the tests drive Baton through this."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from baton.clock import SimulatedClock
from baton.domain import Outcome
from baton.local.aws import CONFIGURATION_SET, REGION, SENDER
from baton.names import DETAIL_RELEASE_DUE, RELEASE_SOURCE, TABLE_NAME
from baton.policy import Policy
from baton.service import Baton, Report


@dataclass
class LocalContext:
    """Enough of a Lambda context for powertools and the batch processor."""

    function_name: str = "baton-local"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:baton-local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms


def sqs_event(bodies: list[str]) -> dict[str, Any]:
    """An SQS event as Lambda's event source mapping delivers it."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "local",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:baton-local",
                "awsRegion": REGION,
            }
            for body in bodies
        ]
    }


class LocalReleaseQueue:
    """``baton.service.ReleaseQueue`` that hands releases straight to the arbiter handler, ten per batch,
    as the event source mapping would."""

    def __init__(self, runtime: LocalRuntime):
        self._runtime = runtime

    def send(self, releases: list[tuple[str, str]]) -> None:
        now = self._runtime.clock.now().isoformat()
        bodies = [
            json.dumps(
                {
                    "id": f"release:{customer}:{request}:{now}",
                    "time": now,
                    "source": RELEASE_SOURCE,
                    "detail-type": DETAIL_RELEASE_DUE,
                    "detail": {"customer_id": customer, "request_id": request},
                }
            )
            for customer, request in releases
        ]
        for start in range(0, len(bodies), 10):
            self._runtime.invoke_arbiter(bodies[start : start + 10])


class LocalRuntime:
    """Baton on local AWS (enter ``baton.local.aws.mocked_aws`` first) with a simulated clock."""

    def __init__(
        self,
        policy: Policy,
        start: datetime,
        *,
        dynamodb_endpoint: str | None = None,
        table_name: str = TABLE_NAME,
        retention: timedelta = timedelta(days=90),
        observer: Callable[[Report], None] | None = None,
    ):
        import boto3

        from baton.channels import AwsChannels
        from baton.ledger import DynamoLedger
        from baton.policy_source import StaticPolicy

        self.clock = SimulatedClock(start)
        self.policy = policy
        self.ledger = DynamoLedger(table_name, retention=retention, host=dynamodb_endpoint, region=REGION)
        self._observers: list[Callable[[Report], None]] = [observer] if observer else []
        self._lock = threading.Lock()
        self.due_times: list[datetime] = []
        self.baton = Baton(
            ledger=self.ledger,
            channels=AwsChannels(
                boto3.client("sesv2", region_name=REGION),
                boto3.client("sns", region_name=REGION),
                sender=SENDER,
                configuration_set=CONFIGURATION_SET,
            ),
            policies=StaticPolicy(policy),
            clock=self.clock,
            observer=self._observe,
        )
        self.release_queue = LocalReleaseQueue(self)

    def watch(self, observer: Callable[[Report], None]) -> None:
        self._observers.append(observer)

    def _observe(self, report: Report) -> None:
        if report.outcome is Outcome.DEFERRED and report.release_at is not None:
            with self._lock:
                self.due_times.append(report.release_at)
        for observer in self._observers:
            observer(report)

    # the real handlers
    def invoke_arbiter(self, bodies: list[str]) -> dict[str, Any]:
        from functions.arbiter.handler import lambda_handler

        return lambda_handler(sqs_event(bodies), LocalContext(), service=self.baton)

    def invoke_profile(self, bodies: list[str]) -> dict[str, Any]:
        from functions.profile.handler import lambda_handler

        return lambda_handler(sqs_event(bodies), LocalContext(), ledger=self.ledger, clock=self.clock)

    def sweep(self) -> int:
        from functions.sweeper.handler import lambda_handler

        result = lambda_handler({}, LocalContext(), parts=(self.ledger, self.release_queue, self.clock))
        return int(result["released"])

    def run_until(self, until: datetime | None) -> None:
        """Advance the simulated clock through every release due up to ``until``, sweeping at each due time as
        the scheduled sweeper would. ``until=None`` runs on until nothing waits (then drains the due index
        itself, which also covers send leases left by a crash)."""
        while True:
            with self._lock:
                nxt = min(self.due_times, default=None)
                if nxt is None or (until is not None and nxt > until):
                    break
                self.due_times = [t for t in self.due_times if t > nxt]
            self.clock.set(nxt)
            self.sweep()
        if until is not None:
            self.clock.set(until)
            return
        far = self.clock.now() + timedelta(days=3650)
        for _ in range(10_000):
            rows = self.ledger.due(far, 1)
            if not rows:
                return
            before = self.clock.now()
            self.clock.set(rows[0][2])
            if self.clock.now() == before:
                self.clock.advance(timedelta(seconds=1))
            self.sweep()
            self.run_until(self.clock.now())
        raise RuntimeError("releases make no progress: the due index keeps the same requests")
