"""Caps hold under concurrency, on Amazon's DynamoDB Local (moto has no per-operation lock, so it cannot prove
this): 16 workers submit 200 simultaneous requests for one customer through the real arbiter handler; the
ledger's conditional transaction must let exactly the cap's number through."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from baton.core.policy import Policy, policy_from_mapping
from baton.local.mocked_aws import REGION, create_table, mocked_aws, sent_messages
from baton.local.runtime import LocalRuntime

pytestmark = pytest.mark.dynamodb

START = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
CUSTOMER = "shopper-1"
CATEGORIES = ["sale", "newsletter", "price_drop", "back_in_stock"]
WORKERS = 16
REQUESTS = 200
OVERALL, PER_CATEGORY = 5, 2
FINAL = {"sent", "suppressed", "expired", "cancelled", "rejected", "failed"}


def concurrency_policy(over_cap: str) -> Policy:
    category = {"arbitration_window": "0m", "over_cap": over_cap, "max_delay": "48h", "priority": 50}
    return policy_from_mapping(
        {
            "version": f"concurrency-{over_cap}",
            "timezone": "UTC",
            "caps": [
                {"name": "overall_daily", "limit": OVERALL, "window": "24h"},
                {"name": "category_daily", "limit": PER_CATEGORY, "window": "24h", "per": ["category"]},
            ],
            "categories": {name: category for name in CATEGORIES},
            "default_category": category,
        },
        "concurrency.yaml",
    )


@pytest.fixture
def endpoint(dynamodb_local: Any) -> str:
    return str(getattr(dynamodb_local, "endpoint", dynamodb_local))


def _runtime(policy: Policy, endpoint: str) -> Iterator[LocalRuntime]:
    table = f"baton-{uuid.uuid4().hex[:8]}"  # a fresh table per test on the shared DynamoDB Local
    with mocked_aws(dynamodb_endpoint=endpoint, table_name=table):
        create_table(boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint), table)
        runtime = LocalRuntime(policy, START, dynamodb_endpoint=endpoint, table_name=table)
        detail = {"customer_id": CUSTOMER, "email": "sam@example.com", "consent": {"email": True}}
        assert runtime.invoke_profile([_event(runtime, "CustomerUpdated", detail)]) == {"batchItemFailures": []}
        yield runtime


def _event(runtime: LocalRuntime, detail_type: str, detail: dict[str, Any]) -> str:
    now = runtime.clock.now().isoformat()
    return json.dumps(
        {"id": str(uuid.uuid4()), "time": now, "source": "shop", "detail-type": detail_type, "detail": detail}
    )


def _request(runtime: LocalRuntime, n: int) -> str:
    category = CATEGORIES[n % len(CATEGORIES)]
    detail = {
        "request_id": f"r{n:03d}",
        "customer_id": CUSTOMER,
        "channel": "email",
        "category": category,
        "template": "sale",
        "data": {"headline": f"offer {n}", "url": "https://shop.example"},
    }
    return _event(runtime, "MessageRequested", detail)


def deliver_once(runtime: LocalRuntime, bodies: list[str]) -> list[str]:
    """16 workers, released together by a barrier, each sending its share one record per invocation.
    Returns the records whose invocation failed (contention past the retry budget)."""
    gate = threading.Barrier(WORKERS)
    failed: list[str] = []
    lock = threading.Lock()

    def work(share: list[str]) -> None:
        gate.wait()
        for body in share:
            if runtime.invoke_arbiter([body])["batchItemFailures"]:
                with lock:
                    failed.append(body)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(work, [bodies[i::WORKERS] for i in range(WORKERS)]))
    return failed


def submit_all_at_once(runtime: LocalRuntime, bodies: list[str]) -> None:
    """Deliver every record; failed ones are redelivered, as SQS would, until none fail."""
    pending = list(bodies)
    for _ in range(20):
        if not pending:
            return
        pending = deliver_once(runtime, pending)
    raise AssertionError(f"{len(pending)} records still failing after 20 redeliveries")


def moto_tables() -> list[str]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return list(dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables)


def assert_caps_hold(sent: list[Any]) -> None:
    for record in sent:
        assert record.sent_at is not None
        window = [o for o in sent if record.sent_at - timedelta(hours=24) < o.sent_at <= record.sent_at]
        assert len(window) <= OVERALL, [o.request_id for o in window]
        same = [o for o in window if o.category == record.category]
        assert len(same) <= PER_CATEGORY, [o.request_id for o in same]


@pytest.fixture
def suppressing(endpoint: str) -> Iterator[LocalRuntime]:
    yield from _runtime(concurrency_policy("suppress"), endpoint)


@pytest.fixture
def deferring(endpoint: str) -> Iterator[LocalRuntime]:
    yield from _runtime(concurrency_policy("defer"), endpoint)


def test_simultaneous_requests_never_exceed_a_cap(suppressing: LocalRuntime) -> None:
    runtime = suppressing
    reports: list[Any] = []
    runtime.watch(reports.append)
    submit_all_at_once(runtime, [_request(runtime, n) for n in range(REQUESTS)])

    records = runtime.ledger.timeline(CUSTOMER)
    ids = [r.request_id for r in records]
    missing = {f"r{n:03d}" for n in range(REQUESTS)} - set(ids)
    said = [(r.request_id, r.outcome.value, r.reason, r.detail) for r in reports if r.request_id in missing | {""}]
    # one record, so one final outcome, per request (a missing one is listed with what the arbiter reported of it)
    assert len(ids) == len(set(ids)) == REQUESTS, (sorted(missing), said)
    statuses = Counter(r.status for r in records)
    assert set(statuses) <= FINAL, statuses
    sent = [r for r in records if r.status == "sent"]
    assert len(sent) == OVERALL  # exactly the cap: not one more, and no slot lost to contention
    assert len(sent_messages()["email"]) == OVERALL
    assert_caps_hold(sent)
    assert Counter(r.category for r in sent).most_common(1)[0][1] <= PER_CATEGORY
    held = Counter(r.reason for r in records if r.status == "suppressed")
    assert not moto_tables()  # the ledger lives on DynamoDB Local, not in moto
    assert set(held) <= {"cap:overall_daily", "cap:category_daily"}, held
    assert sum(held.values()) == REQUESTS - OVERALL


def test_simultaneous_requests_deferred_then_released_as_capacity_frees(deferring: LocalRuntime) -> None:
    runtime = deferring
    submit_all_at_once(runtime, [_request(runtime, n) for n in range(REQUESTS)])
    first = runtime.ledger.timeline(CUSTOMER)
    assert Counter(r.status for r in first) == {"sent": OVERALL, "pending": REQUESTS - OVERALL}
    assert {r.release_at for r in first if r.status == "pending"} == {START + timedelta(hours=24)}

    runtime.run_until(None)  # the clock runs on, the sweeper releases at each due time

    records = runtime.ledger.timeline(CUSTOMER)
    assert len({r.request_id for r in records}) == REQUESTS
    statuses = Counter(r.status for r in records)
    assert set(statuses) <= FINAL, statuses
    sent = [r for r in records if r.status == "sent"]
    # the cap's room in each 24 h window until max_delay (48 h): at START, START+24h and START+48h
    assert sorted(Counter(r.sent_at for r in sent).items()) == [
        (START, OVERALL),
        (START + timedelta(hours=24), OVERALL),
        (START + timedelta(hours=48), OVERALL),
    ]
    assert_caps_hold(sent)
    assert len(sent_messages()["email"]) == len(sent)
    assert {r.reason for r in records if r.status == "expired"} == {"max_delay"}
    assert statuses["expired"] == REQUESTS - 3 * OVERALL
