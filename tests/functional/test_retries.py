"""Provider throttling: retried with backoff inside the invocation's time budget, then back to the queue,
and a redelivery finishes the send exactly once. The fault is injected on the real SES client (botocore
event hook), never inside Baton."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from baton.local.mocked_aws import sent_messages
from baton.local.runtime import LocalContext, LocalRuntime, sqs_event


class Throttle:
    """Fail the first ``times`` SendEmail calls with SES's throttling error."""

    def __init__(self, times: int):
        self.left = times
        self.calls = 0

    def __call__(self, **kwargs: Any) -> None:
        self.calls += 1
        if self.left > 0:
            self.left -= 1
            raise ClientError(
                {"Error": {"Code": "TooManyRequestsException", "Message": "Maximum sending rate exceeded"}}, "SendEmail"
            )


@pytest.fixture
def customer(runtime_now: LocalRuntime) -> LocalRuntime:
    runtime_now.arbiter._sleep = lambda seconds: None  # no real waiting in tests; the budget still counts
    profile = {"customer_id": "c1", "email": "c1@example.com", "consent": {"email": True}}
    runtime_now.invoke_profile([_event(runtime_now, "CustomerUpdated", profile)])
    return runtime_now


def _event(runtime: LocalRuntime, kind: str, detail: dict[str, Any]) -> str:
    now = runtime.clock.now().isoformat()
    return json.dumps({"id": f"{kind}-{now}", "time": now, "source": "shop", "detail-type": kind, "detail": detail})


def _request(runtime: LocalRuntime, rid: str) -> str:
    detail = {
        "request_id": rid,
        "customer_id": "c1",
        "channel": "email",
        "category": "sale",
        "template": "sale",
        "data": {"headline": "h", "url": "u"},
    }
    return _event(runtime, "MessageRequested", detail)


def _hook(runtime: LocalRuntime, throttle: Throttle) -> None:
    ses = runtime.arbiter.channels._ses  # type: ignore[attr-defined]
    ses.meta.events.register("before-call.sesv2.SendEmail", throttle)


def test_throttling_is_retried_within_the_invocation(customer: LocalRuntime) -> None:
    throttle = Throttle(times=2)
    _hook(customer, throttle)
    assert customer.invoke_arbiter([_request(customer, "r1")]) == {"batchItemFailures": []}
    assert throttle.calls >= 3  # botocore's retries and Baton's together
    assert len(sent_messages()["email"]) == 1


def test_out_of_time_goes_back_to_the_queue_then_sends_once(customer: LocalRuntime) -> None:
    from functions.arbiter.handler import lambda_handler

    throttle = Throttle(times=100)
    _hook(customer, throttle)
    body = _request(customer, "r1")
    short = LocalContext(timeout_ms=6_000)  # 6 s left: no room for another pause over the 5 s safety margin
    response = lambda_handler(sqs_event([body]), short, service=customer.arbiter)
    assert len(response["batchItemFailures"]) == 1
    [record] = [r for r in customer.ledger.timeline("c1") if r.request_id == "r1"]
    assert record.status == "sending"  # decided and recorded: the cap slot is held, the send is owed
    throttle.left = 0
    # SQS redelivers the same record: the send is taken over and happens exactly once
    assert customer.invoke_arbiter([body]) == {"batchItemFailures": []}
    assert customer.invoke_arbiter([body]) == {"batchItemFailures": []}
    assert len(sent_messages()["email"]) == 1
    [record] = [r for r in customer.ledger.timeline("c1") if r.request_id == "r1"]
    assert record.status == "sent"


def test_a_duplicate_arriving_during_the_send_does_not_send_again(customer: LocalRuntime) -> None:
    """EventBridge delivers at least once, as separate SQS messages that can be handled at the same moment.
    Given copy A inside its provider call (it holds the send lease), when copy B of the same event is handled,
    then B leaves the send to A's lease: one message, and the request ends sent."""
    from baton.core.domain import Outcome
    from baton.entry.ingress import arbitration_record

    body = _request(customer, "r1")
    during: list[Any] = []

    def copy_b_meanwhile(**kwargs: Any) -> None:
        if not during:
            during.extend(arbitration_record(customer.arbiter, body))

    ses = customer.arbiter.channels._ses  # type: ignore[attr-defined]
    ses.meta.events.register("before-call.sesv2.SendEmail", copy_b_meanwhile)
    assert customer.invoke_arbiter([body]) == {"batchItemFailures": []}  # copy A
    assert [(r.outcome, r.reason) for r in during] == [(Outcome.DEFERRED, "delivery_in_progress")]
    assert len(sent_messages()["email"]) == 1
    [record] = [r for r in customer.ledger.timeline("c1") if r.request_id == "r1"]
    assert record.status == "sent"
    assert customer.sweep() == 0  # nothing left owed: the sweeper finds no lease to take over


def test_a_redelivery_that_finds_the_send_settled_meanwhile_is_a_duplicate(customer: LocalRuntime) -> None:
    """Given a send left owed (its lease given back after a failed provider call) and a redelivery that loads
    it as `sending`, when the sweeper finishes the send between that load and the redelivery's claim, then the
    redelivery reports a duplicate of the sent request, not a send still in progress: one message."""
    from baton.core.domain import Outcome
    from functions.arbiter.handler import lambda_handler

    throttle = Throttle(times=100)
    _hook(customer, throttle)
    body = _request(customer, "r1")
    short = LocalContext(timeout_ms=6_000)
    assert len(lambda_handler(sqs_event([body]), short, service=customer.arbiter)["batchItemFailures"]) == 1
    throttle.left = 0
    swept: list[int] = []

    def sweeper_first(params: dict[str, Any], **kwargs: Any) -> None:  # the redelivery's claim (an ADD of attempts)
        if not swept and "ADD" in params.get("UpdateExpression", ""):
            swept.append(-1)  # the sweeper's own claim passes through here too
            swept[0] = customer.sweep()

    reports: list[Any] = []
    customer.watch(reports.append)
    dynamodb = customer.ledger._m.request._get_connection().connection.client  # type: ignore[attr-defined]
    dynamodb.meta.events.register("before-parameter-build.dynamodb.UpdateItem", sweeper_first)
    assert customer.invoke_arbiter([body]) == {"batchItemFailures": []}
    assert swept == [1]  # the sweeper took the owed send over and sent it
    assert len(sent_messages()["email"]) == 1
    last = [r for r in reports if r.request_id == "r1"][-1]
    assert (last.outcome, last.reason.split(":")[0]) == (Outcome.DUPLICATE, "sent")



def _index_write(params: dict[str, Any]) -> bool:
    """The UpdateItem that puts a held send lease into the due index (``index_lease``): it sets the index keys,
    and adds nothing (a claim adds to ``attempts``) and removes nothing (a confirm removes the keys)."""
    from baton.names import DUE_INDEX_PK

    expression = params.get("UpdateExpression", "")
    names = params.get("ExpressionAttributeNames", {}).values()
    return DUE_INDEX_PK in names and "ADD" not in expression and "REMOVE" not in expression


def _race_inside_the_index_write(customer: LocalRuntime, race: Callable[[Any], None]) -> tuple[list[Any], list[Any]]:
    """Copy A of one request inside its provider call; meanwhile copy B finds A's lease held and, inside B's
    index write, ``race`` runs on the request as B read it. B's reports, and the due index right after B."""
    from baton.entry.ingress import arbitration_record

    body = _request(customer, "r1")
    during: list[Any] = []
    due: list[Any] = []
    raced: list[Any] = []

    def inside_b_index_write(params: dict[str, Any], **kwargs: Any) -> None:
        if during == [None] and not raced and _index_write(params):
            [record] = [r for r in customer.ledger.timeline("c1") if r.request_id == "r1"]
            raced.append(record)  # first: the race's own writes pass through here too
            race(record)

    def copy_b_meanwhile(**kwargs: Any) -> None:
        if not during:
            during.append(None)
            during[:] = arbitration_record(customer.arbiter, body)
            due.extend(customer.ledger.due(customer.clock.now() + timedelta(days=1), 10))

    dynamodb = customer.ledger._m.request._get_connection().connection.client  # type: ignore[attr-defined]
    dynamodb.meta.events.register("before-parameter-build.dynamodb.UpdateItem", inside_b_index_write)
    ses = customer.arbiter.channels._ses  # type: ignore[attr-defined]
    ses.meta.events.register("before-call.sesv2.SendEmail", copy_b_meanwhile)
    assert customer.invoke_arbiter([body]) == {"batchItemFailures": []}  # copy A
    assert len(raced) == 1  # the race happened
    return during, due


def test_a_duplicate_whose_holder_confirms_before_it_indexes_the_lease_is_a_duplicate(customer: LocalRuntime) -> None:
    """A delivery that finds the send lease held puts it in the due index before it acknowledges its record (it
    may be the redelivery of a crashed holder's own). When A's send is confirmed between B's read and B's index
    write, then B's write finds the request settled and B reports a duplicate of the sent request, not a send
    in progress: one message, and nothing in the due index."""
    from baton.core.domain import Outcome

    def confirm(record: Any) -> None:
        customer.ledger.confirm_sent(record, customer.clock.now(), "provider-id")

    during, due = _race_inside_the_index_write(customer, confirm)
    assert [(r.outcome, r.reason.split(":")[0]) for r in during] == [(Outcome.DUPLICATE, "sent")]
    assert due == []
    assert len(sent_messages()["email"]) == 1
    [record] = [r for r in customer.ledger.timeline("c1") if r.request_id == "r1"]
    assert record.status == "sent"
    assert customer.sweep() == 0


def test_a_duplicate_whose_lease_was_taken_over_before_it_indexes_it_leaves_the_new_lease_indexed(
    customer: LocalRuntime,
) -> None:
    """When another delivery takes A's lease over (it ran out) between B's read and B's index write, B's write
    leaves the new holder's lease alone: the due index holds it at the new lease's end, put there by the
    takeover itself (the taker may hold a copy of the very queue message B acknowledges), and B reports the
    send in progress until then."""
    from baton.core.domain import Outcome

    taken: list[Any] = []

    def take_over(record: Any) -> None:
        taken.append(customer.ledger.claim(record, record.lease_until + timedelta(seconds=1)))

    during, due = _race_inside_the_index_write(customer, take_over)
    [new] = taken
    assert new is not None and new.lease_until > during[0].at
    assert [(r.outcome, r.reason, r.release_at) for r in during] == [
        (Outcome.DEFERRED, "delivery_in_progress", new.lease_until)
    ]
    assert [(c, r, at) for c, r, at in due] == [("c1", "r1", new.lease_until)]


def test_what_a_decision_settled_is_reported_even_when_its_send_goes_back_to_the_queue(
    runtime: LocalRuntime,
) -> None:
    """Given a cart reminder waiting in its arbitration window, when the order arrives, one commit cancels the
    reminder and decides the order confirmation's send. If that send then fails for now (the record goes back
    to the queue), the cancellation is still reported: it is settled in the ledger, and the redelivery will
    find nothing left to say about it."""
    from baton.core.domain import Outcome

    runtime.arbiter._sleep = lambda seconds: None
    reports: list[Any] = []
    runtime.watch(reports.append)
    profile = {"customer_id": "c1", "email": "c1@example.com", "consent": {"email": True}}
    runtime.invoke_profile([_event(runtime, "CustomerUpdated", profile)])
    cart = {"items": ["Blue kettle"], "cart_url": "https://shop.example/cart/987"}
    reminder = {"request_id": "cart-1", "customer_id": "c1", "channel": "email", "category": "cart_abandoned",
                "template": "cart_abandoned", "data": cart, "entity": "cart:987"}  # fmt: skip
    assert runtime.invoke_arbiter([_event(runtime, "MessageRequested", reminder)]) == {"batchItemFailures": []}
    assert [(r.request_id, r.outcome) for r in reports] == [("cart-1", Outcome.DEFERRED)]

    throttle = Throttle(times=1_000)
    _hook(runtime, throttle)
    order = {"request_id": "order-1", "customer_id": "c1", "channel": "email", "category": "order_confirmation",
             "template": "order_confirmation", "data": {"order_id": "987", "total": "$10"}, "entity": "cart:987",
             "transactional": True}  # fmt: skip
    body = _event(runtime, "MessageRequested", order)
    assert len(runtime.invoke_arbiter([body])["batchItemFailures"]) == 1
    assert [(r.request_id, r.outcome) for r in reports[1:]] == [("cart-1", Outcome.CANCELLED)]
    stored = {r.request_id: r.status for r in runtime.ledger.timeline("c1")}
    assert stored == {"cart-1": "cancelled", "order-1": "sending"}  # the order's send is owed, not reported

    throttle.left = 0
    assert runtime.invoke_arbiter([body]) == {"batchItemFailures": []}  # the queue's redelivery
    assert [(r.request_id, r.outcome) for r in reports[1:]] == [
        ("cart-1", Outcome.CANCELLED),
        ("order-1", Outcome.SENT),
    ]
    assert len(sent_messages()["email"]) == 1
