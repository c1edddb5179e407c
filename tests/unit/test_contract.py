"""The public contract: every bad input is refused with InvalidRequest naming the field (reason invalid:<field>)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from baton.contract import (
    MAX_DATA_BYTES,
    ContactRecorded,
    CustomerUpdated,
    MessageRequested,
    parse_detail,
    parse_envelope,
)
from baton.core.errors import InvalidRequest

REQUEST: dict[str, Any] = {
    "request_id": "r-1",
    "customer_id": "c-1",
    "channel": "email",
    "category": "sale",
    "template": "sale",
}


def envelope(detail: Any, detail_type: str = "MessageRequested") -> dict[str, Any]:
    return {"id": "e-1", "time": "2026-11-27T12:00:00Z", "source": "shop", "detail-type": detail_type, "detail": detail}


def refused(model: type, detail: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        parse_detail(model, detail)
    error = caught.value
    assert error.reason == f"invalid:{error.field}"
    assert error.field in str(error)
    return error


def test_a_full_request_is_accepted() -> None:
    detail = {
        **REQUEST,
        "campaign_id": "bf-2026",
        "entity": "sku:1234",
        "priority": 90,
        "transactional": False,
        "recipient": "sam@example.com",
        "data": {"headline": "Sale", "items": [{"sku": 1}]},
        "not_after": "2026-11-28T00:00:00+01:00",
    }
    message = parse_detail(MessageRequested, detail)
    assert (message.channel.value, message.priority, message.entity) == ("email", 90, "sku:1234")
    assert message.not_after is not None and message.not_after.utcoffset() is not None


def test_defaults() -> None:
    message = parse_detail(MessageRequested, REQUEST)
    assert message.transactional is False and message.priority is None and message.data == {}


@pytest.mark.parametrize("missing", ["request_id", "customer_id", "channel", "category"])
def test_missing_fields_are_named(missing: str) -> None:
    error = refused(MessageRequested, {k: v for k, v in REQUEST.items() if k != missing})
    assert (error.field, error.message) == (missing, "field required")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"channel": "EMAIL"}, "channel"),
        ({"priority": "5"}, "priority"),
        ({"priority": 5.5}, "priority"),
        ({"priority": 101}, "priority"),
        ({"priority": -1}, "priority"),
        ({"transactional": "yes"}, "transactional"),
        ({"transactional": 1}, "transactional"),
        ({"request_id": 7}, "request_id"),
        ({"request_id": ""}, "request_id"),
        ({"customer_id": "has space"}, "customer_id"),
        ({"category": "Cart Abandoned"}, "category"),
        ({"template": "../etc/passwd"}, "template"),
        ({"data": ["not", "an", "object"]}, "data"),
        ({"not_after": "2026-11-28T00:00:00"}, "not_after"),
        ({"not_after": "tomorrow"}, "not_after"),
        ({"prority": 5}, "prority"),
    ],
)
def test_wrong_values_are_named(change: dict[str, Any], field: str) -> None:
    assert refused(MessageRequested, {**REQUEST, **change}).field == field


def test_unknown_field_says_so() -> None:
    error = refused(MessageRequested, {**REQUEST, "prority": 5})
    assert error.message == "unknown field"


def test_oversized_data_is_refused() -> None:
    ok = {**REQUEST, "data": {"text": "a" * (MAX_DATA_BYTES - 20)}}
    parse_detail(MessageRequested, ok)
    error = refused(MessageRequested, {**REQUEST, "data": {"text": "a" * MAX_DATA_BYTES}})
    assert error.field == "data"
    assert str(MAX_DATA_BYTES) in error.message


@pytest.mark.parametrize(
    ("channel", "recipient"),
    [
        ("email", "+14155550100"),
        ("email", "not-an-address"),
        ("sms", "sam@example.com"),
        ("sms", "4155550100"),
        ("push", "sam@example.com"),
    ],
)
def test_recipient_must_fit_the_channel(channel: str, recipient: str) -> None:
    error = refused(MessageRequested, {**REQUEST, "channel": channel, "recipient": recipient})
    assert error.field == "recipient"
    assert channel in error.message


@pytest.mark.parametrize(
    ("channel", "recipient"),
    [
        ("email", "sam@example.com"),
        ("sms", "+14155550100"),
        ("push", "arn:aws:sns:us-east-1:123456789012:endpoint/APNS/shop/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"),
    ],
)
def test_recipient_that_fits_is_accepted(channel: str, recipient: str) -> None:
    assert parse_detail(MessageRequested, {**REQUEST, "channel": channel, "recipient": recipient}).recipient


def test_detail_must_be_an_object() -> None:
    assert refused(MessageRequested, ["r-1"]).field == "detail"


def test_customer_updated_unknown_time_zone() -> None:
    error = refused(CustomerUpdated, {"customer_id": "c-1", "timezone": "Mars/Olympus_Mons"})
    assert error.field == "timezone"
    assert "Mars/Olympus_Mons" in error.message


def test_customer_updated_fields() -> None:
    update = parse_detail(
        CustomerUpdated,
        {"customer_id": "c-1", "timezone": "Europe/Berlin", "consent": {"email": True, "sms": False}, "locale": "de"},
    )
    assert update.timezone == "Europe/Berlin"
    assert {k.value: v for k, v in (update.consent or {}).items()} == {"email": True, "sms": False}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"consent": {"email": "yes"}}, "consent.email"),
        ({"email": "nope"}, "email"),
        ({"phone": "555-0100"}, "phone"),
        ({"customer_id": None}, "customer_id"),
        ({"favourite_colour": "red"}, "favourite_colour"),
    ],
)
def test_customer_updated_bad_values_are_named(change: dict[str, Any], field: str) -> None:
    assert refused(CustomerUpdated, {"customer_id": "c-1", **change}).field == field


def test_customer_updated_requires_customer_id() -> None:
    assert refused(CustomerUpdated, {"timezone": "Europe/Berlin"}).field == "customer_id"


CONTACT: dict[str, Any] = {
    "contact_id": "mail-1",
    "customer_id": "c-1",
    "channel": "direct_mail",
    "category": "sale",
    "at": "2026-11-27T08:00:00-06:00",
}


@pytest.mark.parametrize("channel", ["direct_mail", "call", "store", "social", "email", "sms2"])
def test_a_contact_may_be_made_on_any_channel_with_a_name(channel: str) -> None:
    recorded = parse_detail(ContactRecorded, {**CONTACT, "channel": channel, "campaign_id": "bf-2026"})
    assert (recorded.channel, recorded.campaign_id) == (channel, "bf-2026")
    assert recorded.at.utcoffset() is not None


@pytest.mark.parametrize("missing", ["contact_id", "customer_id", "channel", "category", "at"])
def test_a_contact_missing_a_field_is_refused_naming_it(missing: str) -> None:
    error = refused(ContactRecorded, {k: v for k, v in CONTACT.items() if k != missing})
    assert (error.field, error.message) == (missing, "field required")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channel": "Direct Mail"}, "channel"),
        ({"channel": "d"}, "channel"),
        ({"channel": "_mail"}, "channel"),
        ({"channel": "a" * 33}, "channel"),
        ({"at": "2026-11-27T08:00:00"}, "at"),  # no offset: when is that?
        ({"at": "yesterday"}, "at"),
        ({"category": "Sale"}, "category"),
        ({"contact_id": "has space"}, "contact_id"),
        ({"campaign_id": ""}, "campaign_id"),
        ({"entity": "sku:1"}, "entity"),  # unknown field
    ],
)
def test_a_contact_with_a_wrong_field_is_refused_naming_it(change: dict[str, Any], field: str) -> None:
    assert refused(ContactRecorded, {**CONTACT, **change}).field == field


# -- the envelope --------------------------------------------------------------------------------------


def test_envelope_parses_from_text() -> None:
    event = parse_envelope(json.dumps(envelope(REQUEST)))
    assert (event.id, event.detail_type, event.detail["request_id"]) == ("e-1", "MessageRequested", "r-1")


@pytest.mark.parametrize("text", ['{"id": "e-1", "detail": ', "not json at all", b"\xff\xfe"])
def test_malformed_json_is_refused(text: str | bytes) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_envelope(text)
    assert caught.value.field == "json"
    assert caught.value.reason == "invalid:json"


def test_envelope_must_be_an_object() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_envelope("[1, 2]")
    assert caught.value.field == "event"


@pytest.mark.parametrize("missing", ["id", "time", "source", "detail-type", "detail"])
def test_envelope_missing_fields_are_named(missing: str) -> None:
    raw = {k: v for k, v in envelope(REQUEST).items() if k != missing}
    with pytest.raises(InvalidRequest) as caught:
        parse_envelope(raw)
    assert caught.value.field == missing


def test_envelope_time_must_be_a_time_with_zone() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_envelope({**envelope(REQUEST), "time": "2026-11-27T12:00:00"})
    assert caught.value.field == "time"
