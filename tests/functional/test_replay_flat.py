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

from baton.app.fleet import FleetSchedule
from baton.core.policy import Policy
from baton.entry.composition import SweeperParts
from baton.local.replay import read_lines, replay
from baton.local.runtime import LocalContext, LocalRuntime
from baton.names import DUE_SHARDS, due_shard_of
from bench import traffic
from functions.sweeper.handler import lambda_handler as sweeper


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
    # the late newsletter waits in its arbitration window: one sweep of its due-index shard releases it, and the
    # drain's read of the eight shards finds nothing left
    assert busy <= calls["Query"] <= busy + 1 + 8
    # three simulated days hold 4,320 minutes; the sweeps follow the release instants instead, each reading the
    # shards that hold something due
    assert calls["Query"] < 2 * 150


def test_a_local_sweep_reads_exactly_the_shards_that_hold_something_due(
    default_policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given a replay over two days, at every sweep the shards the local runtime names to the sweeper are those
    of every row a query of all eight shards finds due then: nothing skipped, no empty shard read."""
    seen: list[tuple[list[int] | None, list[int]]] = []
    named = LocalRuntime._due_shards

    def checked(runtime: LocalRuntime) -> list[int] | None:
        shards = named(runtime)
        rows = runtime.ledger.due(runtime.clock.now(), 1000)
        seen.append((shards, sorted({due_shard_of(customer) for customer, _, _ in rows})))
        return shards

    monkeypatch.setattr(LocalRuntime, "_due_shards", checked)
    replay(_lines(list(traffic.events(requests=120, customers=24, days=2))), default_policy)
    assert len(seen) > 20
    assert all(shards == due for shards, due in seen), [s for s in seen if s[0] != s[1]]


def test_the_scheduled_sweep_reads_every_shard_and_a_named_one_reads_those_alone(
    runtime: LocalRuntime, calls: Counter[str]
) -> None:
    """The sweeper as the schedule invokes it (an event without shards) queries all eight shards; an event
    naming shards queries those; an event naming a shard that does not exist is refused, naming the field."""
    parts = SweeperParts(runtime.ledger, runtime.release_queue, runtime.clock, FleetSchedule())
    assert sweeper({"id": "scheduled"}, LocalContext(), parts=parts) == {"released": 0}
    assert calls["Query"] == DUE_SHARDS
    calls.clear()
    assert sweeper({"shards": [2, 5]}, LocalContext(), parts=parts) == {"released": 0}
    assert calls["Query"] == 2
    with pytest.raises(ValueError, match="shards"):
        sweeper({"shards": [DUE_SHARDS]}, LocalContext(), parts=parts)


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
