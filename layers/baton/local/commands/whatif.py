"""``baton whatif EVENTS_OR_EXPORT``: what a policy would have done to real traffic, fast: the arbiter's own code
over an in-memory ledger on a simulated clock, customers spread over processes (``--engine local``) or PySpark
(``--engine spark``). Same ``--out`` lines, summary and ``--report`` as ``baton replay``."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from baton.local.commands.common import EXIT_OK, UsageError, load_policy_arg
from baton.local.commands.replay import check_report_target, print_summary

if TYPE_CHECKING:
    from baton.core.policy import Policy
    from baton.local.whatif import Tally


def register(sub: Any) -> None:
    wp = sub.add_parser(
        "whatif", help="what a policy would have done to an events file or a DynamoDB export of the ledger, fast"
    )
    wp.add_argument(
        "source",
        metavar="EVENTS_OR_EXPORT",
        help="JSON lines of EventBridge events (as baton replay takes), or a DynamoDB export of the ledger table"
        " (the folder holding manifest-summary.json, local or s3://bucket/prefix)",
    )
    wp.add_argument("--policy", help="policy YAML (default: the shipped default policy)")
    wp.add_argument("--out", help="write one JSON line per MessageRequested line here (under --policy)")
    wp.add_argument("--report", metavar="FILE", help="write a self-contained HTML report of aggregates here")
    wp.add_argument(
        "--compare", metavar="OTHER_POLICY", help="with --report: the same traffic under this policy too, side by side"
    )
    wp.add_argument("--engine", choices=("local", "spark"), default="local", help="where customers run (default local)")
    wp.add_argument("--workers", type=int, help="--engine local: processes (default: the CPU count)")
    wp.add_argument("--quiet", action="store_true", help="no progress bar")
    wp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from baton.local.whatif_engines import default_workers

    workers = default_workers() if args.workers is None else args.workers
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.compare is not None and not args.report:
        raise UsageError("--compare needs --report FILE")
    if args.engine == "spark":
        _check_spark()
    policy = load_policy_arg(args.policy)
    other = load_policy_arg(args.compare) if args.compare else None
    source = _source(args.source)
    if args.report:
        check_report_target(args.report)
    with tempfile.TemporaryFile("w+", encoding="utf-8") as outcomes:
        seen = (lambda row: outcomes.write(_outcome(row) + "\n")) if other is not None else None
        runs = [(policy, args.policy, _decide(args, policy, source, workers, args.out, seen))]
        print_summary(policy, runs[0][2].summary())
        for line in runs[0][2].problem_lines:
            print(line, file=sys.stderr)
        differing = None
        if other is not None:
            outcomes.seek(0)
            changed = [0]

            def differs(row: str) -> None:
                changed[0] += _outcome(row) != outcomes.readline().rstrip("\n")

            compared = _decide(args, other, source, workers, None, differs)
            print_summary(other, compared.summary())
            print(f"  {changed[0]} request(s) with a different outcome")
            runs.append((other, args.compare, compared))
            differing = changed[0]
    if args.report:
        from baton.local.whatif_report import write_report

        write_report(args.report, runs, Path(args.source.rstrip("/")).name, policy.timezone, differing)
        print(f"report: {args.report}")
    return EXIT_OK


def _outcome(row: str) -> str:
    return str(json.loads(row)["outcome"])


class _Source:
    """Where the traffic comes from: an events file, or an export read into events (``baton.local.whatif_export``)."""

    def __init__(self, path: str, export: Any | None):
        self.path, self.export = path, export

    def lines(self) -> Iterator[tuple[int, str]]:
        if self.export is not None:
            yield from self.export.events()
            return
        with open(self.path, encoding="utf-8") as handle:
            yield from enumerate(handle, start=1)


def _source(path: str) -> _Source:
    from baton.local.whatif_export import BadExport, Export, is_export

    if is_export(path):
        try:
            return _Source(path, Export.open(path))
        except BadExport as exc:
            raise UsageError(str(exc)) from None
    try:
        with open(path, encoding="utf-8") as handle:
            handle.read(1)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    return _Source(path, None)


def _decide(
    args: argparse.Namespace,
    policy: Policy,
    source: _Source,
    workers: int,
    out: str | None,
    seen: Callable[[str], Any] | None = None,
) -> Tally:
    from baton.core.policy import policy_json
    from baton.local.whatif_export import BadExport

    handle: IO[str] | None = open(out, "w", encoding="utf-8") if out else None  # noqa: SIM115 - closed below

    def write(row: str) -> None:
        if handle is not None:
            handle.write(row + "\n")
        if seen is not None:
            seen(row)

    try:
        if args.engine == "spark":
            from baton.local.whatif_spark import run_spark

            return run_spark(source.path if source.export is None else None, source.lines(), policy_json(policy), write)
        from baton.local.whatif_engines import run_local

        return run_local(source.lines(), policy_json(policy), workers, write, _progress(args))
    except BadExport as exc:
        raise UsageError(str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {args.source}: {exc}") from None
    finally:
        if handle is not None:
            handle.close()


def _progress(args: argparse.Namespace) -> Callable[[int, int], None] | None:
    if args.quiet or not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import Progress

    progress = Progress(console=Console(file=sys.stderr), transient=True)
    task = progress.add_task("whatif: customer groups decided", total=None)

    def update(done: int, total: int) -> None:
        if not progress.live.is_started:
            progress.start()
        progress.update(task, completed=done, total=total)
        if done >= total:
            progress.stop()

    return update


def _check_spark() -> None:
    import importlib.util

    if importlib.util.find_spec("pyspark") is None:
        raise UsageError(
            "--engine spark needs PySpark and Java 17: pip install -e '.[spark]' (in this project's .venv), or run"
            " on EMR Serverless or Glue (see docs/whatif.md)"
        )
