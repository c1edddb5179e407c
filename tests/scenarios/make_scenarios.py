"""Writes the scenario event files next to their expectations, and the policy of a scenario that is not run under
the default one (run once; the files are committed).

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


# One email a day, 10-minute arbitration windows: the example of staggered windows.
ONE_EMAIL_A_DAY = """\
version: one-email-a-day
timezone: America/Chicago
caps:
  - {name: email_daily, limit: 1, window: 24h, match: {channel: email}}
categories:
  order_confirmation:
    priority: 100
    excludes:
      - {categories: [back_in_stock], window: 7d, same_entity: true}
  back_in_stock: {priority: 80, arbitration_window: 10m}
  cart_abandoned: {priority: 60, arbitration_window: 10m}
  sale: {priority: 30, arbitration_window: 10m}
  newsletter: {priority: 10, arbitration_window: 10m}
"""
# Two emails a day, the second kept for priority 75 and up.
RESERVED_SECOND_EMAIL = """\
version: reserved-second-email
timezone: America/Chicago
caps:
  - {name: email_daily, limit: 2, window: 24h, match: {channel: email}, reserve: {count: 1, min_priority: 75}}
categories:
  back_in_stock: {priority: 80, arbitration_window: 10m}
  cart_abandoned: {priority: 60, arbitration_window: 10m}
  newsletter: {priority: 10}
"""
POLICIES: dict[str, str] = {}


def staggered(customer: str, order: str) -> list[dict[str, object]]:
    """The newsletter (n), the sale (s) and the back-in-stock alert (a) of one customer, two minutes apart in
    ``order``."""
    kinds = {"n": ("newsletter", {}), "s": ("sale", {}), "a": ("back_in_stock", {"entity": "sku:1"})}
    events = [profile(at("2026-11-27T00:00"), customer=customer)]
    for i, letter in enumerate(order):
        category, extra = kinds[letter]
        events.append(
            req(f"{customer}-{category}", at(f"2026-11-27T14:0{2 * i}"), category, customer=customer, **extra)
        )
    return events


ORDERS = ["nsa", "nas", "sna", "san", "ans", "asn"]

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

# Ranking across staggered arbitration windows: a request waiting in its window holds its room against lower ones.
# The example: newsletter at 14:00, sale at 14:02, back-in-stock alert at 14:04, one email a day. The alert
# is sent at the end of its window (14:14); the newsletter (14:10) and the sale (14:12) found its room held.
SCENARIOS["staggered_windows"] = (
    staggered("c1", "nsa"),
    {
        "c1-newsletter": {"outcome": "suppressed", "reason": "outranked:c1-back_in_stock"},
        "c1-sale": {"outcome": "suppressed", "reason": "outranked:c1-back_in_stock"},
        "c1-back_in_stock": {"outcome": "sent", "reason": "within_policy", "sent_at": "2026-11-27T20:14:00Z"},
    },
)
POLICIES["staggered_windows"] = ONE_EMAIL_A_DAY
# The same three in every order of arrival (one customer per order): the alert always wins.
SCENARIOS["staggered_windows_every_order"] = (
    [event for order in ORDERS for event in staggered(f"c-{order}", order)],
    {
        f"c-{order}-{category}": (
            {"outcome": "sent", "reason": "within_policy"}
            if category == "back_in_stock"
            else {"outcome": "suppressed", "reason": f"outranked:c-{order}-back_in_stock"}
        )
        for order in ORDERS
        for category in ("newsletter", "sale", "back_in_stock")
        # an alert due before the others is sent first: they then meet a full cap, not a held room
        if not (category != "back_in_stock" and order.index("a") < order.index(category[0]))
    }
    | {
        f"c-{order}-{category}": {"outcome": "suppressed", "reason": "cap:email_daily"}
        for order in ORDERS
        for category in ("newsletter", "sale")
        if order.index("a") < order.index(category[0])
    },
)
POLICIES["staggered_windows_every_order"] = ONE_EMAIL_A_DAY
# A waiting alert cancelled by an exclusion (the order confirmation for the same product) gives its room back at
# once: the newsletter, due after the cancellation, is sent.
SCENARIOS["waiting_request_cancelled_frees_room"] = (
    [
        profile(at("2026-11-27T00:00")),
        req("newsletter", at("2026-11-27T14:00"), "newsletter"),
        req("alert", at("2026-11-27T14:04"), "back_in_stock", entity="sku:1"),
        req("order", at("2026-11-27T14:06"), "order_confirmation", entity="sku:1", transactional=True),
    ],
    {
        "newsletter": {"outcome": "sent", "reason": "within_policy", "sent_at": "2026-11-27T20:10:00Z"},
        "alert": {"outcome": "cancelled", "reason": "excluded:order"},
        "order": {"outcome": "sent", "reason": "transactional"},
    },
)
POLICIES["waiting_request_cancelled_frees_room"] = ONE_EMAIL_A_DAY
# The reserved second email of the day is held by a waiting priority-80 alert: the cart reminder (priority 60 by
# its category, 76 by its own priority field, so that it may use the reserve), due first, is outranked.
SCENARIOS["reserve_held_by_waiting_request"] = (
    [
        profile(at("2026-11-27T00:00")),
        req("newsletter", at("2026-11-27T09:00"), "newsletter"),
        req("cart", at("2026-11-27T14:00"), "cart_abandoned", entity="cart:1", priority=76),
        req("alert", at("2026-11-27T14:04"), "back_in_stock", entity="sku:1"),
    ],
    {
        "newsletter": {"outcome": "sent", "reason": "within_policy"},
        "cart": {"outcome": "suppressed", "reason": "outranked:alert"},
        "alert": {"outcome": "sent", "reason": "within_policy", "sent_at": "2026-11-27T20:14:00Z"},
    },
)
POLICIES["reserve_held_by_waiting_request"] = RESERVED_SECOND_EMAIL


if __name__ == "__main__":
    for name, (events, expected) in SCENARIOS.items():
        (HERE / f"{name}.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
        (HERE / f"{name}.expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")
        if name in POLICIES:
            (HERE / f"{name}.policy.yaml").write_text(POLICIES[name])
        print(f"wrote {name}")
