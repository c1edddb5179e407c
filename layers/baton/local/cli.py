"""``baton``: the command line for operators and marketers (installed into the project's environment)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from baton.errors import PolicyError
from baton.policy import Policy, default_policy_path, load_policy_file

EXIT_OK = 0
EXIT_UNUSABLE = 2


def _policy(path: str | None) -> Policy:
    return load_policy_file(path or default_policy_path())


def _progress(enabled: bool, stream: TextIO) -> object:
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


def cmd_replay(args: argparse.Namespace) -> int:
    from baton.local.replay import read_lines, replay

    policy = _policy(args.policy)
    try:
        with open(args.events, encoding="utf-8") as handle:
            lines = read_lines(handle)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"baton replay: cannot read {args.events}: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    progress = _progress(sys.stderr.isatty() and not args.quiet, sys.stderr)
    run = replay(
        lines,
        policy,
        workers=args.workers,
        dynamodb_endpoint=args.dynamodb_endpoint,
        on_progress=progress,  # type: ignore[arg-type]
        stderr=sys.stderr,
    )
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            for result in run.results:
                out.write(json.dumps(result.as_json()) + "\n")
    summary = run.summary()
    print(f"policy {policy.tag}: {summary['requests']} message requests")
    for outcome, count in summary["outcomes"].items():
        print(f"  {outcome:<11} {count}")
    if summary["problems"]:
        print(f"  {summary['problems']} line(s) rejected or unusable (listed on stderr)")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="baton", description="Contact orchestration: operator and marketer tools.")
    sub = parser.add_subparsers(dest="command", required=True)

    rp = sub.add_parser("replay", help="run a file of EventBridge events through Baton on a simulated clock")
    rp.add_argument("events", help="JSON lines: one EventBridge event per line (id, time, source, detail-type, detail)")
    rp.add_argument("--policy", help="policy YAML (default: the shipped default policy)")
    rp.add_argument("--out", help="write one JSON line per MessageRequested line here")
    rp.add_argument("--workers", type=int, default=1, help="arbitrate events sharing a timestamp concurrently")
    rp.add_argument("--dynamodb-endpoint", help="put the ledger on this DynamoDB (e.g. DynamoDB Local)")
    rp.add_argument("--quiet", action="store_true", help="no progress bar")
    rp.set_defaults(func=cmd_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "workers", 1) < 1:
        parser.error("--workers must be at least 1")
    try:
        return int(args.func(args))
    except PolicyError as exc:
        print(f"baton {args.command}: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE


if __name__ == "__main__":
    sys.exit(main())
