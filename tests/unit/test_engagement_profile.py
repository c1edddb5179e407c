"""The engagement profile's arithmetic: the hour of the week in the shopper's zone, uniform decay, late events."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from baton.core.engagement import HOURS_OF_WEEK, EngagementProfile, hour_of_week

HALF = timedelta(days=30)
T0 = datetime(2026, 11, 2, 18, 30, tzinfo=UTC)  # a Monday


def test_the_hour_of_the_week_is_the_shoppers_own():
    assert hour_of_week(T0, UTC) == 18
    assert hour_of_week(T0, ZoneInfo("America/New_York")) == 13  # EST, UTC-5
    assert hour_of_week(T0, ZoneInfo("Asia/Tokyo")) == 24 + 3  # Tuesday 03:30


def test_an_engagement_lands_in_its_hour_and_counts_for_its_channel():
    p = EngagementProfile().with_engagement(T0, UTC, channel="email", weight=1.0, now=T0, half_life=HALF)
    assert len(p.hours) == HOURS_OF_WEEK
    assert p.hours[18] == 1.0 and sum(p.hours) == 1.0
    assert p.engagements == {"email": 1.0} and p.count == 1


def test_weights_halve_over_a_half_life_and_keep_their_ranking():
    p = EngagementProfile()
    p = p.with_engagement(T0, UTC, channel="email", weight=1.0, now=T0, half_life=HALF)
    p = p.with_engagement(T0 + timedelta(hours=2), UTC, channel=None, weight=3.0, now=T0, half_life=HALF)
    later = p.decayed(T0 + HALF, HALF)
    assert later.hours[18] == 0.5 and later.hours[20] == 1.5
    assert later.engagements["email"] == 0.5
    assert later.count == 2


def test_a_late_report_weighs_what_it_would_weigh_by_now_and_does_not_rewind_the_profile():
    now = T0 + HALF
    p = EngagementProfile(as_of=now).with_engagement(T0, UTC, channel="sms", weight=2.0, now=now, half_life=HALF)
    assert p.as_of == now
    assert p.hours[18] == 1.0 and p.engagements["sms"] == 1.0
    assert p.decayed(T0, HALF) is p


def test_the_rate_is_engagements_per_send_on_the_channel():
    p = EngagementProfile()
    for _ in range(4):
        p = p.with_send(T0, channel="email", now=T0, half_life=HALF)
    p = p.with_engagement(T0, UTC, channel="email", weight=1.0, now=T0, half_life=HALF)
    assert p.rate("email") == 0.25
    assert p.rate("sms") == 0.0
