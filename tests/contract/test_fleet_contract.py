"""The fleet's engagement histogram, held to one contract by every ledger: one item stored and read back, and
the customers' profiles read one segment at a time (``baton.app.fleet``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from baton.app.fleet import FLEET_PERIOD, refresh_fleet
from baton.app.ports import FleetHistogram

T0 = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)


def test_no_fleet_histogram_until_one_is_stored(ledger: Any) -> None:
    assert ledger.fleet_histogram() == FleetHistogram()


def test_the_fleet_histogram_reads_back_as_stored(ledger: Any) -> None:
    hours = tuple(float(h % 24) / 7 for h in range(168))
    ledger.put_fleet_histogram(FleetHistogram(hours, T0, segment=5, profiles=12))
    stored = ledger.fleet_histogram()
    assert (stored.as_of, stored.segment, stored.profiles) == (T0, 5, 12)
    assert stored.hours == pytest.approx(hours, abs=1e-6)


def test_a_segment_of_a_ledger_without_profiles_is_empty(ledger: Any) -> None:
    assert [ledger.engagement_segment(s, 4) for s in range(4)] == [[], [], [], []]


def test_the_sweeper_refreshes_at_most_once_per_period_one_segment_each_time(ledger: Any) -> None:
    first = refresh_fleet(ledger, T0, segments=4)
    assert first is not None and first.segment == 1
    assert refresh_fleet(ledger, T0 + FLEET_PERIOD - timedelta(seconds=1), segments=4) is None
    later = refresh_fleet(ledger, T0 + FLEET_PERIOD, segments=4)
    assert later is not None and later.segment == 2
    assert ledger.fleet_histogram().as_of == T0 + FLEET_PERIOD
