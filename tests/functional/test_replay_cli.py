"""``baton replay`` and ``make demo`` through their entry points: the same pipeline (real handlers on moto, a
simulated clock) over a file of events."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from baton.local import cli, demo

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {"line", "request_id", "customer_id", "channel", "category", "outcome", "reason", "decided_at", "sent_at"}
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def ev(event_id: str, time: str, detail_type: str, detail: dict[str, Any]) -> str:
    return json.dumps({"id": event_id, "time": time, "source": "shop", "detail-type": detail_type, "detail": detail})


def req(rid: str, time: str, category: str = "order_confirmation", **extra: Any) -> str:
    data = {
        "order_confirmation": {"order_id": "A-1", "total": "$10"},
        "sale": {"headline": "h", "url": "https://shop.example"},
    }[category]
    detail = {
        "request_id": rid,
        "customer_id": "c1",
        "channel": "email",
        "category": category,
        "template": category,
        "data": data,
        **extra,
    }
    return ev(f"e-{rid}-{time}", time, "MessageRequested", detail)


@pytest.fixture
def events(tmp_path: Path) -> Path:
    profile = {"customer_id": "c1", "email": "sam@example.com", "timezone": "Europe/Berlin", "consent": {"email": True}}
    lines = [
        ev("e-0", "2026-11-27T08:00:00Z", "CustomerUpdated", profile),  # 1
        req("r1", "2026-11-27T09:00:00Z", transactional=True),  # 2
        "{this is not json",  # 3
        req("r2", "2026-11-27T09:05:00Z", "sale"),  # 4
        req("r1", "2026-11-27T09:10:00Z", transactional=True),  # 5: the same request_id again
        json.dumps(
            {
                "id": "e-6",
                "time": "2026-11-27T09:20:00Z",
                "source": "shop",
                "detail-type": "MessageRequested",
                "detail": {"request_id": "r6", "customer_id": "c1", "channel": "email", "template": "sale"},
            }
        ),  # 6
        req("r7", "2026-11-27T09:30:00Z", "sale", priority="5"),  # 7: wrong type
        "",  # 8: blank lines are skipped
        req("r9", "2026-11-27T09:40:00Z", "sale", channel="fax"),  # 9
        req("r10", "2026-11-27T09:02:00Z", "sale", campaign_id="bf"),  # 10: earlier than line 4
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_replay_writes_one_line_per_request_in_input_order(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "decisions.jsonl"
    assert cli.main(["replay", str(events), "--out", str(out), "--quiet"]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["line"] for r in rows] == [2, 3, 4, 5, 6, 7, 9, 10]
    for row in rows:
        assert set(row) >= REQUIRED
        assert row["outcome"] in {"sent", "suppressed", "expired", "cancelled", "rejected", "failed", "duplicate"}
        assert row["sent_at"] is None or ISO_UTC.match(row["sent_at"])
        assert (row["sent_at"] is not None) == (row["outcome"] == "sent")
    by_line = {r["line"]: r for r in rows}
    assert (by_line[2]["outcome"], by_line[2]["reason"]) == ("sent", "transactional")
    assert by_line[2]["sent_at"] == "2026-11-27T09:00:00Z"
    assert by_line[5]["outcome"] == "duplicate" and by_line[5]["request_id"] == "r1"
    assert (by_line[3]["outcome"], by_line[3]["reason"]) == ("rejected", "invalid:json")
    assert (by_line[6]["outcome"], by_line[6]["reason"]) == ("rejected", "invalid:category")
    assert (by_line[7]["outcome"], by_line[7]["reason"]) == ("rejected", "invalid:priority")
    assert (by_line[9]["outcome"], by_line[9]["reason"]) == ("rejected", "invalid:channel")
    # the clock follows event time: line 10 (09:02) is decided before line 4 (09:05); sale holds 15 min
    assert by_line[10]["outcome"] == "sent"
    assert by_line[10]["sent_at"] == "2026-11-27T09:17:00Z"
    assert by_line[4]["reason"] in {"cap:category_daily", "cap:email_daily", "outranked:r10"}

    captured = capsys.readouterr()
    for number, field in (
        (3, "invalid:json"),
        (6, "invalid:category"),
        (7, "invalid:priority"),
        (9, "invalid:channel"),
    ):
        assert re.search(rf"^line {number}: {field}", captured.err, re.MULTILINE), captured.err
    assert "line 5" not in captured.err
    summary = captured.out.strip().splitlines()
    assert summary[0].endswith(": 8 message requests")
    counts = {m.group(1): int(m.group(2)) for m in (re.match(r"^\s+(\w+)\s+(\d+)$", s) for s in summary[1:]) if m}
    assert sum(counts.values()) == 8 and counts["rejected"] == 4 and counts["duplicate"] == 1


def test_replay_without_out_prints_the_summary(events: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["replay", str(events), "--quiet"]) == 0
    assert "8 message requests" in capsys.readouterr().out


def test_unreadable_input_exits_2_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "absent.jsonl"
    assert cli.main(["replay", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "cannot read" in err and str(missing) in err


def test_bad_policy_exits_2_naming_the_field(events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: x\ntimezone: UTC\ncaps:\n  - name: a\n    limit: 1\n    window: often\n", "utf-8")
    assert cli.main(["replay", str(events), "--policy", str(policy)]) == 2
    err = capsys.readouterr().err
    assert str(policy) in err and "line 6: caps[a].window" in err


def test_replay_with_a_custom_policy(events: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: open\ntimezone: UTC\n", "utf-8")  # no caps, no windows
    out = tmp_path / "o.jsonl"
    assert cli.main(["replay", str(events), "--policy", str(policy), "--out", str(out), "--quiet"]) == 0
    rows = {r["line"]: r for r in map(json.loads, out.read_text("utf-8").splitlines())}
    assert rows[4]["outcome"] == "sent" and rows[4]["sent_at"] == "2026-11-27T09:05:00Z"


def test_the_demo_turns_the_day_into_fewer_messages(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    assert demo.main([]) == 0
    out = capsys.readouterr().out
    without = int(re.search(r"Without Baton: (\d+) messages", out).group(1))  # type: ignore[union-attr]
    with_baton = int(re.search(r"With Baton:\s+(\d+) that day", out).group(1))  # type: ignore[union-attr]
    assert without >= 20
    assert with_baton < without
    assert out.count("SENT") < without
    assert "transactional" in out and "quiet hours" in out
