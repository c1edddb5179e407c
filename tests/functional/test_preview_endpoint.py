"""The decision preview endpoint through its real handler (function URL event, powertools resolver): JSON answers,
400s that name the field, and nothing recorded."""

from __future__ import annotations

import json
from typing import Any

from baton.local.runtime import LocalRuntime
from tests.conftest import START

CUSTOMER = "c-preview"


def profile(runtime: LocalRuntime) -> None:
    detail = {"customer_id": CUSTOMER, "email": "pat@example.com", "consent": {"email": True}, "timezone": "UTC"}
    event = {"id": "u1", "time": START.isoformat(), "source": "shop", "detail-type": "CustomerUpdated"}
    assert runtime.invoke_profile([json.dumps({**event, "detail": detail})]) == {"batchItemFailures": []}


def sale(rid: str, **extra: Any) -> dict[str, Any]:
    return {
        "request_id": rid,
        "customer_id": CUSTOMER,
        "channel": "email",
        "category": "sale",
        "template": "sale",
        "data": {"headline": "h", "url": "https://shop.example"},
        **extra,
    }


def test_preview_answers_with_the_steps_and_records_nothing(runtime_now: LocalRuntime) -> None:
    profile(runtime_now)
    response = runtime_now.invoke_preview(sale("p-1"))
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body["would_send_now"] is True
    assert body["outcome"] == "sent" and body["reason"] == "within_policy"
    assert body["steps"][0]["counts"]  # the counts each cap saw
    assert runtime_now.ledger.timeline(CUSTOMER) == []
    assert "pat@example.com" not in response["body"]


def test_preview_over_the_cap_names_it_and_when_it_fits(runtime_now: LocalRuntime) -> None:
    profile(runtime_now)
    event = {"id": "m", "time": START.isoformat(), "source": "shop", "detail-type": "MessageRequested"}
    for n in range(3):
        runtime_now.invoke_arbiter([json.dumps({**event, "id": f"m{n}", "detail": sale(f"s-{n}")})])
    body = json.loads(runtime_now.invoke_preview(sale("p-2"))["body"])
    assert body["would_send_now"] is False
    final = body["steps"][-1]
    cap = body["reason"].split(":", 1)[1]
    assert final["counts"][cap]["count"] >= final["counts"][cap]["limit"]
    assert body["fits_at"] is not None or body["outcome"] == "deferred"


def test_preview_of_a_bad_request_is_a_400_naming_the_field(runtime_now: LocalRuntime) -> None:
    response = runtime_now.invoke_preview(sale("p-3", channel="fax"))
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["field"] == "channel"
    response = runtime_now.invoke_preview("not json")
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["field"] == "body"
