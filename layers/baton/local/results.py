"""The results tables of the README and the docs, rendered from ``bench/results.json`` and
``reliability/results.json``: each figure against its goal, in words and units.

A Markdown file marks where a table goes, and this module writes the table between the marks::

    <!-- results:bench -->        the arbiter's figures (make bench)
    <!-- /results:bench -->
    <!-- results:replay -->       baton replay's throughput and memory (make bench)
    <!-- /results:replay -->
    <!-- results:reliability -->  each reliability scenario (make reliability)
    <!-- /results:reliability -->

    python -m baton.local.results            # rewrite README.md, docs/performance.md, docs/reliability.md
    python -m baton.local.results --check    # exit 1, with a unified diff, when a file differs from its tables

The goals are the runs' own (``bench.run.GOALS``, ``reliability.run.GOALS``), so this runs from the repository's
root, where those packages are; ``make bench`` and ``make reliability`` print the same tables at their end.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_FILES = ("README.md", "docs/performance.md", "docs/reliability.md")
NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class Table:
    """A results table: its column names, its rows of text, and a sentence under it (may be empty)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


def markdown(table: Table) -> str:
    """The table as GitHub-flavoured Markdown (a pipe table: a few lines of joining, no library needed)."""
    rule = ("---",) * len(table.columns)
    lines = ["| " + " | ".join(row) + " |" for row in (table.columns, rule, *table.rows)]
    if table.note:
        lines += ["", table.note]
    return "\n".join(lines)


def terminal_table(table: Table, title: str) -> Any:
    """The table for a terminal (a rich Table), as ``make bench`` and ``make reliability`` end."""
    from rich.table import Table as RichTable

    out = RichTable(title=title, title_justify="left", caption=table.note or None, caption_justify="left")
    for column in table.columns:
        out.add_column(column)
    for row in table.rows:
        style = "red" if "missed" in row or "fail" in row else None
        out.add_row(*row, style=style)
    return out


# -- make bench ------------------------------------------------------------------------------------------------
def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,g}"


def _share(value: float) -> str:
    return f"{_number(value)} ({value:.1%})"


def _each(value: Mapping[str, float], unit: str = "") -> str:
    return ", ".join(f"{name} {_number(v)}" for name, v in value.items()) + unit


def _times(value: Any) -> str:
    return _each(value, " times") if isinstance(value, Mapping) else f"{_number(value)} times"


@dataclass(frozen=True)
class _Figure:
    what: Callable[[Mapping[str, Any]], str]  # the results file as a whole -> the figure in words
    show: Callable[[Any], str]  # its value -> text with its unit
    unit: str  # of the goal: "times", "round trips", "$", "MB", "requests a second"


def _scale(results: Mapping[str, Any], part: str) -> str:
    scale = results.get("breakdown", {}).get("scale", {})
    sizes = scale.get(part)
    if part == "customers":
        counted = f": {sizes['large']:,} customers against {sizes['small']:,}" if sizes else ", a large table"
        return f"Time per decision{counted}"
    counted = f": {sizes['history']:,} contacts against {sizes['small']:,}" if sizes else ", a long history"
    return f"Time per decision{counted}"


def _replay_sizes(results: Mapping[str, Any]) -> str:
    runs = results.get("breakdown", {}).get("replay", {})
    if {"small", "large"} <= set(runs):
        return f": {runs['large']['requests']:,} requests against {runs['small']['requests']:,}"
    return ", a long file against a short one"


BENCH: dict[str, _Figure] = {
    "arbiter_overhead_ratio": _Figure(
        lambda r: "Arbiter overhead: time per decision against the floor's", _times, "times"
    ),
    "ddb_round_trips_send": _Figure(
        lambda r: "DynamoDB round trips a decision, send path", lambda v: f"{_number(v)}", "round trips"
    ),
    "ddb_round_trips_suppress": _Figure(
        lambda r: "DynamoDB round trips a decision, suppress path", lambda v: f"{_number(v)}", "round trips"
    ),
    "rcu_per_decision": _Figure(lambda r: "Read units a decision, as DynamoDB Local counts", _each, ""),
    "wcu_per_decision": _Figure(lambda r: "Write units a decision, as DynamoDB Local counts", _each, ""),
    "cost_per_million_requests_usd": _Figure(
        lambda r: "AWS cost per million requests, all sent",
        lambda v: f"${v['total']:,.2f}",
        "$",
    ),
    "cold_start_ratio": _Figure(
        lambda r: "Cold start against a bare boto3 handler",
        _times,
        "times",
    ),
    "scale_customers_ratio": _Figure(lambda r: _scale(r, "customers"), _times, "times"),
    "scale_history_ratio": _Figure(lambda r: _scale(r, "history_contacts"), _times, "times"),
    "engine_decisions_per_second": _Figure(
        lambda r: "Engine decisions a second, one core", lambda v: f"{_number(v)} a second", ""
    ),
    "arbiter_peak_rss_mb": _Figure(
        lambda r: "Arbiter peak memory, a cold batch of 10", lambda v: f"{_number(v)} MB", "MB"
    ),
}
REPLAY: dict[str, _Figure] = {
    "replay_requests_per_second": _Figure(
        lambda r: "`baton replay` throughput",
        lambda v: f"{_number(v)} requests a second",
        "requests a second",
    ),
    "replay_scale_ratio": _Figure(lambda r: f"`baton replay` time per request{_replay_sizes(r)}", _times, "times"),
    "replay_peak_rss_mb": _Figure(lambda r: "`baton replay` peak memory", lambda v: f"{_number(v)} MB", "MB"),
}
WHATIF: dict[str, _Figure] = {
    "whatif_requests_per_second": _Figure(
        lambda r: "`baton whatif` throughput, every core",
        lambda v: f"{_number(v)} requests a second",
        "requests a second",
    ),
    "whatif_scaling_2_workers": _Figure(lambda r: "`baton whatif` on 2 workers against 1", _times, "times"),
    "whatif_peak_rss_mb": _Figure(lambda r: "`baton whatif` peak memory", lambda v: f"{_number(v)} MB", "MB"),
    "whatif_spark_matches": _Figure(
        lambda r: "`baton whatif --engine spark` decides as the local engine",
        lambda v: "yes" if v else "no",
        "",
    ),
    # send-time optimisation's simulation runs the arbiter as whatif does (baton.local.sto_simulation)
    "sto_open_rate": _Figure(lambda r: "Send-time optimisation: open rate", _share, ""),
    "sto_open_rate_immediate": _Figure(lambda r: "The same requests sent at once: open rate", _share, ""),
    "sto_in_band_share": _Figure(lambda r: "Shoppers (10+ engagements) whose messages land in their band", _share, ""),
}


def _goal_text(goal: tuple[float, str] | None, unit: str) -> str:
    if goal is None:
        return "none: reported only"
    limit, comparison = goal
    words = "at most" if comparison == "<=" else "at least"
    if unit == "$":
        return f"{words} ${limit:,.2f}"
    return f"{words} {_number(limit)}{' ' + unit if unit else ''}"


def _verdict(key: str, value: Any) -> str:
    from bench.run import verdict

    met = verdict(key, value)
    return "-" if met is None else ("met" if met else "missed")


def _figures(results: Mapping[str, Any], figures: Mapping[str, _Figure]) -> Table:
    from bench.run import GOALS

    rows = []
    for key, figure in figures.items():
        value = results.get(key)
        goal = _goal_text(GOALS[key], figure.unit)
        if value is None:
            rows.append((figure.what(results), NOT_MEASURED, goal, "-"))
        else:
            rows.append((figure.what(results), figure.show(value), goal, _verdict(key, value)))
    return Table(("figure", "value", "goal", "met?"), tuple(rows))


def bench_table(results: Mapping[str, Any]) -> Table:
    """``make bench``'s figures of the deployed functions, each against its goal."""
    return _figures(results, BENCH)


def replay_table(results: Mapping[str, Any]) -> Table:
    """``make bench``'s figures of ``baton replay``, each against its goal."""
    return _figures(results, REPLAY)


def whatif_table(results: Mapping[str, Any]) -> Table:
    """``make bench``'s figures of ``baton whatif``, each against its goal."""
    return _figures(results, WHATIF)


# -- make reliability ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Scenario:
    name: str
    size: tuple[str, str] | None = None  # (key, what it counts)
    lost: str | None = None
    caps: str | None = None
    double: str | None = None
    others: tuple[tuple[str, str], ...] = ()  # (key, what it counts)

    def figures(self) -> tuple[str, ...]:
        named = (self.size[0] if self.size else None, self.lost, self.caps, self.double)
        return (*(k for k in named if k), *(k for k, _ in self.others))


SCENARIOS = (
    _Scenario("duplicates", lost="duplicates_lost", double="duplicates_double_sends"),
    _Scenario("concurrency", size=("concurrency_runs", "runs"), caps="concurrency_cap_violations"),
    _Scenario(
        "faults",
        size=("faults_requests", "requests"),
        lost="faults_lost",
        caps="faults_cap_violations",
        double="faults_double_sends",
    ),
    _Scenario(
        "bad input",
        size=("bad_input_events", "malformed events"),
        others=(("bad_input_crashes", "batches crashed"), ("bad_input_unreported", "unreported")),
    ),
    _Scenario("load", size=("load_requests", "requests"), others=(("load_unaccounted", "unaccounted"),)),
)
PROVIDER_GAP = (
    "Double sends with no goal are those in the provider gap, the one window the design leaves: a crash or a lost"
    " answer between the provider accepting a message and the confirm write reaching DynamoDB."
)


def _count(key: str | None, results: Mapping[str, Any], goals: Mapping[str, int]) -> str:
    if key is None:
        return "-"
    value = results[key]
    if key not in goals:
        return f"{value:,} (no goal: provider gap)"
    return f"{value:,}" if value == goals[key] else f"{value:,} (goal {goals[key]:,})"


def _scenario_row(scenario: _Scenario, results: Mapping[str, Any], goals: Mapping[str, int]) -> tuple[str, ...]:
    if any(results.get(key) is None for key in scenario.figures()):
        return (scenario.name, *["-"] * 5, "not run")
    size = f"{results[scenario.size[0]]:,} {scenario.size[1]}" if scenario.size else "-"
    others = ", ".join(f"{_count(key, results, goals)} {what}" for key, what in scenario.others) or "-"
    passed = all(results[key] == goals[key] for key in scenario.figures() if key in goals)
    return (
        scenario.name,
        size,
        _count(scenario.lost, results, goals),
        _count(scenario.caps, results, goals),
        _count(scenario.double, results, goals),
        others,
        "pass" if passed else "fail",
    )


def reliability_table(results: Mapping[str, Any]) -> Table:
    """Each reliability scenario in ``results`` (one with none of its keys is left out; one with a key that is
    null was never run): its size, what was lost, caps broken and messages sent twice, and pass or fail."""
    from reliability.run import GOALS

    present = [s for s in SCENARIOS if any(key in results for key in s.figures())]
    rows = tuple(_scenario_row(scenario, results, GOALS) for scenario in present)
    gap = any(s.double and s.double not in GOALS and results.get(s.double) is not None for s in present)
    columns = ("scenario", "size", "lost", "caps broken", "double sends", "other checks", "result")
    return Table(columns, rows, note=PROVIDER_GAP if gap else "")


# -- the Markdown files ----------------------------------------------------------------------------------------
def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def tables() -> dict[str, Table]:
    """Every region's table, from the results files in the repository."""
    from bench.run import RESULTS as BENCH_RESULTS
    from reliability.run import RESULTS as RELIABILITY_RESULTS

    bench = _load(BENCH_RESULTS)
    return {
        "bench": bench_table(bench),
        "replay": replay_table(bench),
        "whatif": whatif_table(bench),
        "reliability": reliability_table(_load(RELIABILITY_RESULTS)),
    }


REGION = re.compile(r"(<!-- results:(?P<name>[a-z]+) -->\n).*?(<!-- /results:(?P=name) -->)", re.DOTALL)


def render(text: str, by_region: Mapping[str, Table]) -> str:
    """``text`` with each marked region holding its table (an unknown region name is an error)."""

    def region(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in by_region:
            raise ValueError(f"unknown results region {name!r}: one of {', '.join(sorted(by_region))}")
        return f"{match[1]}\n{markdown(by_region[name])}\n\n{match[3]}"

    return REGION.sub(region, text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m baton.local.results", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help=f"default: {', '.join(DEFAULT_FILES)} (those present)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 with a diff if a file differs")
    args = parser.parse_args(argv)
    files = args.files or [Path(f) for f in DEFAULT_FILES if Path(f).exists()]
    by_region = tables()
    differ = False
    for path in files:
        text = path.read_text(encoding="utf-8")
        rendered = render(text, by_region)
        if rendered == text:
            continue
        if args.check:
            differ = True
            sys.stdout.writelines(
                difflib.unified_diff(
                    text.splitlines(keepends=True), rendered.splitlines(keepends=True), str(path), f"{path} (rendered)"
                )
            )
        else:
            path.write_text(rendered, encoding="utf-8")
            print(f"written: {path}")
    if differ:
        print("\nthe results tables differ from the results files: run `make results`", file=sys.stderr)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
