"""What a customer did (CustomerEngaged), as the ledger stores it: apart from the state a decision reads, so that
recording one never moves the customer's version nor makes a concurrent decision retry. Purchases are the
conversions ``baton lift`` counts."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from baton.contract import CustomerEngaged


@dataclass(frozen=True, slots=True)
class Engagement:
    key: str  # the idempotency key: ``id:<engagement_id>``, or ``sha:<digest of the event's fields>`` without one
    customer_id: str
    kind: str
    at: datetime
    channel: str | None = None
    request_id: str | None = None
    value: float | None = None


def engagement_of(engaged: CustomerEngaged) -> Engagement:
    """The engagement to store. Without an ``engagement_id`` the same fields again are the same engagement (a
    redelivered event counts once); two purchases of equal value at the same instant then count once too."""
    if engaged.engagement_id is not None:
        key = f"id:{engaged.engagement_id}"
    else:
        fields = json.dumps(engaged.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        key = f"sha:{hashlib.sha256(fields.encode()).hexdigest()[:32]}"
    return Engagement(
        key=key,
        customer_id=engaged.customer_id,
        kind=engaged.kind,
        at=engaged.at,
        channel=engaged.channel,
        request_id=engaged.request_id,
        value=engaged.value,
    )
