"""``make reliability``: every scenario at full size, DynamoDB Local started and stopped here, the figures
written to reliability/results.json (exactly the issue's keys, each counted in this run) and printed as a
table with the details behind them.

    python -m reliability.run                 # everything, full size (the load alone takes most of the time)
    python -m reliability.run --only faults   # one scenario; results.json keeps the other keys of the last run
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from baton.local.mocked_aws import set_local_env

RESULTS = Path(__file__).with_name("results.json")
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
    "concurrency": {"runs": 20, "workers": 32, "per_customer": 200},
    "faults": {"count": 1_000, "customers": 100, "probability": 0.2, "seed": 20261127},
    "bad_input": {"events": 10_000},
    "load": {"count": 100_000, "customers": 10_000, "workers": 16},
}
SCENARIOS = tuple(FULL)


def run(only: tuple[str, ...], endpoint: str) -> tuple[dict[str, Any], dict[str, Any]]:
    from reliability import scenarios

    figures: dict[str, Any] = {}
    details: dict[str, Any] = {}
    for name in only:
        size = FULL[name]
        began = time.monotonic()
        print(f"{name}: {size} ...", file=sys.stderr, flush=True)
        if name in ("duplicates", "concurrency", "bad_input", "load"):
            result = getattr(scenarios, name)(**size, endpoint=endpoint)
        else:
            result = getattr(scenarios, name)(**size)
        detail = result.pop("detail", {})
        detail["seconds"] = round(time.monotonic() - began, 1)
        figures.update(result)
        details[name] = detail
        print(f"{name}: {result} in {detail['seconds']} s", file=sys.stderr, flush=True)
    return figures, details


def table(figures: dict[str, Any], details: dict[str, Any]) -> str:
    lines = [f"{'figure':<28} {'count':>9}  goal", "-" * 46]
    for key in KEYS:
        if key not in figures:
            continue
        goal = GOALS.get(key)
        mark = "" if goal is None else ("ok" if figures[key] == goal else f"MISSED (goal {goal})")
        lines.append(f"{key:<28} {figures[key]:>9}  {mark}")
    for name, detail in details.items():
        lines.append(f"\n{name}: " + json.dumps(detail, default=str))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reliability.run", description=__doc__)
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(SCENARIOS)}")
    args = parser.parse_args(argv)
    only = tuple(args.only.split(",")) if args.only else SCENARIOS
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    set_local_env()
    from baton.local.dynamodb_local import DynamoDBLocal

    with DynamoDBLocal() as ddb:
        figures, details = run(only, ddb.endpoint)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results = {key: figures.get(key, previous.get(key)) for key in KEYS}
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(table(figures, details))
    print(f"\nwritten: {RESULTS}")
    missed = [k for k, goal in GOALS.items() if k in figures and figures[k] != goal]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
