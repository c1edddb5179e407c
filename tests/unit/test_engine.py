"""The policy engine, pure: a policy, one customer's ledger, arrivals and the time in; decisions out.

Given / When / Then in the names and the helpers: ``given`` builds a ledger, ``when`` calls the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from baton.core.domain import (
    AddressStanding,
    CapCount,
    Contact,
    CustomerState,
    Decision,
    Outcome,
    Profile,
    Request,
    Verdict,
)
from baton.core.engine import arbitrate, quiet_until
from baton.core.policy import Policy, policy_from_mapping

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)  # Monday 12:00 in New York
H = timedelta(hours=1)
M = timedelta(minutes=1)
ALL = {"email": True, "sms": True, "push": True}


def policy(**document: Any) -> Policy:
    return policy_from_mapping({"version": "test", "timezone": "America/New_York", **document}, "test.yaml")


def cap(name: str, limit: int, window: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "limit": limit, "window": window, **extra}


def req(rid: str, channel: str = "email", category: str = "sale", at: datetime = T0, **extra: Any) -> Request:
    return Request(request_id=rid, customer_id="c1", channel=channel, category=category, requested_at=at, **extra)


def sent(
    rid: str, at: datetime, channel: str = "email", category: str = "sale", *, priority: int = 50, **extra: Any
) -> Contact:
    fields: dict[str, Any] = {"campaign_id": None, "entity": None, "transactional": False, **extra}
    return Contact(request_id=rid, at=at, channel=channel, category=category, priority=priority, **fields)


def given(*contacts: Contact, consent: dict[str, bool] | None = None, **profile: Any) -> CustomerState:
    return CustomerState(
        customer_id="c1", profile=Profile(consent=ALL if consent is None else consent, **profile), contacts=contacts
    )


def when(p: Policy, ledger: CustomerState, arrivals: Sequence[Request], now: datetime = T0, **kw: Any) -> Verdict:
    return arbitrate(p, ledger, arrivals, now, **kw)


def only(verdict: Verdict) -> Decision:
    assert len(verdict.decisions) == 1, verdict.decisions
    return verdict.decisions[0]


def outcome(verdict: Verdict, rid: str) -> tuple[Outcome, str]:
    decision = verdict.for_request(rid)
    assert decision is not None, f"no decision for {rid}"
    return decision.outcome, decision.reason


SENT_OK = (Outcome.SENT, "within_policy")


# -- caps ------------------------------------------------------------------------------------------


def test_all_marketing_cap_counts_every_channel() -> None:
    p = policy(caps=[cap("all_daily", 2, "24h")])
    ledger = given(sent("a", T0 - 3 * H, "email"), sent("b", T0 - 2 * H, "sms"))
    decision = only(when(p, ledger, [req("r", "push")]))
    assert (decision.outcome, decision.reason) == (Outcome.SUPPRESSED, "cap:all_daily")
    assert decision.counts == {"all_daily": CapCount(count=2, limit=2)}


def test_channel_cap_counts_only_its_channel() -> None:
    p = policy(caps=[cap("email_daily", 1, "24h", match={"channel": "email"})])
    ledger = given(sent("a", T0 - H, "email"))
    verdict = when(p, ledger, [req("e", "email"), req("s", "sms")])
    assert outcome(verdict, "e") == (Outcome.SUPPRESSED, "cap:email_daily")
    assert outcome(verdict, "s") == SENT_OK


def test_category_cap_via_match() -> None:
    p = policy(caps=[cap("newsletter_weekly", 1, "7d", match={"category": "newsletter"})])
    ledger = given(sent("a", T0 - 6 * 24 * H, "email", "newsletter"))
    verdict = when(p, ledger, [req("n", "sms", "newsletter"), req("s", "email", "sale")])
    assert outcome(verdict, "n") == (Outcome.SUPPRESSED, "cap:newsletter_weekly")
    assert outcome(verdict, "s") == SENT_OK


def test_campaign_cap() -> None:
    p = policy(caps=[cap("black_friday", 1, "7d", match={"campaign_id": "bf"})])
    ledger = given(sent("a", T0 - H, campaign_id="bf"))
    verdict = when(p, ledger, [req("bf2", campaign_id="bf"), req("other", campaign_id="cm"), req("none")])
    assert outcome(verdict, "bf2") == (Outcome.SUPPRESSED, "cap:black_friday")
    assert outcome(verdict, "other") == SENT_OK
    assert outcome(verdict, "none") == SENT_OK


def test_per_channel_and_category_cap_keeps_one_count_per_pair() -> None:
    p = policy(caps=[cap("category_daily", 1, "24h", per=["channel", "category"])])
    ledger = given(sent("a", T0 - H, "email", "sale"))
    verdict = when(p, ledger, [req("es", "email", "sale"), req("en", "email", "newsletter"), req("ss", "sms", "sale")])
    assert outcome(verdict, "es") == (Outcome.SUPPRESSED, "cap:category_daily")
    assert outcome(verdict, "en") == SENT_OK
    assert outcome(verdict, "ss") == SENT_OK


def test_per_cap_counts_sends_of_the_same_call() -> None:
    p = policy(caps=[cap("category_daily", 1, "24h", per=["channel", "category"])])
    verdict = when(p, given(), [req("first"), req("second", at=T0 + timedelta(seconds=1))])
    assert outcome(verdict, "first") == SENT_OK
    assert outcome(verdict, "second") == (Outcome.SUPPRESSED, "outranked:first")


def test_every_matching_cap_must_hold() -> None:
    p = policy(caps=[cap("all_daily", 5, "24h"), cap("email_weekly", 2, "7d", match={"channel": "email"})])
    ledger = given(sent("a", T0 - 3 * 24 * H), sent("b", T0 - 2 * 24 * H))
    decision = only(when(p, ledger, [req("r")]))
    assert decision.reason == "cap:email_weekly"
    assert decision.counts == {"all_daily": CapCount(0, 5), "email_weekly": CapCount(2, 2)}


def test_transactional_contacts_do_not_count() -> None:
    p = policy(caps=[cap("all_daily", 1, "24h")])
    ledger = given(sent("receipt", T0 - H, category="order_confirmation", transactional=True))
    assert outcome(when(p, ledger, [req("r")]), "r") == SENT_OK


def test_limit_zero_blocks_all_marketing_on_the_channel() -> None:
    p = policy(caps=[cap("no_sms", 0, "1d", match={"channel": "sms"})], categories={"sale": {"over_cap": "defer"}})
    decision = only(when(p, given(), [req("r", "sms")]))
    assert (decision.outcome, decision.reason) == (Outcome.SUPPRESSED, "cap:no_sms")


# -- rolling windows -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (timedelta(hours=24), SENT_OK),  # exactly `window` old: no longer counts
        (timedelta(hours=24) - timedelta(seconds=1), (Outcome.SUPPRESSED, "cap:daily")),
        (timedelta(hours=30), SENT_OK),
    ],
)
def test_rolling_window_boundary(age: timedelta, expected: tuple[Outcome, str]) -> None:
    p = policy(caps=[cap("daily", 1, "24h")])
    assert outcome(when(p, given(sent("a", T0 - age)), [req("r")]), "r") == expected


def test_contacts_past_every_window_are_forgotten() -> None:
    p = policy(caps=[cap("weekly", 1, "7d")])
    ledger = given(sent("old", T0 - 8 * 24 * H), sent("recent", T0 - 7 * 24 * H + H))
    verdict = when(p, ledger, [])
    assert [c.request_id for c in verdict.ledger.contacts] == ["recent"]


# -- reserved capacity -----------------------------------------------------------------------------


def test_reserved_capacity_waits_for_a_valuable_request() -> None:
    p = policy(
        caps=[cap("email_daily", 2, "24h", reserve={"count": 1, "min_priority": 70})],
        categories={"newsletter": {"priority": 10}, "back_in_stock": {"priority": 80}},
    )
    ledger = given(sent("a", T0 - H, category="sale"))
    low = only(when(p, ledger, [req("n", category="newsletter")]))
    assert (low.outcome, low.reason) == (Outcome.SUPPRESSED, "cap:email_daily")
    assert low.counts["email_daily"] == CapCount(count=1, limit=1)
    high = only(when(p, ledger, [req("b", category="back_in_stock")]))
    assert (high.outcome, high.reason) == SENT_OK
    assert high.counts["email_daily"] == CapCount(count=1, limit=2)


def test_request_priority_overrides_the_category_for_the_reserve() -> None:
    p = policy(caps=[cap("email_daily", 2, "24h", reserve={"count": 1, "min_priority": 70})])
    ledger = given(sent("a", T0 - H))
    assert outcome(when(p, ledger, [req("r", priority=70)]), "r") == SENT_OK
    assert outcome(when(p, ledger, [req("r", priority=69)]), "r")[0] is Outcome.SUPPRESSED


def test_reserve_leaves_the_first_slots_to_anyone() -> None:
    p = policy(caps=[cap("email_daily", 2, "24h", reserve={"count": 1, "min_priority": 70})])
    assert outcome(when(p, given(), [req("r", priority=0)]), "r") == SENT_OK


# -- quiet hours -----------------------------------------------------------------------------------

QUIET = {"sms": {"start": "21:00", "end": "08:00"}, "push": {"start": "21:00", "end": "08:00"}}


def local(year: int, month: int, day: int, hour: int, minute: int = 0, zone: ZoneInfo = NY) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone).astimezone(UTC)


@pytest.mark.parametrize(
    ("at", "release"),
    [
        (local(2026, 6, 1, 22), local(2026, 6, 2, 8)),  # evening: to tomorrow morning
        (local(2026, 6, 2, 2, 30), local(2026, 6, 2, 8)),  # after midnight: to this morning
        (local(2026, 6, 2, 7, 59), local(2026, 6, 2, 8)),
        (local(2026, 6, 1, 21), local(2026, 6, 2, 8)),  # start is inside
    ],
)
def test_quiet_hours_spanning_midnight_defer_to_their_end(at: datetime, release: datetime) -> None:
    p = policy(quiet_hours=QUIET)
    decision = only(when(p, given(timezone="America/New_York"), [req("r", "sms", at=at)], at))
    assert (decision.outcome, decision.reason, decision.release_at) == (Outcome.DEFERRED, "quiet_hours", release)


@pytest.mark.parametrize("at", [local(2026, 6, 1, 8), local(2026, 6, 1, 20, 59), local(2026, 6, 1, 12)])
def test_outside_quiet_hours_sends(at: datetime) -> None:
    p = policy(quiet_hours=QUIET)
    assert outcome(when(p, given(timezone="America/New_York"), [req("r", "sms", at=at)], at), "r") == SENT_OK


def test_quiet_hours_apply_only_to_their_channel() -> None:
    p = policy(quiet_hours=QUIET)
    at = local(2026, 6, 1, 23)
    assert outcome(when(p, given(timezone="America/New_York"), [req("r", "email", at=at)], at), "r") == SENT_OK


def test_quiet_hours_within_one_day() -> None:
    p = policy(quiet_hours={"email": {"start": "12:00", "end": "14:00"}})
    at = local(2026, 6, 1, 13, 30)
    decision = only(when(p, given(timezone="America/New_York"), [req("r", at=at)], at))
    assert decision.release_at == local(2026, 6, 1, 14)
    later = local(2026, 6, 1, 14)
    assert outcome(when(p, given(timezone="America/New_York"), [req("r", at=later)], later), "r") == SENT_OK


def test_deferred_request_is_sent_when_quiet_hours_end() -> None:
    p = policy(quiet_hours=QUIET)
    at = local(2026, 6, 1, 22)
    first = when(p, given(timezone="America/New_York"), [req("r", "sms", at=at)], at)
    release = only(first).release_at
    assert release is not None
    assert when(p, first.ledger, [], release - M).decisions == ()  # not due yet
    assert outcome(when(p, first.ledger, [], release), "r") == SENT_OK


@pytest.mark.parametrize(
    ("at", "release_utc"),
    [
        # spring forward: Saturday 22:00 EST -> Sunday 08:00 EDT, ten hours later
        (local(2026, 3, 7, 22), datetime(2026, 3, 8, 12, 0, tzinfo=UTC)),
        # during the night that loses an hour (03:30 EDT)
        (datetime(2026, 3, 8, 7, 30, tzinfo=UTC), datetime(2026, 3, 8, 12, 0, tzinfo=UTC)),
        # fall back: Saturday 22:00 EDT -> Sunday 08:00 EST, eleven hours later
        (local(2026, 10, 31, 22), datetime(2026, 11, 1, 13, 0, tzinfo=UTC)),
        # the repeated hour, both times (01:30 EDT, then 01:30 EST)
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 13, 0, tzinfo=UTC)),
        (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), datetime(2026, 11, 1, 13, 0, tzinfo=UTC)),
    ],
)
def test_quiet_hours_on_dst_change_days(at: datetime, release_utc: datetime) -> None:
    p = policy(quiet_hours=QUIET)
    decision = only(when(p, given(timezone="America/New_York"), [req("r", "push", at=at)], at))
    assert (decision.outcome, decision.reason, decision.release_at) == (Outcome.DEFERRED, "quiet_hours", release_utc)
    assert decision.release_at.astimezone(NY).hour == 8


def test_quiet_hours_use_the_policy_zone_when_the_customer_has_none() -> None:
    # 03:00 UTC on 2 June: 23:00 in New York, 20:00 in Los Angeles
    at = datetime(2026, 6, 2, 3, 0, tzinfo=UTC)
    la = policy_from_mapping({"version": "t", "timezone": "America/Los_Angeles", "quiet_hours": QUIET}, "la.yaml")
    ny = policy(quiet_hours=QUIET)
    assert outcome(when(la, given(), [req("r", "sms", at=at)], at), "r") == SENT_OK
    assert outcome(when(ny, given(), [req("r", "sms", at=at)], at), "r") == (Outcome.DEFERRED, "quiet_hours")
    # the customer's own zone wins over the policy's
    assert outcome(when(la, given(timezone="America/New_York"), [req("r", "sms", at=at)], at), "r")[0] is (
        Outcome.DEFERRED
    )


def test_quiet_until_returns_none_outside() -> None:
    from baton.core.domain import QuietWindow

    assert quiet_until(local(2026, 6, 1, 12), NY, QuietWindow("21:00", "08:00")) is None
    assert quiet_until(local(2026, 6, 1, 21), NY, QuietWindow("21:00", "08:00")) == local(2026, 6, 2, 8)


# -- consent and opt-out ---------------------------------------------------------------------------


@pytest.mark.parametrize("consent", [{}, {"sms": False}, {"email": True}])
def test_marketing_needs_consent_for_the_channel(consent: dict[str, bool]) -> None:
    assert outcome(when(policy(), given(consent=consent), [req("r", "sms")]), "r") == (
        Outcome.SUPPRESSED,
        "no_consent",
    )


def test_opt_out_of_a_category() -> None:
    ledger = given(opted_out_categories=frozenset({"newsletter"}))
    verdict = when(policy(), ledger, [req("n", category="newsletter"), req("s", category="sale")])
    assert outcome(verdict, "n") == (Outcome.SUPPRESSED, "opted_out:newsletter")
    assert outcome(verdict, "s") == SENT_OK


# -- transactional ---------------------------------------------------------------------------------


def test_transactional_bypasses_caps_quiet_hours_consent_and_opt_out() -> None:
    p = policy(caps=[cap("all", 0, "24h"), cap("sms", 0, "24h", match={"channel": "sms"})], quiet_hours=QUIET)
    at = local(2026, 6, 1, 23)
    ledger = given(sent("a", at - H, "sms"), consent={}, opted_out_categories=frozenset({"order_confirmation"}))
    receipt = req("r", "sms", "order_confirmation", at=at, transactional=True)
    decision = only(when(p, ledger, [receipt], at))
    assert (decision.outcome, decision.reason) == (Outcome.SENT, "transactional")
    assert decision.counts == {}


def test_transactional_is_not_held_in_an_arbitration_window() -> None:
    p = policy(categories={"order_confirmation": {"arbitration_window": "15m"}})
    receipt = req("r", category="order_confirmation", transactional=True)
    assert outcome(when(p, given(), [receipt]), "r") == (Outcome.SENT, "transactional")


@pytest.mark.parametrize("transactional", [False, True])
def test_a_blocked_address_stops_everything(transactional: bool) -> None:
    decision = only(
        when(policy(), given(), [req("r", transactional=transactional, address_standing=AddressStanding.BLOCKED)])
    )
    assert (decision.outcome, decision.reason) == (Outcome.SUPPRESSED, "suppressed_address")


def test_a_soft_blocked_address_stops_marketing_only() -> None:
    verdict = when(
        policy(),
        given(),
        [
            req("m", address_standing=AddressStanding.SOFT_BLOCKED),
            req("t", transactional=True, address_standing=AddressStanding.SOFT_BLOCKED),
        ],
    )
    assert outcome(verdict, "m") == (Outcome.SUPPRESSED, "suppressed_address")
    assert outcome(verdict, "t") == (Outcome.SENT, "transactional")


def test_no_address() -> None:
    assert outcome(when(policy(), given(), [req("r", address_standing=AddressStanding.MISSING)]), "r") == (
        Outcome.SUPPRESSED,
        "no_address",
    )


# -- exclusions ------------------------------------------------------------------------------------


def exclusion_policy(same_entity: bool) -> Policy:
    return policy(
        categories={
            "order_confirmation": {
                "priority": 100,
                "excludes": [{"categories": ["cart_abandoned"], "window": "7d", "same_entity": same_entity}],
            },
            "cart_abandoned": {"priority": 60, "arbitration_window": "15m"},
        }
    )


def test_exclusion_cancels_pending_requests_for_the_same_entity_only() -> None:
    p = exclusion_policy(same_entity=True)
    held = when(
        p, given(), [req("cart1", category="cart_abandoned", entity="cart:1"), req("cart2", category="cart_abandoned")]
    )
    assert [d.outcome for d in held.decisions] == [Outcome.DEFERRED, Outcome.DEFERRED]
    order = req("oc", category="order_confirmation", entity="cart:1", at=T0 + 5 * M, transactional=True)
    verdict = when(p, held.ledger, [order], T0 + 5 * M)
    assert outcome(verdict, "cart1") == (Outcome.CANCELLED, "excluded:oc")
    assert verdict.for_request("cart2") is None
    assert outcome(verdict, "oc") == (Outcome.SENT, "transactional")
    assert [w.request.request_id for w in verdict.ledger.pending] == ["cart2"]


def test_exclusion_suppresses_later_requests_within_its_window() -> None:
    p = exclusion_policy(same_entity=True)
    order = req("oc", category="order_confirmation", entity="cart:1", transactional=True)
    after = when(p, given(), [order]).ledger
    later = T0 + 2 * 24 * H
    same = req("c1", category="cart_abandoned", entity="cart:1", at=later)
    other = req("c2", category="cart_abandoned", entity="cart:2", at=later)
    verdict = when(p, after, [same, other], later)
    assert outcome(verdict, "c1") == (Outcome.SUPPRESSED, "excluded:oc")
    assert outcome(verdict, "c2") == (Outcome.DEFERRED, "arbitration_window")
    past = T0 + 7 * 24 * H + timedelta(seconds=1)
    assert outcome(when(p, after, [req("c3", category="cart_abandoned", entity="cart:1", at=past)], past), "c3") == (
        Outcome.DEFERRED,
        "arbitration_window",
    )


def test_exclusion_without_same_entity_cancels_every_entity() -> None:
    p = exclusion_policy(same_entity=False)
    held = when(p, given(), [req("cart2", category="cart_abandoned", entity="cart:2")])
    order = req("oc", category="order_confirmation", entity="cart:1", transactional=True)
    assert outcome(when(p, held.ledger, [order]), "cart2") == (Outcome.CANCELLED, "excluded:oc")


# -- repeats ---------------------------------------------------------------------------------------


def test_repeat_of_the_same_category_and_entity() -> None:
    p = policy(categories={"back_in_stock": {"repeat_window": "24h"}})
    ledger = given(sent("first", T0 - 10 * H, category="back_in_stock", entity="sku:1"))
    verdict = when(
        p,
        ledger,
        [
            req("same", category="back_in_stock", entity="sku:1"),
            req("other", category="back_in_stock", entity="sku:2"),
            req("no_entity", category="back_in_stock"),
        ],
    )
    assert outcome(verdict, "same") == (Outcome.SUPPRESSED, "repeat")
    assert outcome(verdict, "other") == SENT_OK
    assert outcome(verdict, "no_entity") == SENT_OK
    tomorrow = T0 + 14 * H
    assert (
        outcome(
            when(p, ledger, [req("again", category="back_in_stock", entity="sku:1", at=tomorrow)], tomorrow), "again"
        )
        == SENT_OK
    )


def test_repeat_of_a_waiting_request() -> None:
    p = policy(categories={"back_in_stock": {"repeat_window": "24h", "arbitration_window": "15m"}})
    held = when(p, given(), [req("first", category="back_in_stock", entity="sku:1")])
    verdict = when(p, held.ledger, [req("second", category="back_in_stock", entity="sku:1", at=T0 + M)], T0 + M)
    assert outcome(verdict, "second") == (Outcome.SUPPRESSED, "repeat")


# -- freshness and expiry --------------------------------------------------------------------------


def test_not_after_in_the_past_expires_on_arrival() -> None:
    assert outcome(when(policy(), given(), [req("r", not_after=T0 - M)]), "r") == (Outcome.EXPIRED, "not_after")
    assert outcome(when(policy(), given(), [req("r", not_after=T0)]), "r") == SENT_OK


def test_max_age_on_arrival() -> None:
    p = policy(categories={"sale": {"max_age": "1h"}})
    assert outcome(when(p, given(), [req("r", at=T0 - H - M)]), "r") == (Outcome.EXPIRED, "max_age")


def test_deferral_ends_at_not_after() -> None:
    p = policy(quiet_hours=QUIET)
    at = local(2026, 6, 1, 22)
    first = when(p, given(timezone="America/New_York"), [req("r", "sms", at=at, not_after=at + 2 * H)], at)
    assert only(first).release_at == at + 2 * H  # before quiet hours end
    assert outcome(when(p, first.ledger, [], at + 2 * H), "r") == (Outcome.EXPIRED, "not_after")


def test_deferral_ends_at_max_age() -> None:
    p = policy(
        caps=[cap("daily", 1, "24h")],
        categories={"cart_abandoned": {"over_cap": "defer", "max_delay": "12h", "max_age": "2h"}},
    )
    ledger = given(sent("a", T0 - H))
    first = when(p, ledger, [req("r", category="cart_abandoned")])
    assert (only(first).outcome, only(first).release_at) == (Outcome.DEFERRED, T0 + 2 * H)
    assert outcome(when(p, first.ledger, [], T0 + 2 * H), "r") == (Outcome.EXPIRED, "max_age")


def test_deferral_ends_at_max_delay() -> None:
    p = policy(caps=[cap("daily", 1, "24h")], categories={"review_request": {"over_cap": "defer", "max_delay": "12h"}})
    ledger = given(sent("a", T0 - H))
    first = when(p, ledger, [req("r", category="review_request")])
    decision = only(first)
    assert (decision.outcome, decision.reason, decision.release_at) == (Outcome.DEFERRED, "cap:daily", T0 + 12 * H)
    final = when(p, first.ledger, [], T0 + 12 * H)
    assert outcome(final, "r") == (Outcome.EXPIRED, "max_delay")
    assert final.ledger.pending == ()


# -- over cap: defer until capacity frees ----------------------------------------------------------


def test_defer_computes_the_exact_time_capacity_frees() -> None:
    p = policy(caps=[cap("daily", 2, "24h")], categories={"sale": {"over_cap": "defer", "max_delay": "24h"}})
    ledger = given(sent("a", T0 - 20 * H), sent("b", T0 - 10 * H))
    first = when(p, ledger, [req("r")])
    decision = only(first)
    assert (decision.outcome, decision.reason) == (Outcome.DEFERRED, "cap:daily")
    assert decision.release_at == T0 + 4 * H  # when "a" leaves the 24 h window
    assert when(p, first.ledger, [], T0 + 4 * H - timedelta(seconds=1)).decisions == ()
    assert outcome(when(p, first.ledger, [], T0 + 4 * H), "r") == SENT_OK


def test_defer_with_a_reserve_waits_for_enough_contacts_to_leave() -> None:
    p = policy(
        caps=[cap("daily", 3, "24h", reserve={"count": 1, "min_priority": 90})],
        categories={"sale": {"over_cap": "defer", "max_delay": "24h", "priority": 30}},
    )
    ledger = given(sent("a", T0 - 20 * H), sent("b", T0 - 15 * H), sent("c", T0 - 10 * H))
    decision = only(when(p, ledger, [req("r")]))
    # room 2 of 3 contacts: two must leave, the later of them ("b") at T0 + 9 h
    assert decision.release_at == T0 + 9 * H


def test_defer_waits_for_the_latest_of_several_blocking_caps() -> None:
    p = policy(
        caps=[cap("daily", 2, "24h"), cap("email_3h", 1, "3h", match={"channel": "email"})],
        categories={"sale": {"over_cap": "defer"}},
    )
    # daily frees when "a" leaves (T0+1h); email_3h when "b" leaves (T0+2h): the later one counts
    ledger = given(sent("a", T0 - 23 * H, "sms"), sent("b", T0 - H))
    assert only(when(p, ledger, [req("r")])).release_at == T0 + 2 * H
    ledger = given(sent("a", T0 - 20 * H, "sms"), sent("b", T0 - H))
    assert only(when(p, ledger, [req("r")])).release_at == T0 + 4 * H


def test_suppress_over_cap() -> None:
    p = policy(caps=[cap("daily", 1, "24h")], categories={"sale": {"over_cap": "suppress"}})
    decision = only(when(p, given(sent("a", T0 - H)), [req("r")]))
    assert (decision.outcome, decision.reason, decision.release_at) == (Outcome.SUPPRESSED, "cap:daily", None)


# -- arbitration window: rank, then send --------------------------------------------------------------


def arbitration_policy() -> Policy:
    return policy(
        caps=[cap("daily", 1, "24h")],
        categories={
            "newsletter": {"priority": 10, "arbitration_window": "15m"},
            "back_in_stock": {"priority": 80, "arbitration_window": "15m"},
            "sale": {"priority": 30, "arbitration_window": "15m"},
            "price_drop": {"priority": 30, "arbitration_window": "14m"},
        },
    )


def test_arbitration_window_holds_then_the_highest_priority_wins() -> None:
    p = arbitration_policy()
    arrivals = [req("n", category="newsletter"), req("b", category="back_in_stock"), req("s", category="sale")]
    held = when(p, given(), arrivals)
    assert {d.outcome for d in held.decisions} == {Outcome.DEFERRED}
    assert {d.release_at for d in held.decisions} == {T0 + 15 * M}
    assert when(p, held.ledger, [], T0 + 14 * M).decisions == ()
    verdict = when(p, held.ledger, [], T0 + 15 * M)
    assert outcome(verdict, "b") == SENT_OK
    assert outcome(verdict, "s") == (Outcome.SUPPRESSED, "outranked:b")
    assert outcome(verdict, "n") == (Outcome.SUPPRESSED, "outranked:b")


def test_arbitration_ties_go_to_the_earliest_request() -> None:
    p = arbitration_policy()
    first = when(p, given(), [req("sale", category="sale")])
    later = T0 + M
    second = when(p, first.ledger, [req("drop", category="price_drop", at=later)], later)
    verdict = when(p, second.ledger, [], T0 + 15 * M)  # both due now, both priority 30
    assert outcome(verdict, "sale") == SENT_OK
    assert outcome(verdict, "drop") == (Outcome.SUPPRESSED, "outranked:sale")


def test_request_priority_overrides_in_the_ranking() -> None:
    p = arbitration_policy()
    held = when(p, given(), [req("b", category="back_in_stock"), req("n", category="newsletter", priority=95)])
    verdict = when(p, held.ledger, [], T0 + 15 * M)
    assert outcome(verdict, "n") == SENT_OK
    assert outcome(verdict, "b") == (Outcome.SUPPRESSED, "outranked:n")


def test_over_cap_not_outranked_when_the_cap_was_full_before() -> None:
    p = arbitration_policy()
    held = when(p, given(sent("x", T0 - H)), [req("b", category="back_in_stock")])
    assert outcome(when(p, held.ledger, [], T0 + 15 * M), "b") == (Outcome.SUPPRESSED, "cap:daily")


# -- one transaction's worth per call ------------------------------------------------------------------


def test_max_settle_leaves_the_rest_due_with_more_due() -> None:
    p = policy(caps=[cap("daily", 2, "24h")], categories={"sale": {"priority": 30}, "back_in_stock": {"priority": 80}})
    arrivals = [req(f"s{i}", at=T0 + i * timedelta(seconds=1)) for i in range(4)] + [
        req("b", category="back_in_stock", at=T0 + 10 * timedelta(seconds=1))
    ]
    first = when(p, given(), arrivals, T0 + M, max_settle=3)
    assert first.more_due
    settled = {d.request.request_id: d for d in first.decisions if d.outcome is not Outcome.DEFERRED}
    queued = {d.request.request_id for d in first.decisions if d.outcome is Outcome.DEFERRED}
    # ranked: b (80), then s0, s1 (earliest); s2, s3 wait for the next call
    assert set(settled) == {"b", "s0", "s1"}
    assert (settled["b"].outcome, settled["s0"].outcome) == (Outcome.SENT, Outcome.SENT)
    assert settled["s1"].reason == "outranked:s0"
    assert queued == {"s2", "s3"}
    assert all(
        d.reason == "queued" and d.release_at == T0 + M for d in first.decisions if d.request.request_id in queued
    )
    second = when(p, first.ledger, [], T0 + M, max_settle=3)
    assert not second.more_due
    assert {d.request.request_id: d.outcome for d in second.decisions} == {
        "s2": Outcome.SUPPRESSED,
        "s3": Outcome.SUPPRESSED,
    }
    assert second.ledger.pending == ()


def test_quiet_hours_ending_inside_the_repeated_hour_of_a_fall_back_day() -> None:
    """Given quiet hours 00:30-01:30 and a push at 01:15 EST (the second 01:15 of 1 November 2026), when it is
    decided, then it waits until 01:30 EST, not until 01:30 EDT (already past), which expired it at once."""
    p = policy(quiet_hours={"push": {"start": "00:30", "end": "01:30"}})
    at = datetime(2026, 11, 1, 6, 15, tzinfo=UTC)
    decision = only(when(p, given(timezone="America/New_York"), [req("r", "push", at=at)], at))
    assert (decision.outcome, decision.reason) == (Outcome.DEFERRED, "quiet_hours")
    assert decision.release_at == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


# -- what a waiting request meets when it is decided again ----------------------------------------


def test_consent_withdrawn_while_a_request_waits_suppresses_it_when_due() -> None:
    p = arbitration_policy()
    held = when(p, given(), [req("s", category="sale")])
    profile = replace(held.ledger.profile, consent={**ALL, "email": False})
    verdict = when(p, replace(held.ledger, profile=profile), [], T0 + 15 * M)
    assert outcome(verdict, "s") == (Outcome.SUPPRESSED, "no_consent")


def test_an_opt_out_while_a_request_waits_suppresses_it_when_due() -> None:
    p = arbitration_policy()
    held = when(p, given(), [req("s", category="sale")])
    profile = replace(held.ledger.profile, opted_out_categories=frozenset({"sale"}))
    verdict = when(p, replace(held.ledger, profile=profile), [], T0 + 15 * M)
    assert outcome(verdict, "s") == (Outcome.SUPPRESSED, "opted_out:sale")


def test_a_request_that_lost_consent_while_waiting_claims_no_room() -> None:
    p = arbitration_policy()
    held = when(p, given(), [req("b", category="back_in_stock")])
    profile = replace(held.ledger.profile, consent={**ALL, "email": False})
    later = T0 + 5 * M
    verdict = when(
        p,
        replace(held.ledger, profile=profile),
        [req("n", channel="push", category="newsletter", at=later)],
        later,
    )
    assert outcome(verdict, "n") == (Outcome.DEFERRED, "arbitration_window")
    due = when(p, verdict.ledger, [], later + 15 * M)
    assert outcome(due, "n") == SENT_OK


def test_a_request_waiting_for_quiet_hours_to_end_keeps_its_room_from_lower_priority_ones() -> None:
    p = policy(
        caps=[cap("daily", 1, "24h")],
        quiet_hours={"sms": QUIET["sms"]},
        categories={"back_in_stock": {"priority": 80}, "newsletter": {"priority": 10}},
    )
    night = T0 + 10 * H  # 22:00 in New York
    first = when(p, given(), [req("b", channel="sms", category="back_in_stock", at=night)], night)
    waiting = only(first)
    assert (waiting.outcome, waiting.reason) == (Outcome.DEFERRED, "quiet_hours")
    later = night + H
    second = when(p, first.ledger, [req("n", channel="push", category="newsletter", at=later)], later)
    assert outcome(second, "n") == (Outcome.SUPPRESSED, "outranked:b")
    assert waiting.release_at is not None
    assert outcome(when(p, second.ledger, [], waiting.release_at), "b") == SENT_OK


def test_a_request_whose_window_ends_in_quiet_hours_keeps_its_room_in_the_same_call() -> None:
    """Windows ending together: the SMS is due in quiet hours and waits for their end; the lower-priority email
    decided in the same call must not take the room it holds (found by the staggered-windows property)."""
    p = policy(
        caps=[cap("daily", 1, "24h")],
        quiet_hours={"sms": QUIET["sms"]},
        categories={
            "back_in_stock": {"priority": 80, "arbitration_window": "15m"},
            "newsletter": {"priority": 10, "arbitration_window": "15m"},
        },
    )
    night = T0 + 10 * H - 10 * M  # 21:50 in New York: both windows end at 22:05, in the SMS's quiet hours
    arrivals = [req("b", channel="sms", category="back_in_stock", at=night), req("n", category="newsletter", at=night)]
    first = when(p, given(), arrivals, night)
    due = when(p, first.ledger, [], night + 15 * M)
    waiting = due.for_request("b")
    assert waiting is not None and (waiting.outcome, waiting.reason) == (Outcome.DEFERRED, "quiet_hours")
    assert outcome(due, "n") == (Outcome.SUPPRESSED, "outranked:b")
    assert "waiting for quiet hours to end" in due.for_request("n").detail  # type: ignore[union-attr]
    assert waiting.release_at is not None
    assert outcome(when(p, due.ledger, [], waiting.release_at), "b") == SENT_OK


def test_a_later_higher_priority_request_takes_the_room_a_waiting_one_claimed() -> None:
    """The claim holds against lower priorities only: a send below the waiting request may take room left free of
    claims, and a request ranked above it, arriving later, may take the claimed room; the waiting one then finds
    the cap full (the second case the staggered-windows property leaves out)."""
    p = policy(
        caps=[cap("email_30m", 2, "30m", match={"channel": "email"})],
        categories={"alert": {"priority": 20, "arbitration_window": "5m"}, "news": {"priority": 10}},
    )
    first = when(p, given(), [req("a", category="alert"), req("n", category="news")])
    assert outcome(first, "a") == (Outcome.DEFERRED, "arbitration_window")
    assert outcome(first, "n") == SENT_OK  # one of the two slots was free of the alert's claim
    urgent = when(p, first.ledger, [req("u", category="news", at=T0 + M, priority=90)], T0 + M)
    assert outcome(urgent, "u") == SENT_OK
    assert outcome(when(p, urgent.ledger, [], T0 + 5 * M), "a") == (Outcome.SUPPRESSED, "cap:email_30m")


# -- contacts made outside Baton -------------------------------------------------------------------


def test_a_contact_on_a_channel_outside_baton_counts_where_its_match_and_category_say() -> None:
    p = policy(
        caps=[
            cap("touches_daily", 2, "24h"),
            cap("mail_weekly", 1, "7d", match={"channel": "direct_mail"}),
            cap("sale_daily", 1, "24h", match={"category": "sale"}),
        ]
    )
    mail = sent("contact:m1", T0 - 2 * H, channel="direct_mail", category="news")
    call = sent("contact:c1", T0 - H, channel="call", category="order", transactional=True)

    news = only(when(p, given(mail, call), [req("r1", category="news")]))
    # the mail counts in the cap without match, the transactional call nowhere; a cap on direct mail holds back
    # no email
    assert (news.outcome, dict(news.counts)) == (Outcome.SENT, {"touches_daily": CapCount(1, 2)})
    store = sent("contact:s1", T0 - H, channel="store", category="sale")
    sale = only(when(p, given(mail, store), [req("r2")]))
    assert (sale.outcome, sale.reason) == (Outcome.SUPPRESSED, "cap:touches_daily")
    assert dict(sale.counts) == {"touches_daily": CapCount(2, 2), "sale_daily": CapCount(1, 1)}
