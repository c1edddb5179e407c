"""What a profile update, an unsubscribe and delivery feedback change in what a ledger keeps: pure functions that
every implementation of ``baton.app.ports.Ledger`` applies the same way (the DynamoDB and the in-memory ledger)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from baton.core.domain import AddressStanding, Contact, CustomerState, PersonalLimit, Profile, QuietWindow

if TYPE_CHECKING:  # annotations only: the sweeper loads the ledger and no contract or policy model
    from baton.contract import ContactRecorded, CustomerUpdated
    from baton.core.policy import Feedback, Policy

SUPPRESSING = ("hard_bounce", "complaint")  # for good, transactional messages included


def updated_profile(profile: Profile, update: CustomerUpdated) -> Profile:
    """``profile`` after a CustomerUpdated: the fields present replace the stored ones, consent per channel."""
    consent = dict(profile.consent)
    if update.consent:
        consent.update({ch.value: bool(v) for ch, v in update.consent.items()})
    prefs = update.preferences
    opted_out = profile.opted_out_categories
    quiet = profile.quiet_hours
    limits = profile.limits
    if prefs is not None:
        if prefs.opted_out_categories is not None:
            opted_out = frozenset(prefs.opted_out_categories)
        if prefs.quiet_hours is not None:
            quiet = {ch.value: QuietWindow(w.start, w.end) for ch, w in prefs.quiet_hours.items()}
        if prefs.frequency is not None:
            limits = tuple(
                PersonalLimit(f.channel.value if f.channel else None, f.limit, timedelta(days=f.window_days))
                for f in prefs.frequency
            )
    return Profile(
        timezone=update.timezone or profile.timezone,
        locale=update.locale or profile.locale,
        consent=consent,
        opted_out_categories=opted_out,
        quiet_hours=quiet,
        limits=limits,
    )


def update_addresses(update: CustomerUpdated) -> dict[str, str]:
    """The addresses a CustomerUpdated gives, by channel (those it leaves out are kept)."""
    given = {"email": update.email, "sms": update.phone, "push": update.push_endpoint}
    return {channel: address for channel, address in given.items() if address}


def update_audit(update: CustomerUpdated) -> dict[str, Any]:
    """What the audit trail keeps of a CustomerUpdated: every field but the addresses."""
    return update.model_dump(mode="json", exclude_none=True, exclude={"email", "phone", "push_endpoint"})


# A recorded contact's id among the customer's contacts: apart from request ids, so the two never collide.
RECORDED = "contact:"


def recorded_contact(recorded: ContactRecorded, policy: Policy) -> Contact:
    """A contact made outside Baton as caps count it: from its ``at``, with its category's priority, and
    transactional (no cap counts it) when the policy marks its category so."""
    category = policy.category(recorded.category)
    return Contact(
        request_id=RECORDED + recorded.contact_id,
        at=recorded.at.astimezone(UTC),
        channel=recorded.channel,
        category=recorded.category,
        campaign_id=recorded.campaign_id,
        entity=None,
        priority=category.priority,
        transactional=category.transactional,
    )


def with_contact(
    state: CustomerState, recorded: ContactRecorded, policy: Policy, now: datetime
) -> tuple[Contact, ...] | None:
    """The customer's contacts with the recorded one among them in time order, those no rule looks back to any
    more left out (as a decision leaves them out); None when nothing changes: the same ``contact_id`` is there
    already (a duplicate counts once), or the contact is too old for any rule to count."""
    from baton.core.engine import horizon  # here: the sweeper loads the ledger and no policy model

    contact = recorded_contact(recorded, policy)
    since = horizon(policy, state.profile, now)
    if contact.at <= since or any(c.request_id == contact.request_id for c in state.contacts):
        return None
    kept = [c for c in state.contacts if c.at > since]
    return tuple(sorted([*kept, contact], key=lambda c: c.at))


def unsubscribed(profile: Profile, scope: str) -> Profile:
    """``profile`` after an unsubscribe from ``scope``: ``channel:<name>`` withdraws the channel's consent,
    ``category:<name>`` opts out of the category."""
    kind, _, name = scope.partition(":")
    if kind == "channel":
        return replace(profile, consent={**profile.consent, name: False})
    return replace(profile, opted_out_categories=profile.opted_out_categories | {name})


@dataclass(frozen=True, slots=True)
class AddressFeedback:
    """What a ledger keeps of an address's delivery feedback (by keyed hash): its suppression, if any
    (``hard_bounce``, ``complaint`` or ``soft_bounce``), since when and, for a soft bounce, until when, and the
    times of its recent soft bounces."""

    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    soft_times: tuple[datetime, ...] = ()


def after_feedback(
    held: AddressFeedback, kind: str, now: datetime, feedback: Feedback
) -> tuple[AddressFeedback, AddressStanding]:
    """An address's feedback after one more event of ``kind``, and its standing then. A hard bounce or a
    complaint suppresses for good (the first one's time is kept); soft bounces suppress marketing for the policy's
    period once the policy's count of them falls within its window."""
    if kind in SUPPRESSING:
        if held.status not in SUPPRESSING:
            held = replace(held, status=kind, since=now, until=None)
        return held, AddressStanding.BLOCKED
    since = now - feedback.soft_bounce_window
    held = replace(held, soft_times=(*(t for t in held.soft_times if t > since), now))
    if held.status in SUPPRESSING:
        return held, AddressStanding.BLOCKED
    if len(held.soft_times) >= feedback.soft_bounce_limit:
        held = replace(held, status="soft_bounce", since=now, until=now + feedback.soft_bounce_suppression)
        return held, AddressStanding.SOFT_BLOCKED
    return held, AddressStanding.OK
