"""``baton dlq inspect`` / ``baton dlq redrive``: the arbitration dead-letter queue, what failed and why, and
redrive after a fix (safe: Baton is idempotent by request id)."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from baton.local.commands.common import EXIT_OK, UsageError
from baton.names import ARBITER_DLQ, ARBITER_QUEUE, TABLE_NAME


def register(sub: Any) -> None:
    parser = sub.add_parser("dlq", help="the arbitration dead-letter queue: inspect, redrive")
    actions = parser.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dlq", default=ARBITER_DLQ, help=f"dead-letter queue name or URL (default {ARBITER_DLQ})")
    common.add_argument("--sqs-endpoint", help="SQS endpoint (a local one); default: AWS with your credentials")
    common.add_argument("--limit", type=int, default=1000, help="at most this many messages (default 1000)")

    inspect = actions.add_parser("inspect", parents=[common], help="what failed and why (messages stay queued)")
    inspect.add_argument("--table", default=TABLE_NAME, help=f"ledger table (default {TABLE_NAME})")
    inspect.add_argument("--dynamodb-endpoint", help="e.g. DynamoDB Local; default: AWS with your credentials")
    inspect.add_argument("--json", action="store_true", help="one JSON object per message")
    inspect.set_defaults(func=run_inspect)

    redrive = actions.add_parser("redrive", parents=[common], help="move dead letters back to the source queue")
    redrive.add_argument("--to", default=ARBITER_QUEUE, help=f"source queue name or URL (default {ARBITER_QUEUE})")
    redrive.add_argument("--native", action="store_true", help="let SQS move them (StartMessageMoveTask; AWS only)")
    redrive.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    redrive.set_defaults(func=run_redrive)


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _sqs(args: argparse.Namespace) -> Any:
    import boto3

    return boto3.client("sqs", region_name=_region(), endpoint_url=args.sqs_endpoint)


def _url(sqs: Any, name_or_url: str) -> str:
    if name_or_url.startswith(("https://", "http://")):
        return name_or_url
    try:
        return str(sqs.get_queue_url(QueueName=name_or_url)["QueueUrl"])
    except sqs.exceptions.QueueDoesNotExist:
        raise UsageError(f"no queue {name_or_url}") from None


def run_inspect(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from baton.adapters.dynamodb.ledger import DynamoLedger
    from baton.ops.dlq import inspect

    sqs = _sqs(args)
    ledger = DynamoLedger(args.table, retention=timedelta(days=1), host=args.dynamodb_endpoint, region=_region())
    letters = inspect(sqs, _url(sqs, args.dlq), ledger, limit=args.limit)
    for letter in letters:
        if args.json:
            print(json.dumps(letter.as_json()))
        else:
            who = f"{letter.customer_id or '?'}/{letter.request_id or '?'}"
            print(f"{letter.message_id}  {letter.detail_type or '?'}  {who}  received {letter.receive_count}x")
            print(f"    {letter.reason}")
    if not args.json:
        print(f"{len(letters)} dead letter(s) in {args.dlq}")
    return EXIT_OK


def run_redrive(args: argparse.Namespace) -> int:
    from baton.ops.dlq import redrive

    sqs = _sqs(args)
    dlq, source = _url(sqs, args.dlq), _url(sqs, args.to)
    if not args.yes and input(f"Move dead letters from {dlq} back to {source}? [y/N] ").strip().lower() != "y":
        print("nothing moved")
        return EXIT_OK
    moved = redrive(sqs, dlq, source, limit=None if args.native else args.limit, native=args.native)
    if moved < 0:
        print(f"SQS is moving the dead letters back to {source} (StartMessageMoveTask)")
        return EXIT_OK
    print(f"moved {moved} message(s) back to {source}; requests already settled will be reported as duplicates")
    return EXIT_OK
