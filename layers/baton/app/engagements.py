"""What a customer did (CustomerEngaged, and SES deliveries, opens and clicks), as the ledger stores it: each as an
item of its own, apart from the state a decision reads, and folded once into the engagement profile the state
carries (``baton.core.engagement``), so that recording one never moves the customer's version nor makes a
concurrent decision retry. Purchases are the conversions ``baton lift`` counts."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from baton.core.engagement import KIND_WEIGHTS, EngagementProfile

if TYPE_CHECKING:
    from baton.contract import CustomerEngaged
    from baton.core.policy import Policy

# A message delivered (SES Delivery): counted among the channel's sends, not as an engagement.
DELIVERY = "delivery"


@dataclass(frozen=True, slots=True)
class Engagement:
    key: str  # the idempotency key: ``id:<engagement_id>``, or ``sha:<digest of the event's fields>`` without one
    customer_id: str
    kind: str
    at: datetime
    channel: str | None = None
    request_id: str | None = None
    value: float | None = None
    weight: float | None = None  # how much it says about the shopper (None: its kind's weight, KIND_WEIGHTS)


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


def profile_after(
    held: EngagementProfile, timezone: str | None, engagement: Engagement, now: datetime, policy: Policy
) -> EngagementProfile:
    """The profile with ``engagement`` added: a delivery among its channel's sends, anything else in the hour of
    the week it happened (in the shopper's zone, the policy's when the profile names none) and among its
    channel's engagements, by its weight."""
    from baton.core.engine import zone_for  # the sweeper loads this module and no policy model

    half_life = policy.engagement.half_life
    if engagement.kind == DELIVERY:
        return held.with_send(engagement.at, channel=engagement.channel or "email", now=now, half_life=half_life)
    weight = engagement.weight if engagement.weight is not None else KIND_WEIGHTS.get(engagement.kind, 1.0)
    return held.with_engagement(
        engagement.at,
        zone_for(policy, timezone),
        channel=engagement.channel,
        weight=weight,
        now=now,
        half_life=half_life,
    )
