"""The local event source mapping and ``baton dlq``: a record that fails on every delivery reaches the DLQ after
the redrive policy's receives; inspect says why without consuming it; redrive after the fix sends once, even
when the same dead letter is redriven twice."""

from __future__ import annotations

import json

import pytest

from baton.local.cli import main
from baton.local.runtime import LocalContext
from baton.names import MAX_RECEIVE_COUNT
from baton.ops.dlq import inspect, redrive
from reliability.world import local_world, provider_sends, reliability_policy, requests
from tests.functional.harness import CRASH_BEFORE, THROTTLE, At, FaultPlan, inject


def test_a_failing_record_reaches_the_dlq_with_its_reason_and_a_redrive_sends_it_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    reqs = requests(3, 3)
    plan = FaultPlan(probability=1.0, kinds=[THROTTLE], services=["dynamodb"], scoped=True)  # the ledger is down
    with local_world(reliability_policy(), None, [r.customer_id for r in reqs]) as world, inject(plan):
        world.queue.send([r.body() for r in reqs])
        stats = world.queue.drain(world.arbiter(plan.armed), LocalContext)
        assert stats.failed_records == 3 * MAX_RECEIVE_COUNT  # every receive failed, then SQS moved them
        assert world.queue.depth() == 0

        letters = inspect(world.queue.sqs, world.queue.dlq_url, world.runtime.ledger)
        assert sorted(letter.request_id or "" for letter in letters) == [r.request_id for r in reqs]
        assert all(letter.status is None and letter.reason.startswith("not recorded") for letter in letters)
        assert world.queue.depth(world.queue.dlq_url) == 3  # inspect consumed nothing

        assert main(["dlq", "inspect", "--json", "--table", world.runtime.ledger._m.item.Meta.table_name]) == 0
        printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert {p["request_id"] for p in printed} == {r.request_id for r in reqs}

        plan.enabled = False  # the fix
        copies = world.queue.sqs.receive_message(
            QueueUrl=world.queue.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        world.queue.send([m["Body"] for m in copies["Messages"]])  # an operator redrove them once by hand too
        assert redrive(world.queue.sqs, world.queue.dlq_url, world.queue.url) == 3
        assert world.queue.depth(world.queue.dlq_url) == 0
        world.settle(world.arbiter())
        sends = provider_sends()
        statuses = {r.request_id: r.status for r in world.records({r.customer_id for r in reqs}).values()}
    assert statuses == {r.request_id: "sent" for r in reqs}
    assert sends == {r.request_id: 1 for r in reqs}


def test_a_settled_request_in_the_dlq_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    [req] = requests(1, 1)
    with local_world(reliability_policy(), None, [req.customer_id]) as world:
        world.queue.send([req.body()])
        world.settle(world.arbiter())
        world.queue.sqs.send_message(QueueUrl=world.queue.dlq_url, MessageBody=req.body())
        world.queue.sqs.send_message(QueueUrl=world.queue.dlq_url, MessageBody="not json")
        letters = {
            letter.request_id: letter for letter in inspect(world.queue.sqs, world.queue.dlq_url, world.runtime.ledger)
        }
        assert main(["dlq", "redrive", "--yes"]) == 0
        assert "moved 2" in capsys.readouterr().out
        world.settle(world.arbiter())
        assert provider_sends()[req.request_id] == 1
    assert letters[req.request_id].status == "sent"
    assert "settled already" in letters[req.request_id].reason
    assert letters[None].reason.startswith("unreadable")


def test_a_sending_dead_letter_says_whether_the_sweeper_will_resume_it() -> None:
    """An arrival's send lease enters the due index only through its own deliveries. Given every delivery of one
    request dying (the first just before the provider call, the others at their claim), its dead letter says
    the lease is in no due index and only a redrive resumes it, and the redrive sends it once. Given the
    provider throttling every delivery instead, each gives its lease back into the index, and the letter says
    the sweeper resumes it."""
    crashed, throttled = requests(2, 2)
    crashes = [At("sesv2", "SendEmail", 1, CRASH_BEFORE)]
    crashes += [At("dynamodb", "UpdateItem", n, CRASH_BEFORE) for n in range(1, MAX_RECEIVE_COUNT)]
    with local_world(reliability_policy(), None, [crashed.customer_id, throttled.customer_id]) as world:
        plan = FaultPlan(points=crashes, scoped=True)
        with inject(plan):
            world.queue.send([crashed.body()])
            world.queue.drain(world.arbiter(plan.armed), LocalContext)
            assert plan.count() == MAX_RECEIVE_COUNT
        plan = FaultPlan(probability=1.0, kinds=[THROTTLE], services=["sesv2"], scoped=True)
        with inject(plan):
            world.queue.send([throttled.body()])
            world.queue.drain(world.arbiter(plan.armed), LocalContext)
        letters = {
            letter.request_id: letter for letter in inspect(world.queue.sqs, world.queue.dlq_url, world.runtime.ledger)
        }
        assert redrive(world.queue.sqs, world.queue.dlq_url, world.queue.url) == 2
        world.settle(world.arbiter())
        sends = provider_sends()
    assert letters[crashed.request_id].status == "sending"
    assert "in no due index: redrive to resume it" in letters[crashed.request_id].reason
    assert letters[throttled.request_id].status == "sending"
    assert "the sweeper resumes it after its lease" in letters[throttled.request_id].reason
    assert sends == {crashed.request_id: 1, throttled.request_id: 1}


def test_inspect_reads_every_letter_even_when_reading_takes_longer_than_a_hold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dead-letter queue that takes longer to read than one page's hold: the first pages come back into view
    before the last are read. Given a slow SQS (each receive 0.4 s) and a 1 s hold, inspect still lists every
    letter once, and leaves them all in the queue."""
    import time

    import boto3
    from moto import mock_aws

    from baton.ops import dlq

    monkeypatch.setattr(dlq, "READ_HOLD_SECONDS", 1)
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="baton-arbitration-dlq")["QueueUrl"]
        for start in range(0, 40, 10):
            sqs.send_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "MessageBody": json.dumps({"detail": {"customer_id": "c", "request_id": f"r{n}"}})}
                    for i, n in enumerate(range(start, start + 10))
                ],
            )
        sqs.meta.events.register("before-call.sqs.ReceiveMessage", lambda **kwargs: time.sleep(0.4))
        letters = inspect(sqs, url, None, limit=1000)
        assert sorted(letter.request_id or "" for letter in letters) == sorted(f"r{n}" for n in range(40))
        assert dlq._depth(sqs, url) == 40
