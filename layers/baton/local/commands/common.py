"""What the subcommands share: exit codes, policy loading, the progress bar."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from baton.policy import Policy, default_policy_path, load_policy_file

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and found a problem (for example an invalid policy under `validate`)
EXIT_UNUSABLE = 2  # the input file or the policy cannot be used


class UsageError(Exception):
    """A command cannot run with what it was given; the message says why (exit status 2)."""


def load_policy_arg(path: str | None) -> Policy:
    return load_policy_file(path or default_policy_path())


def progress_bar(enabled: bool, stream: TextIO) -> Callable[[int, int], None] | None:
    """A one-line progress bar on ``stream``; None (no bar) when output is not a terminal."""
    if not enabled:
        return None

    def show(done: int, total: int) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} events")
        if done == total:
            stream.write("\n")
        stream.flush()

    return show
