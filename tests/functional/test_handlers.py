"""The real Lambda handlers (functions/*/handler.py) on moto, fed EventBridge events inside SQS records, as the
event source mapping delivers them. Only AWS is faked: moto, plus a botocore event hook for injected faults."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, message_from_string
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from baton.adapters.policy_source import StaticPolicy
from baton.app.arbiter import Report
from baton.core.domain import Outcome
from baton.core.policy import Policy
from baton.local.mocked_aws import REGION, SENDER, sent_messages
from baton.local.runtime import LocalContext, LocalRuntime, sqs_event
from functions.arbiter.handler import lambda_handler as arbiter_handler
from functions.profile.handler import lambda_handler as profile_handler

EMAIL = "sam@example.com"
PHONE = "+13125550142"
DATA = {
    "sale": {"headline": "Black Friday", "url": "https://shop.example/sale"},
    "back_in_stock": {"product": "Blue kettle", "url": "https://shop.example/p/1"},
    "order_confirmation": {"order_id": "A-1", "total": "$10"},
}


def event(runtime: LocalRuntime, detail_type: str, detail: dict[str, Any], event_id: str | None = None) -> str:
    now = runtime.clock.now().isoformat()
    return json.dumps(
        {
            "version": "0",
            "id": event_id or str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": "shop.storefront",
            "account": "123456789012",
            "time": now,
            "region": REGION,
            "resources": [],
            "detail": detail,
        }
    )


def message(
    runtime: LocalRuntime,
    rid: str,
    customer: str = "c1",
    channel: str = "email",
    category: str = "sale",
    event_id: str | None = None,
    **extra: Any,
) -> str:
    detail = {
        "request_id": rid,
        "customer_id": customer,
        "channel": channel,
        "category": category,
        "template": category,
        "data": DATA[category],
        **extra,
    }
    return event(runtime, "MessageRequested", detail, event_id)


def customer(runtime: LocalRuntime, customer_id: str = "c1", **extra: Any) -> None:
    detail = {
        "customer_id": customer_id,
        "email": EMAIL if customer_id == "c1" else f"{customer_id}@example.com",
        "phone": PHONE,
        "timezone": "America/Chicago",
        "consent": {"email": True, "sms": True},
        **extra,
    }
    result = profile_handler(
        sqs_event([event(runtime, "CustomerUpdated", detail)]),
        LocalContext(),
        ledger=runtime.ledger,
        clock=runtime.clock,
        policies=StaticPolicy(runtime.policy),
    )
    assert result == {"batchItemFailures": []}


def record(runtime: LocalRuntime, rid: str, customer_id: str = "c1") -> Any:
    return {r.request_id: r for r in runtime.ledger.timeline(customer_id)}[rid]


def ses_raw() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


@pytest.fixture
def local(runtime: LocalRuntime) -> LocalRuntime:
    """The default policy without arbitration windows, so that a request is decided when it arrives."""
    policy: Policy = runtime.policy.model_copy(
        update={
            "categories": {
                k: v.model_copy(update={"arbitration_window": timedelta(0)})
                for k, v in runtime.policy.categories.items()
            }
        }
    )
    rt = LocalRuntime(policy, runtime.clock.now())
    rt.arbiter._sleep = lambda seconds: None  # retries do not wait in tests; their count is unchanged
    return rt


class SmsTypes:
    """Records the SMS type of every SNS Publish the real client makes (observes, changes nothing)."""

    def __init__(self, runtime: LocalRuntime):
        self.seen: list[tuple[str, str]] = []
        runtime.arbiter.channels._sns.meta.events.register("provide-client-params.sns.Publish", self)  # type: ignore[attr-defined]

    def __call__(self, params: dict[str, Any], **kwargs: Any) -> None:
        kind = params.get("MessageAttributes", {}).get("AWS.SNS.SMS.SMSType", {}).get("StringValue")
        self.seen.append((params.get("PhoneNumber", ""), kind))


def test_email_is_sent_through_ses_as_raw_mime_and_recorded(local: LocalRuntime) -> None:
    customer(local)
    response = local.invoke_arbiter([message(local, "r1")])
    assert response == {"batchItemFailures": []}
    [sent] = ses_raw()
    assert sent.destinations[0] == EMAIL
    raw = sent.raw_data
    mime = message_from_bytes(raw) if isinstance(raw, bytes) else message_from_string(raw)
    assert mime["To"] == EMAIL and mime["From"] == SENDER
    assert mime["Subject"]
    assert mime.get("List-Unsubscribe") and mime.get("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    parts = {part.get_content_type() for part in mime.walk()}
    assert {"text/plain", "text/html"} <= parts
    stored = record(local, "r1")
    assert (stored.status, stored.reason, stored.channel) == ("sent", "within_policy", "email")
    assert stored.sent_at == local.clock.now()
    assert stored.message_id
    assert "email_daily" in stored.counts and stored.policy == local.policy.tag


def test_sms_reaches_sns_with_its_type(local: LocalRuntime) -> None:
    customer(local)
    types = SmsTypes(local)
    local.clock.set(datetime(2026, 11, 27, 16, 0, tzinfo=UTC))  # 10:00 in Chicago: outside quiet hours
    marketing = message(local, "m1", channel="sms", category="back_in_stock", entity="sku:1")
    receipt = message(local, "t1", channel="sms", category="order_confirmation", transactional=True)
    assert local.invoke_arbiter([marketing, receipt]) == {"batchItemFailures": []}
    sms = sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages
    assert sorted(phone for phone, _ in sms.values()) == [PHONE, PHONE]
    assert sorted(types.seen) == [(PHONE, "Promotional"), (PHONE, "Transactional")]
    assert "Blue kettle" in " ".join(text for _, text in sms.values())
    assert record(local, "t1").reason == "transactional"


def test_the_same_event_twice_sends_once(local: LocalRuntime) -> None:
    customer(local)
    body = message(local, "r1", event_id="evt-1")
    assert local.invoke_arbiter([body]) == {"batchItemFailures": []}
    assert local.invoke_arbiter([body]) == {"batchItemFailures": []}
    # and the same request_id in a new event (the sender retried) is the same request
    assert local.invoke_arbiter([message(local, "r1", event_id="evt-2")]) == {"batchItemFailures": []}
    assert local.invoke_arbiter([body, body]) == {"batchItemFailures": []}  # twice in one batch
    assert len(sent_messages()["email"]) == 1
    assert record(local, "r1").status == "sent"


def test_partial_batch_failure_lists_only_the_transient_record(local: LocalRuntime) -> None:
    for name in ("c1", "c2", "c3"):
        customer(local, name)
    throttled = "c2@example.com"
    calls: list[str] = []

    def throttle(params: dict[str, Any], **kwargs: Any) -> None:
        to = params["Destination"]["ToAddresses"][0]
        calls.append(to)
        if to == throttled:
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "SendEmail")

    local.arbiter.channels._ses.meta.events.register("provide-client-params.sesv2.SendEmail", throttle)  # type: ignore[attr-defined]
    bodies = [
        message(local, "ok-1", customer="c1"),
        '{"id": "broken", "detail-type": "MessageRequested", "detail": {',  # poison: never retried
        message(local, "slow", customer="c2"),
        message(local, "ok-3", customer="c3"),
    ]
    batch = sqs_event(bodies)
    ids = [r["messageId"] for r in batch["Records"]]
    response = arbiter_handler(batch, LocalContext(), service=local.arbiter)
    assert response == {"batchItemFailures": [{"itemIdentifier": ids[2]}]}
    assert sorted(m.destinations[0] for m in ses_raw()) == sorted([EMAIL, "c3@example.com"])
    assert calls.count(throttled) > 1  # retried with backoff before giving the record back
    assert record(local, "ok-1", "c1").status == "sent" and record(local, "ok-3", "c3").status == "sent"
    assert record(local, "slow", "c2").status == "sending"  # decided; the send is owed
    # the queue redelivers the failed record once SES recovers: it is sent exactly once
    local.arbiter.channels._ses.meta.events.unregister("provide-client-params.sesv2.SendEmail", throttle)  # type: ignore[attr-defined]
    assert local.invoke_arbiter([bodies[2]]) == {"batchItemFailures": []}
    assert record(local, "slow", "c2").status == "sent"
    assert len(ses_raw()) == 3


def test_a_batch_of_only_poison_is_reported_not_retried(local: LocalRuntime) -> None:
    bad_type = message(local, "r1", priority="5")
    assert local.invoke_arbiter(["not json", bad_type]) == {"batchItemFailures": []}
    stored = record(local, "r1")
    assert (stored.status, stored.reason) == ("rejected", "invalid:priority")
    assert sent_messages()["email"] == []


def test_the_sweeper_releases_a_deferred_request_at_its_due_time(local: LocalRuntime) -> None:
    customer(local)  # America/Chicago; the clock reads 06:00 there: SMS quiet hours until 08:00
    assert local.invoke_arbiter([message(local, "r1", channel="sms", category="back_in_stock")]) == {
        "batchItemFailures": []
    }
    waiting = record(local, "r1")
    due = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # 08:00 in Chicago
    assert (waiting.status, waiting.reason, waiting.release_at) == ("pending", "quiet_hours", due)
    local.clock.set(due - timedelta(minutes=1))
    assert local.sweep() == 0
    assert sent_messages()["sms"] == []
    local.clock.set(due)
    assert local.sweep() == 1
    assert len(sent_messages()["sms"]) == 1
    done = record(local, "r1")
    assert (done.status, done.sent_at) == ("sent", due)
    assert local.sweep() == 0  # released once


def test_customer_updated_withdraws_consent_for_the_next_request(local: LocalRuntime) -> None:
    customer(local)
    assert local.invoke_arbiter([message(local, "r1")]) == {"batchItemFailures": []}
    customer(local, consent={"email": False})
    local.clock.advance(timedelta(days=2))
    assert local.invoke_arbiter([message(local, "r2")]) == {"batchItemFailures": []}
    stored = record(local, "r2")
    assert (stored.status, stored.reason) == ("suppressed", "no_consent")
    assert len(sent_messages()["email"]) == 1


def test_customer_updated_with_an_unknown_zone_is_refused_and_changes_nothing(local: LocalRuntime) -> None:
    customer(local)
    bad = event(local, "CustomerUpdated", {"customer_id": "c1", "timezone": "Mars/Base", "consent": {"email": False}})
    assert local.invoke_profile([bad]) == {"batchItemFailures": []}  # poison: reported, not retried
    assert local.invoke_arbiter([message(local, "r1")]) == {"batchItemFailures": []}
    assert record(local, "r1").status == "sent"


def test_a_release_for_an_unknown_request_does_nothing(local: LocalRuntime) -> None:
    body = json.dumps(
        {
            "id": "rel-1",
            "time": local.clock.now().isoformat(),
            "source": "baton.sweeper",
            "detail-type": "ReleaseDue",
            "detail": {"customer_id": "nobody", "request_id": "nothing"},
        }
    )
    assert local.invoke_arbiter([body]) == {"batchItemFailures": []}
    assert sent_messages() == {"email": [], "sms": [], "push": []}


def test_a_record_with_no_request_in_it_is_reported_rejected_and_nothing_recorded(local: LocalRuntime) -> None:
    reports: list[Report] = []
    local.watch(reports.append)
    wrong_queue = json.dumps(
        {
            "id": "e1",
            "time": "2026-11-25T10:00:00Z",
            "source": "shop.crm",
            "detail-type": "CustomerUpdated",
            "detail": {"customer_id": "c1", "timezone": "Europe/Berlin"},
        }
    )
    assert local.invoke_arbiter(["{not json", wrong_queue]) == {"batchItemFailures": []}
    assert [(r.outcome, r.reason, r.request_id, r.customer_id) for r in reports] == [
        (Outcome.REJECTED, "invalid:json", "", None),
        (Outcome.REJECTED, "invalid:detail-type", "", None),
    ]
    assert "'CustomerUpdated' is not handled here" in reports[1].detail
    assert sent_messages()["email"] == []


@pytest.mark.parametrize("function", ["arbiter", "profile", "feedback"])
def test_no_handler_shares_a_batch_processor_between_invocations(function: str) -> None:
    """A powertools processor holds the batch it is working on. Shared at module level, two invocations in
    flight at once (local runs call the handlers from many threads) could swap batches: the concurrency test on
    DynamoDB Local lost a request that way, acknowledged and never processed. Each invocation makes its own."""
    import importlib

    from aws_lambda_powertools.utilities.batch import BatchProcessor

    from baton.entry.ingress import batch_processor

    module = importlib.import_module(f"functions.{function}.handler")
    assert not [name for name, value in vars(module).items() if isinstance(value, BatchProcessor)]
    assert batch_processor() is not batch_processor()
