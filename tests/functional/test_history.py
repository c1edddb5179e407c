"""A request's history is every step it went through: arrived, each deferral with its reason and due time,
released, sending, sent or its end. Held to what the service reported of each request, over generated replays,
and shown by `baton explain` for the demo's shopper."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baton.adapters.dynamodb.codec import HISTORY_LIMIT, append_steps
from baton.app.arbiter import Report
from baton.app.ports import Step
from baton.core.domain import Outcome
from baton.core.policy import Policy
from baton.local import cli
from baton.local.replay import read_lines, replay

START = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
CATEGORIES = {
    "newsletter": {"headline": "News", "url": "https://shop.example/n"},
    "sale": {"headline": "Sale", "url": "https://shop.example/s"},
    "back_in_stock": {"product": "Beanie", "url": "https://shop.example/p/1"},
    "price_drop": {"product": "Lamp", "price": "$29", "url": "https://shop.example/p/2"},
    "cart_abandoned": {"items": ["Boots"], "cart_url": "https://shop.example/c"},
    "review_request": {"product": "Bottle", "url": "https://shop.example/r"},
    "order_confirmation": {"order_id": "A1", "total": "$10"},
}


def _event(kind: str, at: datetime, detail: dict[str, Any], n: int) -> dict[str, Any]:
    return {"id": f"e{n}", "time": at.isoformat(), "source": "shop", "detail-type": kind, "detail": detail}


@st.composite
def days(draw: st.DrawFn) -> list[dict[str, Any]]:
    """One or two shoppers' requests over two days, bunched so that windows, caps, quiet hours, digests and
    exclusions meet."""
    events = []
    customers = draw(st.sampled_from([["c1"], ["c1", "c2"]]))
    for n, customer in enumerate(customers):
        profile = {"customer_id": customer, "email": f"{customer}@example.com", "phone": "+13125550100",
                   "timezone": "America/Chicago", "consent": {"email": True, "sms": True}}  # fmt: skip
        events.append(_event("CustomerUpdated", START, profile, n))
    for i in range(draw(st.integers(1, 9))):
        category = draw(st.sampled_from(sorted(CATEGORIES)))
        detail = {
            "request_id": f"r{i}",
            "customer_id": draw(st.sampled_from(customers)),
            "channel": draw(st.sampled_from(["email", "email", "sms"])),
            "category": category,
            "template": category,
            "data": CATEGORIES[category],
            "entity": draw(st.sampled_from(["sku:1", "sku:2", "cart:1"])),
        }
        if category == "order_confirmation":
            detail["transactional"] = True
        at = START + timedelta(minutes=draw(st.sampled_from([1, 5, 9, 14, 30, 600, 660, 1500])))
        events.append(_event("MessageRequested", at, detail, 10 + i))
    return sorted(events, key=lambda e: e["time"])


def _reported(report: Report) -> tuple[str, str, datetime | None]:
    if report.outcome is Outcome.DEFERRED:
        return ("deferred", report.reason, report.release_at)
    return (report.outcome.value, report.reason, None)


def _passed(step: Step) -> tuple[str, str, datetime | None]:
    return (step.what, step.reason, step.until)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days())
def test_a_requests_history_is_the_sequence_of_states_it_passed_through(
    default_policy: Policy, events: list[dict[str, Any]]
) -> None:
    histories: dict[str, tuple[Step, ...]] = {}

    def read(runtime: Any) -> None:
        for customer in {e["detail"]["customer_id"] for e in events}:
            for record in runtime.ledger.timeline(customer):
                histories[record.request_id] = record.history

    run = replay(read_lines(json.dumps(e) for e in events), default_policy, inspect=read)
    for result in run.results:
        rid = result.request_id or ""
        history = histories[rid]
        assert history[0].what == "arrived", history
        states = [_passed(s) for s in history if s.what not in ("arrived", "released", "sending")]
        reported = [_reported(r) for r in run.trail if r.request_id == rid and r.outcome is not Outcome.DUPLICATE]
        assert states == reported, rid
        # a release ends a wait; a send is confirmed (a digest member gathered into a message before its own due
        # time goes from its wait to the carrier's send, or to another wait, without a release of its own)
        for before, after in pairwise(history):
            if after.what == "released":
                assert before.what == "deferred", (before, after)
            if before.what == "sending":
                assert after.what in ("sent", "failed", "suppressed", "taken_over", "retry"), (before, after)
        assert history[-1].what == result.outcome, (rid, history[-1], result.outcome)


def test_explain_shows_the_demo_shoppers_waits(capsys: Any) -> None:
    """The demo shopper's push sale waited for its arbitration window, then for quiet hours; by then the catalogue
    recorded at 07:50 had taken the day's marketing room it could use."""
    assert cli.main(["explain", "shopper-42", "--replay", "examples/shopper_day.jsonl"]) == 0
    out = capsys.readouterr().out
    block = next(b for b in out.split("\n\n") if "  req-003  " in b)
    steps = [line.split("CST  ", 1)[1] for line in block.splitlines() if line.startswith("    . ")]
    assert steps == [
        "arrived",
        "deferred arbitration_window until 2026-11-27 06:45:00 CST",
        "released arbitration_window",
        "deferred quiet_hours until 2026-11-27 08:00:00 CST",
        "released quiet_hours",
        "suppressed cap:all_marketing_daily",
    ]
    assert "times in America/Chicago; policy " in out and "(the shipped default)" in out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(1, 3), min_size=1, max_size=30))
def test_the_history_keeps_its_first_steps_and_the_latest_within_the_bound(batches: list[int]) -> None:
    """Appended on moto in batches of one to three steps (a decision, with its release), a request item's history
    holds at most HISTORY_LIMIT steps: the first HISTORY_LIMIT - 1 ever made, then the latest; the rest are
    counted as dropped."""
    from baton.adapters.dynamodb.codec import decode_history, step
    from baton.adapters.dynamodb.items import customer_pk, request_sk
    from baton.adapters.dynamodb.ledger import DynamoLedger
    from baton.local.mocked_aws import REGION, mocked_aws

    with mocked_aws(table_name="history-bound"):
        ledger = DynamoLedger("history-bound", retention=timedelta(days=1), region=REGION)
        r = ledger._m.request
        item = r(customer_pk("c1"), request_sk("r1"), status="pending")
        item.save()
        made: list[str] = []
        held = 0
        for size in batches:
            new = [
                step(START + timedelta(minutes=len(made) + k), "deferred", f"s{len(made) + k}") for k in range(size)
            ]
            made += new
            actions, held = append_steps(r.steps, held, new, r.steps_dropped)
            item.update(actions=actions)
        stored = r.get(customer_pk("c1"), request_sk("r1"))
        reasons = [s.reason for s in decode_history(stored)]
        want = [f"s{k}" for k in range(len(made))]
        assert held == len(reasons) <= HISTORY_LIMIT
        if len(made) <= HISTORY_LIMIT:
            assert reasons == want and not stored.steps_dropped
        else:
            assert reasons == [*want[: HISTORY_LIMIT - 1], want[-1]]
            assert stored.steps_dropped == len(made) - HISTORY_LIMIT
