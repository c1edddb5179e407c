"""``baton whatif`` on bad input, in memory (no AWS, no sockets): lines it cannot use are rejected with their line
number as ``baton replay`` rejects them, and the run goes on; a missing Spark says how to install it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from baton.local.cli import main

GOOD = {"id": "e1", "time": "2026-11-27T12:00:00Z", "source": "shop", "detail-type": "MessageRequested",
        "detail": {"request_id": "r1", "customer_id": "c1", "channel": "email", "category": "order_confirmation",
                   "template": "order_confirmation", "data": {"order_id": "A-1", "total": "$1"},
                   "transactional": True, "recipient": "c1@example.com"}}  # fmt: skip


def test_malformed_lines_are_rejected_with_their_line_number(tmp_path: Path, capsys: Any) -> None:
    bad_channel = json.loads(json.dumps(GOOD))
    bad_channel["detail"].update(request_id="r2", channel="fax")
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join([json.dumps(GOOD), "{not json", json.dumps(bad_channel)]) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["whatif", str(events), "--out", str(out), "--workers", "1"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["line"], r["outcome"]) for r in rows] == [(1, "sent"), (2, "rejected"), (3, "rejected")]
    err = capsys.readouterr().err
    assert "line 2:" in err and "line 3:" in err


def test_an_unreadable_events_file_exits_2(tmp_path: Path, capsys: Any) -> None:
    assert main(["whatif", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_spark_without_pyspark_says_how_to_install_it(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(GOOD) + "\n")
    assert main(["whatif", str(events), "--engine", "spark"]) == 2
    assert "pip install -e '.[spark]'" in capsys.readouterr().err
