"""``make reliability``: every scenario at full size, DynamoDB Local started and stopped here, the figures
written to reliability/results.json (exactly the issue's keys, each counted in this run). The terminal shows
the scenarios as they run and ends with the details behind the figures and a table of each scenario against its
goals (``baton.local.results``, as in the README); what the handlers print to stdout (their metric lines) goes
to out/reliability.log.

    python -m reliability.run                 # everything, full size (the load alone takes most of the time)
    python -m reliability.run --only faults   # one scenario; results.json keeps the other keys of the last run
    python -m reliability.run --sizes small   # the sizes of tests/reliability; no file written unless --out
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TextIO

from baton.local.mocked_aws import set_local_env

RESULTS = Path(__file__).with_name("results.json")
LOG = Path(__file__).parents[1] / "out" / "reliability.log"
KEYS = (
    "duplicates_double_sends",
    "duplicates_lost",
    "concurrency_runs",
    "concurrency_cap_violations",
    "faults_requests",
    "faults_lost",
    "faults_cap_violations",
    "faults_double_sends",
    "bad_input_events",
    "bad_input_crashes",
    "bad_input_unreported",
    "load_requests",
    "load_unaccounted",
)
GOALS = {k: 0 for k in KEYS if k.endswith(("_lost", "_violations", "_crashes", "_unreported", "_unaccounted"))}
GOALS["duplicates_double_sends"] = 0

# Full sizes. The issue fixes concurrency, bad input and load; duplicates and faults are sized to finish in
# minutes on two cores (their rate is printed).
FULL: dict[str, dict[str, Any]] = {
    "duplicates": {"count": 2_000, "customers": 200, "workers": 4},
    "concurrency": {"runs": 20, "workers": 32, "per_customer": 200, "engagements": 100},
    "faults": {"count": 1_000, "customers": 100, "probability": 0.2, "seed": 20261127},
    "bad_input": {"events": 10_000},
    "load": {"count": 100_000, "customers": 10_000, "workers": 16},
}
# The sizes of tests/reliability: the same code in seconds, for a look at the run's output.
SMALL: dict[str, dict[str, Any]] = {
    "duplicates": {"count": 60, "customers": 10, "workers": 1},
    "concurrency": {"runs": 2, "workers": 8, "per_customer": 40, "engagements": 20},
    "faults": {"count": 80, "customers": 8, "probability": 0.2, "seed": 5},
    "bad_input": {"events": 140},
    "load": {"count": 200, "customers": 20, "workers": 1},
}
SIZES = {"full": FULL, "small": SMALL}
SCENARIOS = tuple(FULL)
Stage = Callable[[str], AbstractContextManager[None]]


def run(
    only: tuple[str, ...], endpoint: str, sizes: dict[str, dict[str, Any]] = FULL, stage: Stage | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The scenarios ``only`` at ``sizes``; ``stage(name)`` marks each (``baton.local.progress.Stages.stage``)."""
    from contextlib import nullcontext

    from reliability import scenarios

    figures: dict[str, Any] = {}
    details: dict[str, Any] = {}
    for name in only:
        size = sizes[name]
        began = time.monotonic()
        with stage(f"{name}: " + ", ".join(f"{k} {v:,}" for k, v in size.items())) if stage else nullcontext():
            if name in ("duplicates", "concurrency", "bad_input", "load"):
                result = getattr(scenarios, name)(**size, endpoint=endpoint)
            else:
                result = getattr(scenarios, name)(**size)
        detail = result.pop("detail", {})
        detail["seconds"] = round(time.monotonic() - began, 1)
        figures.update(result)
        details[name] = detail
    return figures, details


def summary(figures: dict[str, Any], details: dict[str, Any], terminal: TextIO) -> None:
    """The end of the run: the details behind each scenario's figures, then each scenario against its goals."""
    from rich.console import Console

    from baton.local.results import reliability_table, terminal_table

    for name, detail in details.items():
        print(f"{name}: " + json.dumps(detail, default=str) + "\n", file=terminal)
    Console(file=terminal).print(terminal_table(reliability_table(figures), "make reliability"))


def main(argv: list[str] | None = None) -> int:
    from baton.local.progress import Stages, printed_to

    parser = argparse.ArgumentParser(prog="reliability.run", description=__doc__)
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(SCENARIOS)}")
    parser.add_argument("--sizes", choices=sorted(SIZES), default="full")
    parser.add_argument("--out", type=Path, help=f"results file (default for full size: {RESULTS})")
    parser.add_argument("--log", type=Path, default=LOG, help="where the handlers' printed output goes")
    args = parser.parse_args(argv)
    only = tuple(args.only.split(",")) if args.only else SCENARIOS
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    out = args.out or (RESULTS if args.sizes == "full" else None)
    set_local_env()
    from baton.local.dynamodb_local import DynamoDBLocal

    terminal = sys.stdout
    with Stages("make reliability", len(only), sys.stderr) as stages, printed_to(args.log), DynamoDBLocal() as ddb:
        figures, details = run(only, ddb.endpoint, SIZES[args.sizes], stages.stage)
    summary(figures, details, terminal)
    if out is not None:
        previous = json.loads(out.read_text()) if out.exists() else {}
        results = {key: figures.get(key, previous.get(key)) for key in KEYS}
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwritten: {out}", file=terminal)
    print(f"printed by the handlers (metric lines): {args.log}", file=terminal)
    missed = [k for k, goal in GOALS.items() if k in figures and figures[k] != goal]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
