"""What every reliability scenario shares: a policy with caps, customers, request events, a local world (the
real handlers on moto, optionally the ledger on DynamoDB Local, the arbitration queue on moto SQS), and the
independent checks: provider sends recounted from moto (not from Baton's own reports) and caps recounted from
those sends."""

from __future__ import annotations

import email
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from baton.core.policy import Policy, policy_from_mapping
from baton.local.mocked_aws import mocked_aws, sent_messages
from baton.local.queues import LocalQueue
from baton.local.runtime import LocalContext, LocalRuntime

START = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
FINAL = frozenset({"sent", "suppressed", "expired", "cancelled", "rejected", "failed"})
CATEGORIES = ("sale", "newsletter", "price_drop", "back_in_stock")
OVERALL, PER_CATEGORY = 5, 2
CAP_WINDOW = timedelta(hours=24)
SUBJECT_PREFIX = "offer "


def reliability_policy() -> Policy:
    """Two caps over 24 h; categories that decide at once or after a 2-minute arbitration window, and that
    suppress or defer (for at most an hour) over a cap: every path through the service, all within a day."""

    def category(window: str, over_cap: str, priority: int) -> dict[str, Any]:
        return {"arbitration_window": window, "over_cap": over_cap, "max_delay": "1h", "priority": priority}

    categories = {
        "sale": category("0m", "suppress", 50),
        "newsletter": category("2m", "suppress", 30),
        "price_drop": category("0m", "defer", 60),
        "back_in_stock": category("2m", "defer", 80),
    }
    return policy_from_mapping(
        {
            "version": "reliability",
            "timezone": "UTC",
            "caps": [
                {"name": "overall_daily", "limit": OVERALL, "window": "24h"},
                {"name": "category_daily", "limit": PER_CATEGORY, "window": "24h", "per": ["category"]},
            ],
            "categories": categories,
            "default_category": category("0m", "suppress", 40),
        },
        "reliability.yaml",
    )


def event(detail_type: str, detail: dict[str, Any], at: datetime = START) -> str:
    return json.dumps(
        {
            "id": str(uuid.uuid4()),
            "time": at.isoformat(),
            "source": "shop",
            "detail-type": detail_type,
            "detail": detail,
        }
    )


def profile(customer_id: str) -> str:
    detail = {"customer_id": customer_id, "email": f"{customer_id}@example.com", "consent": {"email": True}}
    return event("CustomerUpdated", detail)


def engaged(customer_id: str, n: int) -> str:
    """A CustomerEngaged (an email open an hour before START, its own id): what the profile function folds into the
    customer's engagement profile while decisions for the customer run."""
    detail = {"customer_id": customer_id, "kind": "open", "channel": "email", "engagement_id": f"open-{n}",
              "at": (START - timedelta(hours=1)).isoformat()}  # fmt: skip
    return event("CustomerEngaged", detail)


@dataclass(frozen=True)
class Req:
    request_id: str
    customer_id: str
    category: str
    transactional: bool = False

    def body(self, at: datetime = START) -> str:
        detail: dict[str, Any] = {
            "request_id": self.request_id,
            "customer_id": self.customer_id,
            "channel": "email",
            "category": self.category,
            "template": "sale",
            # the subject carries the request id: sends are recounted from what the provider received
            "data": {"headline": f"{SUBJECT_PREFIX}{self.request_id}", "url": "https://shop.example"},
        }
        if self.transactional:
            detail["transactional"] = True
        return event("MessageRequested", detail, at)


def requests(count: int, customers: int, prefix: str = "r") -> list[Req]:
    """``count`` requests spread over ``customers`` customers, the categories in turn."""
    return [
        Req(f"{prefix}{n:06d}", f"cust-{n % customers:05d}", CATEGORIES[(n // customers) % len(CATEGORIES)])
        for n in range(count)
    ]


def provider_sends() -> Counter[str]:
    """Emails moto's SES accepted, per request id (read from the subject Baton rendered)."""
    counts: Counter[str] = Counter()
    for message in sent_messages()["email"]:
        raw = getattr(message, "raw_data", None)
        subject = email.message_from_string(raw)["Subject"] if raw else getattr(message, "subject", "")
        if subject and str(subject).startswith(SUBJECT_PREFIX):
            counts[str(subject)[len(SUBJECT_PREFIX) :].strip()] += 1
    return counts


def cap_violations(
    sends: Counter[str], reqs: dict[str, Req], when: dict[str, datetime], *, repeats: bool = False
) -> int:
    """Messages the provider delivered beyond a cap: for each request sent, the customer's requests sent in the
    24 hours up to it, against the overall and the per-category limit. A request the provider received twice is
    one message twice (a double send, counted apart); ``repeats=True`` counts every copy instead. Transactional
    requests are exempt, as the policy says."""
    by_customer: dict[str, list[tuple[datetime, str]]] = {}
    for rid, count in sends.items():
        req = reqs.get(rid)
        if req is None or req.transactional or count == 0:
            continue
        by_customer.setdefault(req.customer_id, []).extend(
            [(when.get(rid, START), req.category)] * (count if repeats else 1)
        )
    broken = 0
    for sent in by_customer.values():
        sent.sort()
        for at, category in sent:
            window = [c for t, c in sent if at - CAP_WINDOW < t <= at]
            if len(window) > OVERALL or window.count(category) > PER_CATEGORY:
                broken += 1
    return broken


@dataclass
class World:
    runtime: LocalRuntime
    queue: LocalQueue
    reports: list[Any] = field(default_factory=list)

    def arbiter(self, armed: Callable[[], Any] | None = None) -> Callable[[dict[str, Any], Any], Any]:
        """The real arbiter handler as the queue invokes it (``armed``: a context for the function's calls)."""
        from functions.arbiter.handler import lambda_handler

        def handler(event: dict[str, Any], context: Any) -> Any:
            if armed is None:
                return lambda_handler(event, context, service=self.runtime.arbiter)
            with armed():
                return lambda_handler(event, context, service=self.runtime.arbiter)

        return handler

    def records(self, customers: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for customer in sorted(customers):
            for record in self.runtime.ledger.timeline(customer):
                out[record.request_id] = record
        return out

    def settle(
        self,
        handler: Callable[[dict[str, Any], Any], Any],
        *,
        workers: int = 1,
        armed: Callable[[], Any] | None = None,
        rounds: int = 10_000,
        until: datetime | None = None,
    ) -> int:
        """Drain the queue, then run the sweeper at each due time (releases and send leases) through the same
        queue, until nothing is due (or nothing is due by ``until``, the clock then set to it). Returns the
        invocations made."""
        invocations = self.queue.drain(handler, LocalContext, workers=workers).invocations
        clock = self.runtime.clock
        for _ in range(rounds):
            rows = self.runtime.ledger.due(clock.now() + timedelta(days=3650), 1)
            if not rows or (until is not None and rows[0][2] > until):
                if until is not None:
                    clock.set(max(until, clock.now()))
                return invocations
            clock.set(max(rows[0][2], clock.now() + timedelta(seconds=1)))
            try:
                if armed is None:
                    self.runtime.sweep()
                else:
                    with armed():
                        self.runtime.sweep()
            except BaseException as exc:  # the sweeper died or failed: the next schedule runs it again
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
            invocations += self.queue.drain(handler, LocalContext, workers=workers).invocations
        raise RuntimeError("the due index never emptied")


@contextmanager
def local_world(
    policy: Policy, endpoint: str | None = None, customers: list[str] | None = None, *, real_sleep: bool = False
) -> Iterator[World]:
    """The real handlers on moto (the ledger on DynamoDB Local at ``endpoint`` if given, in a fresh table),
    the arbitration queue and its DLQ on moto SQS, the sweeper's releases going through that queue."""
    from baton.adapters.sqs import SqsReleaseQueue

    table = f"baton-rel-{uuid.uuid4().hex[:8]}"
    with mocked_aws(dynamodb_endpoint=endpoint, table_name=table):
        runtime = LocalRuntime(policy, START, dynamodb_endpoint=endpoint, table_name=table)
        queue = LocalQueue()
        runtime.release_queue = SqsReleaseQueue(queue.sqs, queue.url, runtime.clock)  # type: ignore[assignment]
        if not real_sleep:  # simulated time: the retry budget still counts every pause
            runtime.arbiter._sleep = lambda seconds: None
        customers = customers or []
        for start in range(0, len(customers), 10):
            response = runtime.invoke_profile([profile(c) for c in customers[start : start + 10]])
            if response["batchItemFailures"]:
                raise RuntimeError(f"profiles not stored: {response}")
        world = World(runtime, queue)
        runtime.watch(world.reports.append)
        yield world
