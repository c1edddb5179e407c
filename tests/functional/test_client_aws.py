"""``baton.client`` against EventBridge: on moto (Baton's bus, a rule to a queue, and the real handlers reading
what arrived), and with botocore's Stubber for the failures moto does not produce (partial failures, throttling,
a missing bus). Only AWS is faked."""

from __future__ import annotations

import json
import runpy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from baton.client import BatonClient, EntriesNotPut, Entry
from baton.contract import parse_envelope
from baton.core.errors import InvalidRequest
from baton.local.mocked_aws import REGION
from baton.local.runtime import LocalRuntime
from baton.names import BUS_NAME

SOURCE = "shop.automation"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "storefront.py"
DATA = {"headline": "Black Friday", "url": "https://shop.example/sale"}


def message(client: BatonClient, rid: str, customer: str = "shopper-42", **extra: Any) -> Entry:
    return client.message_requested(
        request_id=rid, customer_id=customer, channel="email", category="sale", template="sale", data=DATA, **extra
    )


@dataclass
class Bus:
    """Baton's bus on moto, with a rule sending everything from SOURCE to a queue we can read."""

    events: Any
    sqs: Any
    queue_url: str
    calls: list[int]  # entries per PutEvents call, as the real client sent them

    def arrived(self) -> list[dict[str, Any]]:
        bodies: list[dict[str, Any]] = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return bodies
            bodies += [json.loads(m["Body"]) for m in got]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
            )


@pytest.fixture
def bus(local_aws: None) -> Iterator[Bus]:
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    events.create_event_bus(Name=BUS_NAME)
    url = sqs.create_queue(QueueName="storefront-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="everything", EventBusName=BUS_NAME, EventPattern=json.dumps({"source": [SOURCE]}))
    events.put_targets(Rule="everything", EventBusName=BUS_NAME, Targets=[{"Id": "queue", "Arn": arn}])
    calls: list[int] = []
    # observes each request the real client builds; changes nothing
    events.meta.events.register(
        "before-parameter-build.events.PutEvents", lambda params, **_: calls.append(len(params["Entries"]))
    )
    yield Bus(events, sqs, url, calls)


# -- on moto -------------------------------------------------------------------------------------------------


def test_entries_arrive_on_batons_bus_in_batches_of_at_most_ten(bus: Bus) -> None:
    client = BatonClient(source=SOURCE, events_client=bus.events)
    entries = [message(client, f"r{i:02}") for i in range(23)]
    result = client.put(entries)
    assert result.ok and result.failed == ()
    assert bus.calls == [10, 10, 3]
    assert result.calls == 3
    arrived = bus.arrived()
    assert sorted(event["detail"]["request_id"] for event in arrived) == [f"r{i:02}" for i in range(23)]
    assert {event["detail-type"] for event in arrived} == {"MessageRequested"}
    assert set(result.event_ids) == {event["id"] for event in arrived}


def test_what_the_client_puts_is_what_batons_handlers_accept(bus: Bus, runtime_now: LocalRuntime) -> None:
    client = BatonClient(source=SOURCE, events_client=bus.events)
    profile = client.customer_updated(
        customer_id="shopper-42", email="sam@example.com", timezone="America/Chicago", consent={"email": True}
    )
    client.put([profile]).raise_for_failures()
    [update] = bus.arrived()
    assert runtime_now.invoke_profile([json.dumps(update)]) == {"batchItemFailures": []}

    client.put([message(client, "req-1")]).raise_for_failures()
    [request] = bus.arrived()
    assert parse_envelope(request).detail == {
        "request_id": "req-1",
        "customer_id": "shopper-42",
        "channel": "email",
        "category": "sale",
        "template": "sale",
        "data": DATA,
    }
    assert runtime_now.invoke_arbiter([json.dumps(request)]) == {"batchItemFailures": []}
    [record] = runtime_now.ledger.timeline("shopper-42")
    assert (record.request_id, record.status) == ("req-1", "sent")


def test_a_bad_field_raises_before_anything_is_sent(bus: Bus) -> None:
    client = BatonClient(source=SOURCE, events_client=bus.events)
    with pytest.raises(InvalidRequest) as caught:
        client.put([message(client, "ok-1"), message(client, "bad-1", priority="high"), message(client, "ok-2")])
    assert caught.value.field == "priority"
    assert bus.calls == []
    assert bus.arrived() == []


def test_a_missing_bus_is_reported_for_every_entry(local_aws: None) -> None:
    events = boto3.client("events", region_name=REGION)  # no bus created
    client = BatonClient(source=SOURCE, events_client=events, sleep=lambda _: None)
    result = client.put([message(client, "r1"), message(client, "r2")])
    assert not result.ok
    assert [r.error_code for r in result.failed] == ["ResourceNotFoundException"] * 2
    assert result.calls == 1  # not retried: another try cannot find the bus


# -- with botocore's Stubber ---------------------------------------------------------------------------------


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    events = boto3.client(
        "events", region_name=REGION, aws_access_key_id="stub", aws_secret_access_key="stub", aws_session_token="stub"
    )
    with Stubber(events) as stubber:
        yield events, stubber
        stubber.assert_no_pending_responses()


def sent(entries: list[Entry]) -> dict[str, Any]:
    return {"Entries": [entry.request() for entry in entries]}


def answer(entries: list[Entry], failures: dict[int, str]) -> dict[str, Any]:
    results: list[dict[str, str]] = []
    for i, entry in enumerate(entries):
        if i in failures:
            results.append({"ErrorCode": failures[i], "ErrorMessage": f"{failures[i]} for {entry.key}"})
        else:
            results.append({"EventId": f"id-{entry.key}"})
    return {"FailedEntryCount": len(failures), "Entries": results}


def test_a_partial_failure_retries_just_the_failed_entries(stubbed: tuple[Any, Stubber]) -> None:
    events, stubber = stubbed
    waits: list[float] = []
    client = BatonClient(source=SOURCE, events_client=events, sleep=waits.append, jitter=lambda: 0.5)
    entries = [message(client, f"r{i:02}") for i in range(12)]
    first, second = entries[:10], entries[10:]
    stubber.add_response("put_events", answer(first, {3: "ThrottlingException", 7: "InternalFailure"}), sent(first))
    stubber.add_response("put_events", answer(second, {}), sent(second))
    retried = [entries[3], entries[7]]
    stubber.add_response("put_events", answer(retried, {}), sent(retried))  # exactly those two, nothing else

    result = client.put(entries)

    assert result.ok
    assert result.event_ids == [f"id-r{i:02}" for i in range(12)]
    assert [r.attempts for r in result.results] == [1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 1]
    assert result.calls == 3
    assert waits == [pytest.approx(0.05)]  # one wait, full jitter (0.5) of the first ceiling (0.1 s)


def test_a_persistent_failure_is_reported_with_its_error_code(stubbed: tuple[Any, Stubber]) -> None:
    events, stubber = stubbed
    waits: list[float] = []
    client = BatonClient(source=SOURCE, events_client=events, max_attempts=3, sleep=waits.append, jitter=lambda: 1.0)
    entries = [message(client, "r1"), message(client, "r2"), message(client, "r3")]
    # r1 throttled every time; r3 refused for good (not retried); r2 put at once
    stubber.add_response(
        "put_events", answer(entries, {0: "ThrottlingException", 2: "AccessDeniedException"}), sent(entries)
    )
    for _ in range(2):
        stubber.add_response("put_events", answer(entries[:1], {0: "ThrottlingException"}), sent(entries[:1]))

    result = client.put(entries)

    assert not result.ok
    assert [(r.entry.key, r.error_code, r.attempts) for r in result.failed] == [
        ("r1", "ThrottlingException", 3),
        ("r3", "AccessDeniedException", 1),
    ]
    assert result.event_ids == [None, "id-r2", None]
    assert result.calls == 3
    assert waits == [pytest.approx(0.1), pytest.approx(0.2)]  # bounded: two waits for three attempts
    with pytest.raises(EntriesNotPut) as caught:
        result.raise_for_failures()
    assert caught.value.failed == result.failed
    assert "2 entries not put" in str(caught.value)
    assert "MessageRequested r1: ThrottlingException" in str(caught.value)
    assert "MessageRequested r3: AccessDeniedException" in str(caught.value)


def test_a_throttled_call_is_retried_whole(stubbed: tuple[Any, Stubber]) -> None:
    events, stubber = stubbed
    client = BatonClient(source=SOURCE, events_client=events, sleep=lambda _: None)
    entries = [message(client, "r1"), message(client, "r2")]
    stubber.add_client_error("put_events", "InternalException", "try again", 500, expected_params=sent(entries))
    stubber.add_response("put_events", answer(entries, {}), sent(entries))

    result = client.put(entries)

    assert result.ok and result.calls == 2
    assert [r.attempts for r in result.results] == [2, 2]


def test_a_refused_call_is_not_retried(stubbed: tuple[Any, Stubber]) -> None:
    events, stubber = stubbed
    client = BatonClient(source=SOURCE, events_client=events, sleep=lambda _: None)
    entries = [message(client, "r1")]
    stubber.add_client_error("put_events", "AccessDeniedException", "not allowed", 400, expected_params=sent(entries))

    result = client.put(entries)

    [failed] = result.failed
    assert (failed.error_code, failed.error_message, failed.attempts) == ("AccessDeniedException", "not allowed", 1)


def test_the_docs_storefront_example_puts_what_batons_handlers_accept(bus: Bus, runtime_now: LocalRuntime) -> None:
    """examples/storefront.py, included in the docs (Storefront client), run as it is."""
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    arrived = {event["detail-type"]: event for event in bus.arrived()}
    assert set(arrived) == {"CustomerUpdated", "MessageRequested"}
    assert runtime_now.invoke_profile([json.dumps(arrived["CustomerUpdated"])]) == {"batchItemFailures": []}
    assert runtime_now.invoke_arbiter([json.dumps(arrived["MessageRequested"])]) == {"batchItemFailures": []}
    [record] = runtime_now.ledger.timeline("shopper-42")
    assert (record.request_id, record.status) == ("cart-987-r1", "sent")
