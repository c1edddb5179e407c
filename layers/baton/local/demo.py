"""``make demo``: one shopper's Black Friday, as automation fires it, through Baton on embedded mocked AWS.

Prints each request (its id, so that a reason naming another request can be followed) with its outcome, in the
words the rest of Baton uses, and its reason, and how many messages the shopper would have got without Baton and
gets with it.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from baton.core.engine import SEND_TIME
from baton.core.policy import Policy, default_policy_path, load_policy_file, policy_from_mapping
from baton.local.mocked_aws import sent_messages
from baton.local.replay import Result, read_lines, replay
from baton.names import DETAIL_CONTACT_RECORDED, DETAIL_CUSTOMER_ENGAGED

DEFAULT_EVENTS = Path("examples/shopper_day.jsonl")
EVENING_EVENTS = Path("examples/shopper_evening.jsonl")  # a shopper whose message waits for their evening hour
# The category the evening shopper's request belongs to, added to the demo's policy: it opts into send_time.
SEND_TIME_CATEGORY = {
    "priority": 40,
    "max_delay": "24h",
    "send_time": {"optimize": True, "within": "24h", "default_hour": 10, "min_engagements": 10},
}
TOKEN_RE = re.compile(r"[?]token=([A-Za-z0-9._-]+)>")


def _local(iso: str | None, zone: ZoneInfo) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(zone).strftime("%a %H:%M")


def phrase(reason: str, names: dict[str, str]) -> str:
    """A reason code in words; a request it names is shown with its channel and category."""
    kind, _, rest = reason.partition(":")
    if rest in names:
        rest = f"{rest} ({names[rest]})"
    words = {
        "within_policy": "within every cap",
        "transactional": "transactional: caps and quiet hours do not apply",
        "cap": f"cap {rest} reached",
        "outranked": f"outranked by {rest}",
        "excluded": f"cancelled by {rest}",
        "repeat": "repeat: an alert for this item was already sent or is waiting",
        "quiet_hours": "quiet hours",
        "max_delay": "waited too long for room under the caps",
        "max_age": "stale",
        "not_after": "past its not_after",
        "no_consent": "no consent for this channel",
        "suppressed_address": "address bounced or complained",
        "opted_out": f"opted out of {rest}",
        "digest": f"listed in digest {rest}" if rest else "one digest message for everything gathered",
    }
    if kind == "channel":
        return _chose(rest, names)
    return words.get(kind, reason)


def _chose(rest: str, names: dict[str, str]) -> str:
    """``email (sms: quiet_hours)`` in words: the channel Baton chose, and why it passed over those before it."""
    chosen, _, passed = rest.partition(" (")
    text = f"Baton chose {chosen}" if chosen != "none" else "no listed channel may be used"
    reasons = [part.split(": ", 1) for part in passed.rstrip(")").split(", ") if ": " in part]
    if reasons:
        text += "; passed over " + ", ".join(f"{ch} ({phrase(why, names)})" for ch, why in reasons)
    return text


def explain(result: Result, names: dict[str, str], waits: list[str]) -> str:
    text = phrase(result.reason, names)
    held = [w for w in dict.fromkeys(waits) if w not in ("arbitration_window", "digest")]
    if "digest" in waits and result.outcome == "sent":
        held.append("a free slot for the digest")
    if held and result.outcome == "sent":
        text = "after waiting for " + ", ".join(phrase(w, names) for w in held) + "; " + text
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("events", nargs="?", default=str(DEFAULT_EVENTS))
    parser.add_argument("--policy", default=default_policy_path())
    parser.add_argument("--evening", default=str(EVENING_EVENTS), help="the evening shopper's events")
    parser.add_argument("--templates", metavar="DIR", help="the template set (default: the shipped set)")
    args = parser.parse_args(argv)
    policy = load_policy_file(args.policy)
    with open(args.events, encoding="utf-8") as handle:
        lines = read_lines(handle)
    clicks: list[str] = []
    run = replay(
        lines,
        policy,
        stderr=sys.stderr,
        actions=[(UNSUBSCRIBE_AT, lambda rt: clicks.append(click_unsubscribe(rt)))],
        templates=Path(args.templates) if args.templates else None,
    )
    by_line = {line.number: line for line in lines}
    first = next(line.event for line in lines if line.event is not None)
    zone = ZoneInfo(str(first.detail.get("timezone") or policy.timezone))
    names = {r.request_id: f"{r.channel} {r.category}" for r in run.results if r.request_id}
    waits: dict[str, list[str]] = {}
    for report in run.trail:
        if report.outcome.value == "deferred":
            waits.setdefault(report.request_id, []).append(report.reason)

    print(f"\nBaton demo: one shopper's day, policy {policy.tag}, times in {zone.key}\n")
    print(f"{'requested':<10} {'id':<8} {'channel':<7} {'category':<19} {'outcome':<11} {'at':<10} reason")
    print("-" * 110)
    for result in run.results:
        event = by_line[result.line].event
        requested = event.time.astimezone(zone).strftime("%a %H:%M") if event else ""
        when = _local(result.sent_at or result.decided_at, zone)
        print(
            f"{requested:<10} {result.request_id or '':<8} {result.channel or '':<7} {result.category or '':<19}"
            f" {result.outcome:<11} {when:<10} {explain(result, names, waits.get(result.request_id or '', []))}"
        )
    outcomes = Counter(r.outcome for r in run.results)
    sent = [r for r in run.results if r.outcome == "sent"]
    first_day = first.time.astimezone(zone).date()
    same_day = [r for r in sent if r.sent_at and _day(r.sent_at, zone) == first_day]
    print("-" * 110)
    print(f"Without Baton: {len(run.results)} messages on {first_day:%A %d %B}.")
    print(
        f"With Baton:    {len(same_day)} that day ({sum(1 for r in same_day if r.reason == 'transactional')} "
        f"transactional), {len(sent) - len(same_day)} later, once quiet hours ended or caps had room; "
        + ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items()) if k != "sent")
        + "."
    )
    for line in lines:
        if line.event is not None and line.event.detail_type == DETAIL_CONTACT_RECORDED:
            print("\n" + recorded_contact(line.event.detail, line.event.time, zone))
    for click in clicks:
        local = UNSUBSCRIBE_AT.astimezone(zone).strftime("%a %H:%M")
        print(f"\nAt {local} the shopper clicked one-click unsubscribe in the morning newsletter ({click});")
        print("every later newsletter is suppressed with reason opted_out:newsletter.")
    if Path(args.evening).exists():
        evening(Path(args.evening), policy)
    print("\nEvery decision is in the ledger with its reason, cap counts and policy version.")
    return 0


def with_send_time(policy: Policy, category: str) -> Policy:
    """``policy`` with ``category`` opting into send-time optimisation (``SEND_TIME_CATEGORY``)."""
    document = policy.model_dump(mode="json")
    document["categories"][category] = SEND_TIME_CATEGORY
    return policy_from_mapping(document, f"{policy.version} + {category} with send_time")


def evening(path: Path, policy: Policy) -> None:
    """Replay the evening shopper's events under ``policy`` with their request's category opting into send_time,
    and say when the message waited for and went out."""
    with open(path, encoding="utf-8") as handle:
        lines = read_lines(handle)
    requests = [line for line in lines if line.event is not None and line.event.detail_type == "MessageRequested"]
    detail = requests[0].event.detail if requests and requests[0].event else {}
    category, customer = str(detail.get("category")), str(detail.get("customer_id"))
    profile = next(line.event.detail for line in lines if line.event and line.event.detail.get("timezone"))
    zone = ZoneInfo(str(profile["timezone"]))
    engaged = sum(1 for line in lines if line.event is not None and line.event.detail_type == DETAIL_CUSTOMER_ENGAGED)
    run = replay(lines, with_send_time(policy, category), stderr=sys.stderr)
    print(
        f"\nSend-time optimisation: {customer} ({zone.key}, {engaged} engagements, most around 19:00) gets a"
        f" {category} email;\nits category opts into send_time:"
    )
    waited = {r.request_id: r for r in run.trail if r.outcome.value == "deferred" and r.reason == SEND_TIME}
    for result in run.results:
        requested = next(line.event.time for line in lines if line.number == result.line and line.event)
        wait = waited.get(result.request_id or "")
        until = f" until {_local(wait.release_at.isoformat(), zone)}" if wait and wait.release_at else ""
        print(
            f"  {result.request_id} requested {requested.astimezone(zone):%a %H:%M}: deferred {SEND_TIME}{until}"
            f" (the shopper's evening hour), then {result.outcome} {_local(result.sent_at, zone)}"
            if wait
            else f"  {result.request_id} requested {requested.astimezone(zone):%a %H:%M}: {result.outcome}"
            f" {_local(result.sent_at, zone)} ({result.reason})"
        )


def recorded_contact(detail: dict[str, Any], reported: datetime, zone: ZoneInfo) -> str:
    """A contact made outside Baton, in a sentence."""
    made = datetime.fromisoformat(str(detail["at"])).astimezone(zone).strftime("%a %H:%M")
    campaign = f", campaign {detail['campaign_id']}" if detail.get("campaign_id") else ""
    return (
        f"Outside Baton: a {detail['category']} contact by {detail['channel']}{campaign}, made {made} and reported"
        f" {reported.astimezone(zone):%a %H:%M} (ContactRecorded {detail['contact_id']}): every cap counts it from"
        f" {made}, as if Baton had sent it."
    )


# At 12:30 in Chicago the shopper clicks "unsubscribe" in the morning newsletter.
UNSUBSCRIBE_AT = datetime(2026, 11, 27, 18, 30, tzinfo=ZoneInfo("UTC"))


def click_unsubscribe(runtime: Any) -> str:
    """Find the List-Unsubscribe link in the first newsletter SES received and POST it (RFC 8058 one-click)
    through the real unsubscribe handler."""
    for message in sent_messages()["email"]:
        match = TOKEN_RE.search(message.raw_data)
        if match and "newsletter" in _scope(match.group(1)):
            response = runtime.invoke_unsubscribe("POST", match.group(1), "List-Unsubscribe=One-Click")
            return f"HTTP {response['statusCode']}"
    return "no newsletter was sent, nothing to unsubscribe from"


def _scope(token: str) -> str:
    import base64
    import json

    payload = token.split(".")[-2]  # v2.<key id>.<payload>.<signature>
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["s"])


def _day(iso: str, zone: ZoneInfo) -> object:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(zone).date()


if __name__ == "__main__":
    sys.exit(main())
