"""The global holdout: who is in it (a keyed hash of the customer id), and what the arbiter does with the requests
of those in it, on the in-memory ledger and a simulated clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from baton.adapters.memory import MemoryLedger
from baton.adapters.policy_source import StaticPolicy
from baton.app.arbiter import Arbiter, Report
from baton.app.holdout import held_out, holdout_place, in_holdout
from baton.app.keys import LOCAL_ADDRESS_SALT
from baton.app.preview import preview
from baton.contract import CustomerUpdated, parse_detail
from baton.core.clock import SimulatedClock
from baton.core.domain import Outcome
from baton.core.errors import ConfigurationError
from baton.core.policy import Policy, check_document

START = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
KEY = b"a-deployment-address-salt-of-32-bytes-or-more"
SALE = {"headline": "Winter sale", "url": "https://shop.example/sale"}


def with_holdout(policy: Policy, percent: float = 5, exempt: tuple[str, ...] = ()) -> Policy:
    """The policy with a holdout, and decisions at once (no arbitration windows)."""
    categories = {k: v.model_copy(update={"arbitration_window": timedelta(0)}) for k, v in policy.categories.items()}
    document = policy.model_dump(mode="json") | {
        "categories": {k: v.model_dump(mode="json") for k, v in categories.items()},
        "holdout": {"percent": percent, "exempt_categories": list(exempt)},
    }
    return Policy.model_validate(document)


def test_the_share_held_out_is_the_setting_within_one_point_over_10000_customers() -> None:
    customers = [f"customer-{n}" for n in range(10_000)]
    for percent in (5, 20):
        share = sum(in_holdout(KEY, c, percent) for c in customers) / len(customers) * 100
        assert abs(share - percent) <= 1, (percent, share)


def test_the_group_depends_on_the_key_and_grows_with_the_percentage() -> None:
    customers = [f"customer-{n}" for n in range(2_000)]
    five = {c for c in customers if in_holdout(KEY, c, 5)}
    assert five == {c for c in customers if in_holdout(KEY, c, 5)}  # the same again
    assert five < {c for c in customers if in_holdout(KEY, c, 10)}  # held out at 5 % stays held out at 10 %
    other_key = {c for c in customers if in_holdout(LOCAL_ADDRESS_SALT, c, 5)}
    assert other_key != five and len(other_key & five) < len(five) / 2
    assert not any(in_holdout(KEY, c, 0) for c in customers)
    assert all(0 <= holdout_place(KEY, c) < 100 for c in customers)


def _customer(ledger: MemoryLedger, customer_id: str) -> None:
    detail = {"customer_id": customer_id, "email": f"{customer_id}@example.com", "consent": {"email": True},
              "timezone": "UTC"}  # fmt: skip
    ledger.update_profile(parse_detail(CustomerUpdated, detail), START)


def _request(customer_id: str, request_id: str, category: str = "sale", **extra: Any) -> dict[str, Any]:
    data = {"order_id": "A1", "total": "$10"} if category == "order_confirmation" else SALE
    if category == "password_reset":
        data = {"url": "https://shop.example/reset", "code": "482913"}
    if category == "back_in_stock":
        data = {"product": "Wool beanie", "url": "https://shop.example/p/2222"}
    return {"request_id": request_id, "customer_id": customer_id, "channel": "email", "category": category,
            "template": category, "data": data, **extra}  # fmt: skip


class Outbox:
    def __init__(self) -> None:
        self.sent = 0

    def send(self, envelope: Any) -> str:
        self.sent += 1
        return f"m-{self.sent}"


def _arbiter(policy: Policy, customers: list[str], key: bytes | None = KEY) -> tuple[Arbiter, list[Report]]:
    ledger = MemoryLedger()
    for customer_id in customers:
        _customer(ledger, customer_id)
    reports: list[Report] = []
    arbiter = Arbiter(
        ledger, Outbox(), StaticPolicy(policy), SimulatedClock(START), observer=reports.append, holdout_key=key
    )
    return arbiter, reports


def _held_out_by_arbiter(policy: Policy, customers: list[str]) -> set[str]:
    arbiter, reports = _arbiter(policy, customers)
    for customer_id in customers:
        arbiter.request(_request(customer_id, f"sale-{customer_id}"), event_id=f"e-{customer_id}")
    return {r.customer_id for r in reports if r.reason == "holdout" and r.customer_id}


def test_the_arbiter_holds_out_the_same_customers_in_any_order(default_policy: Policy) -> None:
    policy = with_holdout(default_policy, 5)
    customers = [f"c{n}" for n in range(1_500)]
    first = _held_out_by_arbiter(policy, customers)
    shuffled = customers[:]
    random.Random(11).shuffle(shuffled)
    assert _held_out_by_arbiter(policy, shuffled) == first
    assert first == {c for c in customers if in_holdout(KEY, c, 5)}
    assert 40 < len(first) < 110  # about 5 % of 1,500


def _one_held_out(count: int = 1) -> list[str]:
    return [c for c in (f"c{n}" for n in range(1_000)) if in_holdout(KEY, c, 5)][:count]


def test_a_held_out_customer_gets_no_marketing_and_every_transactional_message(default_policy: Policy) -> None:
    policy = with_holdout(default_policy, 5, exempt=("back_in_stock",))
    (customer,) = _one_held_out()
    arbiter, _ = _arbiter(policy, [customer])

    def outcome(request_id: str, category: str, **extra: Any) -> tuple[Outcome, str]:
        (report,) = arbiter.request(_request(customer, request_id, category, **extra), event_id=request_id)
        return report.outcome, report.reason

    assert outcome("s1", "sale") == (Outcome.SUPPRESSED, "holdout")
    # transactional by the request, or by its category (password_reset is transactional: true in the policy)
    assert outcome("o1", "order_confirmation", transactional=True)[0] is Outcome.SENT
    assert outcome("p1", "password_reset")[0] is Outcome.SENT
    # an exempt category is not held out
    assert outcome("b1", "back_in_stock", entity="sku:1")[0] is Outcome.SENT


def test_a_hard_stop_says_why_before_the_holdout(default_policy: Policy) -> None:
    policy = with_holdout(default_policy, 5)
    (customer,) = _one_held_out()
    arbiter, _ = _arbiter(policy, [customer])
    # no consent for sms: that is why, whatever the group
    detail = {**_request(customer, "s1"), "channel": "sms", "recipient": "+14155550100", "template": "sale"}
    (report,) = arbiter.request(detail, event_id="s1")
    assert (report.outcome, report.reason) == (Outcome.SUPPRESSED, "no_consent")


def test_no_holdout_in_the_policy_costs_no_key_and_holds_no_one(default_policy: Policy) -> None:
    customers = _one_held_out()
    arbiter, reports = _arbiter(default_policy.model_copy(), customers, key=None)
    arbiter.request(_request(customers[0], "s1"), event_id="s1")
    assert all(r.reason != "holdout" for r in reports)
    assert not held_out(default_policy, None, customers[0], "sale", False)
    with pytest.raises(ConfigurationError, match="holdout"):
        held_out(with_holdout(default_policy), None, customers[0], "sale", False)


def test_the_dry_run_preview_assigns_as_the_arbiter_does(default_policy: Policy) -> None:
    policy = with_holdout(default_policy, 5)
    held, kept = _one_held_out()[0], next(c for c in (f"c{n}" for n in range(100)) if not in_holdout(KEY, c, 5))
    ledger = MemoryLedger()
    for customer_id in (held, kept):
        _customer(ledger, customer_id)
    assert preview(ledger, policy, _request(held, "s1"), START, holdout_key=KEY).final.reason == "holdout"  # type: ignore[union-attr]
    assert preview(ledger, policy, _request(kept, "s2"), START, holdout_key=KEY).final.outcome is Outcome.SENT  # type: ignore[union-attr]


@pytest.mark.parametrize("percent", [-1, 50.5, 100, "five"])
def test_a_holdout_percent_outside_0_to_50_is_a_policy_error_naming_the_field(
    default_policy: Policy, percent: Any
) -> None:
    document = default_policy.model_dump(mode="json") | {"holdout": {"percent": percent}}
    check = check_document(document)
    assert check.policy is None
    assert [problem.field for problem in check.errors] == ["holdout.percent"]


def test_a_holdout_naming_an_unknown_field_or_a_bad_category_is_refused(default_policy: Policy) -> None:
    for holdout, field in (
        ({"percent": 5, "share": 3}, "holdout.share"),
        ({"percent": 5, "exempt_categories": ["Bad Name"]}, "holdout.exempt_categories[0]"),
        ({}, "holdout.percent"),
    ):
        check = check_document(default_policy.model_dump(mode="json") | {"holdout": holdout})
        assert [problem.field for problem in check.errors] == [field], holdout


def test_a_policy_without_a_holdout_keeps_its_content_hash(default_policy: Policy) -> None:
    assert default_policy.holdout is None
    assert default_policy.tag == "2026-11-23.1@44dcc4093f14"  # as the docs' examples show it
    held = Policy.model_validate(default_policy.model_dump(mode="json") | {"holdout": {"percent": 5}})
    assert held.digest_id != default_policy.digest_id
