"""When and where a shopper engages: a decayed histogram over the 168 hours of the week (in the shopper's own
zone) and, per channel, decayed counts of sends and engagements. The profile and feedback functions add to it; a
decision only reads it (send-time optimisation, ``channel_choice: engagement``).

Decay is exponential with a half-life, and uniform, so a profile is kept as weights "as of" an instant: reading it
later multiplies every weight by the same factor, which changes no ranking between hours or channels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

HOURS_OF_WEEK = 168

# How much an engagement of each kind says about when the shopper is there. A machine open (delivered a few
# seconds before, or fetched by a privacy proxy such as Apple Mail Privacy Protection) says almost nothing.
KIND_WEIGHTS: Mapping[str, float] = {"open": 1.0, "click": 2.0, "session": 1.0, "purchase": 3.0}
MACHINE_OPEN_WEIGHT = 0.05


def hour_of_week(at: datetime, zone: tzinfo) -> int:
    """0 is Monday 00:00-01:00 in ``zone``; 167 is Sunday 23:00-24:00."""
    local = at.astimezone(zone)
    return local.weekday() * 24 + local.hour


def decay_factor(elapsed: timedelta, half_life: timedelta) -> float:
    if elapsed <= timedelta(0):
        return 1.0
    return float(0.5 ** (elapsed / half_life))


@dataclass(frozen=True, slots=True)
class EngagementProfile:
    """Weights as of ``as_of`` (None: nothing recorded yet). ``hours`` has 168 entries or none."""

    as_of: datetime | None = None
    hours: tuple[float, ...] = ()
    sends: Mapping[str, float] = field(default_factory=dict)  # per channel
    engagements: Mapping[str, float] = field(default_factory=dict)  # per channel
    count: int = 0  # engagements ever added (not decayed): how much history there is

    def decayed(self, now: datetime, half_life: timedelta) -> EngagementProfile:
        """The same profile as of ``now`` (never moved backwards: a late event does not rewind it)."""
        if self.as_of is None or now <= self.as_of:
            return self
        f = decay_factor(now - self.as_of, half_life)
        return EngagementProfile(
            as_of=now,
            hours=tuple(w * f for w in self.hours),
            sends={c: w * f for c, w in self.sends.items()},
            engagements={c: w * f for c, w in self.engagements.items()},
            count=self.count,
        )

    def _at(self, at: datetime, now: datetime, half_life: timedelta) -> tuple[EngagementProfile, float]:
        """This profile as of the later of ``now`` and its own instant, and the weight an event at ``at`` keeps."""
        base = self.decayed(now, half_life) if self.as_of is not None else EngagementProfile(as_of=now)
        assert base.as_of is not None
        return base, decay_factor(base.as_of - at, half_life)

    def with_engagement(
        self,
        at: datetime,
        zone: tzinfo,
        *,
        channel: str | None,
        weight: float,
        now: datetime,
        half_life: timedelta,
    ) -> EngagementProfile:
        """Add one engagement that happened at ``at`` (a late report weighs what it would have by now)."""
        base, f = self._at(at, now, half_life)
        hours = list(base.hours or (0.0,) * HOURS_OF_WEEK)
        hours[hour_of_week(at, zone)] += weight * f
        engagements = dict(base.engagements)
        if channel is not None:
            engagements[channel] = engagements.get(channel, 0.0) + weight * f
        return EngagementProfile(base.as_of, tuple(hours), dict(base.sends), engagements, base.count + 1)

    def with_send(self, at: datetime, *, channel: str, now: datetime, half_life: timedelta) -> EngagementProfile:
        """Count one message delivered on ``channel`` at ``at``."""
        base, f = self._at(at, now, half_life)
        sends = dict(base.sends)
        sends[channel] = sends.get(channel, 0.0) + f
        return EngagementProfile(base.as_of, base.hours, sends, dict(base.engagements), base.count)

    def rate(self, channel: str) -> float:
        """Engagements per send on ``channel`` (0 without a send): how well the channel reaches the shopper."""
        sent = self.sends.get(channel, 0.0)
        return self.engagements.get(channel, 0.0) / sent if sent > 0 else 0.0
