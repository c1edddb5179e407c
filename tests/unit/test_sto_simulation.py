"""Send-time optimisation shown to work, small: seeded synthetic shoppers with a hidden two-hour band, a month of
engagement, then a month of triggered requests through the arbiter over the in-memory ledger, with send_time and
sent at once (``make bench`` runs 2,000 shoppers)."""

from __future__ import annotations

from baton.local.sto_simulation import shoppers, simulate


def test_most_shoppers_messages_land_in_their_band_and_open_more_than_sent_at_once() -> None:
    figures = simulate(60, seed=3)
    assert figures["sto_messages"] == 600
    assert figures["sto_in_band_share"] >= 0.8
    # sent at once, a message lands in a two-hour band about one time in twelve: the goal cannot be met so
    assert figures["sto_in_band_immediate"] < 0.3
    assert figures["sto_open_rate"] > 2 * figures["sto_open_rate_immediate"]


def test_the_shoppers_are_seeded_and_engage_mostly_in_their_band() -> None:
    first, again = shoppers(20, seed=5), shoppers(20, seed=5)
    assert first == again
    engagements = [at for person in first for at in person.engagements]
    in_band = sum(person.in_band(at) for person in first for at in person.engagements)
    assert len(engagements) >= 20 * 20 and in_band / len(engagements) > 0.35
