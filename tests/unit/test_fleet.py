"""The fleet's engagement histogram over the in-memory ledger: the sweeper's segments cover every shopper once,
the estimate peaks where shoppers engage, and the arbiter reads it at most once an hour and only for a
send-time category."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from baton.adapters.memory import MemoryLedger
from baton.app.engagements import Engagement
from baton.app.fleet import FLEET_PERIOD, FleetCache, FleetSchedule, optimises, refresh_fleet
from baton.app.ports import FleetHistogram
from baton.contract import CustomerUpdated
from baton.core.policy import policy_from_mapping

T0 = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)  # Monday
PARIS = "Europe/Paris"


class CountingLedger(MemoryLedger):
    """The in-memory ledger, counting the reads of the fleet's item."""

    reads = 0

    def fleet_histogram(self) -> FleetHistogram:
        self.reads += 1
        return super().fleet_histogram()


def shoppers(count: int, local_hour: int) -> CountingLedger:
    ledger, policy = CountingLedger(), policy_from_mapping({"version": "t", "timezone": "UTC"}, "t.yaml")
    for n in range(count):
        ledger.update_profile(CustomerUpdated(customer_id=f"c{n}", timezone=PARIS), T0)
        for day in range(7):
            at = datetime(2026, 5, 20 + day, local_hour - 2, 15, tzinfo=UTC)  # local_hour in Paris (summer time)
            ledger.record_engagement(Engagement(f"k{n}{day}", f"c{n}", "open", at, "email"), T0, policy)
    return ledger


def test_the_segments_cover_every_shopper_once() -> None:
    ledger = shoppers(40, 20)
    assert sum(len(ledger.engagement_segment(s, 6)) for s in range(6)) == 40


def test_after_a_round_of_segments_the_fleet_peaks_at_the_shoppers_hour() -> None:
    ledger = shoppers(30, 20)
    for hour in range(6):
        refresh_fleet(ledger, T0 + hour * FLEET_PERIOD, segments=6)
    hours = ledger.fleet_histogram().hours
    peak = max(range(168), key=lambda h: hours[h])
    assert peak % 24 == 20


def test_the_cache_reads_at_most_once_a_period() -> None:
    ledger = shoppers(3, 20)
    refresh_fleet(ledger, T0, segments=1)
    cache = FleetCache(ledger)
    for minutes in range(0, 60, 5):
        assert any(cache.hours(T0 + timedelta(minutes=minutes)))
    assert cache.reads == 1
    cache.hours(T0 + FLEET_PERIOD)
    assert cache.reads == 2


def test_only_a_category_with_send_time_optimize_reads_the_fleet() -> None:
    document = {
        "version": "t",
        "timezone": "UTC",
        "categories": {"sale": {"send_time": {"optimize": True}}, "off": {"send_time": {"optimize": False}}},
    }
    policy = policy_from_mapping(document, "t.yaml")
    assert optimises(policy, {"sale", "other"})
    assert not optimises(policy, {"off", "other"})


def test_a_sweeper_with_a_schedule_refreshes_as_one_without_it_reading_the_item_once_per_refresh() -> None:
    plain, scheduled, schedule = shoppers(12, 20), shoppers(12, 20), FleetSchedule()
    minutes = [T0 + timedelta(minutes=m) for m in range(0, 4 * 60 + 1)]  # the sweeper, every minute for 4 hours
    for now in minutes:
        assert refresh_fleet(scheduled, now, segments=3, schedule=schedule) == refresh_fleet(plain, now, segments=3)
    assert plain.reads == len(minutes)
    assert scheduled.reads == 5  # T0 and each hour after it


def test_a_schedule_reads_again_once_the_refresh_another_container_made_is_due() -> None:
    ledger, schedule = shoppers(3, 20), FleetSchedule()
    refresh_fleet(ledger, T0, segments=2)  # another container
    assert refresh_fleet(ledger, T0 + timedelta(minutes=30), segments=2, schedule=schedule) is None
    reads = ledger.reads
    assert refresh_fleet(ledger, T0 + timedelta(minutes=59), segments=2, schedule=schedule) is None
    assert ledger.reads == reads  # known fresh from the as_of it read
    refreshed = refresh_fleet(ledger, T0 + FLEET_PERIOD, segments=2, schedule=schedule)
    assert refreshed is not None and refreshed.as_of == T0 + FLEET_PERIOD
