"""The harness itself: each fault kind, at a chosen point or from a seed, on boto3's and pynamodb's clients."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from baton.adapters.dynamodb.ledger import DynamoLedger
from baton.core.errors import TransientFailure
from baton.local.mocked_aws import REGION
from baton.names import TABLE_NAME
from tests.functional.harness import CRASH_AFTER, CRASH_BEFORE, THROTTLE, TIMEOUT, At, Crash, FaultPlan, inject


def _ledger() -> DynamoLedger:
    return DynamoLedger(TABLE_NAME, retention=timedelta(days=1), region=REGION)


def _rejected(ledger: DynamoLedger, rid: str) -> bool:
    return ledger.record_rejected("c1", rid, "invalid:x", "test", _now())


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 11, 27, tzinfo=UTC)


def _exists(rid: str) -> bool:
    return bool(_ledger().records("c1", [rid]))


def test_throttle_at_a_chosen_call_of_a_boto3_client(local_aws: None) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    plan = FaultPlan(points=[At("sqs", "ListQueues", 2, THROTTLE)])
    with inject(plan):
        sqs.list_queues()
        with pytest.raises(ClientError) as caught:
            sqs.list_queues()
        sqs.list_queues()
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert plan.calls[("sqs", "ListQueues")] == 3
    assert [i.kind for i in plan.injected] == [THROTTLE]


def test_pynamodb_calls_are_hooked_and_crash_before_means_not_applied(local_aws: None) -> None:
    with inject(FaultPlan(points=[At("dynamodb", "PutItem", 1, CRASH_BEFORE)])), pytest.raises(Crash):
        _rejected(_ledger(), "r1")
    assert not _exists("r1")


def test_crash_after_and_timeout_mean_applied_but_unanswered(local_aws: None) -> None:
    with inject(FaultPlan(points=[At("dynamodb", "PutItem", 1, CRASH_AFTER)])), pytest.raises(Crash):
        _rejected(_ledger(), "r1")
    assert _exists("r1")
    with inject(FaultPlan(points=[At("dynamodb", "PutItem", 1, TIMEOUT)])) as plan:
        with pytest.raises(TransientFailure) as caught:  # the ledger maps pynamodb's error to Baton's
            _rejected(_ledger(), "r2")
        assert "Read timeout" in str(caught.value)  # pynamodb's PutError keeps botocore's message
        assert plan.count(TIMEOUT) == 1
    assert _exists("r2")


def test_crash_is_not_an_exception_anything_may_swallow() -> None:
    assert not issubclass(Crash, Exception)


def test_random_faults_repeat_from_the_same_seed(local_aws: None) -> None:
    sqs = boto3.client("sqs", region_name=REGION)

    def run(seed: int) -> list[tuple[int, str]]:
        plan = FaultPlan(probability=0.3, seed=seed, kinds=[THROTTLE, TIMEOUT])
        out = []
        with inject(plan):
            for n in range(40):
                try:
                    sqs.list_queues()
                except (ClientError, ReadTimeoutError) as exc:
                    out.append((n, type(exc).__name__))
        return out

    first = run(1)
    assert first == run(1)
    assert 0 < len(first) < 40
    assert first != run(2)


def test_a_scoped_plan_only_faults_armed_threads(local_aws: None) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    plan = FaultPlan(probability=1.0, kinds=[THROTTLE], scoped=True)
    with inject(plan):
        sqs.list_queues()  # not armed: the machinery around the function
        with plan.armed(), pytest.raises(ClientError):
            sqs.list_queues()
    assert plan.count() == 1


def test_only_one_plan_at_a_time() -> None:
    with inject(FaultPlan()), pytest.raises(RuntimeError), inject(FaultPlan()):
        pass
