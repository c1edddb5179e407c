"""The pure policy engine on one core: ``baton.core.engine.arbitrate`` for the 12-rule bench policy and a customer
with 50 contacts in the window, one arriving request per decision; then the same loop under cProfile for the
top five functions by their own time."""

from __future__ import annotations

import cProfile
import pstats
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.world import RULES, bench_policy, customer_ledger, engine_request


def _loop(policy: Any, ledger: Any, requests: list[Any], now: datetime) -> list[str]:
    from baton.core.engine import arbitrate

    return [arbitrate(policy, ledger, [r], now).decisions[0].outcome.value for r in requests]


def engine(decisions: int, contacts: int, profiled: int) -> dict[str, Any]:
    policy = bench_policy()
    now = datetime.now(UTC)
    ledger = customer_ledger("engine-1", contacts, now)
    requests = [engine_request("engine-1", f"e{i:06d}", now) for i in range(decisions)]
    _loop(policy, ledger, requests[:50], now)  # warm caches (zoneinfo, cached properties)
    began = time.perf_counter()
    outcomes = _loop(policy, ledger, requests, now)
    elapsed = time.perf_counter() - began
    if set(outcomes) != {"sent"}:
        raise RuntimeError(f"engine bench: expected every request sent, got {sorted(set(outcomes))}")

    profile = cProfile.Profile()
    profile.enable()
    _loop(policy, ledger, requests[:profiled], now)
    profile.disable()
    stats = pstats.Stats(profile)
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:5]  # type: ignore[attr-defined]
    top = [
        {
            "function": f"{Path(file).name}:{line}({name})" if line else name,
            "calls": calls,
            "own_share": round(own / total, 3),
            "cumulative_per_decision_us": round(cumulative / profiled * 1e6, 1),
        }
        for (file, line, name), (_, calls, own, cumulative, _) in rows
    ]
    return {
        "decisions_per_second": round(decisions / elapsed),
        "decisions": decisions,
        "rules": RULES,
        "contacts": contacts,
        "microseconds_per_decision": round(elapsed / decisions * 1e6, 1),
        "top_functions": top,
    }
