"""``make bench``: Baton against the floor, as ratios within one run. DynamoDB Local is started and stopped here
(or ``--endpoint`` names one already running); the figures go to bench/results.json (the issue's keys, each
measured in this run, plus a ``breakdown``). The terminal shows the stages as they run and ends with the details
and a table of each figure against its goal (``baton.local.results``, as in the README); what the code under
measure prints to stdout (the handlers' metric lines) goes to out/bench.log.

    python -m bench.run                    # full size, about 12 minutes on 2 cores
    python -m bench.run --sizes smoke      # tiny sizes, no file written unless --out is given
    python -m bench.run --only replay,whatif   # those stages alone, merged into the results file

``--only`` measures the stages that need neither DynamoDB Local nor another stage's figures (``ALONE``) and
replaces their keys in the results file, which names them under ``run.stages_measured_alone`` with the time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

RESULTS = Path(__file__).with_name("results.json")
LOG = Path(__file__).parents[1] / "out" / "bench.log"
STAGES = (
    "engine",
    "lambda-like processes: cold start, memory, log bytes",
    "arbiter against the floor",
    "scale",
    "baton replay on embedded moto",
    "baton whatif in memory",
    "send-time optimisation simulation",
)
Stage = Callable[[str], AbstractContextManager[None]]

SIZES: dict[str, dict[str, dict[str, int]]] = {
    "full": {
        "engine": {"decisions": 20_000, "contacts": 50, "profiled": 2_000},
        "overhead": {"decisions": 300, "warmup": 40},
        "scale": {"customers_small": 1_000, "customers_large": 100_000, "history": 200, "decisions": 250, "warmup": 30},
        "lambda": {"cold_runs": 7, "rss_runs": 3},
        "replay_small": {"requests": 1_000, "customers": 100, "days": 7},
        "replay_large": {"requests": 10_000, "customers": 1_000, "days": 7},
        "whatif": {"requests": 1_000_000, "customers": 100_000, "days": 30},
        "whatif_sample": {"requests": 10_000, "customers": 1_000, "days": 7},
        "sto": {"shoppers": 2_000},
    },
    "smoke": {
        "engine": {"decisions": 200, "contacts": 50, "profiled": 50},
        "overhead": {"decisions": 4, "warmup": 1},
        "scale": {"customers_small": 20, "customers_large": 60, "history": 200, "decisions": 4, "warmup": 1},
        "lambda": {"cold_runs": 1, "rss_runs": 1},
        "replay_small": {"requests": 20, "customers": 2, "days": 2},
        "replay_large": {"requests": 40, "customers": 4, "days": 2},
        "whatif": {"requests": 200, "customers": 20, "days": 2},
        "whatif_sample": {"requests": 60, "customers": 6, "days": 2},
        "sto": {"shoppers": 20},
    },
}

# key: (goal, comparison); None: reported, no goal
GOALS: dict[str, tuple[float, str] | None] = {
    "arbiter_overhead_ratio": (1.25, "<="),
    "ddb_round_trips_send": (3, "<="),
    "ddb_round_trips_suppress": (2, "<="),
    "rcu_per_decision": None,
    "wcu_per_decision": None,
    "cost_per_million_requests_usd": (5.50, "<="),
    "cold_start_ratio": (1.5, "<="),
    "scale_customers_ratio": (1.2, "<="),
    "scale_history_ratio": (1.5, "<="),
    "engine_decisions_per_second": None,
    "arbiter_peak_rss_mb": (128, "<="),
    "replay_requests_per_second": (100, ">="),
    "replay_scale_ratio": (1.3, "<="),
    "replay_peak_rss_mb": (512, "<="),
    "whatif_requests_per_second": (10_000, ">="),
    "whatif_scaling_2_workers": (1.7, ">="),
    "whatif_peak_rss_mb": (1_024, "<="),
    "whatif_spark_matches": (1, ">="),  # True when the Spark run matched the local engine
    "sto_open_rate": None,
    "sto_open_rate_immediate": None,
    "sto_in_band_share": (0.8, ">="),  # of shoppers with 10+ engagements, most of whose messages land in band
}
KEYS = tuple(GOALS)


@contextmanager
def _unmarked(name: str) -> Iterator[None]:
    yield


def measure(endpoint: str, sizes: dict[str, dict[str, int]], stage: Stage = _unmarked) -> dict[str, Any]:
    """Every figure, in one run against the DynamoDB Local at ``endpoint``; ``stage(name)`` marks each of
    ``STAGES`` (``baton.local.progress.Stages.stage`` shows them)."""
    from baton.local.mocked_aws import set_local_env
    from bench.hooks import RECORDER

    set_local_env()  # local credentials and region; powertools quiet outside the timed blocks

    RECORDER.install()  # before any client exists
    try:
        return _measure(endpoint, sizes, stage)
    finally:
        RECORDER.uninstall()


def _measure(endpoint: str, sizes: dict[str, dict[str, int]], stage: Stage) -> dict[str, Any]:
    from baton.local.mocked_aws import mocked_aws
    from bench import decisions, lambda_like
    from bench.cost import cost
    from bench.engine import engine
    from bench.world import bench_policy

    seconds: dict[str, float] = {}
    run_id = uuid.uuid4().hex[:6]  # fresh tables, also on a DynamoDB Local that is reused (--endpoint)

    began = time.monotonic()
    with stage(STAGES[0]):
        engine_result = engine(**sizes["engine"])
    seconds["engine"] = time.monotonic() - began

    began = time.monotonic()
    with stage(STAGES[1]):
        lambda_result = lambda_like.measure(endpoint, f"bench-lambda-{run_id}", **sizes["lambda"])
    seconds["lambda"] = time.monotonic() - began

    policy = bench_policy()
    table = f"bench-overhead-{run_id}"
    with mocked_aws(dynamodb_endpoint=endpoint, table_name=table):
        began = time.monotonic()
        with stage(STAGES[2]):
            overhead = decisions.overhead(endpoint, table, policy, **sizes["overhead"])
        seconds["overhead"] = time.monotonic() - began
        began = time.monotonic()
        with stage(STAGES[3]):
            scale = decisions.scale(endpoint, f"bench-scale-{run_id}", policy, **sizes["scale"])
        seconds["scale"] = time.monotonic() - began

    alone = {name: _alone(name, sizes, stage, seconds) for name in ALONE}

    paths = overhead["paths"]
    memory = lambda_result["memory"]
    costs = cost(paths, memory["log_bytes_per_decision"])
    figures = {
        "arbiter_overhead_ratio": max(p["ratio"] for p in paths.values()),
        "ddb_round_trips_send": paths["send"]["round_trips"],
        "ddb_round_trips_suppress": paths["suppress"]["round_trips"],
        "rcu_per_decision": {name: p["rcu"] for name, p in paths.items()},
        "wcu_per_decision": {name: p["wcu"] for name, p in paths.items()},
        "cost_per_million_requests_usd": costs,
        "cold_start_ratio": {name: c["ratio"] for name, c in lambda_result["cold_start"].items()},
        "scale_customers_ratio": scale["customers_ratio"],
        "scale_history_ratio": scale["history_ratio"],
        "engine_decisions_per_second": engine_result["decisions_per_second"],
        "arbiter_peak_rss_mb": memory["peak_rss_mb"],
        **{key: value for figures, _ in alone.values() for key, value in figures.items()},
    }
    figures["breakdown"] = {
        "overhead": overhead,
        "cold_start": lambda_result["cold_start"],
        "memory": memory,
        "scale": scale,
        "engine": engine_result,
        **{name: detail for name, (_, detail) in alone.items()},
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
    }
    return figures


# The stages that need neither DynamoDB Local nor another stage's figures: ``--only`` measures them alone.
ALONE = ("replay", "whatif", "sto")
Figures = dict[str, Any]


def _alone(name: str, sizes: dict[str, dict[str, int]], stage: Stage, seconds: dict[str, float]) -> tuple[Figures, Any]:
    """One of ``ALONE`` measured: its keys of the results, and its part of the breakdown."""
    began = time.monotonic()
    keys: tuple[str, ...]
    with stage(STAGES[4 + ALONE.index(name)]):
        if name == "replay":
            from bench import replay

            r = replay.measure(sizes["replay_small"], sizes["replay_large"])
            keys = ("requests_per_second", "scale_ratio", "peak_rss_mb")
            figures, detail = {f"replay_{k}": r[k] for k in keys}, r["runs"]
        elif name == "whatif":
            from bench import whatif

            w = whatif.measure(sizes["whatif"], sizes["whatif_sample"])
            keys = ("requests_per_second", "scaling_2_workers", "peak_rss_mb", "spark_matches")
            figures, detail = {f"whatif_{k}": w[k] for k in keys}, w["runs"]
        else:
            from baton.local.sto_simulation import simulate

            detail = simulate(sizes["sto"]["shoppers"])
            figures = {key: detail[key] for key in ("sto_open_rate", "sto_open_rate_immediate", "sto_in_band_share")}
    seconds[name] = time.monotonic() - began
    return figures, detail


def measure_alone(names: list[str], sizes: dict[str, dict[str, int]], results: Figures, stage: Stage) -> Figures:
    """``results`` (a results file's content) with the figures of the stages ``names`` (of ``ALONE``) measured
    now in place of theirs, and ``run`` saying which were measured alone and when."""
    seconds: dict[str, float] = {}
    merged = dict(results)
    breakdown = dict(merged.get("breakdown", {}))
    for name in names:
        figures, breakdown[name] = _alone(name, sizes, stage, seconds)
        merged.update(figures)
    breakdown["seconds"] = {**breakdown.get("seconds", {}), **{k: round(v, 1) for k, v in seconds.items()}}
    ordered = {key: merged[key] for key in KEYS if key in merged}
    run = dict(merged.get("run", {}))
    at = datetime.now(UTC).isoformat(timespec="seconds")
    run["stages_measured_alone"] = {**run.get("stages_measured_alone", {}), **dict.fromkeys(names, at)}
    run["met"] = verdicts(ordered)
    return {**ordered, "breakdown": breakdown, "run": run}


def _headline(key: str, value: Any) -> Any:
    """The number a goal is checked against: the worst of a per-path or per-handler figure."""
    if key == "cost_per_million_requests_usd":
        return value["total"]
    if key == "cold_start_ratio":
        return max(value.values())
    return value


def verdict(key: str, value: Any) -> bool | None:
    """Whether the figure ``key`` of ``value`` meets its goal; None: it has none."""
    goal = GOALS[key]
    if goal is None:
        return None
    limit, comparison = goal
    headline = _headline(key, value)
    if headline is None:  # not measured here (whatif_spark_matches without PySpark)
        return None
    return bool(headline >= limit if comparison == ">=" else headline <= limit)


def verdicts(figures: dict[str, Any]) -> dict[str, bool | None]:
    """Each figure present against its goal."""
    return {key: verdict(key, figures[key]) for key in GOALS if key in figures}


def details(figures: dict[str, Any]) -> str:
    b = figures["breakdown"]
    lines = []
    for path, p in b["overhead"]["paths"].items():
        lines.append(
            f"{path}: {' + '.join(p['operations'])}; Baton {p['baton_ms']} ms vs floor {p['floor_ms']} ms without"
            f" the channel call (ratio {p['ratio']}), {p['baton_with_channel_ms']} vs {p['floor_with_channel_ms']}"
            f" ms with it ({p['ratio_with_channel']}); RCU {p['rcu']} WCU {p['wcu']} as DynamoDB Local reports"
            f" them, {p['billed_rcu']} / {p['billed_wcu']} billed at the least; the libraries alone (pynamodb's"
            f" model layer, powertools' handler) {p['library_ms']} ms ({p['library_ratio']} x floor; Baton is"
            f" {p['baton_over_library']} x theirs)"
        )
    g = b["overhead"].get("engagement")
    if g:
        lines.append(
            "engagement update (profile and feedback functions, not on the decision path):"
            f" {' + '.join(g['operations'])}; RCU {g['rcu']} WCU {g['wcu']} ({g['billed_wcu']} billed at the least);"
            f" profile {g['profile_bytes']} bytes"
        )
    costs = figures["cost_per_million_requests_usd"]
    lines.append(
        "cost per million (all sent): "
        + ", ".join(f"{k} ${v:.3f}" for k, v in costs["by_service"].items())
        + f"; all suppressed: ${costs['suppress_path']['total']:.2f}"
    )
    for name, c in b["cold_start"].items():
        top = ", ".join(f"{i['package']} {i['ms']} ms" for i in c["baton_imports"][:5])
        lines.append(
            f"cold start {name}: {c['baton_ms']} ms (import {c['baton_import_ms']}, init {c['baton_init_ms']})"
            f" vs bare {c['bare_ms']} ms (import {c['bare_import_ms']}, init {c['bare_init_ms']});"
            f" its {c['library_modules']} library modules alone {c['libraries_ms']} ms"
            f" ({c['libraries_ratio']} x bare; Baton's start is {c['baton_over_libraries']} x theirs);"
            f" {c['botocore_sessions']} botocore session(s); own import"
            f" time by package: {top}"
        )
    m = b["memory"]
    lines.append(
        f"memory: peak RSS {m['peak_rss_mb']} MB after a cold batch of {m['batch']} ({m['cold_batch_ms']} ms);"
        f" {m['log_bytes_per_decision']} log bytes per decision"
    )
    s = b["scale"]
    lines.append(f"scale: median ms {s['median_ms']}, WCU {s['wcu']}, RCU {s['rcu']}")
    e = b["engine"]
    top = ", ".join(f"{f['function']} {f['own_share']:.0%}" for f in e["top_functions"])
    lines.append(f"engine: {e['microseconds_per_decision']} us per decision; top own time: {top}")
    for name, r in b["replay"].items():
        lines.append(
            f"replay {name}: {r['requests']} requests over {r['customers']} customers and {r['days']} days in"
            f" {r['seconds']} s, peak RSS {r['peak_rss_mb']} MB; outcomes {r['outcomes']}"
        )
    if "sto" in b:
        t = b["sto"]
        lines.append(
            f"send-time optimisation: {t['sto_shoppers']:,} shoppers, {t['sto_messages']:,} messages; open rate"
            f" {t['sto_open_rate']:.1%} against {t['sto_open_rate_immediate']:.1%} sent at once; in band:"
            f" {t['sto_in_band_messages']:.1%} of messages ({t['sto_in_band_immediate']:.1%} sent at once)"
        )
    lines.append(f"stages (s): {b['seconds']}")
    return "\n".join(lines)


def _figures(args: argparse.Namespace, stage: Stage) -> dict[str, Any]:
    if args.endpoint:
        return measure(args.endpoint, SIZES[args.sizes], stage)
    from baton.local.dynamodb_local import DynamoDBLocal

    with DynamoDBLocal() as ddb:
        return measure(ddb.endpoint, SIZES[args.sizes], stage)


def summary(figures: dict[str, Any], terminal: TextIO) -> None:
    """The end of the run: the details behind the figures, then each figure against its goal."""
    from rich.console import Console

    from baton.local.results import bench_table, replay_table, terminal_table

    print(details(figures), file=terminal)
    console = Console(file=terminal)
    console.print()
    console.print(terminal_table(bench_table(figures), "make bench: the functions"))
    console.print(terminal_table(replay_table(figures), "make bench: baton replay"))


def main(argv: list[str] | None = None) -> int:
    from baton.local.progress import Stages, printed_to

    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__)
    parser.add_argument("--sizes", choices=sorted(SIZES), default="full")
    parser.add_argument("--endpoint", help="a DynamoDB Local already running (default: start one)")
    parser.add_argument("--out", type=Path, help=f"results file (default for full size: {RESULTS})")
    parser.add_argument("--log", type=Path, default=LOG, help="where printed output of the code measured goes")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--only", help=f"comma-separated stages of {', '.join(ALONE)}, merged into the results file")
    args = parser.parse_args(argv)
    out = args.out or (RESULTS if args.sizes == "full" else None)
    if args.only is not None:
        return _main_alone(args, out, parser)

    terminal = sys.stdout
    began = time.monotonic()
    with Stages("make bench", len(STAGES), sys.stderr) as stages, printed_to(args.log):
        figures = _figures(args, stages.stage)
    figures["run"] = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sizes": args.sizes,
        "seconds": round(time.monotonic() - began, 1),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "met": verdicts(figures),
    }
    summary(figures, terminal)
    if out is not None:
        out.write_text(json.dumps({k: figures[k] for k in (*KEYS, "breakdown", "run")}, indent=2) + "\n")
        print(f"\nwritten: {out}", file=terminal)
    print(f"printed by the code measured (metric lines): {args.log}", file=terminal)
    missed = [k for k, ok in figures["run"]["met"].items() if ok is False]
    return 1 if args.strict and missed else 0


def _main_alone(args: argparse.Namespace, out: Path | None, parser: argparse.ArgumentParser) -> int:
    from baton.local.progress import Stages, printed_to

    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in names if name not in ALONE]
    if unknown or not names:
        parser.error(f"--only: {', '.join(unknown) or 'no stage'}: the stages measured alone are {', '.join(ALONE)}")
    if out is None or not out.is_file():
        parser.error(f"--only merges into an existing results file: {out or 'none given (--out)'} is not one")
    results = json.loads(out.read_text())
    with Stages("make bench", len(names), sys.stderr) as stages, printed_to(args.log):
        merged = measure_alone(names, SIZES[args.sizes], results, stages.stage)
    out.write_text(json.dumps(merged, indent=2) + "\n")
    for name in names:
        print(f"{name}: " + ", ".join(f"{k} {merged[k]}" for k in KEYS if k.startswith(name)), file=sys.stdout)
    print(f"\nwritten: {out}", file=sys.stdout)
    missed = [k for k, ok in merged["run"]["met"].items() if ok is False]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
