"""``baton lift``: what the messages earn, measured against the policy's holdout group: conversion (a purchase,
CustomerEngaged kind purchase, within the attribution window after a customer's first marketing request) in the
treated group against the held-out one, the uplift with its 95 % interval, revenue per customer, unsubscribe and
complaint rates. The figures: ``baton.local.lift``; the customers: ``baton.local.lift_source``."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from baton.local.commands.common import EXIT_OK, UsageError, add_ledger_source, holdout_key, with_ledger

if TYPE_CHECKING:
    from baton.app.ports import Ledger
    from baton.core.policy import Policy

DEFAULT_WINDOW = "7d"  # baton.local.lift.DEFAULT_WINDOW, as the replay report uses it


def register(sub: Any) -> None:
    parser = sub.add_parser("lift", help="conversion of the treated customers against the holdout group")
    parser.add_argument(
        "--window",
        default=DEFAULT_WINDOW,
        help=f"attribution window after each customer's first marketing request (default {DEFAULT_WINDOW})",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    add_ledger_source(parser)
    parser.set_defaults(func=run)


def window_arg(text: str) -> timedelta:
    from baton.core.policy import parse_duration

    try:
        window = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--window: {exc}") from None
    if window <= timedelta(0):
        raise UsageError("--window must be longer than 0")
    return window


def run(args: argparse.Namespace) -> int:
    window = window_arg(args.window)

    def work(ledger: Ledger, policy: Policy, now: datetime) -> int:
        from baton.adapters.dynamodb.ledger import DynamoLedger
        from baton.local.lift import lift, lift_lines
        from baton.local.lift_source import customer_outcomes

        if policy.holdout is None:
            raise UsageError("the policy has no holdout (holdout: {percent: ...}): there is no group to compare with")
        assert isinstance(ledger, DynamoLedger)  # a replay's table on local AWS, or the one --table names
        result = lift(customer_outcomes(ledger, policy, holdout_key(args, policy)), window)
        if args.json:
            print(json.dumps(result.as_json(), indent=2))
        else:
            print(f"policy {policy.tag}: holdout {policy.holdout.percent:g}%")
            print("\n".join(lift_lines(result)))
        return EXIT_OK

    return with_ledger(args, work)
