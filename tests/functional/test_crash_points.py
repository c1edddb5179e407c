"""A crash or a failure at each AWS call of one request's delivery, then redelivery through the queue (and the
sweeper for a held send lease): the request ends with one final outcome, sent once, or twice only when the
crash falls between the provider accepting the message and the confirm write."""

from __future__ import annotations

import pytest

from baton.ops.dlq import inspect
from reliability.world import local_world, provider_sends, reliability_policy, requests
from tests.functional.harness import CRASH_AFTER, CRASH_BEFORE, THROTTLE, TIMEOUT, At, FaultPlan, inject

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


def test_a_crashed_arrivals_send_lease_enters_the_due_index_when_its_redelivery_finds_it_held() -> None:
    """An arrival's send lease is in no index: its queue record stays undeleted until the confirm, and comes
    back. Given the function crashing just before the provider call (decided, lease held), the due index is
    empty; when the redelivery finds the lease still held, it puts the lease in the index before it
    acknowledges the record, and the sweeper takes the send over when the lease runs out: one message."""
    from datetime import timedelta

    from baton.local.queues import DrainStats
    from baton.local.runtime import LocalContext

    [req] = requests(1, 1)
    plan = FaultPlan(points=[At("sesv2", "SendEmail", 1, CRASH_BEFORE)], scoped=True)
    with local_world(reliability_policy(), None, [req.customer_id]) as world, inject(plan):
        far = world.runtime.clock.now() + timedelta(days=3650)
        handler, stats = world.arbiter(plan.armed), DrainStats()
        world.queue.send([req.body()])
        assert world.queue.poll(handler, LocalContext, stats) == 1
        assert stats.died == 1  # the crash
        [record] = world.runtime.ledger.timeline(req.customer_id)
        assert record.status == "sending"
        assert world.runtime.ledger.due(far, 10) == []
        assert world.queue.poll(handler, LocalContext, stats) == 1  # the redelivery
        assert stats.died == 1
        assert world.queue.depth() == 0  # acknowledged: the index holds the send now
        assert [(c, r) for c, r, _ in world.runtime.ledger.due(far, 10)] == [(req.customer_id, req.request_id)]
        world.settle(handler, armed=plan.armed)
        [record] = world.runtime.ledger.timeline(req.customer_id)
        assert world.runtime.ledger.due(far, 10) == []
        sends = provider_sends()[req.request_id]
    assert record.status == "sent"
    assert sends == 1
