"""`baton replay` on its embedded default (moto in process), at two sizes, each in a fresh process:

- ``replay_requests_per_second``: the large file's requests over the replay's wall time;
- ``replay_scale_ratio``: seconds per request of the large file over those of the small one (the same requests
  per customer over the same days, ten times as many of both): flat means the cost of a request does not grow
  with the table;
- ``replay_peak_rss_mb``: the large run's peak resident memory.

The child (``python -m bench.replay EVENTS``) replays the file with the default policy, as `baton replay EVENTS`
does, and prints its seconds, peak RSS and outcome counts as JSON.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench import traffic


def run_child(events: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.replay", str(events)], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(small: dict[str, int], large: dict[str, int]) -> dict[str, Any]:
    runs = {}
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        for name, size in (("small", small), ("large", large)):
            events = traffic.write(Path(tmp) / f"{name}.jsonl", size["requests"], size["customers"], size["days"])
            runs[name] = {**size, **run_child(events)}
    per_request = {name: run["seconds"] / run["requests"] for name, run in runs.items()}
    return {
        "requests_per_second": round(runs["large"]["requests"] / runs["large"]["seconds"], 1),
        "scale_ratio": round(per_request["large"] / per_request["small"], 3),
        "peak_rss_mb": runs["large"]["peak_rss_mb"],
        "runs": runs,
    }


def _child(path: str) -> None:
    from baton.core.policy import default_policy_path, load_policy_file
    from baton.local.replay import read_lines, replay

    policy = load_policy_file(default_policy_path())
    with open(path, encoding="utf-8") as handle:
        lines = read_lines(handle)
    began = time.monotonic()
    run = replay(lines, policy)
    seconds = time.monotonic() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    outcomes = Counter(r.outcome for r in run.results)
    print(json.dumps({"requests": len(run.results), "seconds": round(seconds, 2), "peak_rss_mb": round(peak, 1),
                      "outcomes": dict(sorted(outcomes.items()))}))  # fmt: skip


if __name__ == "__main__":
    _child(sys.argv[1])
