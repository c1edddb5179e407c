"""``baton explain CUSTOMER_ID``: the customer's timeline (requests, outcomes, reasons, the counts each cap saw,
what outranked or cancelled what), from a deployed table or from a replay's ledger."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from baton.local.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_ledger_source,
    customer_zone,
    policy_label,
    with_ledger,
)

if TYPE_CHECKING:
    from baton.app.ports import Ledger
    from baton.core.policy import Policy


def register(sub: Any) -> None:
    parser = sub.add_parser("explain", help="why a customer got (or did not get) each message")
    parser.add_argument("customer_id")
    parser.add_argument("--since", help="only requests since then: an ISO-8601 time or a span back from now (24h, 7d)")
    add_ledger_source(parser)
    parser.set_defaults(func=run)


def since_time(text: str | None, now: datetime) -> datetime | None:
    """``--since``: ISO-8601 (naive means UTC) or a span such as ``90m``, ``24h``, ``7d`` back from ``now``."""
    if text is None:
        return None
    from baton.core.policy import parse_duration

    try:
        return now - parse_duration(text)
    except (ValueError, TypeError):
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--since {text!r} is neither an ISO-8601 time nor a span such as 24h or 7d") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def run(args: argparse.Namespace) -> int:
    def work(ledger: Ledger, policy: Policy, now: datetime) -> int:
        from baton.ops.explain import timeline

        since = since_time(args.since, now)
        records = ledger.timeline(args.customer_id)
        state = ledger.load(args.customer_id, None, None, consistent=True).ledger  # its recorded contacts
        if not records and state.version == 0:
            print(f"baton explain: no customer {args.customer_id} in the ledger", file=sys.stderr)
            return EXIT_FAILED
        zone = customer_zone(ledger, policy, args.customer_id)
        label = policy_label(policy, args.policy)
        for line in timeline(args.customer_id, records, since, zone, label, contacts=state.contacts):
            print(line)
        return EXIT_OK

    return with_ledger(args, work)
