"""Progress of long local runs on a terminal (rich): ``baton replay`` and the tools that replay a file, and the
stages of ``make bench`` and ``make reliability`` with the handlers' printed output kept off the terminal."""

from __future__ import annotations

import atexit
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
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


class Stages:
    """The stages of a long run (``make bench``, ``make reliability``) on ``stream``: a spinner on the stage under
    way, how many are done and the time taken, and one line left for each stage as it ends. Use as a context
    manager; ``stage(name)`` is one stage, and ``note`` prints a line above the bar."""

    def __init__(self, title: str, total: int, stream: TextIO):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = Console(file=stream, highlight=False)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("stages"),
            TimeElapsedColumn(),
            console=self.console,
            redirect_stdout=False,  # stdout is the summary's, or printed_to's log
        )
        self._title = title
        self._task = self._progress.add_task(title, total=total)

    def __enter__(self) -> Stages:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.update(self._task, description=f"{self._title}: done")
        self._progress.stop()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        from rich.markup import escape

        self._progress.update(self._task, description=f"{self._title}: {name}")
        began = time.monotonic()
        yield
        self._progress.advance(self._task)
        self.note(f"[green]✓[/] {escape(name)} [dim]{time.monotonic() - began:,.1f} s[/]")

    def note(self, text: str) -> None:
        """A line above the bar (rich markup)."""
        self._progress.console.print(text)


@contextmanager
def printed_to(log: Path) -> Iterator[None]:
    """What the code under it prints to stdout goes to ``log`` (appended), not to the terminal. In a long local
    run that is the handlers' metric lines: powertools prints a metric set as EMF JSON once a metric holds 100
    values, even with metrics disabled, when nothing clears it between invocations."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as out, redirect_stdout(out):
        yield
