"""The sweeper's release queue on SQS: ReleaseDue events on the arbitration queue, where the arbiter picks them up
like any other request."""

from __future__ import annotations

from typing import Any

from baton.app.release import release_event
from baton.core.errors import TransientFailure


class SqsReleaseQueue:
    """``baton.app.release.ReleaseQueue`` on the arbitration queue: ReleaseDue events, ten per call."""

    def __init__(self, sqs: Any, queue_url: str, clock: Any):
        self._sqs = sqs
        self._url = queue_url
        self._clock = clock

    def send(self, releases: list[tuple[str, str]]) -> None:
        now = self._clock.now().isoformat()
        for start in range(0, len(releases), 10):
            chunk = releases[start : start + 10]
            entries = [
                {"Id": str(i), "MessageBody": release_event(customer, request, now)}
                for i, (customer, request) in enumerate(chunk)
            ]
            response = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
            failed = response.get("Failed") or []
            if failed:
                raise TransientFailure(f"{len(failed)} release message(s) not queued; the next sweep retries them")
