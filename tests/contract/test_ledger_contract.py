"""The ledger contract: what every implementation of ``baton.app.ports.Ledger`` does, held to the in-memory
ledger, the DynamoDB ledger on moto and the DynamoDB ledger on DynamoDB Local alike (``conftest.ledger``). Each
test states one guarantee of the port through the port alone; the decisions come from the real engine."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from baton.app.engagements import DELIVERY, Engagement, engagement_of
from baton.app.ports import HISTORY_LIMIT, SEND_LEASE, Ledger, RequestRecord, Step
from baton.contract import ContactRecorded, CustomerEngaged, CustomerUpdated, parse_detail
from baton.core.domain import AddressStanding, Outcome, RequestStatus
from baton.core.engagement import EngagementProfile, hour_of_week
from baton.core.errors import ConcurrentUpdate
from baton.names import due_shard_of
from tests.contract.shop import DAILY, HOLD, START, Shop, contract_policy, message

C = "shopper-1"
MINUTE = timedelta(minutes=1)


def _sending(shop: Shop, request_id: str = "r1", at: Any = START) -> RequestRecord:
    shop.customer(C)
    assert shop.arrive(message(C, request_id), at).outcome is Outcome.SENT
    return shop.record(C, request_id)


# -- reads of what is not there -------------------------------------------------------------------------------


def test_an_unknown_customer_loads_as_an_empty_state(ledger: Ledger) -> None:
    snapshot = ledger.load("nobody", "r1", "nobody@example.com", consistent=True)
    assert snapshot.ledger.version == 0
    assert (snapshot.ledger.contacts, snapshot.ledger.pending, snapshot.ledger.marks) == ((), (), ())
    assert snapshot.existing is None
    assert dict(snapshot.addresses) == {}
    assert snapshot.standing("nobody@example.com", START) is AddressStanding.OK
    assert ledger.records("nobody", ["r1"]) == {}
    assert ledger.timeline("nobody") == []
    assert ledger.due(START + timedelta(days=365), 10) == []


# -- commit --------------------------------------------------------------------------------------------------


def test_a_first_commit_records_the_request_and_moves_the_version(shop: Shop) -> None:
    shop.customer(C)
    before = shop.ledger.load(C, "r1", None, consistent=True).ledger.version
    decision = shop.arrive(message(C, "r1"), START)
    assert decision.outcome is Outcome.SENT
    snapshot = shop.ledger.load(C, "r1", None, consistent=True)
    assert snapshot.ledger.version == before + 1
    assert [c.request_id for c in snapshot.ledger.contacts] == ["r1"]
    record = snapshot.existing
    assert record is not None
    assert (record.status, record.reason, record.channel, record.category) == (
        "sending",
        decision.reason,
        "email",
        "sale",
    )
    assert record.recipient == f"{C}@example.com"
    assert record.template == "sale" and dict(record.data) == {"headline": "sale r1"}
    assert record.policy == shop.policy.tag
    assert (record.requested_at, record.decided_at, record.lease_until) == (START, START, START + SEND_LEASE)
    assert record.counts == {"daily": [0, DAILY]}
    assert record.attempts == 0 and record.sent_at is None
    # an arrival's lease stays out of the due index: its queue record comes back for it
    assert not record.in_due_index
    assert [(s.what, s.at) for s in record.history] == [("arrived", START), ("sending", START)]


def test_a_request_committed_twice_fails_the_second_commit(shop: Shop) -> None:
    shop.customer(C)
    first = shop.read(message(C, "r1"), START)
    again = shop.read(message(C, "r1"), START)
    shop.ledger.commit(*first, shop.policy.tag, START)
    with pytest.raises(ConcurrentUpdate):
        shop.ledger.commit(*again, shop.policy.tag, START)
    assert shop.ledger.load(C, "r1", None, consistent=True).existing is not None


def test_a_commit_from_a_stale_snapshot_fails_and_writes_nothing(shop: Shop) -> None:
    shop.customer(C)
    stale = shop.read(message(C, "r2"), START)
    shop.arrive(message(C, "r1"), START)
    version = shop.ledger.load(C, None, None, consistent=True).ledger.version
    with pytest.raises(ConcurrentUpdate):
        shop.ledger.commit(*stale, shop.policy.tag, START)
    after = shop.ledger.load(C, "r2", None, consistent=True)
    assert after.existing is None
    assert after.ledger.version == version
    assert [c.request_id for c in after.ledger.contacts] == ["r1"]
    # read again, it commits
    shop.arrive(message(C, "r2"), START)
    assert shop.record(C, "r2").status is RequestStatus.SENDING


def test_a_profile_change_makes_a_decision_read_before_it_fail(shop: Shop) -> None:
    shop.customer(C)
    stale = shop.read(message(C, "r1"), START)
    shop.ledger.unsubscribe(C, "channel:email", START, actor="test")
    with pytest.raises(ConcurrentUpdate):
        shop.ledger.commit(*stale, shop.policy.tag, START)
    assert shop.arrive(message(C, "r1"), START).outcome is Outcome.SUPPRESSED


def _contact(contact_id: str, at: Any, category: str = "sale", customer: str = C) -> ContactRecorded:
    detail = {"contact_id": contact_id, "customer_id": customer, "channel": "direct_mail", "category": category,
              "at": at.isoformat()}  # fmt: skip
    recorded: ContactRecorded = parse_detail(ContactRecorded, detail)
    return recorded


def test_a_recorded_contact_counts_once_in_time_order_and_moves_the_version(shop: Shop) -> None:
    shop.customer(C)
    assert shop.arrive(message(C, "r1"), START).outcome is Outcome.SENT
    version = shop.ledger.load(C, None, None, consistent=True).ledger.version
    assert shop.ledger.record_contact(_contact("m1", START - timedelta(hours=3)), START, shop.policy)
    assert not shop.ledger.record_contact(_contact("m1", START - timedelta(hours=3)), START, shop.policy)
    # older than every rule looks back (the policy's 24h; a day at least): not kept
    assert not shop.ledger.record_contact(_contact("m2", START - timedelta(days=2)), START, shop.policy)
    state = shop.ledger.load(C, None, None, consistent=True).ledger
    assert state.version == version + 1
    assert [(c.request_id, c.at, c.channel, c.priority) for c in state.contacts] == [
        ("contact:m1", START - timedelta(hours=3), "direct_mail", 50),
        ("r1", START, "email", 50),
    ]
    # the cap counts both: the third message of the day waits
    assert shop.arrive(message(C, "r2"), START + MINUTE).outcome is Outcome.DEFERRED


def test_a_contact_for_an_unknown_customer_is_kept_for_when_it_appears(ledger: Ledger, shop: Shop) -> None:
    assert ledger.record_contact(_contact("m1", START, customer="newcomer"), START, shop.policy)
    state = ledger.load("newcomer", None, None, consistent=True).ledger
    assert state.version == 1 and [c.request_id for c in state.contacts] == ["contact:m1"]


def test_a_recorded_contact_makes_a_decision_read_before_it_fail(shop: Shop) -> None:
    shop.customer(C)
    assert shop.arrive(message(C, "r1"), START).outcome is Outcome.SENT
    stale = shop.read(message(C, "r2"), START)
    assert shop.ledger.record_contact(_contact("m1", START - MINUTE), START, shop.policy)
    with pytest.raises(ConcurrentUpdate):
        shop.ledger.commit(*stale, shop.policy.tag, START)
    # read again, the contact fills the day's second slot
    assert shop.arrive(message(C, "r2"), START).outcome is Outcome.DEFERRED


def _engaged(kind: str, at: Any, engagement_id: str | None = None, **extra: Any) -> Engagement:
    detail = {"customer_id": C, "kind": kind, "at": at.isoformat(), **extra}
    if engagement_id is not None:
        detail["engagement_id"] = engagement_id
    engaged: CustomerEngaged = parse_detail(CustomerEngaged, detail)
    return engagement_of(engaged)


def test_an_engagement_is_stored_once_by_its_id_and_moves_no_version(shop: Shop) -> None:
    shop.customer(C)
    assert shop.arrive(message(C, "r1"), START).outcome is Outcome.SENT
    stale = shop.read(message(C, "r2"), START)  # a decision read before the engagements arrive
    version = stale[0].ledger.version
    bought = _engaged("purchase", START + MINUTE, "p1", value=42.5, channel="web", request_id="r1")
    assert shop.ledger.record_engagement(bought, START + MINUTE, shop.policy)
    assert not shop.ledger.record_engagement(bought, START + 2 * MINUTE, shop.policy)  # the same id again
    # the same id with another value is still the same engagement: the sender's key decides
    same_id = _engaged("purchase", START, "p1", value=1)
    assert not shop.ledger.record_engagement(same_id, START + 2 * MINUTE, shop.policy)
    # without an id, the same fields again are the same engagement
    opened = _engaged("open", START + 2 * MINUTE, channel="email")
    assert shop.ledger.record_engagement(opened, START + 2 * MINUTE, shop.policy)
    again = _engaged("open", START + 2 * MINUTE, channel="email")
    assert not shop.ledger.record_engagement(again, START + 3 * MINUTE, shop.policy)
    assert shop.ledger.load(C, None, None, consistent=True).ledger.version == version
    shop.ledger.commit(*stale, shop.policy.tag, START)  # no retry: the state did not move
    assert [(e.kind, e.value, e.channel, e.request_id) for e in shop.ledger.engagements(C, "purchase")] == [
        ("purchase", 42.5, "web", "r1")
    ]
    assert [e.kind for e in shop.ledger.engagements(C)] == ["purchase", "open"]  # in time order
    assert [e.at for e in shop.ledger.engagements(C, "purchase")] == [START + MINUTE]


def test_engagements_of_an_unknown_customer_are_kept_and_erased_with_the_customer(ledger: Ledger) -> None:
    assert ledger.record_engagement(_engaged("purchase", START, "p1"), START, contract_policy())
    assert ledger.load(C, None, None, consistent=True).ledger.version == 0
    assert [e.key for e in ledger.engagements(C)] == ["id:p1"]
    assert ledger.engagements("someone-else") == []
    assert ledger.erase(C) >= 1
    assert ledger.engagements(C) == []


def test_an_engagement_is_added_to_the_profile_a_decision_reads_once(shop: Shop) -> None:
    shop.customer(C, timezone="Asia/Tokyo")
    stale = shop.read(message(C, "r1"), START)
    opened = _engaged("open", START, "o1", channel="email")
    assert shop.ledger.record_engagement(opened, START + MINUTE, shop.policy)
    delivered = Engagement(key="ses:m1", customer_id=C, kind=DELIVERY, at=START, channel="email")
    assert shop.ledger.record_engagement(delivered, START + MINUTE, shop.policy)
    profile = shop.ledger.load(C, None, None, consistent=True).ledger.engagement
    assert profile.count == 1
    assert max(range(168), key=lambda h: profile.hours[h]) == hour_of_week(START, ZoneInfo("Asia/Tokyo"))
    assert profile.rate("email") == pytest.approx(1.0, rel=1e-3)
    # the same engagement and the same delivery again: nothing added
    assert not shop.ledger.record_engagement(opened, START + 2 * MINUTE, shop.policy)
    assert not shop.ledger.record_engagement(delivered, START + 2 * MINUTE, shop.policy)
    assert shop.ledger.load(C, None, None, consistent=True).ledger.engagement == profile
    # a decision read before them commits without a retry, and leaves the profile as it was
    shop.ledger.commit(*stale, shop.policy.tag, START)
    assert shop.ledger.load(C, None, None, consistent=True).ledger.engagement == profile


def test_the_profile_is_kept_for_an_unknown_customer_and_erased_with_the_customer(ledger: Ledger) -> None:
    assert ledger.record_engagement(_engaged("click", START, "k1", channel="sms"), START, contract_policy())
    assert ledger.load(C, None, None, consistent=True).ledger.engagement.engagements == {"sms": 2.0}
    ledger.erase(C)
    assert ledger.load(C, None, None, consistent=True).ledger.engagement == EngagementProfile()


def test_an_address_lists_its_owners(shop: Shop) -> None:
    shop.customer(C)
    shop.customer("c2", email=f"{C}@example.com")
    assert shop.ledger.address_owners(f"{C}@example.com") == sorted([C, "c2"])
    assert shop.ledger.address_owners("nobody@example.com") == []


def test_caps_hold_when_threads_commit_for_one_customer_at_once(shop: Shop) -> None:
    shop.customer(C)
    outcomes: list[Outcome] = []

    def one(n: int) -> None:
        for _ in range(50):
            try:
                outcomes.append(shop.arrive(message(C, f"r{n}", "news"), START).outcome)
                return
            except ConcurrentUpdate:
                continue

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == sorted([Outcome.SENT] * DAILY + [Outcome.SUPPRESSED] * (8 - DAILY))
    assert len(shop.ledger.load(C, None, None, consistent=True).ledger.contacts) == DAILY


# -- waiting, the due index, release ----------------------------------------------------------------------------


def test_a_deferred_request_waits_in_the_due_index_until_its_release(shop: Shop) -> None:
    shop.customer(C)
    decision = shop.arrive(message(C, "r1", "held"), START)
    assert decision.outcome is Outcome.DEFERRED and decision.release_at == START + HOLD
    record = shop.record(C, "r1")
    assert record.status is RequestStatus.PENDING and record.in_due_index
    assert record.release_at == START + HOLD and record.lease_until is None
    assert record.history[-1] == Step(START, "deferred", decision.reason, START + HOLD)
    snapshot = shop.ledger.load(C, None, None, consistent=True)
    assert [p.request.request_id for p in snapshot.ledger.pending] == ["r1"]
    assert dict(snapshot.steps) == {"r1": 2}
    assert shop.ledger.due(START + HOLD - MINUTE, 10) == []
    assert shop.ledger.due(START + HOLD, 10) == [(C, "r1", START + HOLD)]

    released = START + HOLD + MINUTE
    verdict = shop.release(C, released)
    assert [d.outcome for d in verdict.decisions] == [Outcome.SENT]
    record = shop.record(C, "r1")
    assert record.status is RequestStatus.SENDING
    # a settled send's lease is in the index (no queue record comes back for it)
    assert record.in_due_index and record.lease_until == released + SEND_LEASE
    assert [s.what for s in record.history] == ["arrived", "deferred", "released", "sending"]
    assert record.history[2] == Step(released, "released", decision.reason)
    assert shop.ledger.due(released + MINUTE, 10) == []
    assert shop.ledger.due(released + SEND_LEASE, 10) == [(C, "r1", released + SEND_LEASE)]
    assert shop.ledger.load(C, None, None, consistent=True).ledger.pending == ()


def test_due_lists_what_has_come_earliest_first_within_the_limit(shop: Shop) -> None:
    customers = [f"c{n}" for n in range(6)]
    for n, customer in enumerate(customers):
        shop.customer(customer)
        shop.arrive(message(customer, f"w{n}", "held"), START + n * MINUTE)  # due at START + HOLD + n minutes
    last = START + HOLD + 5 * MINUTE
    rows = shop.ledger.due(last, 100)
    assert rows == [(c, f"w{n}", START + HOLD + n * MINUTE) for n, c in enumerate(customers)]
    assert [r[:2] for r in shop.ledger.due(START + HOLD + 2 * MINUTE, 100)] == [
        ("c0", "w0"),
        ("c1", "w1"),
        ("c2", "w2"),
    ]
    first = shop.ledger.due(last, 1)
    assert first[0] == rows[0]  # the earliest always comes first
    assert all(row in rows for row in first)
    assert sorted(first, key=lambda row: row[2]) == first


def test_due_in_some_shards_lists_what_has_come_for_their_customers_alone(shop: Shop) -> None:
    customers = [f"c{n}" for n in range(6)]
    for n, customer in enumerate(customers):
        shop.customer(customer)
        shop.arrive(message(customer, f"w{n}", "held"), START + n * MINUTE)
    last = START + HOLD + 5 * MINUTE
    rows = shop.ledger.due(last, 100)
    asked = {due_shard_of("c0"), due_shard_of("c3")}
    assert shop.ledger.due(last, 100, asked) == [row for row in rows if due_shard_of(row[0]) in asked]
    assert shop.ledger.due(last, 100, frozenset()) == []
    assert shop.ledger.due(last, 100) == rows  # what one read skipped is still there for the next


def test_history_keeps_its_first_steps_and_the_latest_within_the_bound(shop: Shop) -> None:
    shop.customer(C)
    shop.arrive(message(C, "r1", "held"), START)
    at = START + HOLD
    for _ in range(HISTORY_LIMIT):  # each: released, deferred
        until = at + MINUTE
        shop.defer_again(C, "r1", at, until)
        at = until
    record = shop.record(C, "r1")
    steps = 2 + 2 * HISTORY_LIMIT
    assert len(record.history) == HISTORY_LIMIT
    assert record.history_dropped == steps - HISTORY_LIMIT
    assert [s.what for s in record.history[:4]] == ["arrived", "deferred", "released", "deferred"]
    assert record.history[-1] == Step(at - MINUTE, "deferred", "quiet_hours", at)
    assert shop.ledger.load(C, None, None, consistent=True).steps == {"r1": HISTORY_LIMIT}
    # a settle past the bound still replaces the latest step and counts what it drops
    shop.release(C, at)
    record = shop.record(C, "r1")
    assert len(record.history) == HISTORY_LIMIT and record.history_dropped == steps - HISTORY_LIMIT + 2
    assert record.history[-1].what == "sending"


# -- send leases and confirms -----------------------------------------------------------------------------------


def test_a_lease_is_taken_over_only_once_it_ran_out(shop: Shop) -> None:
    record = _sending(shop)
    assert shop.ledger.claim(record, START + SEND_LEASE - MINUTE) is None
    taken_at = START + SEND_LEASE
    held = shop.ledger.claim(record, taken_at)
    assert held is not None
    assert (held.lease_until, held.attempts, held.request_id) == (taken_at + SEND_LEASE, 1, "r1")
    assert shop.ledger.claim(record, taken_at) is None  # the new lease is live
    stored = shop.record(C, "r1")
    assert stored.in_due_index and stored.lease_until == taken_at + SEND_LEASE and stored.attempts == 1
    assert stored.history[-1] == Step(taken_at, "taken_over", "the send lease ran out")
    assert shop.ledger.due(taken_at + SEND_LEASE, 10) == [(C, "r1", taken_at + SEND_LEASE)]


def test_index_lease_indexes_only_the_lease_still_held(shop: Shop) -> None:
    record = _sending(shop)
    assert not record.in_due_index
    assert shop.ledger.index_lease(record)
    assert shop.record(C, "r1").in_due_index
    assert shop.ledger.due(START + SEND_LEASE, 10) == [(C, "r1", START + SEND_LEASE)]
    shop.ledger.claim(record, START + SEND_LEASE)
    assert not shop.ledger.index_lease(record)  # taken over since it was read
    with pytest.raises(ValueError, match="no send lease"):
        shop.ledger.index_lease(RequestRecord(C, "r1", RequestStatus.SENDING, ""))
    taken = shop.record(C, "r1")
    shop.ledger.confirm_sent(taken, START + SEND_LEASE, "m-1")
    assert not shop.ledger.index_lease(taken)  # settled


def test_a_lease_given_back_is_free_at_once_unless_taken_over_since(shop: Shop) -> None:
    record = _sending(shop)
    back = START + MINUTE
    shop.ledger.release_lease(record, back)
    stored = shop.record(C, "r1")
    assert stored.lease_until == back and stored.in_due_index
    assert stored.history[-1] == Step(back, "retry", "delivery_retry")
    assert shop.ledger.due(back, 10) == [(C, "r1", back)]
    held = shop.ledger.claim(stored, back)  # the redelivery takes it at once
    assert held is not None and held.attempts == 1
    taken = shop.record(C, "r1")
    shop.ledger.release_lease(record, back + MINUTE)  # the old holder's give-back: too late, nothing happens
    assert shop.record(C, "r1") == taken
    assert taken.lease_until == back + SEND_LEASE and taken.history[-1].what == "taken_over"


def test_confirm_sent_ends_a_send_once(shop: Shop) -> None:
    record = _sending(shop)
    sent_at = START + MINUTE
    shop.ledger.confirm_sent(record, sent_at, "m-1")
    stored = shop.record(C, "r1")
    assert (stored.status, stored.sent_at, stored.message_id) == ("sent", sent_at, "m-1")
    assert stored.lease_until is None and not stored.in_due_index
    assert stored.history[-1] == Step(sent_at, "sent", record.reason)
    shop.ledger.confirm_sent(record, sent_at + MINUTE, "m-2")  # a second delivery's confirm
    shop.ledger.confirm_failed(record, sent_at + MINUTE, "late")
    assert shop.record(C, "r1") == stored
    assert shop.ledger.claim(record, sent_at + SEND_LEASE * 2) is None


def test_confirm_failed_voids_the_contact_without_moving_the_version(shop: Shop) -> None:
    record = _sending(shop)
    version = shop.ledger.load(C, None, None, consistent=True).ledger.version
    failed_at = START + MINUTE
    shop.ledger.confirm_failed(record, failed_at, "render:data", detail="lacks headline")
    stored = shop.record(C, "r1")
    assert (stored.status, stored.reason, stored.detail) == ("failed", "render:data", "lacks headline")
    assert stored.decided_at == failed_at and stored.lease_until is None and not stored.in_due_index
    assert stored.history[-1] == Step(failed_at, "failed", "render:data")
    snapshot = shop.ledger.load(C, None, None, consistent=True)
    assert snapshot.ledger.version == version
    assert snapshot.ledger.contacts == () and snapshot.voided == {"r1"}
    shop.ledger.confirm_failed(record, failed_at + MINUTE, "again", status="suppressed")
    assert shop.record(C, "r1") == stored
    # the next commit drops the voided contact for good
    shop.arrive(message(C, "r2"), failed_at)
    snapshot = shop.ledger.load(C, None, None, consistent=True)
    assert snapshot.voided == frozenset() and [c.request_id for c in snapshot.ledger.contacts] == ["r2"]


def test_confirm_failed_can_end_a_send_as_suppressed(shop: Shop) -> None:
    record = _sending(shop)
    shop.ledger.confirm_failed(record, START, "suppressed_address", "suppressed")
    stored = shop.record(C, "r1")
    assert (stored.status, stored.reason, stored.detail) == ("suppressed", "suppressed_address", "")
    assert stored.history[-1] == Step(START, "suppressed", "suppressed_address")


# -- rejected requests ------------------------------------------------------------------------------------------


def test_a_rejection_is_recorded_once(ledger: Ledger) -> None:
    assert ledger.record_rejected(C, "bad-1", "invalid:channel", "not a channel", START)
    assert not ledger.record_rejected(C, "bad-1", "invalid:category", "again", START + MINUTE)
    record = ledger.records(C, ["bad-1"])["bad-1"]
    assert (record.status, record.reason, record.detail) == ("rejected", "invalid:channel", "not a channel")
    assert (record.requested_at, record.decided_at, record.channel) == (START, START, None)
    assert record.history == (Step(START, "arrived"), Step(START, "rejected", "invalid:channel"))
    assert ledger.load(C, None, None, consistent=True).ledger.version == 0  # no customer state for it


def test_a_rejection_does_not_replace_a_request_already_decided(shop: Shop) -> None:
    record = _sending(shop)
    assert not shop.ledger.record_rejected(C, "r1", "invalid:x", "late", START)
    assert shop.record(C, "r1") == record


# -- profiles, consent, feedback ---------------------------------------------------------------------------------


def test_update_profile_replaces_the_fields_given_and_keeps_the_others(ledger: Ledger) -> None:
    first = {"customer_id": C, "email": "sam@example.com", "timezone": "Europe/Berlin", "locale": "de",
             "consent": {"email": True, "sms": True}}  # fmt: skip
    ledger.update_profile(parse_detail(CustomerUpdated, first), START)
    preferences = {
        "opted_out_categories": ["news"],
        "quiet_hours": {"email": {"start": "22:00", "end": "07:00"}},
        "frequency": [{"channel": "email", "limit": 1, "window_days": 7}],
    }
    later = {"customer_id": C, "phone": "+13125550100", "consent": {"sms": False}, "preferences": preferences}
    ledger.update_profile(parse_detail(CustomerUpdated, later), START + MINUTE, actor="test")
    snapshot = ledger.load(C, None, None, consistent=True)
    profile = snapshot.ledger.profile
    assert snapshot.ledger.version == 2
    assert dict(snapshot.addresses) == {"email": "sam@example.com", "sms": "+13125550100"}
    assert (profile.timezone, profile.locale, dict(profile.consent)) == (
        "Europe/Berlin",
        "de",
        {"email": True, "sms": False},
    )
    assert profile.opted_out_categories == {"news"}
    assert {ch: (w.start, w.end) for ch, w in profile.quiet_hours.items()} == {"email": ("22:00", "07:00")}
    assert [(lim.channel, lim.limit, lim.window) for lim in profile.limits] == [("email", 1, timedelta(days=7))]


def test_unsubscribe_applies_to_a_known_customer_only(ledger: Ledger) -> None:
    assert not ledger.unsubscribe("nobody", "category:news", START, actor="one-click")
    assert ledger.load("nobody", None, None, consistent=True).ledger.version == 0
    Shop(ledger).customer(C)
    assert ledger.unsubscribe(C, "category:news", START, actor="one-click")
    assert ledger.unsubscribe(C, "channel:email", START, actor="one-click")
    snapshot = ledger.load(C, None, None, consistent=True)
    assert snapshot.ledger.version == 3
    assert snapshot.ledger.profile.opted_out_categories == {"news"}
    assert dict(snapshot.ledger.profile.consent) == {"email": False}


def test_a_hard_bounce_blocks_the_address_for_its_owner_and_for_anyone(shop: Shop) -> None:
    shop.customer(C)
    address = f"{C}@example.com"
    version = shop.ledger.load(C, None, None, consistent=True).ledger.version
    assert shop.ledger.suppress_address(address, "hard_bounce", START, shop.policy) is AddressStanding.BLOCKED
    snapshot = shop.ledger.load(C, None, None, consistent=True)
    assert snapshot.ledger.version == version + 1  # a decision that read the old standing reads it again
    assert snapshot.standing(address, START) is AddressStanding.BLOCKED
    stranger = shop.ledger.load("c-2", None, address, consistent=True)
    assert stranger.standing(address, START) is AddressStanding.BLOCKED
    assert stranger.standing("other@example.com", START) is AddressStanding.OK
    assert shop.ledger.suppress_address(address, "soft_bounce", START, shop.policy) is AddressStanding.BLOCKED
    # a profile that takes up a blocked address holds its standing
    shop.customer("c-3", email=address)
    assert shop.ledger.load("c-3", None, None, consistent=True).standing(address, START) is AddressStanding.BLOCKED
    assert shop.arrive(message(C, "r1"), START).outcome is Outcome.SUPPRESSED


def test_soft_bounces_suppress_marketing_for_a_while_once_they_reach_the_count(shop: Shop) -> None:
    shop.customer(C)
    address = f"{C}@example.com"
    feedback = shop.policy.feedback
    standings = [
        shop.ledger.suppress_address(address, "soft_bounce", START + n * MINUTE, shop.policy)
        for n in range(feedback.soft_bounce_limit)
    ]
    assert standings == [AddressStanding.OK] * (feedback.soft_bounce_limit - 1) + [AddressStanding.SOFT_BLOCKED]
    last = START + (feedback.soft_bounce_limit - 1) * MINUTE
    snapshot = shop.ledger.load(C, None, None, consistent=True)
    assert snapshot.standing(address, last) is AddressStanding.SOFT_BLOCKED
    assert dict(snapshot.soft_blocked) == {snapshot.hasher(address): last + feedback.soft_bounce_suppression}
    assert snapshot.standing(address, last + feedback.soft_bounce_suppression) is AddressStanding.OK
    assert (
        shop.ledger.load("c-2", None, address, consistent=True).standing(address, last) is AddressStanding.SOFT_BLOCKED
    )
    assert shop.ledger.suppress_address(address, "complaint", last, shop.policy) is AddressStanding.BLOCKED


def test_soft_bounces_outside_the_window_are_not_counted(ledger: Ledger) -> None:
    policy = Shop(ledger).policy
    window = policy.feedback.soft_bounce_window
    for n in range(policy.feedback.soft_bounce_limit + 2):
        at = START + n * (window + MINUTE)
        assert ledger.suppress_address("x@example.com", "soft_bounce", at, policy) is AddressStanding.OK


# -- erasure ---------------------------------------------------------------------------------------------------


def test_erase_forgets_the_customer_and_keeps_only_suppressions(shop: Shop) -> None:
    address = f"{C}@example.com"
    shop.ledger.update_profile(
        parse_detail(CustomerUpdated, {"customer_id": C, "email": address, "consent": {"email": True}}),
        START,
        actor="crm",
    )
    shop.arrive(message(C, "r1"), START)
    shop.arrive(message(C, "w1", "held"), START)
    shop.ledger.record_rejected(C, "bad", "invalid:x", "x", START)
    shop.ledger.suppress_address(address, "complaint", START, shop.policy)
    assert shop.ledger.erase(C) == 1 + 3 + 1  # the state, three requests, one audit entry
    snapshot = shop.ledger.load(C, "r1", None, consistent=True)
    assert snapshot.ledger.version == 0 and snapshot.existing is None and dict(snapshot.addresses) == {}
    assert shop.ledger.timeline(C) == [] and shop.ledger.records(C, ["r1", "w1", "bad"]) == {}
    assert shop.ledger.due(START + timedelta(days=3), 10) == []
    assert shop.ledger.erase(C) == 0
    # the address stays suppressed, by its keyed hash, and its feedback no longer reaches the customer
    assert shop.ledger.load("c-2", None, address, consistent=True).standing(address, START) is AddressStanding.BLOCKED
    shop.ledger.suppress_address(address, "hard_bounce", START, shop.policy)
    assert shop.ledger.load(C, None, None, consistent=True).ledger.version == 0


def test_erase_of_a_customer_leaves_the_others(shop: Shop) -> None:
    shop.customer(C)
    shop.customer("c-2")
    shop.arrive(message(C, "r1"), START)
    shop.arrive(message("c-2", "r1"), START)
    shop.ledger.erase(C)
    assert [r.request_id for r in shop.ledger.timeline("c-2")] == ["r1"]
    assert shop.ledger.load("c-2", None, None, consistent=True).ledger.version == 2


# -- the timeline --------------------------------------------------------------------------------------------------


def test_the_timeline_lists_every_request_by_arrival(shop: Shop) -> None:
    shop.customer(C)
    shop.arrive(message(C, "b"), START + 2 * MINUTE)
    shop.arrive(message(C, "a"), START + 2 * MINUTE)
    shop.arrive(message(C, "c", "held"), START + MINUTE)
    shop.ledger.record_rejected(C, "z", "invalid:x", "x", START)
    timeline = shop.ledger.timeline(C)
    assert [(r.request_id, r.status) for r in timeline] == [
        ("z", "rejected"), ("c", "pending"), ("a", "sending"), ("b", "sending"),
    ]  # fmt: skip
    assert timeline == [shop.record(C, r.request_id) for r in timeline]
    assert shop.ledger.records(C, ["a", "nope", "b"]).keys() == {"a", "b"}
