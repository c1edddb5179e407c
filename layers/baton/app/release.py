"""The sweeper's part of deferral: the requests whose release time or send lease has come become ReleaseDue
events on the arbitration queue, where the arbiter picks them up like any other request.

Apart from ``baton.app.arbiter`` so that the sweeper, which decides nothing, loads neither the contract nor the
engine at its cold start.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from baton.app.ports import Ledger
from baton.core.clock import Clock
from baton.names import DETAIL_RELEASE_DUE, DUE_SHARDS, RELEASE_SOURCE


def release_event(customer_id: str, request_id: str, now: str) -> str:
    """The body the sweeper queues for one due request: an EventBridge-shaped ReleaseDue event."""
    return json.dumps(
        {
            "id": f"release:{customer_id}:{request_id}:{now}",
            "time": now,
            "source": RELEASE_SOURCE,
            "detail-type": DETAIL_RELEASE_DUE,
            "detail": {"customer_id": customer_id, "request_id": request_id},
        }
    )


def shards_of(event: Mapping[str, Any]) -> frozenset[int] | None:
    """The due-index shards a sweep event names in ``shards`` (None: the scheduled sweep, all of them). A local
    run names the shards that hold something due, so that its sweep skips the empty ones."""
    shards = event.get("shards")
    if shards is None:
        return None
    if not isinstance(shards, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) and 0 <= s < DUE_SHARDS for s in shards
    ):
        raise ValueError(f"sweep event: shards must be a list of due-index shards 0 to {DUE_SHARDS - 1}: {shards!r}")
    return frozenset(shards)


class ReleaseQueue(Protocol):
    def send(self, releases: list[tuple[str, str]]) -> None:
        """Ask for (customer, request) releases to be arbitrated."""


def sweep(
    ledger: Ledger, queue: ReleaseQueue, clock: Clock, limit: int = 1000, shards: frozenset[int] | None = None
) -> int:
    """Find requests whose release time or send lease has come (in the due-index ``shards`` given, or in all),
    and queue one release per request."""
    rows = ledger.due(clock.now(), limit, shards)
    due = list(dict.fromkeys((customer, request) for customer, request, _ in rows))
    if due:
        queue.send(due)
    return len(due)
