"""``baton keys rotate``: a new unsubscribe signing key, the previous ones kept until their tokens expire."""

from __future__ import annotations

import argparse
import os
from typing import Any

from baton.local.commands.common import EXIT_OK, UsageError
from baton.names import SIGNING_SECRET_NAME


def register(sub: Any) -> None:
    parser = sub.add_parser("keys", help="the unsubscribe signing keys: rotate")
    actions = parser.add_subparsers(dest="action", required=True)
    rotate = actions.add_parser(
        "rotate",
        help="add a new signing key (signs after every function has read it); keep the previous ones while their"
        " tokens can be unexpired",
    )
    rotate.add_argument(
        "--secret",
        default=SIGNING_SECRET_NAME,
        help=f"the signing-keys secret (default {SIGNING_SECRET_NAME}; a stage's is baton/<stage>/signing-keys)",
    )
    rotate.add_argument("--dry-run", action="store_true", help="say what would change, write nothing")
    rotate.set_defaults(func=run_rotate)


def run_rotate(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from baton.core.errors import ConfigurationError
    from baton.ops.keys import read_signing_keys, rotate, write_signing_keys

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    client = boto3.client("secretsmanager", region_name=region)
    now = datetime.now(UTC)
    try:
        rotation = rotate(read_signing_keys(client, args.secret), now)
        if not args.dry_run:
            write_signing_keys(client, args.secret, rotation.keys)
    except (ClientError, BotoCoreError, ConfigurationError) as exc:
        raise UsageError(f"cannot rotate {args.secret}: {exc}") from None
    verb = "would add" if args.dry_run else "added"
    print(f"{args.secret}: {verb} key {rotation.added.id}, signing from {rotation.added.since.isoformat()}")
    for key in rotation.keys.keys[:-1]:
        print(f"  kept {key.id}: verifies the tokens it signed until they expire")
    for key_id in rotation.dropped:
        print(f"  dropped {key_id}: every token it signed has expired")
    return EXIT_OK
