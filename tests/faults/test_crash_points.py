"""A crash or a failure at each AWS call of one request's delivery, then redelivery through the queue (and the
sweeper for a held send lease): the request ends with one final outcome, sent once, or twice only when the
crash falls between the provider accepting the message and the confirm write."""

from __future__ import annotations

import pytest

from baton.dlq import inspect
from reliability.world import local_world, provider_sends, reliability_policy, requests
from tests.faults.harness import CRASH_AFTER, CRASH_BEFORE, THROTTLE, TIMEOUT, At, FaultPlan, inject

# (service, operation, nth) of the arbiter's calls for one email sent at once:
# load (BatchGetItem), commit (TransactWriteItems), provider (SendEmail), confirm (UpdateItem)
POINTS = [
    ("dynamodb", "BatchGetItem", 1),
    ("dynamodb", "TransactWriteItems", 1),
    ("sesv2", "SendEmail", 1),
    ("dynamodb", "UpdateItem", 1),
]
# the gap: the provider accepted, the confirm was not written
DOUBLE = {
    ("sesv2", "SendEmail", CRASH_AFTER),
    ("sesv2", "SendEmail", TIMEOUT),
    ("dynamodb", "UpdateItem", CRASH_BEFORE),
}


CASES = [
    pytest.param(
        point,
        kind,
        id=f"{point[1]}-{kind}",
    )
    for point in POINTS
    for kind in (CRASH_BEFORE, CRASH_AFTER, THROTTLE, TIMEOUT)
]


@pytest.mark.parametrize(("point", "kind"), CASES)
def test_one_request_survives_a_fault_at_each_call(point: tuple[str, str, int], kind: str) -> None:
    [req] = requests(1, 1)
    plan = FaultPlan(points=[At(*point, kind)], scoped=True)
    with local_world(reliability_policy(), None, [req.customer_id]) as world, inject(plan):
        world.queue.send([req.body()])
        world.settle(world.arbiter(plan.armed), armed=plan.armed)
        assert plan.count() == 1  # the fault did happen
        [record] = world.runtime.ledger.timeline(req.customer_id)
        sends = provider_sends()[req.request_id]
        # a dead letter may remain (its deliveries met a held send lease); its request is settled all the same
        letters = inspect(world.queue.sqs, world.queue.dlq_url, world.runtime.ledger)
        assert all(letter.status == "sent" for letter in letters)
    assert record.status == "sent"
    expected = 2 if (point[0], point[1], kind) in DOUBLE else 1
    assert sends == expected, (point, kind)
