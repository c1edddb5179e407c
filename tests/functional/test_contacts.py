"""Contacts made outside Baton (ContactRecorded) through the real profile and arbiter handlers on moto: they count
in the customer's caps from when they were made, once, unless their category is transactional; bad ones are
rejected naming the field; ``baton explain`` shows them; a decision that read the state before one was recorded
cannot commit after it."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from baton.app.arbiter import Report
from baton.core.domain import Outcome
from baton.core.policy import Policy, load_policy
from baton.local import cli
from baton.local.mocked_aws import REGION
from baton.local.runtime import LocalRuntime
from tests.conftest import START

POLICY = """
version: contacts-test
timezone: America/Chicago
caps:
  - {name: touches_daily, limit: 1, window: 24h}
  - {name: mail_weekly, limit: 1, window: 7d, match: {channel: direct_mail}}
categories:
  sale: {priority: 30}
  review_request: {priority: 20, over_cap: defer, max_delay: 48h}
  order_confirmation: {priority: 100, transactional: true}
"""
CUSTOMER = "c1"


@pytest.fixture
def policy() -> Policy:
    return load_policy(POLICY, "contacts-test.yaml")


@pytest.fixture
def rt(local_aws: None, policy: Policy) -> LocalRuntime:
    runtime = LocalRuntime(policy, START)
    customer(runtime, CUSTOMER)
    return runtime


def envelope(now: datetime, detail_type: str, detail: dict[str, Any]) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": "shop.direct-mail",
            "account": "123456789012",
            "time": now.isoformat(),
            "region": REGION,
            "resources": [],
            "detail": detail,
        }
    )


def customer(runtime: LocalRuntime, customer_id: str) -> None:
    detail = {
        "customer_id": customer_id,
        "email": f"{customer_id}@example.com",
        "timezone": "America/Chicago",
        "consent": {"email": True},
    }
    body = envelope(runtime.clock.now(), "CustomerUpdated", detail)
    assert runtime.invoke_profile([body]) == {"batchItemFailures": []}


def contact(runtime: LocalRuntime, contact_id: str, at: datetime, **extra: Any) -> None:
    detail = {
        "contact_id": contact_id,
        "customer_id": CUSTOMER,
        "channel": "direct_mail",
        "category": "sale",
        "at": at.isoformat(),
        **extra,
    }
    body = envelope(runtime.clock.now(), "ContactRecorded", detail)
    assert runtime.invoke_profile([body]) == {"batchItemFailures": []}


def request(runtime: LocalRuntime, rid: str, category: str = "sale", customer_id: str = CUSTOMER) -> Report:
    detail = {
        "request_id": rid,
        "customer_id": customer_id,
        "channel": "email",
        "category": category,
        "template": "sale",
        "data": {"headline": "Cyber Monday", "url": "https://shop.example/cm"},
    }
    reports: list[Report] = []
    runtime.watch(reports.append)
    body = envelope(runtime.clock.now(), "MessageRequested", detail)
    assert runtime.invoke_arbiter([body]) == {"batchItemFailures": []}
    return next(r for r in reports if r.request_id == rid and r.outcome is not Outcome.DUPLICATE)


def counts(runtime: LocalRuntime, rid: str) -> dict[str, list[int]]:
    record = {r.request_id: r for r in runtime.ledger.timeline(CUSTOMER)}[rid]
    return dict(record.counts)


def test_a_recorded_contact_fills_a_cap_and_the_next_request_is_suppressed(rt: LocalRuntime) -> None:
    customer(rt, "c2")  # the same request without a contact is sent
    assert request(rt, "r-c2", customer_id="c2").outcome is Outcome.SENT

    contact(rt, "mail-1", START - timedelta(hours=1))

    report = request(rt, "r-1")
    assert (report.outcome, report.reason) == (Outcome.SUPPRESSED, "cap:touches_daily")
    assert counts(rt, "r-1")["touches_daily"] == [1, 1]


def test_a_late_contact_counts_from_when_it_was_made(rt: LocalRuntime) -> None:
    made = START - timedelta(hours=23)  # reported now, made 23 hours ago: the day's room frees an hour from now
    contact(rt, "mail-late", made)

    report = request(rt, "r-1", category="review_request")
    assert (report.outcome, report.reason) == (Outcome.DEFERRED, "cap:touches_daily")
    assert report.release_at == made + timedelta(hours=24)


def test_a_contact_older_than_every_window_counts_for_nothing(rt: LocalRuntime) -> None:
    contact(rt, "mail-old", START - timedelta(days=8))  # the policy looks back 7 days at most

    assert request(rt, "r-1").outcome is Outcome.SENT
    assert rt.ledger.load(CUSTOMER, None, None, True).ledger.contacts[0].request_id == "r-1"


def test_the_same_contact_id_again_counts_once(local_aws: None, policy: Policy) -> None:
    roomy = {"caps": tuple(c.model_copy(update={"limit": 5}) for c in policy.caps)}
    runtime = LocalRuntime(policy.model_copy(update=roomy), START)
    customer(runtime, CUSTOMER)
    contact(runtime, "mail-1", START - timedelta(hours=2))
    version = runtime.ledger.load(CUSTOMER, None, None, True).ledger.version
    contact(runtime, "mail-1", START - timedelta(hours=2))
    contact(runtime, "mail-1", START - timedelta(hours=1))  # a resend with another time: the same contact

    state = runtime.ledger.load(CUSTOMER, None, None, True).ledger
    assert [c.request_id for c in state.contacts] == ["contact:mail-1"]
    assert state.version == version  # nothing written, so no decision is made to read again
    assert request(runtime, "r-1").outcome is Outcome.SENT
    assert counts(runtime, "r-1")["touches_daily"] == [1, 5]


def test_a_transactional_category_is_not_counted_by_a_cap_without_match(rt: LocalRuntime) -> None:
    contact(rt, "call-1", START - timedelta(hours=1), channel="call", category="order_confirmation")

    assert request(rt, "r-1").outcome is Outcome.SENT
    assert counts(rt, "r-1")["touches_daily"] == [0, 1]


def test_contacts_are_kept_in_time_order_with_their_category_priority(rt: LocalRuntime) -> None:
    contact(rt, "mail-2", START - timedelta(hours=2), campaign_id="bf-2026")
    contact(rt, "store-1", START - timedelta(hours=5), channel="store", category="review_request")

    state = rt.ledger.load(CUSTOMER, None, None, True).ledger
    assert [(c.request_id, c.channel, c.priority, c.campaign_id) for c in state.contacts] == [
        ("contact:store-1", "store", 20, None),
        ("contact:mail-2", "direct_mail", 30, "bf-2026"),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channel": "Direct Mail"}, "channel"),
        ({"at": "2026-11-27T09:00:00"}, "at"),  # no offset
        ({"at": None}, "at"),
        ({"contact_id": None}, "contact_id"),
        ({"category": "Sale!"}, "category"),
        ({"campaign": "bf"}, "campaign"),  # unknown field
        ({"at": (START + timedelta(hours=1)).isoformat()}, "at"),  # not made yet
    ],
)
def test_a_bad_contact_is_rejected_naming_the_field(
    rt: LocalRuntime, caplog: pytest.LogCaptureFixture, change: dict[str, Any], field: str
) -> None:
    detail = {
        "contact_id": "mail-1",
        "customer_id": CUSTOMER,
        "channel": "direct_mail",
        "category": "sale",
        "at": (START - timedelta(hours=1)).isoformat(),
        **change,
    }
    detail = {k: v for k, v in detail.items() if v is not None}
    caplog.clear()

    body = envelope(rt.clock.now(), "ContactRecorded", detail)
    assert rt.invoke_profile([body]) == {"batchItemFailures": []}  # dropped, not retried

    rejected = [r for r in caplog.records if r.getMessage() == "customer event rejected"]
    assert [getattr(r, "reason", None) for r in rejected] == [f"invalid:{field}"]
    assert rt.ledger.load(CUSTOMER, None, None, True).ledger.contacts == ()


def test_explain_shows_recorded_contacts_in_the_timeline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY)
    events = [
        envelope(START, "CustomerUpdated", {"customer_id": CUSTOMER, "email": "c1@example.com",
                                              "consent": {"email": True}, "timezone": "America/Chicago"}),
        envelope(START, "ContactRecorded", {"contact_id": "mail-1", "customer_id": CUSTOMER,
                                              "channel": "direct_mail", "category": "sale", "campaign_id": "bf-2026",
                                              "at": (START - timedelta(hours=1)).isoformat()}),
        envelope(START, "MessageRequested", {"request_id": "r-1", "customer_id": CUSTOMER, "channel": "email",
                                               "category": "sale", "template": "sale",
                                               "data": {"headline": "Cyber Monday", "url": "https://x.example"}}),
    ]  # fmt: skip
    replay_file = tmp_path / "day.jsonl"
    replay_file.write_text("\n".join(events) + "\n")

    code = cli.main(["explain", CUSTOMER, "--replay", str(replay_file), "--policy", str(policy_file)])
    out = capsys.readouterr().out

    assert code == 0
    assert out.splitlines()[0] == f"{CUSTOMER}: 1 request(s): 1 suppressed; 1 contact(s) made outside Baton"
    blocks = out.split("\n\n")[1:]
    assert blocks[0].splitlines() == [
        "2026-11-27 05:00:00 CST  contact:mail-1  sale by direct_mail priority 30 campaign bf-2026",
        "    made outside Baton: caps count it",
    ]
    assert "r-1" in blocks[1] and "suppressed: cap:touches_daily" in blocks[1]


def test_a_contact_recorded_between_a_decisions_read_and_commit_makes_it_decide_again(rt: LocalRuntime) -> None:
    """The contact's write moves the version: the commit made on the state read before it fails its condition,
    and the arbiter reads again and counts the contact."""
    client = rt.ledger._m.connection.client  # the client pynamodb sends TransactWriteItems with
    recorded: list[bool] = []

    def contact_meanwhile(**_: Any) -> None:
        if not recorded:
            recorded.append(True)
            contact(rt, "call-1", START - timedelta(minutes=5), channel="call")

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", contact_meanwhile)
    try:
        report = request(rt, "r-1")
    finally:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", contact_meanwhile)

    assert recorded == [True]
    assert (report.outcome, report.reason) == (Outcome.SUPPRESSED, "cap:touches_daily")
    state = rt.ledger.load(CUSTOMER, None, None, True).ledger
    assert [c.request_id for c in state.contacts] == ["contact:call-1"]
