"""Delivery feedback: SES bounce and complaint events (configuration set -> EventBridge) onto the suppression
list. A hard bounce or a complaint suppresses the address at once and for good; soft bounces after the policy's
count within its window, for the policy's period. Addresses are never logged: only their standing."""

from __future__ import annotations

from typing import Any

from baton.app.ports import Ledger, PolicySource
from baton.core.clock import Clock
from baton.core.errors import InvalidRequest


def feedback_kinds(detail: Any) -> list[tuple[str, str]]:
    """(address, kind) pairs from an SES event ``detail``; kind is hard_bounce, soft_bounce or complaint."""
    if not isinstance(detail, dict):
        raise InvalidRequest("detail", "must be a JSON object")
    event_type = detail.get("eventType") or detail.get("notificationType")
    if event_type == "Bounce":
        bounce = detail.get("bounce") or {}
        kind = "hard_bounce" if bounce.get("bounceType") == "Permanent" else "soft_bounce"
        recipients = bounce.get("bouncedRecipients") or []
    elif event_type == "Complaint":
        kind = "complaint"
        recipients = (detail.get("complaint") or {}).get("complainedRecipients") or []
    else:
        raise InvalidRequest("eventType", f"{event_type!r} is not a bounce or complaint")
    out = []
    for recipient in recipients:
        address = recipient.get("emailAddress") if isinstance(recipient, dict) else None
        if isinstance(address, str) and "@" in address:
            out.append((address, kind))
    if not out:
        raise InvalidRequest("recipients", "no recipient address in the event")
    return out


def apply_feedback(ledger: Ledger, policies: PolicySource, clock: Clock, detail: Any) -> list[tuple[str, str]]:
    """Apply one SES event; returns (kind, standing) per recipient, for logs and metrics (no addresses)."""
    policy = policies.current()
    return [
        (kind, ledger.suppress_address(address, kind, clock.now(), policy)) for address, kind in feedback_kinds(detail)
    ]
