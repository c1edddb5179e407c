"""``baton lift`` through its entry point: a replay on moto of customers with purchases (CustomerEngaged), under a
policy with a holdout; the groups as the arbiter assigned them, purchases counted once, within the window."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from baton.app.holdout import in_holdout
from baton.app.keys import LOCAL_ADDRESS_SALT
from baton.core.policy import default_policy_path
from baton.local import cli

START = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
CUSTOMERS = 40
PERCENT = 50
KEYS = {"treatment_customers", "holdout_customers", "treatment_conversion_rate", "holdout_conversion_rate",
        "uplift_abs", "uplift_ci95", "uplift_rel"}  # fmt: skip


def ev(n: int, at: datetime, detail_type: str, detail: dict[str, Any]) -> str:
    return json.dumps({"id": f"e{n}", "time": at.isoformat(), "source": "shop", "detail-type": detail_type,
                       "detail": detail})  # fmt: skip


def customer_events(n: int) -> list[tuple[datetime, str, dict[str, Any]]]:
    c = f"shopper-{n}"
    at = START + timedelta(minutes=n)
    profile = {"customer_id": c, "email": f"{c}@example.com", "consent": {"email": True}, "timezone": "UTC"}
    sale = {"request_id": f"sale-{n}", "customer_id": c, "channel": "email", "category": "sale", "template": "sale",
            "data": {"headline": "h", "url": "https://shop.example"}}  # fmt: skip
    out: list[tuple[datetime, str, dict[str, Any]]] = [(at, "CustomerUpdated", profile), (at, "MessageRequested", sale)]
    if n % 3 == 0:  # buys a day later, reported twice (the same order id)
        bought = {"customer_id": c, "kind": "purchase", "at": (at + timedelta(days=1)).isoformat(), "value": 30,
                  "engagement_id": f"order-{n}"}  # fmt: skip
        out += [(at + timedelta(days=1), "CustomerEngaged", bought), (at + timedelta(days=1, hours=1),
                "CustomerEngaged", bought)]  # fmt: skip
    if n % 5 == 1:  # buys 10 days later: outside a 7d window
        late = {"customer_id": c, "kind": "purchase", "at": (at + timedelta(days=10)).isoformat(), "value": 99}
        out.append((at + timedelta(days=10), "CustomerEngaged", late))
    return out


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    events = sorted((e for n in range(CUSTOMERS) for e in customer_events(n)), key=lambda e: e[0])
    # a transactional-only customer: no marketing request, not compared
    receipt = {"request_id": "receipt-1", "customer_id": "only-receipts", "channel": "email",
               "category": "order_confirmation", "template": "order_confirmation", "transactional": True,
               "recipient": "r@example.com", "data": {"order_id": "A-1", "total": "$10"}}  # fmt: skip
    events.append((START, "MessageRequested", receipt))
    path = tmp_path / "events.jsonl"
    path.write_text("".join(ev(i, at, kind, detail) + "\n" for i, (at, kind, detail) in enumerate(events)))
    policy = tmp_path / "policy.yaml"
    policy.write_text(Path(default_policy_path()).read_text() + f"\nholdout: {{percent: {PERCENT}}}\n")
    return path, policy


def test_lift_json_counts_the_groups_as_assigned_and_each_purchase_once(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    events, policy = files
    assert cli.main(["lift", "--replay", str(events), "--policy", str(policy), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(figures) >= KEYS
    held = {n for n in range(CUSTOMERS) if in_holdout(LOCAL_ADDRESS_SALT, f"shopper-{n}", PERCENT)}
    treated = set(range(CUSTOMERS)) - held
    assert (figures["treatment_customers"], figures["holdout_customers"]) == (len(treated), len(held))
    converted_t = sum(1 for n in treated if n % 3 == 0)
    converted_h = sum(1 for n in held if n % 3 == 0)
    assert figures["treatment_conversion_rate"] == pytest.approx(converted_t / len(treated), abs=1e-6)
    assert figures["holdout_conversion_rate"] == pytest.approx(converted_h / len(held), abs=1e-6)
    assert figures["uplift_abs"] == pytest.approx(converted_t / len(treated) - converted_h / len(held), abs=1e-6)
    assert figures["treatment_revenue_per_customer"] == pytest.approx(30 * converted_t / len(treated), abs=1e-3)
    # twenty customers a group cannot give a meaningful interval: said, not hidden
    assert figures["uplift_ci95"] is None and "fewer than" in figures["too_few"]


def test_lift_prints_the_table_with_a_wider_window(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    events, policy = files
    assert cli.main(["lift", "--replay", str(events), "--policy", str(policy), "--window", "14d"]) == 0
    out = capsys.readouterr().out
    assert "holdout 50%" in out and "attribution window: 336h" in out
    assert "conversion rate" in out and "95% confidence interval: not given" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--window", "soon"], "--window"),
        (["--window", "0d"], "--window must be longer than 0"),
        (["--policy", "DEFAULT"], "the policy has no holdout"),
    ],
)
def test_lift_refuses_what_it_cannot_use(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    events, policy = files
    args = ["lift", "--replay", str(events), "--policy", str(policy), *extra]
    if "DEFAULT" in extra:
        args = ["lift", "--replay", str(events)]
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err


def test_lift_on_a_deployed_table_needs_the_salt_secret(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, policy = files
    assert cli.main(["lift", "--table", "baton-ledger", "--policy", str(policy)]) == 2
    assert "--salt-secret is required" in capsys.readouterr().err


def test_the_replay_report_shows_the_same_figures_as_lift(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from baton.core.policy import load_policy_file
    from baton.local.lift import DEFAULT_WINDOW, lift, lift_table
    from baton.local.replay import read_lines, replay
    from baton.local.report import Side, report_data

    events, policy_file = files
    policy = load_policy_file(str(policy_file))
    with events.open() as handle:
        lines = read_lines(handle)
    run = replay(lines, policy)
    assert run.lift_outcomes is not None
    data = report_data(lines, [Side(policy.tag, policy_file.name, run)], ZoneInfo("UTC"))
    (shown,) = data["lift"]
    assert cli.main(["lift", "--replay", str(events), "--policy", str(policy_file), "--json"]) == 0
    assert shown["figures"] == json.loads(capsys.readouterr().out)
    rows, sentences = lift_table(lift(run.lift_outcomes, DEFAULT_WINDOW))
    assert shown["rows"] == [list(row) for row in rows] and shown["sentences"] == sentences

    page = tmp_path / "report.html"
    assert cli.main(["replay", str(events), "--policy", str(policy_file), "--report", str(page)]) == 0
    html = page.read_text()
    assert 'id="lift"' in html
    treated = shown["figures"]["treatment_customers"]
    assert f'<td>customers</td><td class="n">{treated}</td>' in html
    assert "95% confidence interval: not given" in html


def test_decide_dry_run_holds_out_the_customers_replay_held_out(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from baton.ops.explain import describe

    events, policy = files
    held = next(n for n in range(CUSTOMERS) if in_holdout(LOCAL_ADDRESS_SALT, f"shopper-{n}", PERCENT))
    kept = next(n for n in range(CUSTOMERS) if not in_holdout(LOCAL_ADDRESS_SALT, f"shopper-{n}", PERCENT))
    for n, reason in ((held, "holdout"), (kept, None)):
        detail = {"request_id": f"again-{n}", "customer_id": f"shopper-{n}", "channel": "email",
                  "category": "newsletter", "template": "newsletter", "data": {"headline": "h",
                  "url": "https://shop.example"}}  # fmt: skip
        event = tmp_path / f"event-{n}.json"
        event.write_text(json.dumps(detail))
        args = ["decide", "--dry-run", str(event), "--replay", str(events), "--policy", str(policy), "--json"]
        assert cli.main(args) == 0
        preview = json.loads(capsys.readouterr().out)
        assert (preview["reason"] == "holdout") is (reason == "holdout"), preview
    assert describe("holdout") == "the customer is in the policy's holdout group"
