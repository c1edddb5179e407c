"""Progress of long local runs on a terminal (rich): ``baton replay`` and the tools that replay a file."""

from __future__ import annotations

import atexit
import time
from datetime import UTC, datetime
from typing import Any, TextIO

SHOW_AFTER_S = 2.0  # a run shorter than this shows no bar at all


class ReplayProgress:
    """Requests decided out of those in the file, and the simulated time reached. ``update`` is the replay's
    ``on_progress``; the bar appears once the run has taken ``SHOW_AFTER_S`` and goes when the run ends."""

    def __init__(self, stream: TextIO, show_after_s: float = SHOW_AFTER_S):
        self._stream = stream
        self._began = time.monotonic()
        self._show_after = show_after_s
        self._progress: Any = None
        self._task: Any = None

    def update(self, decided: int, total: int, simulated: datetime) -> None:
        if self._progress is None:
            if time.monotonic() - self._began < self._show_after:
                return
            self._start(total)
        at = simulated.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        self._progress.update(self._task, completed=decided, total=max(total, 1), simulated=at)
        if decided >= total:
            self.close()

    def _start(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("replay"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("requests decided · simulated {task.fields[simulated]}"),
            TimeElapsedColumn(),
            console=Console(file=self._stream),
            transient=False,
        )
        self._task = self._progress.add_task("replay", total=max(total, 1), simulated="-")
        self._progress.start()
        atexit.register(self.close)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
