"""Send-time optimisation in the pure engine: a marketing request of a ``send_time`` category that would be sent
now waits for the shopper's best hour (their histogram, the fleet's, or the default hour), within its deadlines,
outside quiet hours and with room in its caps; when due it is decided again without being optimised again."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from baton.core.domain import CustomerState, Decision, Outcome, Pending, Profile, QuietWindow, Request, Verdict
from baton.core.engagement import HOURS_OF_WEEK, EngagementProfile
from baton.core.engine import SEND_TIME, arbitrate
from baton.core.errors import PolicyError
from baton.core.policy import Policy, policy_from_mapping

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)  # Monday 12:00 in New York (hour of the week 12)
H = timedelta(hours=1)
MONDAY = 0  # hour of the week of Monday 00:00


def policy(send_time: Mapping[str, Any] | None = None, caps: list[Any] | None = None, **category: Any) -> Policy:
    sale: dict[str, Any] = {"send_time": {"optimize": True, **(send_time or {})}, **category}
    document = {"version": "t", "timezone": "America/New_York", "caps": caps or [], "categories": {"sale": sale}}
    return policy_from_mapping(document, "test.yaml")


def history(weights: Mapping[int, float], count: int = 20) -> EngagementProfile:
    """A profile whose histogram holds ``weights`` at the given local hours of the week."""
    hours = [0.0] * HOURS_OF_WEEK
    for hour, weight in weights.items():
        hours[hour] = weight
    return EngagementProfile(as_of=T0, hours=tuple(hours), count=count)


NONE = EngagementProfile()


def shopper(engagement: EngagementProfile = NONE, **profile: Any) -> CustomerState:
    return CustomerState(
        customer_id="c1",
        profile=Profile(timezone="America/New_York", consent={"email": True}, **profile),
        engagement=engagement,
    )


def req(rid: str = "r1", **extra: Any) -> Request:
    return Request(request_id=rid, customer_id="c1", channel="email", category="sale", requested_at=T0, **extra)


def decide(p: Policy, ledger: CustomerState, *arrivals: Request, now: datetime = T0, **kw: Any) -> Verdict:
    return arbitrate(p, ledger, list(arrivals), now, **kw)


def the(verdict: Verdict, rid: str = "r1") -> Decision:
    decision = verdict.for_request(rid)
    assert decision is not None
    return decision


def local_hour(at: datetime | None) -> int:
    assert at is not None
    return at.astimezone(NY).hour


# -- the best hour -------------------------------------------------------------------------------------


def test_a_request_waits_for_the_shoppers_best_hour_and_the_detail_says_which_histogram_and_hour() -> None:
    decision = the(decide(policy(), shopper(history({MONDAY + 19: 5.0, MONDAY + 9: 1.0})), req()))
    assert (decision.outcome, decision.reason) == (Outcome.DEFERRED, SEND_TIME)
    assert decision.release_at == T0 + 7 * H  # Monday 19:00 in New York
    assert "own histogram (20 engagements)" in decision.detail and "19:00" in decision.detail


def test_the_current_hour_being_the_best_sends_at_once() -> None:
    decision = the(decide(policy(), shopper(history({MONDAY + 12: 5.0, MONDAY + 19: 4.0})), req()))
    assert (decision.outcome, decision.reason) == (Outcome.SENT, "within_policy")
    assert "now (12:00" in decision.detail


def test_ties_go_to_the_earliest_hour() -> None:
    decision = the(decide(policy(), shopper(history({MONDAY + 20: 3.0, MONDAY + 15: 3.0, MONDAY + 17: 1.0})), req()))
    assert local_hour(decision.release_at) == 15


def test_quiet_hours_are_never_chosen() -> None:
    quiet = {"email": QuietWindow("18:00", "22:00")}
    decision = the(decide(policy(), shopper(history({MONDAY + 19: 5.0, MONDAY + 17: 2.0}), quiet_hours=quiet), req()))
    assert decision.reason == SEND_TIME and local_hour(decision.release_at) == 17


def test_caps_count_the_requests_already_scheduled_for_their_best_hour() -> None:
    # a lower-ranked request already waits for 19:00; the cap (1 in 3h) leaves no room for another until 22:00
    p = policy(caps=[{"name": "email_3h", "limit": 1, "window": "3h"}])
    waiting = Pending(req("early", priority=10), 10, T0 + 7 * H, SEND_TIME)
    ledger = shopper(history({MONDAY + 19: 5.0, MONDAY + 23: 2.0, MONDAY + 10: 1.0}))
    alone = the(decide(p, ledger, req("new", priority=80)), "new")
    crowded = the(
        decide(p, CustomerState(**{**_fields(ledger), "pending": (waiting,)}), req("new", priority=80)), "new"
    )
    assert local_hour(alone.release_at) == 19
    assert local_hour(crowded.release_at) == 23  # first hour outside 19:00's window, at which it weighs most


def _fields(ledger: CustomerState) -> dict[str, Any]:
    return {name: getattr(ledger, name) for name in CustomerState.__slots__}


@pytest.mark.parametrize(
    ("category", "extra", "hour"),
    [
        ({"max_age": "4h"}, {}, 15),  # stale at 16:00: 15:00 is the best before it
        ({}, {"not_after": T0 + 2 * H + 30 * timedelta(minutes=1)}, 14),
        ({"max_delay": "3h"}, {}, 14),  # max_delay 3h: 15:00 is its deadline, not before it
    ],
)
def test_the_chosen_hour_is_before_every_deadline(category: dict[str, Any], extra: dict[str, Any], hour: int) -> None:
    send_time = {"within": "3h"} if "max_delay" in category else {}
    p = policy(send_time, **category)
    ledger = shopper(history({MONDAY + 19: 9.0, MONDAY + 15: 3.0, MONDAY + 14: 2.0, MONDAY + 13: 1.0}))
    decision = the(decide(p, ledger, req(**extra)))
    assert decision.reason == SEND_TIME and local_hour(decision.release_at) == hour


def test_within_bounds_the_search() -> None:
    ledger = shopper(history({MONDAY + 19: 9.0, MONDAY + 14: 1.0}))
    assert local_hour(the(decide(policy({"within": "4h"}), ledger, req())).release_at) == 14


def test_a_transactional_request_is_never_delayed() -> None:
    decision = the(decide(policy(), shopper(history({MONDAY + 19: 5.0})), req(transactional=True)))
    assert (decision.outcome, decision.reason) == (Outcome.SENT, "transactional")


def test_a_category_without_send_time_is_sent_at_once() -> None:
    p = policy_from_mapping({"version": "t", "timezone": "America/New_York"}, "test.yaml")
    assert the(decide(p, shopper(history({MONDAY + 19: 5.0})), req())).outcome is Outcome.SENT


# -- too little history ----------------------------------------------------------------------------------


def test_a_shopper_with_too_little_history_gets_the_fleet_histogram() -> None:
    fleet = history({MONDAY + 21: 100.0}).hours
    own = history({MONDAY + 13: 5.0}, count=3)  # below min_engagements (10 by default)
    decision = the(decide(policy(), shopper(own), req(), fleet=fleet))
    assert local_hour(decision.release_at) == 21
    assert "fleet histogram (the shopper has 3 engagements, fewer than 10)" in decision.detail
    enough = the(decide(policy({"min_engagements": 3}), shopper(own), req(), fleet=fleet))
    assert local_hour(enough.release_at) == 13 and "own histogram" in enough.detail


def test_with_no_history_anywhere_the_default_hour_in_the_shoppers_zone() -> None:
    decision = the(decide(policy({"default_hour": 10}), shopper(), req()))
    assert decision.release_at == T0 + 22 * H  # Tuesday 10:00 in New York
    assert "default hour 10:00" in decision.detail


# -- when due ----------------------------------------------------------------------------------------------


def test_when_due_it_is_decided_again_without_being_optimised_again() -> None:
    first = decide(policy(), shopper(history({MONDAY + 19: 5.0})), req())
    due = the(first).release_at
    assert due is not None
    moved = CustomerState(**{**_fields(first.ledger), "engagement": history({MONDAY + 21: 50.0})})
    decision = the(decide(policy(), moved, now=due))
    assert (decision.outcome, decision.reason) == (Outcome.SENT, "within_policy")
    assert "sent at 19:00" in decision.detail  # says the hour it waited for, and does not look for another


def test_when_due_consent_applies_again() -> None:
    first = decide(policy(), shopper(history({MONDAY + 19: 5.0})), req())
    withdrawn = CustomerState(**{**_fields(first.ledger), "profile": Profile(consent={"email": False})})
    due = the(first).release_at
    assert due is not None
    assert the(decide(policy(), withdrawn, now=due)).reason == "no_consent"


# -- the policy ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("send_time", "category", "field", "words"),
    [
        ({"within": "36h"}, {}, "categories.sale.send_time", "within (36h) is beyond the category's max_delay (1d)"),
        ({"within": "8d"}, {"max_delay": "10d"}, "categories.sale.send_time.within", "between 1h and 7d"),
        ({"default_hour": 24}, {}, "categories.sale.send_time.default_hour", "less than or equal to 23"),
        ({"default_hour": -1}, {}, "categories.sale.send_time.default_hour", "greater than or equal to 0"),
        ({"min_engagements": 0}, {}, "categories.sale.send_time.min_engagements", "greater than or equal to 1"),
        ({"hour": 3}, {}, "categories.sale.send_time.hour", "unknown field"),
    ],
)
def test_bad_send_time_is_refused_naming_the_field(
    send_time: dict[str, Any], category: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        policy(send_time, **category)
    assert [(p.field, words in p.message) for p in caught.value.problems] == [(field, True)]
