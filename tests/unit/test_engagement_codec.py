"""The engagement profile as the state item stores it: a bounded size however long the history, and a round trip
that keeps every hour within a 255th of the top hour and every channel count to 4 significant digits."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from baton.adapters.dynamodb.codec import ENGAGEMENT_CHANNELS, decode_engagement, encode_engagement
from baton.core.engagement import EngagementProfile

HALF = timedelta(days=30)
T0 = datetime(2026, 11, 2, 18, 30, tzinfo=UTC)
BOUND = 600  # bytes: the "at most about 600 bytes however long the history"


def long_history(events: int, seed: int = 7) -> EngagementProfile:
    rng = random.Random(seed)
    p = EngagementProfile()
    at = T0
    for _ in range(events):
        at += timedelta(minutes=rng.randint(1, 600))
        channel = rng.choice(["email", "sms", "push", "web", "app"])
        if rng.random() < 0.5:
            p = p.with_send(at, channel=channel, now=at, half_life=HALF)
        else:
            weight = rng.choice([0.05, 1.0, 2.0, 3.0])
            p = p.with_engagement(at, UTC, channel=channel, weight=weight, now=at, half_life=HALF)
    return p


def test_an_empty_profile_is_not_stored() -> None:
    assert encode_engagement(EngagementProfile()) is None
    assert decode_engagement(None) == EngagementProfile()


def test_the_stored_profile_stays_small_however_long_the_history() -> None:
    sizes = [len(encode_engagement(long_history(n)) or "") for n in (1, 50, 5_000)]
    assert max(sizes) <= BOUND, sizes
    # and many channels do not grow it past the bound: the most used are kept
    crowded = EngagementProfile(
        as_of=T0, hours=(1.0,) * 168, sends={f"ch{i}": 1e6 / (i + 1) for i in range(40)}, count=10**9
    )
    text = encode_engagement(crowded) or ""
    assert len(text.encode()) <= BOUND
    assert set(decode_engagement(text).sends) == {f"ch{i}" for i in range(ENGAGEMENT_CHANNELS)}


def test_the_round_trip_keeps_hours_within_a_255th_of_the_top_and_counts_to_4_digits() -> None:
    p = long_history(2_000)
    back = decode_engagement(encode_engagement(p))
    top = max(p.hours)
    assert p.as_of is not None and back.as_of == p.as_of.replace(microsecond=0)
    assert back.count == p.count
    assert max(abs(a - b) for a, b in zip(p.hours, back.hours, strict=True)) <= top / 255
    assert max(range(168), key=lambda h: back.hours[h]) == max(range(168), key=lambda h: p.hours[h])
    for channel, sent in p.sends.items():
        assert abs(back.sends[channel] - sent) <= 5e-4 * sent
    for channel, engaged in p.engagements.items():
        assert abs(back.engagements[channel] - engaged) <= 5e-4 * engaged
        assert abs(back.rate(channel) - p.rate(channel)) <= 1e-3 * p.rate(channel)


def test_round_trips_do_not_drift() -> None:
    """A profile read and written again unchanged (as every update does to the hours it does not touch) keeps
    the same stored text."""
    text = encode_engagement(long_history(300))
    assert encode_engagement(decode_engagement(text)) == text
