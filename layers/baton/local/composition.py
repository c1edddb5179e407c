"""How local runs compose the arbiter and drive its releases on a simulated clock: ``LocalRuntime`` (replay, the
demo, the tests; DynamoDB and SES/SNS on local AWS) and ``baton whatif`` (in memory) alike. Imports no AWS code."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from baton.app.arbiter import Arbiter, Report
from baton.app.keys import LOCAL_ADDRESS_SALT, LOCAL_SIGNING_KEYS
from baton.app.ports import Channels, Ledger
from baton.app.render import Renderer
from baton.app.unsubscribe import Links
from baton.core.clock import Clock, SimulatedClock
from baton.core.domain import Outcome
from baton.core.policy import Policy

UNSUBSCRIBE_URL = "https://unsubscribe.baton.local/unsubscribe"


def local_arbiter(
    ledger: Ledger,
    channels: Channels,
    policy: Policy,
    clock: Clock,
    observer: Callable[[Report], None],
    renderer: Renderer | None = None,
    *,
    unsubscribe_links: bool = True,
) -> Arbiter:
    """The arbiter as local runs compose it: the fixed ``policy``, the local unsubscribe links and keys, over the
    ``ledger`` and ``channels`` given (DynamoDB and SES/SNS on local AWS for replay; in memory for whatif).
    ``unsubscribe_links=False``: marketing email goes without them (whatif sends nothing anyone could click)."""
    from baton.adapters.policy_source import StaticPolicy

    return Arbiter(
        ledger=ledger,
        channels=channels,
        policies=StaticPolicy(policy),
        clock=clock,
        observer=observer,
        renderer=renderer,
        links=(
            Links(url=UNSUBSCRIBE_URL, keys=lambda: LOCAL_SIGNING_KEYS, mailto="unsubscribe@shop.example")
            if unsubscribe_links
            else None
        ),
        holdout_key=LOCAL_ADDRESS_SALT,  # the holdout group as a deployment keyed by the local salt assigns it
    )


class DueTimes:
    """Releases on a simulated clock, as the scheduled sweeper would make them: each deferral's release time is
    noted from its report, and ``run_until`` sweeps at each such time in order."""

    def __init__(self, clock: SimulatedClock, ledger: Ledger, sweep: Callable[[], int]):
        self.clock, self.ledger, self.sweep = clock, ledger, sweep
        self._lock = threading.Lock()
        self.due_times: list[datetime] = []

    def note(self, report: Report) -> None:
        if report.outcome is Outcome.DEFERRED and report.release_at is not None:
            with self._lock:
                self.due_times.append(report.release_at)

    def run_until(self, until: datetime | None) -> None:
        """Advance the simulated clock through every release due up to ``until``, sweeping at each due time as
        the scheduled sweeper would. ``until=None`` runs on until nothing waits (then drains the due index
        itself, which also covers send leases left by a crash)."""
        while True:
            with self._lock:
                nxt = min(self.due_times, default=None)
                if nxt is None or (until is not None and nxt > until):
                    break
                self.due_times = [t for t in self.due_times if t > nxt]
            self.clock.set(nxt)
            self.sweep()
        if until is not None:
            self.clock.set(until)
            return
        far = self.clock.now() + timedelta(days=3650)
        for _ in range(10_000):
            rows = self.ledger.due(far, 1)
            if not rows:
                return
            before = self.clock.now()
            self.clock.set(rows[0][2])
            if self.clock.now() == before:
                self.clock.advance(timedelta(seconds=1))
            self.sweep()
            self.run_until(self.clock.now())
        raise RuntimeError("releases make no progress: the due index keeps the same requests")
