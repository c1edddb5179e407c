"""Decisions in plain words: a customer's timeline (``baton explain``) and a decision preview (``baton decide
--dry-run``, the preview endpoint). Pure formatting of what the ledger and the engine already say.

Never prints an address: ids, categories, outcomes, reasons and counts only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from baton.app.ports import RequestRecord, Step
from baton.app.preview import Preview
from baton.app.profiles import RECORDED
from baton.core.domain import CapCount, Contact, Outcome

# Reason kinds (the part before ':') in a sentence an operator reads.
REASONS: Mapping[str, str] = {
    "within_policy": "fitted every cap and rule",
    "transactional": "transactional: marketing caps, quiet hours and opt-outs do not apply",
    "digest": "went out inside the digest",
    "arbitration_window": "held in the arbitration window so the most valuable message wins",
    "queued": "due, waiting for the next settle",
    "quiet_hours": "quiet hours in the customer's time zone",
    "send_time": "waiting for the shopper's best hour (send-time optimisation)",
    "cap": "a frequency cap was full",
    "outranked": "a higher-priority message took the last slot",
    "excluded": "cancelled by an exclusion rule",
    "repeat": "repeats a message about the same thing",
    "no_consent": "no marketing consent for the channel",
    "opted_out": "the customer opted out of the category",
    "unsubscribed": "the customer unsubscribed",
    "suppressed_address": "the address is suppressed (bounce or complaint)",
    "no_address": "no address for the channel",
    "max_delay": "waited longer than the category allows",
    "max_age": "older than the category allows",
    "not_after": "past the request's not_after",
    "pending_full": "too many requests already waiting",
    "holdout": "the customer is in the policy's holdout group",
    "provider": "the provider refused it for good",
    "render": "the message could not be made from its template and data",
    "channel": "Baton chose the first listed channel it could use now; those before it: why each was passed over",
    "fallback": "refused for good on its channel: decided again on the next listed",
}


def describe(reason: str) -> str:
    """``cap:overall_daily`` -> "a frequency cap was full (overall_daily)"."""
    kind, _, subject = reason.partition(":")
    text = REASONS.get(kind)
    if text is None:
        return reason
    return f"{text} ({subject})" if subject and kind != "channel" else text


def _when(value: datetime | None, zone: tzinfo = UTC) -> str:
    """A time in ``zone``, with the zone's abbreviation at that time (CST, CDT, UTC)."""
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z") if value else "-"


def zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone)


def step_line(step: Step, zone: tzinfo) -> str:
    """``2026-11-27 06:00:00 CST  deferred arbitration_window until 2026-11-27 06:15:00 CST``."""
    parts = [_when(step.at, zone), "", step.what]
    if step.reason:
        parts.append(step.reason)
    if step.until is not None:
        parts.append(f"until {_when(step.until, zone)}")
    return " ".join(parts)


def _counts(counts: Mapping[str, Any]) -> str:
    parts = []
    for name, value in counts.items():
        count, limit = (value.count, value.limit) if isinstance(value, CapCount) else (value[0], value[1])
        parts.append(f"{name} {count}/{limit}")
    return ", ".join(parts)


def timeline(
    customer_id: str,
    records: Iterable[RequestRecord],
    since: datetime | None = None,
    zone: tzinfo = UTC,
    policy: str | None = None,
    contacts: Iterable[Contact] = (),
) -> list[str]:
    """The customer's requests, oldest first: what was asked, what became of it and why, the counts each cap
    saw at the decision, and each step the request went through; among them, at the time each was made, the
    contacts recorded outside Baton (ContactRecorded) that its caps still count (of ``contacts``, the customer's).
    Times are in ``zone`` (the customer's, or the policy's for a customer without one), named in the second line
    with ``policy``, the policy the caller used."""
    chosen = [r for r in records if since is None or (r.requested_at is not None and r.requested_at >= since)]
    recorded = [c for c in contacts if c.request_id.startswith(RECORDED) and (since is None or c.at >= since)]
    outcomes = Counter(r.status for r in chosen)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(outcomes.items()))
    outside = f"; {len(recorded)} contact(s) made outside Baton" if recorded else ""
    lines = [f"{customer_id}: {len(chosen)} request(s){': ' + summary if summary else ''}{outside}"]
    lines.append(f"times in {zone_name(zone)}" + (f"; policy {policy}" if policy else ""))
    blocks = [(r.requested_at or datetime.min.replace(tzinfo=UTC), _record_lines(r, zone)) for r in chosen]
    blocks += [(c.at, _contact_lines(c, zone)) for c in recorded]
    for _, block in sorted(blocks, key=lambda item: item[0]):  # stable: a request before a contact of its time
        lines.append("")
        lines.extend(block)
    return lines


def _contact_lines(contact: Contact, zone: tzinfo) -> list[str]:
    """A contact made outside Baton, as the timeline shows it."""
    what = " ".join(
        part
        for part in (
            contact.category,
            f"by {contact.channel}",
            f"priority {contact.priority}",
            "transactional" if contact.transactional else "",
            f"campaign {contact.campaign_id}" if contact.campaign_id else "",
        )
        if part
    )
    counted = "no cap counts it (its category is transactional)" if contact.transactional else "caps count it"
    return [f"{_when(contact.at, zone)}  {contact.request_id}  {what}", f"    made outside Baton: {counted}"]


def _record_lines(record: RequestRecord, zone: tzinfo) -> list[str]:
    """One request, as the timeline shows it."""
    lines: list[str] = []
    what = " ".join(
        part
        for part in (
            record.category or "?",
            f"by {record.channel}" if record.channel else "",
            f"priority {record.priority}" if record.priority is not None else "",
            "transactional" if record.transactional else "",
            f"about {record.entity}" if record.entity else "",
            f"campaign {record.campaign_id}" if record.campaign_id else "",
        )
        if part
    )
    lines.append(f"{_when(record.requested_at, zone)}  {record.request_id}  {what}")
    lines.append(f"    {record.status}: {record.reason} - {describe(record.reason)}")
    if record.detail:
        lines.append(f"    why: {record.detail}")
    if record.candidates:
        listed = (f"{c.channel} (failed: {c.failed})" if c.failed else c.channel for c in record.candidates)
        lines.append(f"    channels listed: {', '.join(listed)}")
    if record.counts:
        lines.append(f"    caps at the decision: {_counts(record.counts)}")
    if record.sent_at:
        lines.append(f"    sent at {_when(record.sent_at, zone)}")
    elif record.status == "pending" and record.release_at:
        lines.append(f"    waiting until {_when(record.release_at, zone)}")
    if len(record.members) > 1:
        lines.append(f"    one digest message for: {', '.join(record.members)}")
    for step in record.history:
        lines.append(f"    . {step_line(step, zone)}")
    if record.history_dropped:
        lines.append(f"    . ({record.history_dropped} more step(s) not kept: the history keeps its first ones"
                     " and the latest)")  # fmt: skip
    if record.policy:
        lines.append(f"    policy {record.policy}")
    return lines


def preview_lines(preview: Preview, zone: tzinfo = UTC, policy: str | None = None) -> list[str]:
    """What ``baton decide --dry-run`` prints, times in ``zone`` (named in the first line). ``policy``: how to
    name the policy used (default: its tag)."""
    head = (
        f"{preview.request_id} for {preview.customer_id} at {_when(preview.at, zone)} (times in"
        f" {zone_name(zone)}; policy {policy or preview.policy})"
    )
    if preview.known is not None:
        known = preview.known
        return [
            head,
            f"already recorded: {known.status} ({known.reason}); the same request_id is not decided again",
        ]
    final = preview.final
    if final is None:
        return [head, "no decision: the engine would leave it waiting"]
    if final.outcome is Outcome.SENT and final.at == preview.at:
        verdict = "would be sent now"
    elif final.outcome is Outcome.SENT:
        verdict = f"would not be sent now; sent at {_when(final.at, zone)} if nothing else arrives"
    else:
        verdict = f"would not be sent: {final.outcome.value}, {describe(final.reason)}"
    lines = [head, verdict]
    for step in preview.steps:
        lines.append(f"  {_when(step.at, zone)}  {step.outcome.value}: {step.reason} - {describe(step.reason)}")
        if step.detail:
            lines.append(f"      why: {step.detail}")
        if step.counts:
            lines.append(f"      caps: {_counts(step.counts)}")
        if step.outcome is Outcome.DEFERRED and step.release_at:
            lines.append(f"      until {_when(step.release_at, zone)}")
    if preview.fits_at is not None:
        lines.append(f"it would fit the caps at {_when(preview.fits_at, zone)}, if nothing else is sent before")
    elif final.outcome is Outcome.SUPPRESSED and final.counts:
        lines.append("it never fits: a cap leaves no room at its priority")
    return lines
