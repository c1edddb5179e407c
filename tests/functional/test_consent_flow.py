"""Consent, unsubscribe, feedback and erasure through the real handlers on moto (Given / When / Then)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import boto3
import pytest

from baton.adapters.dynamodb.ledger import iter_items
from baton.app.keys import EPOCH, LOCAL_ADDRESS_SALT, LOCAL_SIGNING_KEYS, SigningKey
from baton.app.unsubscribe import Claim, sign
from baton.local.mocked_aws import sent_messages
from baton.local.runtime import LocalRuntime

CUSTOMER = "shopper-zq"
EMAIL = "sam@example.com"
PHONE = "+13125550142"
SIGNING_KEY = LOCAL_SIGNING_KEYS.keys[0]
TOKEN_RE = re.compile(r"[?]token=([A-Za-z0-9._-]+)>")


def event(runtime: LocalRuntime, detail_type: str, detail: dict[str, Any], source: str = "shop") -> str:
    now = runtime.clock.now().isoformat()
    return json.dumps(
        {"id": f"e-{now}-{id(detail)}", "time": now, "source": source, "detail-type": detail_type, "detail": detail}
    )


def profile(runtime: LocalRuntime, **extra: Any) -> None:
    detail = {"customer_id": CUSTOMER, "email": EMAIL, "phone": PHONE, "consent": {"email": True, "sms": True}, **extra}
    assert runtime.invoke_profile([event(runtime, "CustomerUpdated", detail)]) == {"batchItemFailures": []}


def request(runtime: LocalRuntime, rid: str, category: str = "sale", **extra: Any) -> None:
    templates = {
        "sale": {"headline": "h", "url": "u"},
        "back_in_stock": {"product": "p", "url": "u"},
        "order_confirmation": {"order_id": "A1", "total": "$1"},
    }
    detail = {
        "request_id": rid,
        "customer_id": CUSTOMER,
        "channel": "email",
        "category": category,
        "template": category,
        "data": templates[category],
        **extra,
    }
    assert runtime.invoke_arbiter([event(runtime, "MessageRequested", detail)]) == {"batchItemFailures": []}


def status(runtime: LocalRuntime, rid: str) -> tuple[str, str]:
    record = {r.request_id: r for r in runtime.ledger.timeline(CUSTOMER)}[rid]
    return record.status, record.reason


def bounce(runtime: LocalRuntime, bounce_type: str) -> None:
    detail = {
        "eventType": "Bounce",
        "bounce": {"bounceType": bounce_type, "bouncedRecipients": [{"emailAddress": EMAIL}]},
    }
    body = event(runtime, "Email Bounced", detail, source="aws.ses")
    assert runtime.invoke_feedback([body]) == {"batchItemFailures": []}


@pytest.fixture
def marketing_now(runtime_now: LocalRuntime) -> LocalRuntime:
    """Decisions at once: a policy with no arbitration windows."""
    return runtime_now


def test_the_raw_mime_carries_both_headers_with_a_token_the_endpoint_accepts(marketing_now: LocalRuntime) -> None:
    runtime = marketing_now
    profile(runtime)
    request(runtime, "r1")
    [message] = sent_messages()["email"]
    assert "\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in message.raw_data
    token = TOKEN_RE.search(message.raw_data)
    assert token is not None
    # GET only confirms (mail scanners prefetch links): nothing changes
    page = runtime.invoke_unsubscribe("GET", token.group(1))
    assert page["statusCode"] == 200 and 'method="post"' in page["body"]
    request(runtime, "r2", entity=None, campaign_id="other")
    assert status(runtime, "r2") != ("suppressed", "opted_out:sale")
    # POST unsubscribes at once
    assert runtime.invoke_unsubscribe("POST", token.group(1), "List-Unsubscribe=One-Click")["statusCode"] == 200
    runtime.clock.advance(timedelta(days=2))
    request(runtime, "r3")
    assert status(runtime, "r3") == ("suppressed", "opted_out:sale")


def test_a_forged_token_changes_nothing(marketing_now: LocalRuntime) -> None:
    runtime = marketing_now
    profile(runtime)
    before = runtime.ledger.load(CUSTOMER, None, None, consistent=True).ledger
    genuine = sign(Claim(CUSTOMER, "category:sale", runtime.clock.now() + timedelta(days=1)), SIGNING_KEY)
    forged_key = SigningKey(SIGNING_KEY.id, b"x" * 32, EPOCH)
    forged = sign(Claim(CUSTOMER, "category:sale", runtime.clock.now() + timedelta(days=1)), forged_key)
    expired = sign(Claim(CUSTOMER, "category:sale", runtime.clock.now() - timedelta(seconds=1)), SIGNING_KEY)
    assert runtime.invoke_unsubscribe("POST", forged)["statusCode"] == 403
    assert runtime.invoke_unsubscribe("POST", genuine[:-4])["statusCode"] == 403
    assert runtime.invoke_unsubscribe("POST", genuine.rsplit(".", 1)[0])["statusCode"] == 400
    assert runtime.invoke_unsubscribe("POST", expired)["statusCode"] == 410
    after = runtime.ledger.load(CUSTOMER, None, None, consistent=True).ledger
    assert after == before


def test_an_unsubscribe_and_a_request_in_the_same_second_is_not_sent(marketing_now: LocalRuntime) -> None:
    runtime = marketing_now
    profile(runtime)
    token = sign(Claim(CUSTOMER, "channel:email", runtime.clock.now() + timedelta(days=1)), SIGNING_KEY)
    # Given a decision that has read the ledger, When the unsubscribe commits before its write, Then the
    # decision's conditional write fails, it re-reads, and the message is not sent.
    original_load = runtime.ledger.load
    raced = []

    def load_then_unsubscribe(*args: Any, **kwargs: Any) -> Any:
        snapshot = original_load(*args, **kwargs)
        if not raced:
            raced.append(runtime.invoke_unsubscribe("POST", token, "List-Unsubscribe=One-Click")["statusCode"])
        return snapshot

    runtime.ledger.load = load_then_unsubscribe  # type: ignore[method-assign]
    request(runtime, "r1")
    assert raced == [200]
    assert status(runtime, "r1") == ("suppressed", "no_consent")
    assert sent_messages()["email"] == []


def test_a_hard_bounce_stops_marketing_and_transactional_mail(marketing_now: LocalRuntime) -> None:
    runtime = marketing_now
    profile(runtime)
    bounce(runtime, "Permanent")
    request(runtime, "m1")
    request(runtime, "t1", category="order_confirmation", transactional=True)
    request(runtime, "t2", category="order_confirmation", transactional=True, recipient=EMAIL.upper())
    assert status(runtime, "m1") == ("suppressed", "suppressed_address")
    assert status(runtime, "t1") == ("suppressed", "suppressed_address")
    assert status(runtime, "t2") == ("suppressed", "suppressed_address")
    assert sent_messages()["email"] == []


def test_a_soft_bounce_still_lets_transactional_mail_through(marketing_now: LocalRuntime) -> None:
    runtime = marketing_now
    profile(runtime)
    for _ in range(runtime.policy.feedback.soft_bounce_limit):
        bounce(runtime, "Transient")
    request(runtime, "t1", category="order_confirmation", transactional=True)
    request(runtime, "m1")
    assert status(runtime, "t1") == ("sent", "transactional")
    assert status(runtime, "m1") == ("suppressed", "suppressed_address")


def test_a_complaint_suppresses_an_address_given_in_the_request(marketing_now: LocalRuntime) -> None:
    runtime = marketing_now
    profile(runtime)
    detail = {"eventType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress": "other@example.com"}]}}
    runtime.invoke_feedback([event(runtime, "Email Complaint Received", detail, source="aws.ses")])
    request(runtime, "t1", category="order_confirmation", transactional=True, recipient="other@example.com")
    assert status(runtime, "t1") == ("suppressed", "suppressed_address")


def test_preferences_api_reads_updates_and_audits(marketing_now: LocalRuntime) -> None:
    runtime = marketing_now
    profile(runtime)
    caller = "arn:aws:sts::123456789012:assumed-role/storefront/session"
    body = {
        "preferences": {
            "opted_out_categories": ["newsletter"],
            "frequency": [{"channel": "email", "limit": 1, "window_days": 7}],
        }
    }
    response = runtime.invoke_preferences("PUT", CUSTOMER, json.dumps(body), caller)
    assert response["statusCode"] == 200
    stored = json.loads(response["body"])["preferences"]
    assert stored["opted_out_categories"] == ["newsletter"]
    assert stored["frequency"] == [{"channel": "email", "limit": 1, "window_days": 7}]
    bad = runtime.invoke_preferences(
        "PUT", CUSTOMER, json.dumps({"preferences": {"frequency": [{"limit": "one"}]}}), caller
    )
    assert bad["statusCode"] == 400 and "preferences.frequency" in json.loads(bad["body"])["field"]
    assert runtime.invoke_preferences("GET", "nobody", None, caller)["statusCode"] == 404
    audits = [i for i in iter_items(runtime.ledger) if str(i["sk"]).startswith("AUDIT#")]
    assert [a["actor"] for a in audits] == [caller]
    # the personal limit only tightens: one marketing email a week
    request(runtime, "m1")
    request(runtime, "m2", category="back_in_stock", priority=90)  # every policy cap has room for it
    assert status(runtime, "m1")[0] == "sent"
    assert status(runtime, "m2") == ("pending", "cap:personal:email_7d")  # back-in-stock defers over a cap


def test_erasure_leaves_no_trace_of_the_customer(marketing_now: LocalRuntime) -> None:
    runtime = marketing_now
    profile(runtime)
    request(runtime, "m1")
    request(runtime, "t1", category="order_confirmation", transactional=True)
    bounce(runtime, "Permanent")
    runtime.invoke_profile([event(runtime, "CustomerErased", {"customer_id": CUSTOMER})])
    table = boto3.client("dynamodb", region_name="us-east-1").scan(TableName="baton-ledger")["Items"]
    text = json.dumps(table)
    assert CUSTOMER not in text.replace("c1:", "")  # no key or attribute holds the id
    assert EMAIL not in text and PHONE not in text and EMAIL.split("@")[0] not in text
    # the suppressed address stays suppressed, by its keyed hash alone
    profile(runtime)
    request(runtime, "t2", category="order_confirmation", transactional=True)
    assert status(runtime, "t2") == ("suppressed", "suppressed_address")


def test_baton_erase_through_its_entry_point(marketing_now: LocalRuntime, capsys: pytest.CaptureFixture[str]) -> None:
    from baton.local.cli import main

    runtime = marketing_now
    profile(runtime)
    request(runtime, "m1")
    assert main(["erase", CUSTOMER, "--yes"]) == 2
    assert "--salt-secret is required" in capsys.readouterr().err
    # the deployment's salt, in (mocked) Secrets Manager
    salt = {"address_salt": LOCAL_ADDRESS_SALT.decode()}
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="baton/address-salt", SecretString=json.dumps(salt)
    )
    assert main(["erase", CUSTOMER, "--yes", "--salt-secret", "baton/address-salt"]) == 0
    assert "item(s) deleted" in capsys.readouterr().out
    assert runtime.ledger.timeline(CUSTOMER) == []
    # the option's name before the split, and the combined secret of before, still work
    combined = {"signing_key": "s" * 40, **salt}
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="baton/keys", SecretString=json.dumps(combined)
    )
    assert main(["erase", CUSTOMER, "--yes", "--keys-secret", "baton/keys"]) == 2
    assert f"no customer {CUSTOMER}" in capsys.readouterr().err


def test_an_sms_opt_out_is_honoured_and_frees_the_slot(marketing_now: LocalRuntime) -> None:
    runtime = marketing_now
    # moto treats numbers ending in 99 as on SNS's opt-out list (a STOP reply)
    profile(runtime, phone="+13125550199")
    detail = {
        "request_id": "s1",
        "customer_id": CUSTOMER,
        "channel": "sms",
        "category": "back_in_stock",
        "entity": "sku:1",
        "template": "back_in_stock",
        "data": {"product": "p", "url": "u"},
    }
    runtime.clock.set(runtime.clock.now().replace(hour=15))  # inside the day, outside SMS quiet hours
    runtime.invoke_arbiter([event(runtime, "MessageRequested", detail)])
    assert status(runtime, "s1") == ("failed", "sms_opted_out")
    assert sent_messages()["sms"] == []
    ledger = runtime.ledger.load(CUSTOMER, None, None, consistent=True).ledger
    assert [c.request_id for c in ledger.contacts] == []  # the failed send does not count against caps
