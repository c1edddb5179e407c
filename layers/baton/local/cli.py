"""``baton``: the command line for operators and marketers (installed into the project's environment)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from baton.core.errors import PolicyError
from baton.local.commands.common import EXIT_UNUSABLE, UsageError

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader closed the pipe

# One module per subcommand under baton.local.commands, each with register(subparsers).
COMMANDS = [
    "replay",
    "whatif",
    "erase",
    "dlq",
    "explain",
    "decide",
    "lift",
    "policy",
    "templates",
    "keys",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="baton", description="Contact orchestration: operator and marketer tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"baton.local.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (PolicyError, UsageError) as exc:
        print(f"baton {args.command}: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except BrokenPipeError:
        # the reader went away (``baton explain ... | head``): stop quietly, as other command-line tools do; point
        # stdout at devnull so the interpreter's final flush does not raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
