"""``baton whatif`` on generated traffic (bench.traffic, default policy), each run in a fresh process:

- ``whatif_requests_per_second``: requests over the wall time of a run on 2 worker processes (spill, decide, merge;
  the output rows written to a file, as ``--out`` does);
- ``whatif_scaling_2_workers``: that throughput over the same run's on 1 worker;
- ``whatif_peak_rss_mb``: the 2-worker run's peak resident memory: the main process's plus each worker's (the
  largest worker's times the workers), an upper bound on what the run held at once;
- ``whatif_spark_matches``: the Spark engine (local mode) gave the local engine's rows for a sample, row for row
  (None when PySpark is not installed).

The child (``python -m bench.whatif EVENTS WORKERS ENGINE``) prints its seconds, peak RSS and outcomes as JSON.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import traffic


def run_child(events: Path, workers: int, engine: str = "local") -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.whatif", str(events), str(workers), engine],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(size: dict[str, int], sample: dict[str, int] | None) -> dict[str, Any]:
    """The figures; ``sample``: the size of the Spark comparison (None: not made)."""
    with tempfile.TemporaryDirectory(prefix="bench-whatif-") as tmp:
        events = traffic.write(Path(tmp) / "events.jsonl", size["requests"], size["customers"], size["days"])
        one, two = run_child(events, 1), run_child(events, 2)
        matches: bool | None = None
        if sample is not None and importlib.util.find_spec("pyspark") is not None:
            small = traffic.write(Path(tmp) / "sample.jsonl", sample["requests"], sample["customers"], sample["days"])
            matches = run_child(small, 1)["rows_sha256"] == run_child(small, 1, "spark")["rows_sha256"]
    rps = {n: run["requests"] / run["seconds"] for n, run in (("1", one), ("2", two))}
    return {
        "requests_per_second": round(rps["2"], 1),
        "scaling_2_workers": round(rps["2"] / rps["1"], 3),
        "peak_rss_mb": round(two["peak_rss_mb"] + 2 * two["worker_peak_rss_mb"], 1),
        "spark_matches": matches,
        "runs": {"1_worker": {**size, **one}, "2_workers": {**size, **two}},
    }


def _child(path: str, workers: int, engine: str) -> None:
    from baton.core.policy import default_policy_path, load_policy_file, policy_json

    text = policy_json(load_policy_file(default_policy_path()))
    digest = hashlib.sha256()
    with tempfile.TemporaryFile("w", encoding="utf-8") as out:

        def write(row: str) -> None:
            out.write(row + "\n")
            digest.update(row.encode())

        began = time.monotonic()
        with open(path, encoding="utf-8") as handle:
            if engine == "spark":
                from baton.local.whatif_spark import run_spark

                tally = run_spark(path, iter(()), text, write)
            else:
                from baton.local.whatif_engines import run_local

                tally = run_local(enumerate(handle, start=1), text, workers, write)
        seconds = time.monotonic() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"requests": tally.requests, "seconds": round(seconds, 2), "peak_rss_mb": round(peak, 1),
                      "worker_peak_rss_mb": round(children, 1) if workers > 1 else 0.0,
                      "rows_sha256": digest.hexdigest(), "outcomes": tally.summary()["outcomes"]}))  # fmt: skip


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]), sys.argv[3])
