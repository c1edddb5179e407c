"""``baton replay`` plays SQS's part: a record the arbiter reports failed comes back, up to the queue's redrive
policy, as it would in AWS. Without that a throttled decision had no outcome at all (the 100,000-request load
counted 3 such requests as lost)."""

from __future__ import annotations

from datetime import timedelta

from baton.local.replay import read_lines, replay
from baton.names import MAX_RECEIVE_COUNT
from reliability.world import START, Req, profile, reliability_policy
from tests.functional.harness import THROTTLE, At, FaultPlan, inject


def _run(failures: int) -> list[tuple[str, str]]:
    """One shopper, one request; its decision's first ``failures`` commits are throttled past every retry (the
    first TransactWriteItems is the profile's, left alone)."""
    lines = read_lines([profile("cust-1"), Req("r1", "cust-1", "sale").body(START + timedelta(seconds=1))])
    points = [At("dynamodb", "TransactWriteItems", n, THROTTLE) for n in range(2, failures + 2)]
    with inject(FaultPlan(points=points)) as plan:
        run = replay(lines, reliability_policy())
    assert plan.count(THROTTLE) == failures
    return [(r.outcome, r.reason) for r in run.results]


def test_a_record_that_failed_is_delivered_again_and_decided() -> None:
    assert _run(failures=MAX_RECEIVE_COUNT - 1) == [("sent", "within_policy")]


def test_a_record_that_fails_every_receive_is_reported_as_dead_lettered() -> None:
    assert _run(failures=MAX_RECEIVE_COUNT) == [("lost", f"dead_letter: failed {MAX_RECEIVE_COUNT} receives")]
