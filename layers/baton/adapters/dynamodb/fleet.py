"""The fleet's engagement histogram on DynamoDB: one item (pk and sk ``FLEET``), and one segment at a time of a
parallel Scan of the customers' state items that returns the engagement profile attribute alone."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pynamodb.expressions.operand import Path
from pynamodb.models import DoesNotExist

from baton.adapters.dynamodb.codec import decode_engagement
from baton.adapters.dynamodb.items import _Models
from baton.app.ports import FleetHistogram
from baton.core.engagement import EngagementProfile
from baton.names import FLEET_KEY

# The state item's attribute that holds the engagement profile (written by the profile and feedback functions).
ENGAGEMENT_ATTRIBUTE = "engagement"


def profile_of(attribute: str | None) -> EngagementProfile | None:
    """The engagement profile of one state item's ``engagement`` attribute: the one place the fleet decodes it."""
    return decode_engagement(attribute) if attribute else None


class Fleet:
    _m: _Models

    def fleet_histogram(self) -> FleetHistogram:
        try:
            item = self._m.fleet.get(FLEET_KEY, FLEET_KEY)
        except DoesNotExist:
            return FleetHistogram()
        return FleetHistogram(
            hours=tuple(json.loads(item.hours)) if item.hours else (),
            as_of=datetime.fromisoformat(item.as_of) if item.as_of else None,
            segment=int(item.segment or 0),
            profiles=int(item.profiles or 0),
        )

    def put_fleet_histogram(self, fleet: FleetHistogram) -> None:
        self._m.fleet(
            FLEET_KEY,
            FLEET_KEY,
            hours=json.dumps([round(w, 6) for w in fleet.hours], separators=(",", ":")) if fleet.hours else None,
            as_of=fleet.as_of.isoformat() if fleet.as_of else None,
            segment=fleet.segment,
            profiles=fleet.profiles,
        ).save()

    def engagement_segment(self, segment: int, segments: int) -> list[EngagementProfile]:
        """One segment of a parallel Scan (every page of it), filtered to the items holding a profile and
        projected to that attribute: the read units are the segment's whole items, the bytes returned the
        profiles alone."""
        connection = self._m.connection
        table = self._m.item.Meta.table_name
        found: list[EngagementProfile] = []
        start: Any = None
        while True:
            page = connection.scan(
                table,
                filter_condition=Path(ENGAGEMENT_ATTRIBUTE).exists(),
                attributes_to_get=[ENGAGEMENT_ATTRIBUTE],
                exclusive_start_key=start,
                segment=segment,
                total_segments=segments,
            )
            for item in page.get("Items", []):
                profile = profile_of(item.get(ENGAGEMENT_ATTRIBUTE, {}).get("S"))
                if profile is not None:
                    found.append(profile)
            start = page.get("LastEvaluatedKey")
            if not start:
                return found
