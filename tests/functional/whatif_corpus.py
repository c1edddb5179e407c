"""A generated corpus for the whatif tests: bench's storefront traffic (the default policy's categories, caps,
quiet hours, deferrals and digests), with consent and preference changes in the middle of it."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench import traffic


def corpus(requests: int = 3_000, customers: int = 300, days: int = 3, seed: int = 11) -> list[str]:
    """Event lines in time order (ties: profiles first): the traffic, plus for one customer in six a change of
    consent, opt-outs or quiet hours at a random moment, and one request in fifty fired twice (same id)."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = list(traffic.events(requests, customers, days, seed))
    changes = []
    for n in rng.sample(range(customers), customers // 6):
        at = traffic.START + timedelta(seconds=rng.randrange(3_600, days * 86_400))
        detail: dict[str, Any] = {"customer_id": traffic.customer_id(n)}
        kind = n % 3
        if kind == 0:
            detail["consent"] = {"sms": False}
        elif kind == 1:
            detail["preferences"] = {"opted_out_categories": ["newsletter", "sale"]}
        else:
            detail["preferences"] = {"quiet_hours": {"email": {"start": "18:00", "end": "09:00"}}}
        changes.append({"id": f"chg-{n}", "time": at.isoformat(), "source": "shop", "detail-type": "CustomerUpdated",
                        "detail": detail})  # fmt: skip
    requests_only = [e for e in events if e["detail-type"] == "MessageRequested"]
    again = [dict(e, id=f"{e['id']}-again") for e in rng.sample(requests_only, len(requests_only) // 50)]
    merged = events + changes + again
    merged.sort(key=lambda e: (datetime.fromisoformat(e["time"]), e["detail-type"] != "CustomerUpdated"))
    return [json.dumps(e) for e in merged]


def write(path: Path, **sizes: int) -> Path:
    path.write_text("\n".join(corpus(**sizes)) + "\n", encoding="utf-8")
    return path
