"""Writes the scenario event files next to their expectations (run once; the files are committed).

.venv/bin/python tests/scenarios/make_scenarios.py
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).parent
CHICAGO = ZoneInfo("America/Chicago")
NEW_YORK = ZoneInfo("America/New_York")


def at(text: str, zone: ZoneInfo = CHICAGO) -> str:
    return datetime.fromisoformat(text).replace(tzinfo=zone).isoformat()


def profile(when: str, customer: str = "c1", zone: str = "America/Chicago", **extra: object) -> dict[str, object]:
    detail = {
        "customer_id": customer,
        "email": f"{customer}@example.com",
        "phone": "+13125550100",
        "timezone": zone,
        "consent": {"email": True, "sms": True, "push": True},
        **extra,
    }
    return {
        "id": f"p-{customer}-{when}",
        "time": when,
        "source": "shop",
        "detail-type": "CustomerUpdated",
        "detail": detail,
    }


DATA = {
    "newsletter": {"headline": "News", "url": "https://shop.example/n"},
    "sale": {"headline": "Sale", "url": "https://shop.example/s"},
    "back_in_stock": {"product": "Beanie", "url": "https://shop.example/p/1"},
    "price_drop": {"product": "Lamp", "price": "$29", "url": "https://shop.example/p/2"},
    "cart_abandoned": {"items": ["Boots"], "cart_url": "https://shop.example/c"},
    "order_confirmation": {"order_id": "A1", "total": "$10"},
}


def req(
    rid: str, when: str, category: str, channel: str = "email", customer: str = "c1", **extra: object
) -> dict[str, object]:
    detail = {
        "request_id": rid,
        "customer_id": customer,
        "channel": channel,
        "category": category,
        "template": category,
        "data": DATA[category],
        **extra,
    }
    return {"id": f"e-{rid}", "time": when, "source": "shop", "detail-type": "MessageRequested", "detail": detail}


SCENARIOS: dict[str, tuple[list[dict[str, object]], dict[str, dict[str, object]]]] = {
    # A 06:00 newsletter must not use up the day before the 10:00 back-in-stock alert.
    "newsletter_vs_back_in_stock": (
        [
            profile(at("2026-11-27T00:00")),
            req("newsletter", at("2026-11-27T06:00"), "newsletter"),
            req("sale", at("2026-11-27T08:00"), "sale"),
            req("back-in-stock", at("2026-11-27T10:00"), "back_in_stock", entity="sku:1"),
        ],
        {
            "newsletter": {"outcome": "sent", "reason": "within_policy"},
            "sale": {"outcome": "suppressed", "reason": "cap:email_daily"},
            "back-in-stock": {"outcome": "sent", "reason": "within_policy"},
        },
    ),
    # Reserved capacity: of 2 emails a day, the second only for priority 70 and up.
    "reserved_capacity": (
        [
            profile(at("2026-11-27T00:00")),
            req("low-1", at("2026-11-27T09:00"), "sale", priority=20),
            req("low-2", at("2026-11-27T10:00"), "sale", priority=20, campaign_id="b"),
            req("high", at("2026-11-27T11:00"), "back_in_stock", entity="sku:9"),
        ],
        {
            "low-1": {"outcome": "sent", "reason": "within_policy"},
            "low-2": {"outcome": "suppressed", "reason": "cap:email_daily"},
            "high": {"outcome": "sent", "reason": "within_policy"},
        },
    ),
    # A purchase cancels pending cart reminders for the same cart, not another cart's.
    "purchase_cancels_cart": (
        [
            profile(at("2026-11-27T00:00")),
            req("cart-987", at("2026-11-27T09:00"), "cart_abandoned", entity="cart:987"),
            req("cart-555", at("2026-11-27T09:01"), "cart_abandoned", entity="cart:555"),
            req("order", at("2026-11-27T09:05"), "order_confirmation", entity="cart:987", transactional=True),
            req("cart-987-again", at("2026-11-27T11:00"), "cart_abandoned", channel="sms", entity="cart:987"),
        ],
        {
            "cart-987": {"outcome": "cancelled", "reason": "excluded:order"},
            "cart-555": {"outcome": "sent", "reason": "within_policy"},
            "order": {"outcome": "sent", "reason": "transactional"},
            "cart-987-again": {"outcome": "suppressed", "reason": "excluded:order"},
        },
    ),
    # Deferred by quiet hours, then stale: past its not_after before the quiet hours end.
    "deferred_then_expired": (
        [
            profile(at("2026-11-27T00:00")),
            req(
                "late-sms",
                at("2026-11-27T22:00"),
                "back_in_stock",
                channel="sms",
                entity="sku:4",
                not_after=at("2026-11-28T06:00"),
            ),
        ],
        {"late-sms": {"outcome": "expired", "reason": "not_after"}},
    ),
    # Three capped price drops go out as one digest email.
    "digest_of_three_price_drops": (
        [
            profile(at("2026-11-27T00:00")),
            req("news", at("2026-11-27T06:00"), "newsletter"),
            req("bis", at("2026-11-27T06:30"), "back_in_stock", entity="sku:7"),
            req("drop-1", at("2026-11-27T09:00"), "price_drop", entity="sku:1"),
            req("drop-2", at("2026-11-27T12:00"), "price_drop", entity="sku:2"),
            req("drop-3", at("2026-11-27T15:00"), "price_drop", entity="sku:3"),
        ],
        {
            "news": {"outcome": "sent", "reason": "within_policy"},
            "bis": {"outcome": "sent", "reason": "within_policy"},
            "drop-1": {"outcome": "sent", "reason": "digest", "sent_at": "2026-11-28T12:15:00Z"},
            "drop-2": {"outcome": "sent", "reason": "digest:drop-1", "sent_at": "2026-11-28T12:15:00Z"},
            "drop-3": {"outcome": "sent", "reason": "digest:drop-1", "sent_at": "2026-11-28T12:15:00Z"},
        },
    ),
    # Quiet hours across midnight on the nights the clocks change (New York): the release is 08:00 local.
    "quiet_hours_across_dst": (
        [
            profile(at("2026-03-07T00:00", NEW_YORK), zone="America/New_York"),
            req("spring", at("2026-03-07T23:30", NEW_YORK), "back_in_stock", channel="sms", entity="sku:s"),
            profile(at("2026-10-31T00:00", NEW_YORK), customer="c2", zone="America/New_York"),
            req(
                "autumn",
                at("2026-10-31T23:30", NEW_YORK),
                "back_in_stock",
                channel="sms",
                entity="sku:a",
                customer="c2",
            ),
        ],
        {
            # 08:00 EDT (UTC-4) the morning after spring forward; 08:00 EST (UTC-5) after fall back
            "spring": {"outcome": "sent", "reason": "within_policy", "sent_at": "2026-03-08T12:00:00Z"},
            "autumn": {"outcome": "sent", "reason": "within_policy", "sent_at": "2026-11-01T13:00:00Z"},
        },
    ),
}


if __name__ == "__main__":
    for name, (events, expected) in SCENARIOS.items():
        (HERE / f"{name}.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
        (HERE / f"{name}.expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")
        print(f"wrote {name}")
