"""``baton erase CUSTOMER_ID``: right to erasure against a deployed table (or DynamoDB Local)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from baton.local.commands.common import EXIT_OK, UsageError
from baton.names import TABLE_NAME


def register(sub: Any) -> None:
    parser = sub.add_parser("erase", help="delete everything Baton holds for a customer (keeps only address hashes)")
    parser.add_argument("customer_id")
    parser.add_argument("--table", default=TABLE_NAME, help=f"ledger table (default {TABLE_NAME})")
    parser.add_argument("--dynamodb-endpoint", help="e.g. DynamoDB Local; default: AWS with your credentials")
    parser.add_argument(
        "--salt-secret",
        "--keys-secret",  # its name before the keys were split; the combined secret of before holds the salt too
        dest="salt_secret",
        help="Secrets Manager secret holding the address salt (baton/address-salt); required against AWS",
    )
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from baton.adapters.dynamodb.ledger import DynamoLedger
    from baton.adapters.secrets import address_salt_from_secret
    from baton.app.keys import LOCAL_ADDRESS_SALT

    if args.dynamodb_endpoint is None and not args.salt_secret:
        raise UsageError("--salt-secret is required against AWS (erasure must find the addresses' keyed hashes)")
    if not args.yes and input(f"Erase every item held for {args.customer_id}? [y/N] ").strip().lower() != "y":
        print("nothing erased")
        return EXIT_OK
    salt = address_salt_from_secret(args.salt_secret) if args.salt_secret else LOCAL_ADDRESS_SALT
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    ledger = DynamoLedger(
        args.table, retention=timedelta(days=1), host=args.dynamodb_endpoint, region=region, salt=salt
    )
    deleted = ledger.erase(args.customer_id)
    if deleted == 0:
        raise UsageError(f"no customer {args.customer_id} in table {args.table}")
    print(f"erased {args.customer_id}: {deleted} item(s) deleted; suppressed addresses kept as keyed hashes only")
    return EXIT_OK
