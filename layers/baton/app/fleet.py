"""The fleet's engagement histogram: what send-time optimisation falls back on for a shopper with too little
history of their own (``baton.core.engine``).

Kept in one ledger item. The sweeper refreshes it at most once an hour (and reads the item only when a refresh
is due by what it last saw: ``FleetSchedule``), and each refresh reads one of ``SEGMENTS``
segments of a parallel Scan (the engagement attribute alone): the whole table is read once every ``SEGMENTS``
hours, never the whole table in one hour. The item holds a decayed running estimate: the segment's sum (decayed
to now, scaled by ``SEGMENTS`` to stand for the fleet) blends into the estimate with weight ``1 / SEGMENTS``, so
after one round of segments it stands for every customer, and later ones keep it current. Only where the weight
lies between hours matters (the engine ranks hours), not its scale.

The arbiter reads it through ``FleetCache``: at most once per ``FLEET_PERIOD`` per container, and only for a
decision with a request of a category that optimises its send time."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from baton.app.ports import FleetHistogram, Ledger
from baton.core.engagement import HOURS_OF_WEEK, decay_factor

if TYPE_CHECKING:  # the sweeper, which refreshes the histogram, loads no policy model
    from baton.core.policy import Policy

FLEET_PERIOD = timedelta(hours=1)
SEGMENTS = 24
# The profiles' half-life when none is known here (the sweeper reads no policy): it only sets how a segment read
# an hour ago compares with one read now, and a month is the policy's default.
HALF_LIFE = timedelta(days=30)


class FleetSchedule:
    """When the fleet's histogram is next due, as one sweeper container last learnt it: until ``FLEET_PERIOD``
    after the ``as_of`` it read or stored, the histogram is known fresh (``as_of`` only moves forward), so the
    sweeper need not read the item every minute to learn so."""

    def __init__(self) -> None:
        self._due: datetime | None = None

    def fresh(self, now: datetime) -> bool:
        return self._due is not None and now < self._due

    def saw(self, as_of: datetime) -> None:
        self._due = as_of + FLEET_PERIOD


def refresh_fleet(
    ledger: Ledger,
    now: datetime,
    segments: int = SEGMENTS,
    half_life: timedelta = HALF_LIFE,
    schedule: FleetSchedule | None = None,
) -> FleetHistogram | None:
    """Read the next segment of the customers' profiles into the fleet's histogram, if the last refresh is at
    least ``FLEET_PERIOD`` old. The histogram stored, or None when it was fresh enough. With a ``schedule``, the
    item is read only once the refresh it last saw is due again."""
    if schedule is not None and schedule.fresh(now):
        return None
    fleet = ledger.fleet_histogram()
    if fleet.as_of is not None and now - fleet.as_of < FLEET_PERIOD:
        if schedule is not None:
            schedule.saw(fleet.as_of)
        return None
    segment = fleet.segment % segments
    total = [0.0] * HOURS_OF_WEEK
    profiles = 0
    for profile in ledger.engagement_segment(segment, segments):
        if len(profile.hours) != HOURS_OF_WEEK:
            continue
        profiles += 1
        for hour, weight in enumerate(profile.decayed(now, half_life).hours):
            total[hour] += weight
    read = [weight * segments for weight in total]
    if len(fleet.hours) == HOURS_OF_WEEK and fleet.as_of is not None:
        kept = decay_factor(now - fleet.as_of, half_life) * (1 - 1 / segments)
        read = [old * kept + new / segments for old, new in zip(fleet.hours, read, strict=True)]
    stored = FleetHistogram(tuple(read), now, (segment + 1) % segments, profiles)
    ledger.put_fleet_histogram(stored)
    if schedule is not None:
        schedule.saw(now)
    return stored


def optimises(policy: Policy, categories: Iterable[str]) -> bool:
    """Whether any of ``categories`` optimises its send time (only then is the fleet's histogram read)."""
    if not policy.optimises_send_time:
        return False
    for name in categories:
        send_time = policy.category(name).send_time
        if send_time is not None and send_time.optimize:
            return True
    return False


class FleetCache:
    """The fleet's histogram as this container last read it, read again once it is ``FLEET_PERIOD`` old."""

    def __init__(self, ledger: Ledger, period: timedelta = FLEET_PERIOD):
        self.ledger = ledger
        self.period = period
        self._lock = threading.Lock()
        self._read_at: datetime | None = None
        self._hours: tuple[float, ...] = ()
        self.reads = 0

    def hours(self, now: datetime) -> tuple[float, ...]:
        with self._lock:
            if self._read_at is None or not timedelta(0) <= now - self._read_at < self.period:
                self._hours = self.ledger.fleet_histogram().hours
                self._read_at = now
                self.reads += 1
            return self._hours
