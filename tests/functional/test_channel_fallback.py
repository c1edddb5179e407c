"""A request that lists channels, refused for good on the channel chosen (the provider refuses it, the number
replied STOP, the address hard-bounced while it waited), falls back to the next listed channel in the same
request, chosen again by the same rules, before it ends ``failed``. Through the real handlers on moto; the
refusal is injected on the real SES client (botocore event hook), never inside Baton."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from baton.local.mocked_aws import sent_messages
from baton.local.runtime import LocalRuntime
from tests.functional.test_consent_flow import CUSTOMER, bounce, event, profile

OPTED_OUT_PHONE = "+13125550199"  # moto treats numbers ending in 99 as on SNS's opt-out list


class Refuse:
    """Fail every SendEmail call with SES's MessageRejected (a permanent refusal)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, **kwargs: Any) -> None:
        self.calls += 1
        error = {"Error": {"Code": "MessageRejected", "Message": "Email address is not verified"}}
        raise ClientError(error, "SendEmail")  # type: ignore[arg-type]


def refuse_email(runtime: LocalRuntime) -> Refuse:
    refuse = Refuse()
    runtime.arbiter.channels._ses.meta.events.register("before-call.sesv2.SendEmail", refuse)  # type: ignore[attr-defined]
    return refuse


def ask(runtime: LocalRuntime, rid: str, channels: list[str], category: str = "back_in_stock") -> None:
    detail = {
        "request_id": rid,
        "customer_id": CUSTOMER,
        "channels": channels,
        "category": category,
        "entity": f"sku:{rid}",
        "template": category,
        "data": {"product": "p", "url": "u", "headline": "h"},
    }
    assert runtime.invoke_arbiter([event(runtime, "MessageRequested", detail)]) == {"batchItemFailures": []}


def record(runtime: LocalRuntime, rid: str) -> Any:
    return {r.request_id: r for r in runtime.ledger.timeline(CUSTOMER)}[rid]


def contacts(runtime: LocalRuntime) -> list[tuple[str, str]]:
    ledger = runtime.ledger.load(CUSTOMER, None, None, consistent=True).ledger
    return [(c.request_id, c.channel) for c in ledger.contacts]


@pytest.fixture
def afternoon(runtime_now: LocalRuntime) -> LocalRuntime:
    runtime_now.clock.set(runtime_now.clock.now().replace(hour=20))  # 14:00 in Chicago: outside SMS quiet hours
    return runtime_now


def test_a_provider_refusal_falls_back_to_the_next_channel(afternoon: LocalRuntime) -> None:
    profile(afternoon, timezone="America/Chicago")
    refused = refuse_email(afternoon)
    ask(afternoon, "r1", ["email", "sms"])
    assert refused.calls >= 1
    done = record(afternoon, "r1")
    assert (done.status, done.channel) == ("sent", "sms")
    assert done.reason == "channel:sms (email: provider:MessageRejected)"
    assert [what for step in done.history if (what := step.what) in ("deferred", "released", "sent")] == [
        "deferred",
        "released",
        "sent",
    ]
    assert len(sent_messages()["sms"]) == 1 and sent_messages()["email"] == []
    assert contacts(afternoon) == [("r1", "sms")]  # caps count the channel actually used


def test_an_sms_opt_out_falls_back_to_email(afternoon: LocalRuntime) -> None:
    profile(afternoon, phone=OPTED_OUT_PHONE, timezone="America/Chicago")
    ask(afternoon, "r1", ["sms", "email"])
    done = record(afternoon, "r1")
    assert (done.status, done.channel, done.reason) == ("sent", "email", "channel:email (sms: sms_opted_out)")
    assert sent_messages()["sms"] == [] and len(sent_messages()["email"]) == 1
    assert contacts(afternoon) == [("r1", "email")]


def test_a_hard_bounce_while_it_waited_falls_back(runtime: LocalRuntime) -> None:
    runtime.clock.set(runtime.clock.now().replace(hour=20))
    profile(runtime, timezone="America/Chicago")
    ask(runtime, "r1", ["email", "sms"], category="sale")  # held in the sale's arbitration window, on email
    assert record(runtime, "r1").status == "pending"
    bounce(runtime, "Permanent")  # the email address hard-bounces while it waits
    runtime.run_until(runtime.clock.now() + timedelta(hours=1))
    done = record(runtime, "r1")
    assert (done.status, done.channel) == ("sent", "sms")
    assert done.reason in ("channel:sms (email: suppressed_address)",)
    assert sent_messages()["email"] == [] and len(sent_messages()["sms"]) == 1


def test_every_channel_refused_ends_failed(afternoon: LocalRuntime) -> None:
    profile(afternoon, phone=OPTED_OUT_PHONE, timezone="America/Chicago")
    refuse_email(afternoon)
    ask(afternoon, "r1", ["email", "sms"])
    done = record(afternoon, "r1")
    assert (done.status, done.reason) == ("failed", "sms_opted_out")
    assert sent_messages()["sms"] == [] and sent_messages()["email"] == []
    assert contacts(afternoon) == []  # nothing sent: no cap counts it


def test_a_request_with_channel_fails_as_before(afternoon: LocalRuntime) -> None:
    profile(afternoon, timezone="America/Chicago")
    refuse_email(afternoon)
    detail = {
        "request_id": "r1",
        "customer_id": CUSTOMER,
        "channel": "email",
        "category": "back_in_stock",
        "template": "back_in_stock",
        "data": {"product": "p", "url": "u"},
    }
    afternoon.invoke_arbiter([event(afternoon, "MessageRequested", detail)])
    done = record(afternoon, "r1")
    assert (done.status, done.channel, done.reason) == ("failed", "email", "provider:MessageRejected")
    assert sent_messages()["sms"] == []
