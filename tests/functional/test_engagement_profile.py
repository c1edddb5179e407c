"""The engagement profile through the real profile and feedback handlers on moto (Given / When / Then): a
CustomerEngaged and SES Delivery and Open events go into the profile the customer's state item carries, once
each; the decision reads it in the round trips it makes without one (counted by bench.hooks, on botocore's own
events) and, under ``channel_choice: engagement``, sends by the channel the shopper engages with."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from baton.core.engagement import decay_factor
from baton.core.policy import Policy
from baton.local.mocked_aws import mocked_aws, sent_messages
from baton.local.runtime import LocalRuntime
from bench.hooks import Recorder
from tests.conftest import START, without_windows

CUSTOMER = "shopper-ep"
HALF_LIFE = timedelta(days=30)  # the default policy's
EMAIL = "ep@example.com"


def event(runtime: LocalRuntime, detail_type: str, detail: dict[str, Any], source: str = "shop", n: int = 0) -> str:
    now = runtime.clock.now().isoformat()
    return json.dumps(
        {"id": f"e-{now}-{detail_type}-{n}", "time": now, "source": source, "detail-type": detail_type,
         "detail": detail}
    )  # fmt: skip


def ses(runtime: LocalRuntime, event_type: str, after: timedelta, **body: Any) -> str:
    sent = START - timedelta(days=1)
    stamp = (sent + after).isoformat()
    part = {"timestamp": stamp, **body}
    if event_type == "Delivery":
        part["recipients"] = [EMAIL]
    detail = {
        "eventType": event_type,
        "mail": {"timestamp": sent.isoformat(), "messageId": "ses-1", "destination": [EMAIL],
                 "tags": {"ses:configuration-set": ["baton"]}},
        event_type.lower(): part,
    }  # fmt: skip
    names = {"Delivery": "Email Delivered", "Open": "Email Opened", "Click": "Email Clicked"}
    return event(runtime, names[event_type], detail, source="aws.ses")


@pytest.fixture
def runtime(default_policy: Policy) -> Iterator[LocalRuntime]:
    chosen = default_policy.model_copy(update={"channel_choice": "engagement"})
    with mocked_aws():
        yield LocalRuntime(without_windows(chosen), START)


@pytest.fixture
def recorder(runtime: LocalRuntime) -> Recorder:
    """Hooks on the ledger's DynamoDB client (pynamodb keeps one per table and thread, made before this test)."""
    hooks = Recorder()
    hooks.attach(runtime.ledger._m.connection.client, "dynamodb")
    return hooks


def given_a_customer(runtime: LocalRuntime, customer: str = CUSTOMER, email: str = EMAIL) -> None:
    detail = {"customer_id": customer, "email": email, "phone": "+13125550100", "timezone": "Europe/Paris",
              "consent": {"email": True, "sms": True}}  # fmt: skip
    assert runtime.invoke_profile([event(runtime, "CustomerUpdated", detail)]) == {"batchItemFailures": []}


def ask(runtime: LocalRuntime, rid: str, customer: str = CUSTOMER) -> None:
    detail = {"request_id": rid, "customer_id": customer, "channels": ["sms", "email"], "category": "back_in_stock",
              "template": "back_in_stock", "data": {"product": "p", "url": "u"}}  # fmt: skip
    assert runtime.invoke_arbiter([event(runtime, "MessageRequested", detail)]) == {"batchItemFailures": []}


def test_engagement_events_fill_the_profile_once_and_leave_the_version(runtime: LocalRuntime) -> None:
    given_a_customer(runtime)
    version = runtime.ledger.load(CUSTOMER, None, None, True).ledger.version
    clicked = {"customer_id": CUSTOMER, "kind": "click", "channel": "email", "engagement_id": "k1",
               "at": (START - timedelta(hours=5)).isoformat()}  # fmt: skip
    bodies = [
        event(runtime, "CustomerEngaged", clicked),
        event(runtime, "CustomerEngaged", clicked, n=1),  # the same engagement again
        ses(runtime, "Delivery", timedelta(seconds=2)),
        ses(runtime, "Open", timedelta(seconds=4), userAgent="Mozilla/5.0"),  # a proxy's, seconds after the send
        ses(runtime, "Open", timedelta(hours=3), userAgent="Mozilla/5.0 (Macintosh) Firefox/133.0"),
    ]
    assert runtime.invoke_profile(bodies[:2]) == {"batchItemFailures": []}
    assert runtime.invoke_feedback(bodies[2:] + bodies[2:]) == {"batchItemFailures": []}  # SES redelivers too
    state = runtime.ledger.load(CUSTOMER, None, None, True).ledger
    profile = state.engagement
    assert state.version == version
    assert profile.count == 3  # the click, the machine open, the shopper's open
    day = decay_factor(timedelta(days=1), HALF_LIFE)  # the SES events came a day before the profile's instant
    assert profile.sends == pytest.approx({"email": day}, rel=1e-3)
    # the click (2) and the shopper's open (1) outweigh the machine open (0.05)
    click = 2 * decay_factor(timedelta(hours=5), HALF_LIFE)
    assert profile.engagements["email"] == pytest.approx(click + 1.05 * day, rel=1e-3)
    assert profile.rate("email") == pytest.approx(profile.engagements["email"] / day, rel=1e-3)
    assert sorted(e.kind for e in runtime.ledger.engagements(CUSTOMER)) == ["click", "delivery", "open", "open"]


def test_a_decision_reads_the_profile_in_the_same_round_trips(runtime: LocalRuntime, recorder: Recorder) -> None:
    given_a_customer(runtime)
    given_a_customer(runtime, "shopper-plain", "plain@example.com")
    engaged = {"customer_id": CUSTOMER, "kind": "open", "channel": "email", "engagement_id": "o1",
               "at": (START - timedelta(hours=5)).isoformat()}  # fmt: skip
    runtime.invoke_profile([event(runtime, "CustomerEngaged", engaged)])
    runtime.invoke_feedback([ses(runtime, "Delivery", timedelta(seconds=2))])

    with recorder.recording() as plain:
        ask(runtime, "r-plain", "shopper-plain")
    with recorder.recording() as profiled:
        ask(runtime, "r-engaged")

    assert profiled.operations == plain.operations
    assert profiled.operations.count("TransactWriteItems") == 1  # the decision's commit, as without a profile
    # the shopper who engages by email gets the email; the other, the first listed channel
    assert {r.request_id: r.channel for r in runtime.ledger.timeline(CUSTOMER)} == {"r-engaged": "email"}
    assert {r.request_id: r.channel for r in runtime.ledger.timeline("shopper-plain")} == {"r-plain": "sms"}
    assert len(sent_messages()["email"]) == 1
    # and the commit left the profile as it was
    assert runtime.ledger.load(CUSTOMER, None, None, True).ledger.engagement.count == 1
