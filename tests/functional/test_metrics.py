"""What the handlers publish to CloudWatch (embedded metric format on stdout): outcomes, and outcomes by channel
and reason, under the namespace and dimension the stack's alarms and dashboard read."""

from __future__ import annotations

import json
from typing import Any

import pytest

from baton.core.policy import Policy
from baton.local.runtime import LocalRuntime
from baton.names import METRICS_NAMESPACE, SERVICE
from tests.conftest import START, without_windows
from tests.functional.conftest import Lines


def emitted(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"_aws"')]


def total(blob: dict[str, Any], name: str) -> float:
    value = blob.get(name, 0.0)
    return float(sum(value)) if isinstance(value, list) else float(value)


def test_each_decision_is_counted_by_outcome_channel_and_reason(
    runtime_now: LocalRuntime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    event = {"time": START.isoformat(), "source": "shop"}
    profile = {"customer_id": "c-m", "email": "m@example.com", "consent": {"email": True}, "timezone": "UTC"}
    runtime_now.invoke_profile([json.dumps({**event, "id": "u", "detail-type": "CustomerUpdated", "detail": profile})])
    capsys.readouterr()
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")

    def sale(n: int) -> str:
        detail = {
            "request_id": f"s{n}",
            "customer_id": "c-m",
            "channel": "email",
            "category": "sale",
            "template": "sale",
            "data": {"headline": "h", "url": "https://shop.example"},
        }
        return json.dumps({**event, "id": f"m{n}", "detail-type": "MessageRequested", "detail": detail})

    runtime_now.invoke_arbiter([sale(1), sale(2)])  # the default policy sends one sale a day
    (blob,) = emitted(capsys.readouterr().out)
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == METRICS_NAMESPACE
    assert blob["service"] == SERVICE and ["service"] in directive["Dimensions"]
    assert total(blob, "Outcome_sent") == 1.0
    assert total(blob, "Outcome_suppressed") == 1.0
    assert total(blob, "Reason_sent_email_within_policy") == 1.0
    assert total(blob, "Reason_suppressed_email_cap") == 1.0
    assert "m@example.com" not in json.dumps(blob)


def test_a_held_out_request_is_counted_apart_from_suppressions(
    local_aws: None, default_policy: Policy, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from baton.app.holdout import in_holdout
    from baton.app.keys import LOCAL_ADDRESS_SALT

    policy = Policy.model_validate(
        without_windows(default_policy).model_dump(mode="json") | {"holdout": {"percent": 10}}
    )
    runtime = LocalRuntime(policy, START)
    customer = next(c for c in (f"c-{n}" for n in range(500)) if in_holdout(LOCAL_ADDRESS_SALT, c, 10))
    event = {"time": START.isoformat(), "source": "shop"}
    profile = {"customer_id": customer, "email": "h@example.com", "consent": {"email": True}, "timezone": "UTC"}
    runtime.invoke_profile([json.dumps({**event, "id": "u", "detail-type": "CustomerUpdated", "detail": profile})])
    capsys.readouterr()
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    detail = {"request_id": "s1", "customer_id": customer, "channel": "email", "category": "sale",
              "template": "sale", "data": {"headline": "h", "url": "https://shop.example"}}  # fmt: skip
    runtime.invoke_arbiter([json.dumps({**event, "id": "m1", "detail-type": "MessageRequested", "detail": detail})])
    (blob,) = emitted(capsys.readouterr().out)
    assert total(blob, "HeldOut") == 1.0
    assert total(blob, "Outcome_suppressed") == 0.0
    assert total(blob, "Reason_suppressed_email_holdout") == 1.0


def test_the_decision_line_names_the_request_and_the_invocation_and_leaves_out_what_the_log_group_says(
    runtime_now: LocalRuntime, logged: Lines
) -> None:
    """The arbiter's ``decision`` line as Lambda writes it (powertools' JSON): what an operator queries in Logs
    Insights (the request, the customer, the outcome and its reason, the invocation), without the function's ARN
    and the code location, which every line would repeat at CloudWatch Logs' price per byte."""
    event = {"time": START.isoformat(), "source": "shop"}
    profile = {"customer_id": "c-l", "email": "l@example.com", "consent": {"email": True}, "timezone": "UTC"}
    runtime_now.invoke_profile([json.dumps({**event, "id": "u", "detail-type": "CustomerUpdated", "detail": profile})])
    detail = {"request_id": "s1", "customer_id": "c-l", "channel": "email", "category": "sale", "template": "sale",
              "data": {"headline": "h", "url": "https://shop.example"}}  # fmt: skip
    logged.taken()
    runtime_now.invoke_arbiter([json.dumps({**event, "id": "m1", "detail-type": "MessageRequested", "detail": detail})])
    lines = [json.loads(line) for line in logged.taken().splitlines() if line.startswith("{")]
    # one line, taken at the function's logger and again at the root it propagates to
    decisions = {json.dumps(line, sort_keys=True): line for line in lines if line.get("message") == "decision"}
    (decision,) = decisions.values()
    assert {k: decision[k] for k in ("request_id", "customer_id", "outcome", "reason", "channel", "category")} == {
        "request_id": "s1", "customer_id": "c-l", "outcome": "sent", "reason": "within_policy", "channel": "email",
        "category": "sale"}  # fmt: skip
    assert decision["service"] == SERVICE and decision["level"] == "INFO"
    assert {"function_name", "function_request_id", "cold_start", "timestamp"} <= decision.keys()
    assert not {"function_arn", "location"} & decision.keys()
    assert "l@example.com" not in json.dumps(lines)
