"""The results tables (baton.local.results): rows computed from the results they are given, and the README and
docs pages held to bench/results.json and reliability/results.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from baton.local import results
from bench.run import GOALS as BENCH_GOALS
from reliability.run import GOALS as RELIABILITY_GOALS
from reliability.run import KEYS as RELIABILITY_KEYS

ROOT = Path(__file__).resolve().parents[2]


def _cells(markdown: str) -> list[list[str]]:
    """The body rows of the first pipe table in ``markdown``, as cells."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def _bench_results(within: bool) -> dict[str, Any]:
    """A figure for every key: inside its goal when ``within``, else outside it; the cold start's worst function
    alone decides."""
    out: dict[str, Any] = {}
    for key, goal in BENCH_GOALS.items():
        if goal is None:
            out[key] = {"send": 3.0, "suppress": 2.0} if key.endswith("_per_decision") else 4321
            continue
        limit, comparison = goal
        low, high = limit * 0.8, limit * 1.2
        good, bad = (low, high) if comparison == "<=" else (high, low)
        value = good if within else bad
        if key == "cost_per_million_requests_usd":
            out[key] = {"total": value, "by_service": {}}
        elif key == "cold_start_ratio":
            out[key] = {"arbiter": good, "profile": value}
        else:
            out[key] = round(value, 3)
    return out


@pytest.mark.parametrize("within", [True, False])
def test_each_bench_figure_is_shown_with_its_goal_and_whether_it_is_met(within: bool) -> None:
    given = _bench_results(within)
    rows = [
        *_cells(results.markdown(results.bench_table(given))),
        *_cells(results.markdown(results.replay_table(given))),
        *_cells(results.markdown(results.whatif_table(given))),
    ]

    assert len(rows) == len(BENCH_GOALS)
    for key, row in zip([*results.BENCH, *results.REPLAY, *results.WHATIF], rows, strict=True):
        _, value, goal, met = row
        if BENCH_GOALS[key] is None:
            assert met == "-" and goal.startswith("none"), key
            continue
        limit, comparison = BENCH_GOALS[key]
        assert goal.startswith("at most" if comparison == "<=" else "at least"), key
        shown_limit = f"{limit:,.2f}" if key == "cost_per_million_requests_usd" else f"{limit:g}"
        assert shown_limit in (goal if key == "cost_per_million_requests_usd" else goal.replace(",", "")), key
        assert met == ("met" if within else "missed"), key
        shown = given[key]["total"] if key == "cost_per_million_requests_usd" else given[key]
        if key == "cost_per_million_requests_usd":
            assert value == f"${shown:,.2f}"
        elif isinstance(shown, dict):
            assert all(f"{name} {v:g}" in value for name, v in shown.items()), key
        elif key == "whatif_spark_matches":
            assert value == ("yes" if shown else "no"), key
        else:
            assert f"{shown:g}" in value.replace(",", ""), key


def test_a_bench_figure_not_in_the_results_is_said_to_be_not_measured() -> None:
    given = _bench_results(True)
    del given["replay_peak_rss_mb"]
    rows = _cells(results.markdown(results.replay_table(given)))
    assert rows[-1][1:] == [results.NOT_MEASURED, rows[-1][2], "-"]
    assert rows[0][3] == "met"


def _reliability_results(**changed: int | None) -> dict[str, Any]:
    given: dict[str, Any] = {key: RELIABILITY_GOALS.get(key, 1000 + n) for n, key in enumerate(RELIABILITY_KEYS)}
    given.update(changed)
    return given


def test_a_scenario_passes_when_every_figure_with_a_goal_meets_it_and_fails_otherwise() -> None:
    given = _reliability_results(faults_lost=2, bad_input_unreported=5)
    rows = {row[0]: row for row in _cells(results.markdown(results.reliability_table(given)))}

    assert set(rows) == {"duplicates", "concurrency", "faults", "bad input", "load"}
    assert {name: row[-1] for name, row in rows.items()} == {
        "duplicates": "pass",
        "concurrency": "pass",
        "faults": "fail",
        "bad input": "fail",
        "load": "pass",
    }
    _, size, lost, caps, double, _, _ = rows["faults"]
    assert size == f"{given['faults_requests']:,} requests"
    assert lost == f"2 (goal {RELIABILITY_GOALS['faults_lost']})"
    assert caps == f"{given['faults_cap_violations']:,}"
    assert double.startswith(f"{given['faults_double_sends']:,} (no goal")  # the provider gap
    assert f"5 (goal {RELIABILITY_GOALS['bad_input_unreported']}) unreported" in rows["bad input"][5]
    assert rows["concurrency"][1] == f"{given['concurrency_runs']:,} runs"
    assert rows["load"][5] == f"{given['load_unaccounted']:,} unaccounted"


def test_a_scenario_never_run_says_so_and_one_absent_is_left_out() -> None:
    given = _reliability_results(load_requests=None, load_unaccounted=None)
    del given["concurrency_runs"], given["concurrency_cap_violations"]
    rows = {row[0]: row for row in _cells(results.markdown(results.reliability_table(given)))}
    assert "concurrency" not in rows
    assert rows["load"][-1] == "not run"
    assert rows["duplicates"][-1] == "pass"


def test_render_replaces_only_the_marked_regions_and_refuses_an_unknown_one() -> None:
    table = results.Table(("a", "b"), (("1", "2"),))
    text = "before\n<!-- results:bench -->\nstale\n<!-- /results:bench -->\nafter\n"
    rendered = results.render(text, {"bench": table})
    region = f"<!-- results:bench -->\n\n{results.markdown(table)}\n\n<!-- /results:bench -->"
    assert rendered == f"before\n{region}\nafter\n"
    assert results.render(rendered, {"bench": table}) == rendered
    with pytest.raises(ValueError, match="unknown results region 'nope'"):
        results.render("<!-- results:nope -->\n<!-- /results:nope -->", {"bench": table})


def test_check_fails_with_a_diff_on_a_stale_table_and_passes_once_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Page\n\n<!-- results:reliability -->\n| stale |\n<!-- /results:reliability -->\n")
    assert results.main(["--check", str(page)]) == 1
    diff = capsys.readouterr().out
    assert diff.startswith(f"--- {page}") and "-| stale |" in diff and "+| scenario |" in diff
    assert results.main([str(page)]) == 0
    assert results.main(["--check", str(page)]) == 0


@pytest.mark.parametrize(
    ("page", "regions"),
    [
        ("README.md", ("bench", "reliability")),
        ("docs/performance.md", ("bench", "replay")),
        ("docs/reliability.md", ("reliability",)),
    ],
)
def test_the_repository_pages_show_the_results_files_as_they_are(
    page: str, regions: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / page).read_text(encoding="utf-8")
    assert all(f"<!-- results:{name} -->" in text for name in regions)
    monkeypatch.chdir(ROOT)
    status = results.main(["--check", page])
    assert status == 0, f"{page} differs from the results files (run `make results`):\n{capsys.readouterr().out}"
