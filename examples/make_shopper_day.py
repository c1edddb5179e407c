"""Writes examples/shopper_day.jsonl: one shopper's Black Friday as storefront automation fires it, unorchestrated.

Run: .venv/bin/python examples/make_shopper_day.py   (the file is committed; this documents how it was made)
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("America/Chicago")
DAY = "2026-11-27"
CUSTOMER = "shopper-42"
PUSH = "arn:aws:sns:us-east-1:123456789012:endpoint/APNS/baton-shop/0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"

# (local time, detail-type, detail without customer_id)
DAY_EVENTS = [
    ("00:05", "CustomerUpdated", {"email": "sam@example.com", "phone": "+13125550142", "push_endpoint": PUSH,
                                  "timezone": "America/Chicago", "locale": "en-US",
                                  "consent": {"email": True, "sms": True, "push": True}}),
    ("06:00", "newsletter", {"channel": "email", "template": "newsletter", "campaign_id": "bf-2026",
                             "data": {"headline": "Black Friday starts now", "url": "https://shop.example/bf"}}),
    ("06:30", "sale", {"channel": "push", "template": "sale", "campaign_id": "bf-2026",
                       "data": {"headline": "Doorbusters are live", "url": "https://shop.example/bf"}}),
    ("07:00", "sale", {"channel": "email", "template": "sale", "campaign_id": "bf-2026",
                       "data": {"headline": "Doorbusters: up to 60% off", "url": "https://shop.example/bf"}}),
    ("07:15", "sale", {"channel": "sms", "template": "sale", "campaign_id": "bf-2026",
                       "data": {"headline": "Doorbusters live", "url": "https://shop.example/bf"}}),
    ("08:10", "price_drop", {"channel": "email", "template": "price_drop", "entity": "sku:1234",
                             "data": {"product": "Trail runner", "price": "$89", "url": "https://shop.example/p/1234"}}),
    ("08:12", "price_drop", {"channel": "email", "template": "price_drop", "entity": "sku:1234",
                             "data": {"product": "Trail runner", "price": "$85", "url": "https://shop.example/p/1234"}}),
    ("08:20", "price_drop", {"channel": "push", "template": "price_drop", "entity": "sku:5678",
                             "data": {"product": "Rain shell", "price": "$120", "url": "https://shop.example/p/5678"}}),
    ("09:00", "cart_abandoned", {"channel": "email", "template": "cart_abandoned", "entity": "cart:987",
                                 "data": {"items": ["Trail runner"], "cart_url": "https://shop.example/c/987"}}),
    ("09:05", "cart_abandoned", {"channel": "sms", "template": "cart_abandoned", "entity": "cart:987",
                                 "data": {"items": ["Trail runner"], "cart_url": "https://shop.example/c/987"}}),
    ("10:00", "back_in_stock", {"channel": "email", "template": "back_in_stock", "entity": "sku:2222",
                                "data": {"product": "Wool beanie", "url": "https://shop.example/p/2222"}}),
    ("10:20", "cart_abandoned", {"channel": "push", "template": "cart_abandoned", "entity": "cart:987",
                                 "data": {"items": ["Trail runner"], "cart_url": "https://shop.example/c/987"}}),
    ("10:30", "order_confirmation", {"channel": "email", "template": "order_confirmation", "entity": "cart:987",
                                     "transactional": True, "data": {"order_id": "A-1001", "total": "$89.00"}}),
    ("11:00", "review_request", {"channel": "email", "template": "review_request", "entity": "sku:0042",
                                 "data": {"product": "Water bottle", "url": "https://shop.example/r/0042"}}),
    ("12:00", "sale", {"channel": "email", "template": "sale", "campaign_id": "bf-flash",
                       "data": {"headline": "Flash sale: 2 hours only", "url": "https://shop.example/flash"}}),
    ("13:00", "newsletter", {"channel": "push", "template": "newsletter", "campaign_id": "bf-2026",
                             "data": {"headline": "Gift guide", "url": "https://shop.example/gifts"}}),
    ("14:00", "price_drop", {"channel": "email", "template": "price_drop", "entity": "sku:3333",
                             "data": {"product": "Desk lamp", "price": "$35", "url": "https://shop.example/p/3333"}}),
    ("15:00", "back_in_stock", {"channel": "push", "template": "back_in_stock", "entity": "sku:4444",
                                "data": {"product": "Snow boots", "url": "https://shop.example/p/4444"}}),
    ("16:00", "shipping_update", {"channel": "email", "template": "shipping_update", "transactional": True,
                                  "data": {"order_id": "A-1001", "tracking_url": "https://shop.example/t/A-1001"}}),
    ("17:00", "sale", {"channel": "sms", "template": "sale", "campaign_id": "bf-flash",
                       "data": {"headline": "Last hours of Black Friday", "url": "https://shop.example/bf"}}),
    ("18:00", "cart_abandoned", {"channel": "email", "template": "cart_abandoned", "entity": "cart:555",
                                 "data": {"items": ["Snow boots"], "cart_url": "https://shop.example/c/555"}}),
    ("19:00", "newsletter", {"channel": "email", "template": "newsletter", "campaign_id": "bf-2026",
                             "data": {"headline": "Black Friday: the evening edit", "url": "https://shop.example/bf"}}),
    ("20:30", "price_drop", {"channel": "sms", "template": "price_drop", "entity": "sku:3333",
                             "data": {"product": "Desk lamp", "price": "$29", "url": "https://shop.example/p/3333"}}),
    ("21:30", "order_confirmation", {"channel": "sms", "template": "order_confirmation", "entity": "order:A-1002",
                                     "transactional": True, "data": {"order_id": "A-1002", "total": "$35.00"}}),
    ("21:45", "sale", {"channel": "push", "template": "sale", "campaign_id": "bf-2026",
                       "data": {"headline": "Cyber Monday preview", "url": "https://shop.example/cm"}}),
    ("22:00", "back_in_stock", {"channel": "sms", "template": "back_in_stock", "entity": "sku:2222",
                                "data": {"product": "Wool beanie", "url": "https://shop.example/p/2222"}}),
    ("23:00", "newsletter", {"channel": "email", "template": "newsletter", "campaign_id": "bf-2026",
                             "data": {"headline": "Midnight deals", "url": "https://shop.example/bf"}}),
    # Last in the file so that the request ids above keep their numbers; Baton takes events in time order. The
    # mail house reports at 07:50 the catalogue it dropped at 07:30: with the 06:15 newsletter it fills the two
    # marketing slots a sale may use that day (all_marketing_daily), so the 06:30 push sale is not sent at 08:00.
    ("07:50", "ContactRecorded", {"contact_id": "catalogue-bf-2026", "channel": "direct_mail", "category": "sale",
                                  "campaign_id": "bf-2026", "at": f"{DAY}T07:30:00-06:00"}),
]


def events() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i, (clock, kind, detail) in enumerate(DAY_EVENTS, start=1):
        when = datetime.fromisoformat(f"{DAY}T{clock}:00").replace(tzinfo=ZONE)
        body = {"customer_id": CUSTOMER, **detail}
        if kind == "CustomerUpdated":
            detail_type, source = "CustomerUpdated", "shop.accounts"
        elif kind == "ContactRecorded":  # made outside Baton, reported by the system that made it
            detail_type, source = "ContactRecorded", "shop.direct-mail"
        else:
            detail_type, source = "MessageRequested", "shop.automation"
            body = {"request_id": f"req-{i:03d}", "category": kind, **body}
        out.append(
            {
                "id": f"evt-{i:03d}",
                "time": when.isoformat(),
                "source": source,
                "detail-type": detail_type,
                "detail": body,
            }
        )
    return out


if __name__ == "__main__":
    path = Path(__file__).with_name("shopper_day.jsonl")
    path.write_text("".join(json.dumps(e) + "\n" for e in events()))
    print(f"wrote {path} ({len(DAY_EVENTS)} events)")
