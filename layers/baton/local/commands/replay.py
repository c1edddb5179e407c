"""``baton replay EVENTS.jsonl``: the real pipeline over a file of events on a simulated clock."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from baton.local.commands.common import EXIT_OK, UsageError, load_policy_arg, progress_bar


def register(sub: Any) -> None:
    rp = sub.add_parser("replay", help="run a file of EventBridge events through Baton on a simulated clock")
    rp.add_argument("events", help="JSON lines: one EventBridge event per line (id, time, source, detail-type, detail)")
    rp.add_argument("--policy", help="policy YAML (default: the shipped default policy)")
    rp.add_argument("--out", help="write one JSON line per MessageRequested line here")
    rp.add_argument("--workers", type=int, default=1, help="arbitrate events sharing a timestamp concurrently")
    rp.add_argument("--dynamodb-endpoint", help="put the ledger on this DynamoDB (e.g. DynamoDB Local)")
    rp.add_argument("--quiet", action="store_true", help="no progress bar")
    rp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from baton.local.replay import read_lines, replay

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    policy = load_policy_arg(args.policy)
    try:
        with open(args.events, encoding="utf-8") as handle:
            lines = read_lines(handle)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {args.events}: {exc}") from None
    result = replay(
        lines,
        policy,
        workers=args.workers,
        dynamodb_endpoint=args.dynamodb_endpoint,
        on_progress=progress_bar(sys.stderr.isatty() and not args.quiet, sys.stderr),
        stderr=sys.stderr,
    )
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            for row in result.results:
                out.write(json.dumps(row.as_json()) + "\n")
    summary = result.summary()
    print(f"policy {policy.tag}: {summary['requests']} message requests")
    for outcome, count in summary["outcomes"].items():
        print(f"  {outcome:<11} {count}")
    if summary["problems"]:
        print(f"  {summary['problems']} line(s) rejected or unusable (listed on stderr)")
    return EXIT_OK
