"""How local runs give a shopper an engagement history on the in-memory ledger: the one seam between send-time
optimisation's simulation and tests and the profile's storage. Once ``Ledger.record_engagement`` adds each
engagement to the profile itself, ``feed`` becomes that call."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from baton.adapters.memory import MemoryLedger
from baton.app.engagements import Engagement
from baton.app.fleet import HALF_LIFE
from baton.core.engagement import KIND_WEIGHTS


def feed(
    ledger: MemoryLedger, engagement: Engagement, timezone: str, now: datetime, half_life: timedelta = HALF_LIFE
) -> None:
    """Add ``engagement`` (which happened in the shopper's ``timezone``) to the shopper's engagement profile."""
    zone = ZoneInfo(timezone)
    ledger.change_engagement(
        engagement.customer_id,
        lambda profile: profile.with_engagement(
            engagement.at,
            zone,
            channel=engagement.channel,
            weight=KIND_WEIGHTS.get(engagement.kind, 1.0),
            now=now,
            half_life=half_life,
        ),
    )
