"""Delivery feedback from SES (configuration set -> EventBridge). Bounces and complaints go onto the suppression
list: a hard bounce or a complaint suppresses the address at once and for good; soft bounces after the policy's
count within its window, for the policy's period. Deliveries, opens and clicks go into the engagement profile of
each customer whose profile holds the address (the address item's owners, found by the address's keyed hash):
a delivery among the email sends, an open or a click among the engagements. Addresses are never logged: only
their standing, or why an event was dropped."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from baton.app.engagements import DELIVERY, Engagement
from baton.app.ports import Ledger, PolicySource
from baton.core.clock import Clock
from baton.core.engagement import KIND_WEIGHTS, MACHINE_OPEN_WEIGHT
from baton.core.errors import InvalidRequest

# An open this soon after the message was sent was fetched by a machine (a privacy proxy or a scanner that loads
# every image on arrival), not read by the shopper.
MACHINE_OPEN_WITHIN = timedelta(seconds=10)
# Image proxies that fetch every message's images on arrival, whoever reads it: Google's (Gmail) and Yahoo's name
# themselves in the user agent; Apple Mail Privacy Protection sends a bare "Mozilla/5.0" from Apple's network.
PROXY_AGENTS = ("GoogleImageProxy", "ggpht.com", "YahooMailProxy")
BARE_AGENT = "Mozilla/5.0"
APPLE_NETWORK = ipaddress.ip_network("17.0.0.0/8")

ENGAGEMENT_TYPES = {"Delivery": DELIVERY, "Open": "open", "Click": "click"}


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


def _instant(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidRequest(name, "is missing")
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(name, "is not an ISO-8601 instant") from None
    if at.tzinfo is None:
        raise InvalidRequest(name, "has no offset")
    return at


def machine_open(opened: dict[str, Any], at: datetime, sent: datetime) -> bool:
    """Whether an SES open was a machine's: within MACHINE_OPEN_WITHIN of the send, or by a known image proxy."""
    if at - sent <= MACHINE_OPEN_WITHIN:
        return True
    agent = opened.get("userAgent")
    if isinstance(agent, str) and (agent.strip() == BARE_AGENT or any(p in agent for p in PROXY_AGENTS)):
        return True
    try:
        return ipaddress.ip_address(str(opened.get("ipAddress"))) in APPLE_NETWORK
    except ValueError:
        return False


def engagement_event(detail: Any) -> tuple[list[str], Engagement]:
    """The recipients of an SES Delivery, Open or Click event and the engagement it is (``customer_id`` left
    empty: one per owner of the address). Its key is the message id, kind and the event's own timestamp, so that
    the same event again counts once. Raises InvalidRequest naming what is missing."""
    if not isinstance(detail, dict):
        raise InvalidRequest("detail", "must be a JSON object")
    event_type = detail.get("eventType")
    kind = ENGAGEMENT_TYPES.get(str(event_type))
    if kind is None:
        raise InvalidRequest("eventType", f"{event_type!r} is not a delivery, open or click")
    mail = detail.get("mail")
    if not isinstance(mail, dict):
        raise InvalidRequest("mail", "is missing")
    message_id = mail.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        raise InvalidRequest("mail.messageId", "is missing")
    sent = _instant(mail.get("timestamp"), "mail.timestamp")
    part = str(event_type).lower()  # the event's own object: delivery, open or click
    body = detail.get(part)
    if not isinstance(body, dict):
        raise InvalidRequest(part, "is missing")
    at = _instant(body.get("timestamp"), f"{part}.timestamp")
    listed = body.get("recipients") if kind == DELIVERY else mail.get("destination")
    recipients = [a for a in listed or () if isinstance(a, str) and "@" in a]
    if not recipients:
        raise InvalidRequest("recipients", "no recipient address in the event")
    weight = KIND_WEIGHTS.get(kind)
    if kind == "open" and machine_open(body, at, sent):
        weight = MACHINE_OPEN_WEIGHT
    key = f"ses:{message_id}:{at.timestamp():.3f}"
    return recipients, Engagement(key=key, customer_id="", kind=kind, at=at, channel="email", weight=weight)


def apply_feedback(ledger: Ledger, policies: PolicySource, clock: Clock, detail: Any) -> list[tuple[str, str]]:
    """Apply one SES event; returns (kind, outcome) per recipient or owner, for logs and metrics (no addresses):
    a bounce's or complaint's standing; ``recorded``, ``duplicate`` or ``no_owner`` for an engagement."""
    policy = policies.current()
    if isinstance(detail, dict) and detail.get("eventType") in ENGAGEMENT_TYPES:
        recipients, engagement = engagement_event(detail)
        now = clock.now()
        out: list[tuple[str, str]] = []
        for address in recipients:
            owners = ledger.address_owners(address)
            if not owners:
                out.append((engagement.kind, "no_owner"))
            for owner in owners:
                stored = ledger.record_engagement(replace(engagement, customer_id=owner), now, policy)
                out.append((engagement.kind, "recorded" if stored else "duplicate"))
        return out
    return [
        (kind, ledger.suppress_address(address, kind, clock.now(), policy)) for address, kind in feedback_kinds(detail)
    ]
