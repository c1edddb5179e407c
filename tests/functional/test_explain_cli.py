"""``baton explain`` and ``baton decide --dry-run`` through the CLI entry point, on the demo day's replay, and the
preview itself on a local ledger: it must record nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from baton.app.preview import preview
from baton.core.domain import Outcome
from baton.local import cli
from baton.local.runtime import LocalRuntime
from tests.conftest import START

ROOT = Path(__file__).resolve().parents[2]
DAY = str(ROOT / "examples" / "shopper_day.jsonl")
SHOPPER = "shopper-42"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def request(rid: str, category: str = "sale", **extra: Any) -> dict[str, Any]:
    data = {"headline": "Cyber Monday", "url": "https://shop.example/cm"}
    if category == "order_confirmation":
        data = {"order_id": "A-1", "total": "$10"}
    return {
        "request_id": rid,
        "customer_id": SHOPPER,
        "channel": "email",
        "category": category,
        "template": category,
        "data": data,
        **extra,
    }


def write(tmp_path: Path, name: str, document: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


# -- explain -------------------------------------------------------------------------------------------------


def test_explain_tells_the_demo_shoppers_day(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "explain", SHOPPER, "--replay", DAY)
    assert code == 0
    head = out.splitlines()[0]
    assert head.startswith(f"{SHOPPER}: 26 request(s)")
    blocks = {block.split("  ")[1]: block for block in out.split("\n\n")[1:]}
    # the purchase cancelled the pending cart reminders, and says which request did it
    assert "cancelled: excluded:req-013" in blocks["req-009"]
    assert "order_confirmation cart:987" in blocks["req-009"]
    assert "sent: transactional" in blocks["req-013"]
    # a request outranked by one waiting for quiet hours to end names it, and the counts its caps saw
    assert "suppressed: outranked:req-003" in blocks["req-004"]
    assert "waiting for quiet hours to end until 2026-11-27 08:00 CST" in blocks["req-004"]
    assert "all_marketing_daily 2/2" in blocks["req-004"]
    # what outranked what, and when the request waited because of it
    assert "deferred outranked:req-008 until 2026-11-29 07:30:00 CST" in blocks["req-014"]
    # the catalogue sent by direct mail (ContactRecorded) is in the timeline when it was made, and fills the
    # marketing room the sale by sms could use
    assert head.endswith("; 1 contact(s) made outside Baton")
    assert blocks["contact:catalogue-bf-2026"].splitlines() == [
        "2026-11-27 07:30:00 CST  contact:catalogue-bf-2026  sale by direct_mail priority 30 campaign bf-2026",
        "    made outside Baton: caps count it",
    ]
    assert "suppressed: cap:all_marketing_daily" in blocks["req-005"]
    assert "all_marketing_daily 2/2" in blocks["req-005"]
    # never an address
    assert "sam@example.com" not in out and "+1312" not in out


def test_explain_since_keeps_only_the_later_requests(capsys: pytest.CaptureFixture[str]) -> None:
    code, everything, _ = run(capsys, "explain", SHOPPER, "--replay", DAY)
    code_since, later, _ = run(capsys, "explain", SHOPPER, "--replay", DAY, "--since", "2026-11-28T00:00:00Z")
    assert code == code_since == 0
    count = int(later.splitlines()[0].split(": ")[1].split()[0])
    assert 0 < count < 26
    assert "req-002" in everything and "req-002" not in later


def test_explain_unknown_customer_fails_with_its_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "explain", "nobody-1", "--replay", DAY)
    assert code == 1
    assert "no customer nobody-1" in err and out == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["explain", SHOPPER, "--replay", "/no/such/events.jsonl"], "cannot read /no/such/events.jsonl"),
        (["explain", SHOPPER, "--replay", DAY, "--since", "yesterday"], "--since 'yesterday'"),
    ],
)
def test_explain_unusable_input_exits_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err


def test_explain_bad_policy_exits_2_naming_the_field(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: x\ntimezone: Mars/Olympus\ncaps: []\ncategories: {}\n")
    code, _, err = run(capsys, "explain", SHOPPER, "--replay", DAY, "--policy", str(bad))
    assert code == 2
    assert "timezone" in err


def test_explain_needs_a_source(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["explain", SHOPPER])
    assert exit_.value.code == 2
    assert "--replay" in capsys.readouterr().err


# -- decide --dry-run ----------------------------------------------------------------------------------------


def test_decide_names_the_cap_its_counts_and_when_it_fits(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    event = write(tmp_path, "e.json", {"detail-type": "MessageRequested", "detail": request("try-1")})
    code, out, _ = run(capsys, "decide", "--dry-run", event, "--replay", DAY, "--json")
    assert code == 0
    result = json.loads(out)
    assert result["would_send_now"] is False
    assert result["outcome"] == "suppressed"
    assert result["reason"].startswith("cap:")
    cap = result["reason"].split(":", 1)[1]
    final = result["steps"][-1]
    assert final["counts"][cap]["count"] >= final["counts"][cap]["limit"]
    assert result["steps"][0]["reason"] == "arbitration_window"  # sale waits for its window first
    assert result["fits_at"] > final["at"]


def test_decide_a_transactional_request_would_go_now(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    detail = request("try-2", "order_confirmation", transactional=True)
    code, out, _ = run(capsys, "decide", "--dry-run", write(tmp_path, "d.json", detail), "--replay", DAY)
    assert code == 0
    assert out.splitlines()[1] == "would be sent now"
    assert "transactional" in out


def test_decide_a_known_request_id_is_not_decided_again(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "decide", "--dry-run", write(tmp_path, "d.json", request("req-009")), "--replay", DAY)
    assert code == 0
    assert "already recorded: cancelled (excluded:req-013)" in out


def test_decide_an_invalid_request_names_the_field(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    detail = {**request("try-3"), "channel": "fax"}
    code, _, err = run(capsys, "decide", "--dry-run", write(tmp_path, "d.json", detail), "--replay", DAY)
    assert code == 1
    assert "would be rejected: channel" in err


@pytest.mark.parametrize(
    ("document", "extra", "message"),
    [
        ("not json", [], "is not JSON"),
        ({"detail-type": "CustomerUpdated", "detail": {}}, [], "only a MessageRequested"),
        (None, ["--at", "2026-11-27T10:00:00Z"], "before the ledger's present"),
    ],
)
def test_decide_unusable_input_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, document: Any, extra: list[str], message: str
) -> None:
    path = tmp_path / "d.json"
    if isinstance(document, str):
        path.write_text(document)
    else:
        path.write_text(json.dumps(document or request("try-4")))
    code, _, err = run(capsys, "decide", "--dry-run", str(path), "--replay", DAY, *extra)
    assert code == 2
    assert message in err


def test_decide_without_dry_run_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["decide", write(tmp_path, "d.json", request("x")), "--replay", DAY])
    assert exit_.value.code == 2
    assert "--dry-run" in capsys.readouterr().err


# -- the preview records nothing -----------------------------------------------------------------------------


def test_preview_records_nothing_and_matches_what_then_happens(runtime: LocalRuntime) -> None:
    profile = {"customer_id": SHOPPER, "email": "sam@example.com", "consent": {"email": True}}
    envelope = {"id": "p1", "time": START.isoformat(), "source": "shop", "detail-type": "CustomerUpdated"}
    runtime.invoke_profile([json.dumps({**envelope, "detail": profile})])
    state_before = runtime.ledger.load(SHOPPER, None, None, consistent=True).ledger

    seen = preview(runtime.ledger, runtime.policy, request("new-1"), runtime.clock.now())

    assert runtime.ledger.timeline(SHOPPER) == []
    assert runtime.ledger.load(SHOPPER, None, None, consistent=True).ledger == state_before
    assert [s.outcome for s in seen.steps] == [Outcome.DEFERRED, Outcome.SENT]
    window_end = seen.steps[1].at

    # the real request then goes exactly as previewed
    message = {**envelope, "id": "m1", "detail-type": "MessageRequested", "detail": request("new-1")}
    runtime.invoke_arbiter([json.dumps(message)])
    runtime.run_until(window_end + timedelta(minutes=1))
    (record,) = runtime.ledger.timeline(SHOPPER)
    assert record.status == "sent"
    assert record.sent_at == window_end


def test_explain_and_decide_name_their_policy_and_zone(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Times in the shopper's zone, named; the policy as version@hash, and whether it is the shipped default."""
    code, out, _ = run(capsys, "explain", SHOPPER, "--replay", DAY)
    assert code == 0
    assert out.splitlines()[1].startswith("times in America/Chicago; policy 2026-11-23.1@")
    assert out.splitlines()[1].endswith("(the shipped default)")
    assert "UTC" not in out and "06:00:00 CST  req-002" in out  # 12:00 UTC, in Chicago
    policy = tmp_path / "mine.yaml"
    policy.write_text((ROOT / "layers/baton/policies/default.yaml").read_text().replace("2026-11-23.1", "mine-1"))
    event = write(tmp_path, "event.json", request("p1"))
    code, out, _ = run(capsys, "decide", "--dry-run", event, "--replay", DAY, "--policy", str(policy))
    assert code == 0
    head = out.splitlines()[0]
    assert "(times in America/Chicago; policy mine-1@" in head and f"(from {policy})" in head
