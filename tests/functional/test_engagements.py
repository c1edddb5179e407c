"""What customers do (CustomerEngaged) through the real profile handler on moto: stored once by its id beside the
customer's state (whose version does not move), purchases readable for ``baton lift``; bad ones are rejected naming
the field, dropped and never retried."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from baton.local.mocked_aws import REGION
from baton.local.runtime import LocalRuntime
from tests.conftest import START

CUSTOMER = "c1"


def envelope(detail: dict[str, Any]) -> str:
    return json.dumps(
        {"version": "0", "id": str(uuid.uuid4()), "detail-type": "CustomerEngaged", "source": "shop.checkout",
         "account": "123456789012", "time": START.isoformat(), "region": REGION, "resources": [], "detail": detail}
    )  # fmt: skip


def purchase(**change: Any) -> dict[str, Any]:
    detail = {"customer_id": CUSTOMER, "kind": "purchase", "at": (START - timedelta(hours=1)).isoformat(),
              "value": 59.9, "channel": "web", "engagement_id": "order-1", **change}  # fmt: skip
    return {k: v for k, v in detail.items() if v is not None}


def test_a_purchase_is_stored_once_and_leaves_the_customer_state_alone(runtime_now: LocalRuntime) -> None:
    update = {"customer_id": CUSTOMER, "email": "c1@example.com", "consent": {"email": True}}
    runtime_now.invoke_profile([envelope(update).replace('"CustomerEngaged"', '"CustomerUpdated"')])
    version = runtime_now.ledger.load(CUSTOMER, None, None, True).ledger.version

    assert runtime_now.invoke_profile([envelope(purchase()), envelope(purchase())]) == {"batchItemFailures": []}
    runtime_now.invoke_profile([envelope(purchase(engagement_id=None, kind="click", value=None))])

    bought = runtime_now.ledger.engagements(CUSTOMER, "purchase")
    assert [(e.key, e.value, e.at) for e in bought] == [("id:order-1", 59.9, START - timedelta(hours=1))]
    assert sorted(e.kind for e in runtime_now.ledger.engagements(CUSTOMER)) == ["click", "purchase"]
    assert runtime_now.ledger.load(CUSTOMER, None, None, True).ledger.version == version


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "visit"}, "kind"),
        ({"kind": None}, "kind"),
        ({"at": "2026-11-27T11:00:00"}, "at"),  # no offset
        ({"at": (START + timedelta(hours=1)).isoformat()}, "at"),  # in the future
        ({"channel": "fax"}, "channel"),
        ({"value": "12"}, "value"),
        ({"value": -1}, "value"),
        ({"engagement_id": "has space"}, "engagement_id"),
        ({"revenue": 3}, "revenue"),
        ({"customer_id": None}, "customer_id"),
    ],
)
def test_a_bad_engagement_is_rejected_naming_the_field(
    runtime_now: LocalRuntime, caplog: pytest.LogCaptureFixture, change: dict[str, Any], field: str
) -> None:
    caplog.clear()
    assert runtime_now.invoke_profile([envelope(purchase(**change))]) == {"batchItemFailures": []}  # not retried
    rejected = [r for r in caplog.records if r.getMessage() == "customer event rejected"]
    assert [getattr(r, "reason", None) for r in rejected] == [f"invalid:{field}"]
    assert runtime_now.ledger.engagements(CUSTOMER) == []
