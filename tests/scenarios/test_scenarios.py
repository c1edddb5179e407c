"""Scenario tests: each event file runs through `baton replay` (its entry point; the default policy unless a
``<name>.policy.yaml`` lies beside it) and every request ends as the expectations written next to it say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baton.local.cli import main

HERE = Path(__file__).parent
SCENARIOS = sorted(p.name.removesuffix(".jsonl") for p in HERE.glob("*.jsonl"))


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "decisions.jsonl"
    policy = HERE / f"{name}.policy.yaml"
    argv = ["replay", str(HERE / f"{name}.jsonl"), "--out", str(out), "--quiet"]
    assert main(argv + (["--policy", str(policy)] if policy.exists() else [])) == 0
    decided = {row["request_id"]: row for row in map(json.loads, out.read_text().splitlines())}
    expected = json.loads((HERE / f"{name}.expected.json").read_text())
    assert set(decided) == set(expected)
    for request_id, want in expected.items():
        got = {key: decided[request_id][key] for key in want}
        assert got == want, f"{name}: {request_id}"
    assert "message requests" in capsys.readouterr().out


def test_every_scenario_has_expectations() -> None:
    assert len(SCENARIOS) >= 6
    for name in SCENARIOS:
        assert (HERE / f"{name}.expected.json").is_file()
