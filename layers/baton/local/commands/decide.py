"""``baton decide --dry-run EVENT.json``: would this request be sent now, and if not, which rule stops it, at what
counts, and when would it fit? Nothing is recorded, nothing is sent."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from baton.local.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_ledger_source,
    customer_zone,
    holdout_key,
    policy_label,
    with_ledger,
)

if TYPE_CHECKING:
    from baton.app.ports import Ledger
    from baton.core.policy import Policy


def register(sub: Any) -> None:
    parser = sub.add_parser("decide", help="preview the decision for one MessageRequested, recording nothing")
    parser.add_argument("event", help="a MessageRequested: the whole EventBridge event, or just its detail (JSON)")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        required=True,
        help="required: requests are decided for real only on the bus, never from the command line",
    )
    parser.add_argument("--at", help="decide as at this later ISO-8601 time (default: now, or the end of the replay)")
    parser.add_argument("--json", action="store_true", help="print the preview as JSON")
    add_ledger_source(parser)
    parser.set_defaults(func=run)


def read_detail(path: str) -> dict[str, Any]:
    """The MessageRequested detail in ``path``: an EventBridge event's ``detail``, or the detail itself."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    except ValueError as exc:
        raise UsageError(f"{path} is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise UsageError(f"{path}: expected a JSON object (an event or its detail)")
    if "detail" in document:
        kind = document.get("detail-type")
        if kind not in (None, "MessageRequested"):
            raise UsageError(f"{path}: detail-type {kind!r}: only a MessageRequested can be decided")
        document = document["detail"]
        if not isinstance(document, dict):
            raise UsageError(f"{path}: detail must be a JSON object")
    return document


def _at(text: str | None, default: datetime) -> datetime:
    if text is None:
        return default
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--at {text!r} is not an ISO-8601 time") from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if parsed < default:
        # the ledger already holds what happened after that time: a preview there would count it
        raise UsageError(f"--at {text} is before the ledger's present ({default.isoformat()}): preview from now on")
    return parsed


def run(args: argparse.Namespace) -> int:
    detail = read_detail(args.event)

    def work(ledger: Ledger, policy: Policy, now: datetime) -> int:
        from baton.app.preview import preview
        from baton.core.errors import InvalidRequest
        from baton.ops.explain import preview_lines

        try:
            result = preview(ledger, policy, detail, _at(args.at, now), holdout_key=holdout_key(args, policy))
        except InvalidRequest as exc:
            print(f"baton decide: would be rejected: {exc.field}: {exc.message}", file=sys.stderr)
            return EXIT_FAILED
        if args.json:
            print(json.dumps({**result.as_json(), "policy_source": args.policy or "default"}, indent=2))
        else:
            zone = customer_zone(ledger, policy, result.customer_id)
            print("\n".join(preview_lines(result, zone, policy_label(policy, args.policy))))
        return EXIT_OK

    return with_ledger(args, work)
