"""What the subcommands share: exit codes, policy loading, the progress bar."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

from baton.core.policy import Policy, default_policy_path, load_policy_file

if TYPE_CHECKING:
    from baton.app.ports import Ledger

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and found a problem (for example an invalid policy under `validate`)
EXIT_UNUSABLE = 2  # the input file or the policy cannot be used


class UsageError(Exception):
    """A command cannot run with what it was given; the message says why (exit status 2)."""


def load_policy_arg(path: str | None) -> Policy:
    return load_policy_file(path or default_policy_path())


def policy_label(policy: Policy, path: str | None) -> str:
    """How a command names the policy it used: its tag, and the shipped default or the file it came from."""
    return f"{policy.tag} ({'the shipped default' if path is None else f'from {path}'})"


def customer_zone(ledger: Ledger, policy: Policy, customer_id: str) -> ZoneInfo:
    """The zone a customer's times are shown in: their own, else the policy's (as the engine decides)."""
    from baton.core.engine import zone_for

    return zone_for(policy, ledger.load(customer_id, None, None, consistent=True).ledger.profile.timezone)


def progress_bar(enabled: bool, stream: TextIO) -> Callable[[int, int, datetime], None] | None:
    """A progress bar on ``stream`` for a replay (requests decided, simulated time reached), shown once the run
    has taken a few seconds; None (no bar) when ``enabled`` is false, as it is when ``stream`` is not a terminal."""
    if not enabled:
        return None
    from baton.local.progress import ReplayProgress

    return ReplayProgress(stream).update


LedgerWork = Callable[["Ledger", Policy, datetime], int]


def add_ledger_source(parser: Any) -> None:
    """Where a command reads customers from: a replay of an events file, or a table (deployed, or DynamoDB Local)."""
    from baton.names import TABLE_NAME

    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--replay", metavar="EVENTS", help="replay this events file locally, then read its ledger")
    source.add_argument("--table", help=f"a deployed ledger table (e.g. {TABLE_NAME}), with your AWS credentials")
    parser.add_argument("--dynamodb-endpoint", help="with --table: the table is on this endpoint (DynamoDB Local)")
    parser.add_argument("--policy", help="policy YAML (default: the shipped default policy)")
    parser.add_argument(
        "--salt-secret",
        "--keys-secret",  # its name before the keys were split; the combined secret of before holds the salt too
        dest="salt_secret",
        help="with --table: the deployment's address-salt secret (baton/address-salt), for recipient checks",
    )


def address_salt(args: Any) -> bytes:
    """The address salt of the source ``add_ledger_source`` parsed: the deployment's (``--salt-secret``), else the
    local one (a replay, DynamoDB Local). It keys address hashes and assigns the holdout group."""
    if getattr(args, "salt_secret", None):
        from baton.adapters.secrets import address_salt_from_secret

        return address_salt_from_secret(args.salt_secret)
    from baton.app.keys import LOCAL_ADDRESS_SALT

    return LOCAL_ADDRESS_SALT


def holdout_key(args: Any, policy: Policy) -> bytes:
    """The key that assigns ``policy``'s holdout group as the deployment does: against a deployed table, the
    deployment's salt is required (the local one would put other customers in the group)."""
    on_aws = getattr(args, "table", None) and not getattr(args, "dynamodb_endpoint", None)
    if policy.holdout is not None and on_aws and not getattr(args, "salt_secret", None):
        raise UsageError("--salt-secret is required with --table when the policy has a holdout: it assigns the group")
    return address_salt(args)


def with_ledger(args: Any, work: LedgerWork) -> int:
    """Run ``work(ledger, policy, now)`` on the source ``add_ledger_source`` parsed: after a local replay (``now``
    is the replay's end), or on a table (``now`` is the wall clock)."""
    import os
    import sys
    from datetime import UTC, timedelta

    from baton.adapters.dynamodb.ledger import DynamoLedger

    policy = load_policy_arg(args.policy)
    if args.replay:
        from baton.local.replay import read_lines, replay

        try:
            with open(args.replay, encoding="utf-8") as handle:
                lines = read_lines(handle)
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {args.replay}: {exc}") from None
        status: list[int] = []
        replay(
            lines,
            policy,
            on_progress=progress_bar(sys.stderr.isatty(), sys.stderr),
            inspect=lambda runtime: status.append(work(runtime.ledger, policy, runtime.clock.now())),
        )
        return status[0]
    salt = address_salt(args)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    ledger = DynamoLedger(
        args.table, retention=timedelta(days=1), host=args.dynamodb_endpoint, region=region, salt=salt
    )
    return work(ledger, policy, datetime.now(UTC))
