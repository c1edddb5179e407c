"""The local runtime: the real Lambda handlers, the real service and adapters, on local AWS and a simulated
clock. ``baton replay``, ``make demo`` and the tests drive Baton through this."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from baton.app.arbiter import Report
from baton.app.fleet import FleetSchedule
from baton.app.keys import LOCAL_ADDRESS_SALT, LOCAL_SIGNING_KEYS
from baton.app.release import release_event
from baton.core.clock import SimulatedClock
from baton.core.policy import Policy
from baton.entry.composition import FeedbackParts, PreviewParts, SweeperParts
from baton.local.composition import DueTimes, local_arbiter
from baton.local.mocked_aws import CONFIGURATION_SET, REGION, SENDER
from baton.names import DUE_INDEX, DUE_SHARDS, TABLE_NAME


def function_url_event(
    method: str, path: str, query: dict[str, str] | None = None, body: str | None = None, caller: str | None = None
) -> dict[str, Any]:
    """A Lambda function URL request (payload format 2.0)."""
    from urllib.parse import urlencode

    context: dict[str, Any] = {
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "local"},
        "requestId": str(uuid.uuid4()),
        "routeKey": "$default",
        "stage": "$default",
        "timeEpoch": 0,
    }
    if caller:
        context["authorizer"] = {"iam": {"userArn": caller, "callerId": caller, "accountId": "123456789012"}}
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": {"content-type": "application/x-www-form-urlencoded" if method == "POST" else "application/json"},
        "queryStringParameters": query or None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": False,
    }


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
    """``baton.app.release.ReleaseQueue`` that hands releases straight to the arbiter handler, ten per batch,
    as the event source mapping would."""

    def __init__(self, runtime: LocalRuntime):
        self._runtime = runtime

    def send(self, releases: list[tuple[str, str]]) -> None:
        now = self._runtime.clock.now().isoformat()
        bodies = [release_event(customer, request, now) for customer, request in releases]
        for start in range(0, len(bodies), 10):
            self._runtime.invoke_arbiter(bodies[start : start + 10])


def _flushed(result: dict[str, Any]) -> dict[str, Any]:
    """After a handler: drop the metrics it added. Locally metrics are disabled, and powertools then never clears
    its metric set, so a long replay would reach 100 values and print them to stdout all the same."""
    from baton.entry.observability import metrics

    metrics.clear_metrics()
    return result


class LocalRuntime:
    """Baton on local AWS (enter ``baton.local.mocked_aws.mocked_aws`` first) with a simulated clock."""

    def __init__(
        self,
        policy: Policy,
        start: datetime,
        *,
        dynamodb_endpoint: str | None = None,
        table_name: str = TABLE_NAME,
        retention: timedelta = timedelta(days=90),
        observer: Callable[[Report], None] | None = None,
        templates: Path | None = None,
    ):
        import boto3

        from baton.adapters.channels import AwsChannels
        from baton.adapters.dynamodb.ledger import DynamoLedger
        from baton.app.render import Renderer
        from baton.app.templates import SHIPPED, StaticTemplates

        self.clock = SimulatedClock(start)
        self.policy = policy
        self.table_name = table_name
        self._embedded = dynamodb_endpoint is None
        self.ledger = DynamoLedger(
            table_name, retention=retention, host=dynamodb_endpoint, region=REGION, salt=LOCAL_ADDRESS_SALT
        )
        self._observers: list[Callable[[Report], None]] = [observer] if observer else []
        self.releases = DueTimes(self.clock, self.ledger, self.sweep)
        self.arbiter = local_arbiter(
            self.ledger,
            AwsChannels(
                boto3.client("sesv2", region_name=REGION),
                boto3.client("sns", region_name=REGION),
                sender=SENDER,
                configuration_set=CONFIGURATION_SET,
            ),
            policy,
            self.clock,
            self._observe,
            renderer=Renderer(StaticTemplates(templates or SHIPPED)),
        )
        self.release_queue = LocalReleaseQueue(self)
        self._fleet = FleetSchedule()  # the sweeper container's, kept from sweep to sweep

    def watch(self, observer: Callable[[Report], None]) -> None:
        self._observers.append(observer)

    def _observe(self, report: Report) -> None:
        from baton.entry.observability import record_outcome

        record_outcome(report)  # what the deployed arbiter logs and counts
        self.releases.note(report)
        for observer in self._observers:
            observer(report)

    # the real handlers
    def invoke_arbiter(self, bodies: list[str]) -> dict[str, Any]:
        from functions.arbiter.handler import lambda_handler

        return _flushed(lambda_handler(sqs_event(bodies), LocalContext(), service=self.arbiter))

    def invoke_profile(self, bodies: list[str]) -> dict[str, Any]:
        from baton.adapters.policy_source import StaticPolicy
        from functions.profile.handler import lambda_handler

        policies = StaticPolicy(self.policy)
        return _flushed(
            lambda_handler(sqs_event(bodies), LocalContext(), ledger=self.ledger, clock=self.clock, policies=policies)
        )

    def invoke_unsubscribe(self, method: str, token: str, body: str | None = None) -> dict[str, Any]:
        from baton.entry.api import unsubscribe_app
        from functions.unsubscribe.handler import lambda_handler

        app = unsubscribe_app(lambda: self.ledger, lambda: LOCAL_SIGNING_KEYS, self.clock)
        event = function_url_event(method, "/unsubscribe", {"token": token}, body)
        return _flushed(lambda_handler(event, LocalContext(), app=app))

    def invoke_preferences(self, method: str, customer_id: str, body: str | None, caller: str) -> dict[str, Any]:
        from baton.entry.api import preferences_app
        from functions.preferences.handler import lambda_handler

        app = preferences_app(lambda: self.ledger, self.clock)
        event = function_url_event(method, f"/customers/{customer_id}/preferences", None, body, caller)
        return _flushed(lambda_handler(event, LocalContext(), app=app))

    def invoke_preview(self, detail: Any, caller: str = "arn:aws:iam::123456789012:role/support") -> dict[str, Any]:
        from baton.adapters.policy_source import StaticPolicy
        from baton.entry.api import preview_app
        from functions.preview.handler import lambda_handler

        # the arbiter's template set, and the local key's holdout groups
        parts = PreviewParts(self.ledger, StaticPolicy(self.policy), self.arbiter.renderer, LOCAL_ADDRESS_SALT)
        app = preview_app(lambda: parts, self.clock)
        body = detail if isinstance(detail, str) else json.dumps(detail)
        event = function_url_event("POST", "/preview", None, body, caller)
        return _flushed(lambda_handler(event, LocalContext(), app=app))

    def invoke_feedback(self, bodies: list[str]) -> dict[str, Any]:
        from baton.adapters.policy_source import StaticPolicy
        from functions.feedback.handler import lambda_handler

        parts = FeedbackParts(self.ledger, StaticPolicy(self.policy), self.clock)
        return _flushed(lambda_handler(sqs_event(bodies), LocalContext(), parts=parts))

    def sweep(self) -> int:
        """The sweeper, now. On embedded moto its event names the due-index shards that hold anything due (read
        from moto's index, with no query), so that it queries those alone: the same rows as a query of every
        shard, at a fraction of the calls. On a DynamoDB endpoint it queries every shard, as the schedule's does."""
        from functions.sweeper.handler import lambda_handler

        shards = self._due_shards() if self._embedded else None
        event: dict[str, Any] = {} if shards is None else {"shards": shards}
        result = lambda_handler(
            event, LocalContext(), parts=SweeperParts(self.ledger, self.release_queue, self.clock, self._fleet)
        )
        return int(_flushed(result)["released"])

    def _due_shards(self) -> list[int] | None:
        from baton.adapters.dynamodb.decisions import due_bound
        from baton.adapters.dynamodb.items import due_partition
        from baton.local.moto_dynamodb import partitions_at_most

        found = partitions_at_most(REGION, self.table_name, DUE_INDEX, due_bound(self.clock.now()))
        return None if found is None else [shard for shard in range(DUE_SHARDS) if due_partition(shard) in found]

    def run_until(self, until: datetime | None) -> None:
        """Advance the simulated clock through every release due up to ``until`` (see ``DueTimes.run_until``)."""
        self.releases.run_until(until)
