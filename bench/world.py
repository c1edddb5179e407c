"""What the bench runs on: a 12-rule policy, customers seeded straight into the table (BatchWriteItem, items
encoded by the ledger's own converters so they are shaped like the ones Baton writes), and request events.

The policy's limits are high enough that a customer with 200 recent contacts is still sent a new category's
first message of the day (so the 200-contact and the 1-contact decisions take the same path), while
``category_daily`` suppresses the second message of a category on a day (the suppress path).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from baton.adapters.dynamodb.codec import encode_engagement, encode_ledger, encode_profile, iso
from baton.adapters.dynamodb.items import STATE_SK, customer_pk
from baton.core.domain import Contact, CustomerState, Profile, Request
from baton.core.engagement import HOURS_OF_WEEK, EngagementProfile
from baton.core.policy import Policy, policy_from_mapping

ENGAGED_CHANNELS = ("email", "sms", "push", "web", "app")
CATEGORY = "promo"  # not listed in the policy: the default category (no arbitration window, suppress over cap)
CAMPAIGN = "bench"
TEMPLATE = "sale"
DATA = {"headline": "Winter sale: 30% off coats", "url": "https://shop.example/sale/winter"}
HISTORY_CATEGORIES = 10

BENCH_POLICY: dict[str, Any] = {
    "version": "bench-12",
    "timezone": "UTC",
    "caps": [
        {"name": "marketing_30d", "limit": 1000, "window": "30d"},
        {"name": "marketing_weekly", "limit": 700, "window": "7d"},
        {"name": "marketing_daily", "limit": 300, "window": "24h"},
        {"name": "email_daily", "limit": 200, "window": "24h", "match": {"channel": "email"}},
        {"name": "email_weekly", "limit": 500, "window": "7d", "match": {"channel": "email"}},
        {"name": "sms_daily", "limit": 2, "window": "24h", "match": {"channel": "sms"}},
        {"name": "sms_weekly", "limit": 5, "window": "7d", "match": {"channel": "sms"}},
        {"name": "push_daily", "limit": 3, "window": "24h", "match": {"channel": "push"}},
        {"name": "category_daily", "limit": 1, "window": "24h", "per": ["channel", "category"]},
        {"name": "campaign_weekly", "limit": 50, "window": "7d", "per": ["campaign_id"]},
    ],
    "quiet_hours": {"sms": {"start": "21:00", "end": "08:00"}, "push": {"start": "21:00", "end": "08:00"}},
    "default_category": {"priority": 40, "over_cap": "suppress"},
}
RULES = len(BENCH_POLICY["caps"]) + len(BENCH_POLICY["quiet_hours"])


def bench_policy() -> Policy:
    return policy_from_mapping(BENCH_POLICY, "bench/world.py")


def email(customer_id: str) -> str:
    return f"{customer_id}@shop.example"


def history(contacts: int, now: datetime) -> tuple[Contact, ...]:
    """``contacts`` emails, one every two hours going back from an hour ago (200 of them span 17 days)."""
    return tuple(
        Contact(
            request_id=f"h{k:04d}",
            at=now - timedelta(hours=1 + 2 * k),
            channel="email",
            category=f"history_{k % HISTORY_CATEGORIES}",
            campaign_id="seed",
            entity=f"sku:{k}",
            priority=40,
            transactional=False,
        )
        for k in range(contacts)
    )


def customer_ledger(customer_id: str, contacts: int, now: datetime) -> CustomerState:
    profile = Profile(timezone="UTC", locale="en-US", consent={"email": True})
    return CustomerState(customer_id=customer_id, version=1, profile=profile, contacts=history(contacts, now))


def engagement_profile(now: datetime) -> EngagementProfile:
    """A profile as large as one gets: every hour of the week and every channel of the contract holding weight."""
    return EngagementProfile(
        as_of=now,
        hours=tuple(1.0 + (h * 37 % 101) / 10 for h in range(HOURS_OF_WEEK)),
        sends={c: 12.5 + i for i, c in enumerate(ENGAGED_CHANNELS)},
        engagements={c: 3.25 + i for i, c in enumerate(ENGAGED_CHANNELS)},
        count=12_345,
    )


def state_item(customer_id: str, contacts: int, now: datetime) -> dict[str, Any]:
    """The customer's STATE item in DynamoDB's attribute-value form, as ``DynamoLedger`` stores it, with a full
    engagement profile (what the profile and feedback functions write beside the decisions)."""
    ledger = customer_ledger(customer_id, contacts, now)
    encoded = encode_ledger(ledger)
    return {
        "engagement": {"S": encode_engagement(engagement_profile(now)) or ""},
        "pk": {"S": customer_pk(customer_id)},
        "sk": {"S": STATE_SK},
        "kind": {"S": "state"},
        "version": {"N": str(ledger.version)},
        "profile": {"S": encode_profile(ledger.profile)},
        "contacts": {"S": encoded["contacts"]},
        "pending": {"S": encoded["pending"]},
        "marks": {"S": encoded["marks"]},
        "email": {"S": email(customer_id)},
        "updated_at": {"S": iso(now) or ""},
    }


def seed(client_factory: Any, table: str, customers: Iterable[str], contacts: int, now: datetime, workers: int) -> int:
    """Write the customers' STATE items with BatchWriteItem, 25 a call, ``workers`` threads. Returns the count."""
    ids = list(customers)
    chunks = [ids[i : i + 25] for i in range(0, len(ids), 25)]

    local = threading.local()

    def write(chunk: list[str]) -> int:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = client_factory()
        pending: dict[str, Any] = {table: [{"PutRequest": {"Item": state_item(cid, contacts, now)}} for cid in chunk]}
        for _ in range(20):
            response = client.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                return len(chunk)
        raise RuntimeError(f"seeding {table}: items left unprocessed after 20 tries")

    if workers <= 1:
        return sum(write(chunk) for chunk in chunks)
    with ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(write, chunks))


def request_detail(customer_id: str, request_id: str) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "customer_id": customer_id,
        "channel": "email",
        "category": CATEGORY,
        "campaign_id": CAMPAIGN,
        "template": TEMPLATE,
        "data": DATA,
    }


def request_event(customer_id: str, request_id: str, now: datetime) -> str:
    """A MessageRequested as EventBridge delivers it to the arbitration queue (the SQS record's body)."""
    return json.dumps(
        {
            "id": str(uuid.uuid4()),
            "time": now.isoformat(),
            "source": "shop.bench",
            "detail-type": "MessageRequested",
            "detail": request_detail(customer_id, request_id),
        }
    )


def engine_request(customer_id: str, request_id: str, now: datetime) -> Request:
    return Request(
        request_id=request_id,
        customer_id=customer_id,
        channel="email",
        category=CATEGORY,
        requested_at=now,
        campaign_id=CAMPAIGN,
    )
