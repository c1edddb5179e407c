"""``baton replay EVENTS.jsonl``: the real pipeline over a file of events on a simulated clock; ``--report FILE``
writes one self-contained HTML page about it (``--compare OTHER_POLICY``: the same events under both policies)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from baton.local.commands.common import EXIT_OK, UsageError, load_policy_arg, progress_bar

if TYPE_CHECKING:
    from baton.core.policy import Policy
    from baton.local.replay import Line, ReplayRun

    Run = tuple[Policy, str | None, ReplayRun]  # a policy, its file (None: the default policy), its replay


def register(sub: Any) -> None:
    rp = sub.add_parser("replay", help="run a file of EventBridge events through Baton on a simulated clock")
    rp.add_argument("events", help="JSON lines: one EventBridge event per line (id, time, source, detail-type, detail)")
    rp.add_argument("--policy", help="policy YAML (default: the shipped default policy)")
    rp.add_argument("--templates", metavar="DIR", help="the template set (default: the shipped set)")
    rp.add_argument("--out", help="write one JSON line per MessageRequested line here (under --policy)")
    rp.add_argument("--workers", type=int, default=1, help="arbitrate events sharing a timestamp concurrently")
    rp.add_argument(
        "--dynamodb-endpoint",
        help="put the ledger on this DynamoDB (e.g. DynamoDB Local), in a fresh table of its own, deleted at the end",
    )
    rp.add_argument(
        "--keep-table",
        metavar="NAME",
        help="with --dynamodb-endpoint: name the run's table and keep it (with --compare, the other policy's is"
        " NAME-compare); a table that already holds items is refused",
    )
    rp.add_argument(
        "--reuse-table",
        action="store_true",
        help="with --keep-table: write into NAME even if it holds items (the outcomes then depend on them)",
    )
    rp.add_argument("--quiet", action="store_true", help="no progress bar")
    rp.add_argument("--report", metavar="FILE", help="write a self-contained HTML report of the replay here")
    rp.add_argument(
        "--customer", metavar="ID", help="with --report: whose timeline to show (default: the most requests)"
    )
    rp.add_argument(
        "--compare",
        metavar="OTHER_POLICY",
        help="with --report: replay the same events under this policy too and show the differences side by side",
    )
    rp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from baton.local.replay import read_lines

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    for flag in ("customer", "compare"):
        if getattr(args, flag) is not None and not args.report:
            raise UsageError(f"--{flag} needs --report FILE")
    if args.keep_table is not None and not args.dynamodb_endpoint:
        raise UsageError("--keep-table needs --dynamodb-endpoint: the embedded AWS is gone when the run ends")
    if args.reuse_table and args.keep_table is None:
        raise UsageError("--reuse-table needs --keep-table NAME")
    policy = load_policy_arg(args.policy)
    other = load_policy_arg(args.compare) if args.compare else None
    try:
        with open(args.events, encoding="utf-8") as handle:
            lines = read_lines(handle)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {args.events}: {exc}") from None
    if args.report:
        _check_report_args(args, lines)
    result = _replay(args, lines, policy, sys.stderr)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            for row in result.results:
                out.write(json.dumps(row.as_json()) + "\n")
    print_summary(policy, result.summary())
    if args.report:
        runs = [(policy, args.policy, result)]
        if other is not None:
            # its unusable lines are the same ones, listed already; its ledger is a table of its own
            compared = _replay(args, lines, other, None, suffix="-compare")
            print_summary(other, compared.summary())
            runs.append((other, args.compare, compared))
        _write_report(args, lines, runs)
        print(f"report: {args.report}")
    return EXIT_OK


def _replay(args: argparse.Namespace, lines: list[Line], policy: Policy, stderr: Any, suffix: str = "") -> ReplayRun:
    from baton.local.mocked_aws import TableInUse
    from baton.local.replay import replay

    try:
        return replay(
            lines,
            policy,
            workers=args.workers,
            dynamodb_endpoint=args.dynamodb_endpoint,
            table_name=f"{args.keep_table}{suffix}" if args.keep_table else None,
            keep_table=args.keep_table is not None,
            reuse_table=args.reuse_table,
            on_progress=progress_bar(sys.stderr.isatty() and not args.quiet, sys.stderr),
            stderr=stderr,
            templates=Path(args.templates) if args.templates else None,
        )
    except TableInUse as exc:
        raise UsageError(str(exc)) from None


def print_summary(policy: Policy, summary: dict[str, Any]) -> None:
    """The run's outcome counts, as replay and whatif print them."""
    print(f"policy {policy.tag}: {summary['requests']} message requests")
    for outcome, count in summary["outcomes"].items():
        print(f"  {outcome:<11} {count}")
    if summary["problems"]:
        print(f"  {summary['problems']} line(s) rejected or unusable (listed on stderr)")


def _check_report_args(args: argparse.Namespace, lines: list[Line]) -> None:
    """Before the (long) replay: the customer is in the events and the report's folder can be made."""
    from baton.local.report import requests_per_customer

    if args.customer is not None and args.customer not in requests_per_customer(lines):
        raise UsageError(f"--customer: no customer {args.customer} in {args.events}")
    check_report_target(args.report)


def check_report_target(path: str) -> None:
    """Before a long run: the report's folder can be made, and the report is not a folder."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc}") from None
    if target.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder")


def _write_report(args: argparse.Namespace, lines: list[Line], runs: list[Run]) -> None:
    from zoneinfo import ZoneInfo

    from baton.local.report import Side, build_report

    sides = [Side(policy.tag, Path(path).name if path else "default policy", run) for policy, path, run in runs]
    page = build_report(lines, sides, ZoneInfo(runs[0][0].timezone), args.customer, Path(args.events).name)
    try:
        Path(args.report).write_text(page, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {args.report}: {exc}") from None
