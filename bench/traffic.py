"""Generated storefront traffic for the default policy: what `make bench` replays (and tests at tiny sizes).

Every customer's profile first, then ``requests`` MessageRequested events over ``customers`` customers, at
uniformly random seconds over ``days`` days, from a fixed seed: the categories the default policy lists (with
their templates and data), email and SMS, one in twelve a transactional order confirmation. The same arguments
always write the same file.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

START = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
ZONES = ("America/Chicago", "America/New_York", "America/Los_Angeles", "Europe/Berlin")
# (category, template data, weight)
CATEGORIES: tuple[tuple[str, dict[str, Any], int], ...] = (
    ("newsletter", {"headline": "This week", "url": "https://shop.example/n"}, 3),
    ("sale", {"headline": "Winter sale", "url": "https://shop.example/s"}, 3),
    ("back_in_stock", {"product": "Wool beanie", "url": "https://shop.example/p/1"}, 2),
    ("price_drop", {"product": "Desk lamp", "price": "$29", "url": "https://shop.example/p/2"}, 2),
    ("cart_abandoned", {"items": ["Trail runner"], "cart_url": "https://shop.example/c/1"}, 2),
    ("review_request", {"product": "Water bottle", "url": "https://shop.example/r/1"}, 1),
    ("order_confirmation", {"order_id": "A-1", "total": "$10.00"}, 1),
)


def customer_id(n: int) -> str:
    return f"cust-{n:06d}"


def events(requests: int, customers: int, days: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for n in range(customers):
        cid = customer_id(n)
        profile: dict[str, Any] = {
            "customer_id": cid,
            "email": f"{cid}@example.com",
            "phone": f"+1312555{n % 10_000:04d}",
            "timezone": ZONES[n % len(ZONES)],
            "consent": {"email": True, "sms": True},
        }
        yield {"id": f"p-{cid}", "time": START.isoformat(), "source": "shop", "detail-type": "CustomerUpdated",
               "detail": profile}  # fmt: skip
    seconds = sorted(rng.randrange(60, days * 86_400) for _ in range(requests))
    names = [c[0] for c in CATEGORIES]
    weights = [c[2] for c in CATEGORIES]
    data = {c[0]: c[1] for c in CATEGORIES}
    for i, second in enumerate(seconds):
        category = rng.choices(names, weights)[0]
        request: dict[str, Any] = {
            "request_id": f"r{i:07d}",
            "customer_id": customer_id(rng.randrange(customers)),
            "channel": "email" if category == "order_confirmation" or rng.random() < 0.75 else "sms",
            "category": category,
            "template": category,
            "data": data[category],
            "entity": f"sku:{rng.randrange(50)}",
        }
        if category == "order_confirmation":
            request["transactional"] = True
        at = START + timedelta(seconds=second)
        yield {"id": f"e-{i}", "time": at.isoformat(), "source": "shop", "detail-type": "MessageRequested",
               "detail": request}  # fmt: skip


def write(path: Path, requests: int, customers: int, days: int, seed: int = 7) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for event in events(requests, customers, days, seed):
            out.write(json.dumps(event) + "\n")
    return path
