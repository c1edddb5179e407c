"""Channel choice in the pure engine: a request listing channels goes by the first one it may use now, and its
reason names that channel and why each one listed before it was passed over."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from baton.core.domain import AddressStanding, ChannelOption, CustomerState, Outcome, Profile, Request
from baton.core.engagement import EngagementProfile
from baton.core.engine import arbitrate
from tests.unit.test_engine import ALL, T0, H, cap, given, policy, sent

EMAIL, SMS, PUSH = "email", "sms", "push"
# 12:00 in New York is not quiet; 22:00 (T0 + 10h) is, for SMS and push
QUIET = {"sms": {"start": "21:00", "end": "08:00"}, "push": {"start": "21:00", "end": "08:00"}}


def listing(rid: str, *options: ChannelOption | str, category: str = "sale", **extra: Any) -> Request:
    opts = tuple(o if isinstance(o, ChannelOption) else ChannelOption(o) for o in options)
    return Request(
        request_id=rid, customer_id="c1", channel=opts[0].channel, category=category, requested_at=T0,
        options=opts, **extra,
    )  # fmt: skip


def decide(ledger: CustomerState, request: Request, p: Any = None, now: Any = T0) -> tuple[Outcome, str, str]:
    verdict = arbitrate(p or policy(), ledger, [request], now)
    decision = verdict.for_request(request.request_id)
    assert decision is not None
    return decision.outcome, decision.request.channel, decision.reason


def test_the_first_listed_channel_that_may_be_used_is_chosen() -> None:
    assert decide(given(), listing("r1", EMAIL, SMS)) == (Outcome.SENT, EMAIL, "channel:email")


def test_a_channel_without_consent_is_passed_over() -> None:
    ledger = given(consent={EMAIL: False, SMS: True})
    assert decide(ledger, listing("r1", EMAIL, SMS)) == (Outcome.SENT, SMS, "channel:sms (email: no_consent)")


def test_a_channel_without_an_address_is_passed_over() -> None:
    request = listing("r1", ChannelOption(SMS, AddressStanding.MISSING), PUSH)
    assert decide(given(), request) == (Outcome.SENT, PUSH, "channel:push (sms: no_address)")


@pytest.mark.parametrize("standing", [AddressStanding.BLOCKED, AddressStanding.SOFT_BLOCKED])
def test_a_suppressed_address_is_passed_over(standing: AddressStanding) -> None:
    request = listing("r1", ChannelOption(EMAIL, standing), SMS)
    assert decide(given(), request) == (Outcome.SENT, SMS, "channel:sms (email: suppressed_address)")


def test_a_full_cap_passes_the_channel_over_and_caps_count_the_channel_used() -> None:
    p = policy(caps=[cap("email_daily", 1, "1d", match={"channel": EMAIL})])
    ledger = given(sent("old", T0 - H))
    verdict = arbitrate(p, ledger, [listing("r1", EMAIL, SMS)], T0)
    decision = verdict.for_request("r1")
    assert decision is not None
    assert (decision.outcome, decision.reason) == (Outcome.SENT, "channel:sms (email: cap:email_daily)")
    assert [c.channel for c in verdict.ledger.contacts if c.request_id == "r1"] == [SMS]


def test_quiet_hours_pass_the_channel_over() -> None:
    p = policy(quiet_hours=QUIET)
    late = T0 + 10 * H
    request = replace(listing("r1", SMS, EMAIL), requested_at=late)
    assert decide(given(), request, p, late) == (Outcome.SENT, EMAIL, "channel:email (sms: quiet_hours)")


def test_an_opt_out_of_the_category_passes_every_channel_over() -> None:
    ledger = given(opted_out_categories=frozenset({"sale"}))
    outcome, channel, reason = decide(ledger, listing("r1", EMAIL, SMS))
    assert (outcome, channel) == (Outcome.SUPPRESSED, "")
    assert reason == "channel:none (email: opted_out:sale, sms: opted_out:sale)"


def test_a_channel_that_failed_for_good_is_passed_over() -> None:
    request = listing("r1", ChannelOption(EMAIL, failed="provider:MessageRejected"), SMS)
    assert decide(given(), request) == (Outcome.SENT, SMS, "channel:sms (email: provider:MessageRejected)")


def test_none_has_room_now_so_the_request_is_deferred_on_the_first_it_may_use() -> None:
    p = policy(caps=[cap("daily", 1, "1d")], categories={"sale": {"over_cap": "defer"}})
    ledger = given(sent("old", T0 - H), consent={EMAIL: False, SMS: True, PUSH: True})
    verdict = arbitrate(p, ledger, [listing("r1", EMAIL, SMS, PUSH)], T0)
    decision = verdict.for_request("r1")
    assert decision is not None
    assert (decision.outcome, decision.request.channel, decision.reason) == (Outcome.DEFERRED, SMS, "cap:daily")
    assert "email: no_consent, sms: cap:daily, push: cap:daily" in decision.detail
    waiting = verdict.ledger.pending[0]
    assert waiting.request.options == listing("r1", EMAIL, SMS, PUSH).options  # chosen again when released

    later = arbitrate(p, replace(verdict.ledger, contacts=()), [], waiting.due_at)
    released = later.for_request("r1")
    assert released is not None
    assert (released.outcome, released.request.channel) == (Outcome.SENT, SMS)
    assert released.reason == "channel:sms (email: no_consent)"


def test_none_has_room_now_so_the_request_is_suppressed_on_the_first_it_may_use() -> None:
    p = policy(caps=[cap("daily", 1, "1d")])
    assert decide(given(sent("old", T0 - H)), listing("r1", EMAIL, SMS), p) == (Outcome.SUPPRESSED, EMAIL, "cap:daily")


def test_a_transactional_request_goes_by_the_first_reachable_channel_whatever_the_caps_and_consent() -> None:
    p = policy(caps=[cap("daily", 0, "1d")])
    request = listing("r1", ChannelOption(EMAIL, AddressStanding.MISSING), SMS, transactional=True)
    ledger = given(consent={EMAIL: False, SMS: False})
    assert decide(ledger, request, p) == (Outcome.SENT, SMS, "channel:sms (email: no_address)")


def test_no_channel_reachable_is_suppressed_with_each_reason() -> None:
    request = listing(
        "r1", ChannelOption(EMAIL, AddressStanding.BLOCKED), ChannelOption(SMS, AddressStanding.MISSING), PUSH
    )
    ledger = given(consent={**ALL, PUSH: False})
    outcome, channel, reason = decide(ledger, request)
    assert (outcome, channel) == (Outcome.SUPPRESSED, "")
    assert reason == "channel:none (email: suppressed_address, sms: no_address, push: no_consent)"


def test_a_request_waiting_in_its_window_is_chosen_for_when_released() -> None:
    p = policy(categories={"sale": {"arbitration_window": "30m"}})
    ledger = given(consent={EMAIL: False, SMS: True})
    first = arbitrate(p, ledger, [listing("r1", EMAIL, SMS)], T0)
    decision = first.for_request("r1")
    assert decision is not None and decision.outcome is Outcome.DEFERRED
    # consent for email arrives while it waits: it is chosen again, by the same rules
    now = replace(first.ledger, profile=replace(first.ledger.profile, consent=ALL))
    released = arbitrate(p, now, [], first.ledger.pending[0].due_at).for_request("r1")
    assert released is not None
    assert (released.outcome, released.request.channel, released.reason) == (Outcome.SENT, EMAIL, "channel:email")


def _engaged(ledger: CustomerState, **rates: tuple[float, float]) -> CustomerState:
    """The ledger with an engagement profile holding, per channel, (sends, engagements)."""
    profile = EngagementProfile(
        as_of=T0 - H,
        sends={c: sends for c, (sends, _) in rates.items()},
        engagements={c: engaged for c, (_, engaged) in rates.items()},
    )
    return replace(ledger, engagement=profile)


def by_engagement(category: str | None = None) -> Any:
    if category is None:
        return policy(channel_choice="engagement")
    return policy(categories={category: {"channel_choice": "engagement"}})


def test_engagement_ordering_without_data_keeps_the_listed_order() -> None:
    assert decide(given(), listing("r1", SMS, EMAIL), by_engagement()) == (Outcome.SENT, SMS, "channel:sms")


def test_engagement_ordering_tries_the_channel_the_shopper_engages_with_most_first() -> None:
    ledger = _engaged(given(), email=(10.0, 4.0), sms=(10.0, 1.0))
    assert decide(ledger, listing("r1", SMS, EMAIL), by_engagement()) == (Outcome.SENT, EMAIL, "channel:email")
    # the same shopper under the listed order, and under a category setting of its own
    assert decide(ledger, listing("r1", SMS, EMAIL)) == (Outcome.SENT, SMS, "channel:sms")
    assert decide(ledger, listing("r1", SMS, EMAIL), by_engagement("sale"))[1] == EMAIL
    assert decide(ledger, listing("r1", SMS, EMAIL, category="news"), by_engagement("sale"))[1] == SMS


def test_engagement_ordering_keeps_the_listed_order_between_equal_rates() -> None:
    ledger = _engaged(given(), email=(4.0, 1.0), push=(8.0, 2.0), sms=(4.0, 0.0))
    outcome, channel, _ = decide(ledger, listing("r1", SMS, PUSH, EMAIL), by_engagement())
    assert (outcome, channel) == (Outcome.SENT, PUSH)  # push and email both engage at 0.25: push is listed first


def test_engagement_ordering_still_passes_over_a_channel_that_may_not_be_used() -> None:
    ledger = replace(_engaged(given(), email=(2.0, 2.0)), profile=Profile(consent={EMAIL: False, SMS: True}))
    expected = (Outcome.SENT, SMS, "channel:sms (email: no_consent)")
    assert decide(ledger, listing("r1", SMS, EMAIL), by_engagement()) == expected


def test_channel_choice_does_not_change_the_digest_of_a_policy_that_does_not_set_it() -> None:
    plain = policy()
    chosen = policy(channel_choice="engagement")
    assert plain.digest_id != chosen.digest_id
    assert policy(channel_choice="order").digest_id == plain.digest_id
