"""The one injectable source of time. Production reads the system clock; the local runtime a simulated one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that only moves when told. Used by ``baton replay`` and the demo."""

    def __init__(self, start: datetime):
        self._now = _utc(start)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        when = _utc(when)
        if when > self._now:
            self._now = when

    def advance(self, delta: timedelta) -> None:
        self._now += delta


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("naive datetime: Baton keeps every instant in UTC")
    return when.astimezone(UTC)
