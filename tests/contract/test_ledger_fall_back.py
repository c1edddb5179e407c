"""The ledger contract for a request that lists channels: its candidates are stored with it, and ``fall_back``
leaves a send refused for good on its channel ``pending``, due at once, that channel marked failed and its contact
voided, for the arbiter to decide it again on the others. Held to every implementation (``conftest.ledger``)."""

from __future__ import annotations

from baton.app.arbiter import arrival_of, domain_request, fallen_back
from baton.app.ports import Candidate, Step
from baton.contract import MessageRequested, parse_detail
from baton.core.domain import Outcome
from baton.core.engine import arbitrate
from tests.contract.shop import START, Shop
from tests.contract.test_ledger_contract import MINUTE

C = "shopper-1"
PHONE = "+13125550142"


def _listing(request_id: str) -> MessageRequested:
    detail = {
        "customer_id": C,
        "request_id": request_id,
        "channels": ["email", "sms"],
        "category": "sale",
        "template": "sale",
        "data": {"headline": "h"},
    }
    parsed: MessageRequested = parse_detail(MessageRequested, detail)
    return parsed


def _decide(shop: Shop, message: MessageRequested) -> Outcome:
    snapshot = shop.ledger.load(C, message.request_id, None, consistent=True)
    arrival = arrival_of(message, f"e-{message.request_id}", snapshot)
    request = domain_request(message, START, arrival.recipient, snapshot, arrival.candidates)
    verdict = arbitrate(shop.policy, snapshot.ledger, [request], START)
    shop.ledger.commit(snapshot, verdict, arrival, shop.policy.tag, START)
    decision = verdict.for_request(message.request_id)
    assert decision is not None
    return decision.outcome


def test_a_fallback_leaves_the_request_due_now_on_its_other_channels(shop: Shop) -> None:
    shop.customer(C, phone=PHONE, consent={"email": True, "sms": True})
    assert _decide(shop, _listing("r1")) is Outcome.SENT
    record = shop.record(C, "r1")
    assert (record.channel, record.recipient) == ("email", f"{C}@example.com")
    assert record.candidates == (Candidate("email", f"{C}@example.com"), Candidate("sms", PHONE))

    failed_at = START + MINUTE
    assert shop.ledger.fall_back(record, failed_at, "provider:MessageRejected") is True
    stored = shop.record(C, "r1")
    assert (stored.status, stored.reason, stored.release_at) == ("pending", "provider:MessageRejected", failed_at)
    assert stored.lease_until is None and stored.in_due_index
    assert stored.candidates[0].failed == "provider:MessageRejected" and stored.candidates[1].failed is None
    assert stored.history[-1] == Step(failed_at, "deferred", "fallback:provider:MessageRejected", failed_at)
    assert ("r1", failed_at) in [(rid, at) for _, rid, at in shop.ledger.due(failed_at, 10)]
    snapshot = shop.ledger.load(C, "r1", None, consistent=True)
    assert snapshot.ledger.contacts == () and snapshot.voided == {"r1"}  # the refused send counts in no cap
    assert shop.ledger.fall_back(record, failed_at, "again") is False  # no longer sending: nothing changes
    assert shop.record(C, "r1") == stored

    # decided again (as the arbiter does on its release): by SMS, to the profile's number
    again = fallen_back(snapshot, stored, shop.policy, failed_at)
    verdict = arbitrate(shop.policy, again.ledger, [], failed_at)
    shop.ledger.commit(again, verdict, None, shop.policy.tag, failed_at)
    sent = shop.record(C, "r1")
    assert (sent.status, sent.channel, sent.recipient) == ("sending", "sms", PHONE)
    assert sent.reason == "channel:sms (email: provider:MessageRejected)"
    contacts = shop.ledger.load(C, None, None, consistent=True).ledger.contacts
    assert [(c.request_id, c.channel) for c in contacts] == [("r1", "sms")]
