"""``baton whatif --report``: the replay page drawn from aggregates, in memory. Its numbers are the run's, its
size does not grow with the requests, and --compare counts the requests whose outcome changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from baton.core.policy import Policy, policy_json
from baton.local.cli import main
from baton.local.whatif_engines import run_local
from baton.local.whatif_report import report_data
from bench import traffic

DEMO_DAY = Path(__file__).parents[2] / "examples" / "shopper_day.jsonl"


def chart(data: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in data["charts"] if c["id"] == name)
    return found


def test_the_report_adds_up_to_the_run(default_policy: Policy) -> None:
    lines = DEMO_DAY.read_text(encoding="utf-8").splitlines()
    rows: list[str] = []
    tally = run_local(enumerate(lines, start=1), policy_json(default_policy), 1, rows.append)
    data = report_data([(default_policy, None, tally)], "shopper_day.jsonl", default_policy.timezone)
    outcomes = [json.loads(r)["outcome"] for r in rows]
    assert data["requests"] == len(rows) == 26
    assert data["sides"][0]["requests_sent"] == outcomes.count("sent")
    assert sum(r["counts"][0] for r in data["outcome_rows"]) == 26
    per_day = chart(data, "per-day")
    assert sum(per_day["series"][0]["values"]) == 26  # every request placed on a day
    assert sum(per_day["series"][1]["values"]) == data["sides"][0]["messages"]


def test_the_report_stays_the_same_size_as_requests_grow(tmp_path: Path) -> None:
    sizes = []
    for requests in (100, 1_000):
        events = traffic.write(tmp_path / f"e{requests}.jsonl", requests, 20, 3)
        page = tmp_path / f"r{requests}.html"
        assert main(["whatif", str(events), "--workers", "1", "--report", str(page), "--quiet"]) == 0
        sizes.append(page.stat().st_size)
    assert sizes[1] < sizes[0] * 1.5


def test_compare_counts_the_requests_that_change(tmp_path: Path, capsys: Any) -> None:
    default = (Path(__file__).parents[2] / "layers/baton/policies/default.yaml").read_text()
    stricter = tmp_path / "stricter.yaml"
    stricter.write_text(default.replace("limit: 1\n", "limit: 0\n", 1))
    assert stricter.read_text() != default
    page = tmp_path / "compare.html"
    assert main(["whatif", str(DEMO_DAY), "--workers", "1", "--report", str(page), "--compare", str(stricter)]) == 0
    printed = capsys.readouterr().out
    changed = int(printed.split(" request(s) with a different outcome")[0].rsplit(" ", 1)[-1])
    assert changed > 0
    assert f"{changed} request(s) with a different outcome" in page.read_text()
