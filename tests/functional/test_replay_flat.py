"""`baton replay` on embedded moto stays flat and linear as a run grows (issue: a thousand requests over two days
once took 14 CPU minutes and 11 GB): sweeping costs ledger queries per release instant, never per simulated
minute, and what a run keeps in memory grows with what it stores, not with how many decisions it made."""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.client
import pytest

from baton.core.policy import Policy
from baton.local.replay import read_lines, replay
from bench import traffic


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Every AWS operation the run makes, counted by name."""
    counted: Counter[str] = Counter()
    original = botocore.client.BaseClient._make_api_call

    def counting(self: Any, operation: str, params: dict[str, Any]) -> Any:
        counted[operation] += 1
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    yield counted


def _lines(events: list[dict[str, Any]]) -> list[Any]:
    return read_lines(json.dumps(e) for e in events)


def test_idle_days_cost_no_ledger_queries(default_policy: Policy, calls: Counter[str]) -> None:
    """Given a few hundred requests over three days, when ten idle days and one more request follow, then the
    run makes the same queries plus those of the one request: none for the 14,400 idle minutes."""
    events = list(traffic.events(requests=150, customers=15, days=3))
    replay(_lines(events), default_policy)
    busy = calls["Query"]
    calls.clear()
    last = datetime.fromisoformat(str(events[-1]["time"]))
    late = json.loads(json.dumps(events[-1]))
    late["detail"].update(request_id="late", category="newsletter", template="newsletter",
                          data={"headline": "Later", "url": "https://shop.example/l"})  # fmt: skip
    late["time"] = (last + timedelta(days=10)).isoformat()
    replay(_lines([*events, late]), default_policy)
    # the late newsletter waits in its arbitration window: one sweep of the eight due-index shards releases it,
    # and one more finds nothing left
    assert busy - 8 * 2 <= calls["Query"] - 8 * 2 <= busy
    # three simulated days hold 4,320 minutes; the sweeps follow the release instants instead
    assert calls["Query"] < 8 * 2 * 150


def _retained_bytes(policy: Policy, requests: int, tmp: Path) -> int:
    """The memory a replay of ``requests`` holds at its end, inside its embedded AWS (tracemalloc, after a full
    collection), over the memory held before it began."""
    events = traffic.write(tmp / f"r{requests}.jsonl", requests, customers=requests // 10, days=2)
    with events.open(encoding="utf-8") as handle:
        lines = read_lines(handle)
    held: list[int] = []

    def measure(_runtime: Any) -> None:
        gc.collect()
        held.append(tracemalloc.get_traced_memory()[0])

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        replay(lines, policy, inspect=measure)
    finally:
        tracemalloc.stop()
    return held[0] - before


def test_memory_held_per_request_does_not_grow_with_the_run(default_policy: Policy, tmp_path: Path) -> None:
    """Three times the requests over three times the customers hold about three times the memory: the ledger's
    items and the sent messages, not a copy of the table per transaction (moto's own backup, which grew with
    both the table and the number of transactions)."""
    short = _retained_bytes(default_policy, 40, tmp_path) / 40
    long = _retained_bytes(default_policy, 120, tmp_path) / 120
    assert long <= 1.5 * short, f"{long:.0f} bytes held per request over 120, {short:.0f} over 40"
