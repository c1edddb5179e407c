"""``baton.client`` without AWS: the builders validate with the contract models and serialise only what was set;
batches respect PutEvents' 10 entries and 256 KB; the backoff is bounded full jitter. (On moto and with botocore's
Stubber: tests/functional/test_client_aws.py.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from baton.client import (
    ENTRY_TOO_LARGE,
    MAX_BATCH_BYTES,
    BatonClient,
    Entry,
    batches,
)
from baton.contract import CustomerUpdated, MessageRequested, parse_detail
from baton.core.errors import InvalidRequest
from baton.names import BUS_NAME, DETAIL_CUSTOMER_UPDATED, DETAIL_MESSAGE_REQUESTED

SOURCE = "shop.automation"


def request(**extra: Any) -> dict[str, Any]:
    return {
        "request_id": "cart-987-r1",
        "customer_id": "shopper-42",
        "channel": "email",
        "category": "cart_abandoned",
        "template": "cart_abandoned",
        **extra,
    }


@pytest.fixture
def client() -> BatonClient:
    return BatonClient(source=SOURCE)


# -- building ------------------------------------------------------------------------------------------------


def test_message_requested_is_addressed_to_batons_bus(client: BatonClient) -> None:
    entry = client.message_requested(**request(data={"items": ["Trail runner"]}))
    assert entry.request() == {
        "Source": SOURCE,
        "DetailType": DETAIL_MESSAGE_REQUESTED,
        "Detail": entry.detail,
        "EventBusName": BUS_NAME,
    }
    assert entry.key == "cart-987-r1"
    assert str(entry) == "MessageRequested cart-987-r1"


def test_only_the_fields_set_are_sent_and_baton_reads_them_back(client: BatonClient) -> None:
    entry = client.message_requested(
        **request(priority=None, not_after=datetime(2026, 11, 28, 12, 0, tzinfo=UTC), channel="email")
    )
    detail = json.loads(entry.detail)
    # no defaults forced (transactional, data), no None
    assert detail == {
        "request_id": "cart-987-r1",
        "customer_id": "shopper-42",
        "channel": "email",
        "category": "cart_abandoned",
        "template": "cart_abandoned",
        "not_after": "2026-11-28T12:00:00Z",
    }
    # what Baton's ingress makes of it is what was built
    expected = MessageRequested.model_validate(request(not_after=detail["not_after"]))
    assert parse_detail(MessageRequested, detail) == expected


def test_customer_updated(client: BatonClient) -> None:
    entry = client.customer_updated(customer_id="shopper-42", timezone="Europe/Berlin", consent={"sms": False})
    assert entry.detail_type == DETAIL_CUSTOMER_UPDATED
    assert entry.key == "shopper-42"
    detail = json.loads(entry.detail)
    assert detail == {"customer_id": "shopper-42", "timezone": "Europe/Berlin", "consent": {"sms": False}}
    assert parse_detail(CustomerUpdated, detail).consent == {"sms": False}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (request(prority=90), "prority", "unknown field"),
        ({k: v for k, v in request().items() if k != "template"}, "template", "exactly one of template and content"),
        (request(channel="fax"), "channel", "Input should be"),
        (request(priority=101), "priority", "less than or equal to 100"),
        (request(recipient="+14155550100"), "recipient", "must be an email address"),
        (request(data={"when": object()}), "data", "not JSON-serialisable"),
    ],
)
def test_a_bad_message_field_is_named(client: BatonClient, fields: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        client.message_requested(**fields)
    assert caught.value.field == field
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"customer_id": "c1", "timezone": "Mars/Olympus"}, "timezone"),
        ({"customer_id": "c1", "consent": {"email": "yes"}}, "consent.email"),
        ({"timezone": "UTC"}, "customer_id"),
        ({"customer_id": "c1", "preferences": {"colour": "red"}}, "preferences.colour"),
    ],
)
def test_a_bad_customer_field_is_named(client: BatonClient, fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        client.customer_updated(**fields)
    assert caught.value.field == field


@pytest.mark.parametrize("source", ["", "aws.events", "x" * 257])
def test_a_source_eventbridge_would_refuse_is_refused_at_once(source: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        BatonClient(source=source)
    assert caught.value.field == "source"


def test_another_bus_by_name() -> None:
    entry = BatonClient(source=SOURCE, bus_name="baton-staging").customer_updated(customer_id="c1")
    assert entry.request()["EventBusName"] == "baton-staging"


# -- batching, sizes, backoff ----------------------------------------------------------------------------------


def sized(size: int, key: str = "k") -> Entry:
    """An entry of exactly ``size`` bytes as EventBridge counts them (built directly: no contract entry is this
    large)."""
    head = len(SOURCE) + len(DETAIL_MESSAGE_REQUESTED)
    return Entry(DETAIL_MESSAGE_REQUESTED, "x" * (size - head), SOURCE, BUS_NAME, key)


def test_entry_size_counts_source_detail_type_and_detail_as_utf8() -> None:
    entry = Entry("T", json.dumps({"name": "Zoë"}, ensure_ascii=False), "s", BUS_NAME, "k")
    assert entry.size == 1 + 1 + len('{"name": "Zoë"}'.encode())  # ë is two bytes


def test_batches_hold_at_most_ten_entries(client: BatonClient) -> None:
    entries = [client.customer_updated(customer_id=f"c{i}") for i in range(23)]
    grouped = list(batches(entries, range(23)))
    assert [len(batch) for batch in grouped] == [10, 10, 3]
    assert [i for batch in grouped for i in batch] == list(range(23))  # in order, each once


def test_batches_stay_under_256_kb() -> None:
    entries = [sized(100_000, "a"), sized(100_000, "b"), sized(100_000, "c"), sized(50_000, "d"), sized(1_000, "e")]
    grouped = list(batches(entries, range(5)))
    assert grouped == [[0, 1], [2, 3, 4]]
    assert all(sum(entries[i].size for i in batch) < MAX_BATCH_BYTES for batch in grouped)
    # exactly at the limit is too much ("less than 256 KB")
    half = MAX_BATCH_BYTES // 2
    assert list(batches([sized(half), sized(half)], range(2))) == [[0], [1]]


def test_an_entry_too_large_for_any_call_is_reported_never_sent() -> None:
    client = BatonClient(source=SOURCE)
    result = client.put([sized(MAX_BATCH_BYTES, "huge")])
    assert result.calls == 0
    assert client._events is None  # no AWS client was even created
    [failed] = result.failed
    assert (failed.error_code, failed.entry.key, failed.attempts) == (ENTRY_TOO_LARGE, "huge", 0)


def test_nothing_to_put_makes_no_call() -> None:
    result = BatonClient(source=SOURCE).put([])
    assert result.ok and result.calls == 0 and result.results == ()


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    top = BatonClient(source=SOURCE, base_delay=0.1, max_delay=1.0, jitter=lambda: 0.999999)
    ceilings = [top.backoff(retry) for retry in range(1, 8)]
    assert ceilings == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0], rel=1e-5)
    assert BatonClient(source=SOURCE, jitter=lambda: 0.0).backoff(3) == 0.0
    assert BatonClient(source=SOURCE, base_delay=0.1, jitter=lambda: 0.5).backoff(2) == pytest.approx(0.1)


def test_at_least_one_attempt() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        BatonClient(source=SOURCE, max_attempts=0)


def test_the_events_client_follows_the_storefronts_default_session_with_bounded_timeouts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3

    monkeypatch.setattr(
        boto3,
        "DEFAULT_SESSION",
        boto3.session.Session(region_name="eu-west-1", aws_access_key_id="local", aws_secret_access_key="local"),
    )
    events = BatonClient(source="shop.test").events
    assert events.meta.region_name == "eu-west-1"
    assert (events.meta.config.connect_timeout, events.meta.config.read_timeout) == (3, 10)
    assert events.meta.config.retries["mode"] == "standard"
