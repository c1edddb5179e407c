"""The sweeper's part of deferral: the requests whose release time or send lease has come become ReleaseDue
events on the arbitration queue, where the arbiter picks them up like any other request.

Apart from ``baton.app.arbiter`` so that the sweeper, which decides nothing, loads neither the contract nor the
engine at its cold start.
"""

from __future__ import annotations

import json
from typing import Protocol

from baton.app.ports import Ledger
from baton.core.clock import Clock
from baton.names import DETAIL_RELEASE_DUE, RELEASE_SOURCE


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


class ReleaseQueue(Protocol):
    def send(self, releases: list[tuple[str, str]]) -> None:
        """Ask for (customer, request) releases to be arbitrated."""


def sweep(ledger: Ledger, queue: ReleaseQueue, clock: Clock, limit: int = 1000) -> int:
    """Find requests whose release time or send lease has come, and queue one release per request."""
    due = list(dict.fromkeys((customer, request) for customer, request, _ in ledger.due(clock.now(), limit)))
    if due:
        queue.send(due)
    return len(due)
