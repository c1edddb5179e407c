"""Stored items to and from the domain: the one place where the ledger's JSON and attributes are read and
written as Baton's records. Pure functions, no I/O."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.expressions.update import Action

from baton.app.ports import HISTORY_LIMIT, Candidate, Rendered, RequestRecord, Step
from baton.app.ports import status_after as _status
from baton.core.domain import (
    AddressStanding,
    ChannelOption,
    Contact,
    CustomerState,
    Decision,
    Mark,
    Pending,
    PersonalLimit,
    Profile,
    QuietWindow,
    Request,
    RequestStatus,
)
from baton.core.engagement import HOURS_OF_WEEK, EngagementProfile


def _ts(value: datetime) -> float:
    return round(value.timestamp(), 3)


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _from_iso(value: str | None) -> datetime | None:
    return None if not value else datetime.fromisoformat(value.replace("Z", "+00:00"))


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def _request_row(r: Request) -> list[Any]:
    na = None if r.not_after is None else _ts(r.not_after)
    return [
        r.request_id, r.channel, r.category, r.campaign_id, r.entity, r.priority,
        int(r.transactional), _ts(r.requested_at), na, r.address_standing.value,
    ]  # fmt: skip


def _request_from(row: list[Any], customer_id: str) -> Request:
    rid, channel, category, campaign, entity, priority, tx, requested, not_after, address = row
    return Request(
        request_id=rid,
        customer_id=customer_id,
        channel=channel,
        category=category,
        requested_at=_dt(requested),
        campaign_id=campaign,
        entity=entity,
        priority=priority,
        transactional=bool(tx),
        not_after=None if not_after is None else _dt(not_after),
        address_standing=AddressStanding(address),
    )


def encode_contacts(contacts: Iterable[Contact]) -> str:
    """The state item's contacts: Baton's sends and the contacts recorded outside it, alike."""
    return _dumps(
        [
            [c.request_id, _ts(c.at), c.channel, c.category, c.campaign_id, c.entity, c.priority, int(c.transactional)]
            for c in contacts
        ]
    )


def encode_ledger(ledger: CustomerState, steps: Mapping[str, int] | None = None) -> dict[str, str]:
    """The state item's contacts, pending set and marks. ``steps``: how many steps each waiting request's history
    holds, kept beside it so that a decision can append to that history within the bound without reading it."""
    counts = steps or {}
    pending = [
        [*_request_row(p.request), p.priority, _ts(p.due_at), p.reason, counts.get(p.request.request_id, 0)]
        + ([[[o.channel, o.address_standing.value, o.failed] for o in p.request.options]] if p.request.options else [])
        for p in ledger.pending
    ]
    marks = [[m.request_id, m.category, m.entity, _ts(m.at)] for m in ledger.marks]
    return {"contacts": encode_contacts(ledger.contacts), "pending": _dumps(pending), "marks": _dumps(marks)}


def encode_profile(profile: Profile) -> str:
    return _dumps(
        {
            "tz": profile.timezone,
            "locale": profile.locale,
            "consent": dict(profile.consent),
            "optout": sorted(profile.opted_out_categories),
            "quiet": {ch: [w.start, w.end] for ch, w in profile.quiet_hours.items()},
            "limits": [[lim.channel, lim.limit, int(lim.window.total_seconds())] for lim in profile.limits],
        }
    )


def decode_profile(text: str | None) -> Profile:
    if not text:
        return Profile()
    raw = json.loads(text)
    return Profile(
        timezone=raw.get("tz"),
        locale=raw.get("locale"),
        consent=raw.get("consent") or {},
        opted_out_categories=frozenset(raw.get("optout") or ()),
        quiet_hours={ch: QuietWindow(*w) for ch, w in (raw.get("quiet") or {}).items()},
        limits=tuple(PersonalLimit(ch, lim, timedelta(seconds=sec)) for ch, lim, sec in raw.get("limits") or ()),
    )


# The engagement profile in the state item: the 168 hourly weights as one byte each (q = round(255 * sqrt(w / top)),
# so a weight comes back within top / 255 of itself, and small weights keep more of their precision than a linear
# scale leaves them), the top weight, and per channel [sends, engagements] to 4 significant digits. At most
# ENGAGEMENT_CHANNELS channels are kept (the most used), so the attribute stays under about 600 bytes however long
# the history.
ENGAGEMENT_CHANNELS = 6
_LEVELS = 255


def _sig(value: float) -> float:
    return float(f"{value:.4g}")


def encode_engagement(profile: EngagementProfile) -> str | None:
    """The state item's ``engagement`` attribute (None for a profile with nothing in it)."""
    if profile.as_of is None:
        return None
    raw: dict[str, Any] = {"t": round(profile.as_of.timestamp()), "n": profile.count}
    top = max(profile.hours, default=0.0)
    if top > 0:
        levels = bytes(round(_LEVELS * (max(w, 0.0) / top) ** 0.5) for w in profile.hours)
        raw["s"] = top
        raw["h"] = base64.b64encode(levels).decode()
    used = sorted(
        set(profile.sends) | set(profile.engagements),
        key=lambda c: -(profile.sends.get(c, 0.0) + profile.engagements.get(c, 0.0)),
    )[:ENGAGEMENT_CHANNELS]
    raw["c"] = {c: [_sig(profile.sends.get(c, 0.0)), _sig(profile.engagements.get(c, 0.0))] for c in sorted(used)}
    return _dumps(raw)


def decode_engagement(text: str | None) -> EngagementProfile:
    if not text:
        return EngagementProfile()
    raw = json.loads(text)
    hours: tuple[float, ...] = ()
    if "h" in raw:
        top = float(raw["s"])
        levels = base64.b64decode(raw["h"])
        if len(levels) == HOURS_OF_WEEK:
            hours = tuple(top * (q / _LEVELS) ** 2 for q in levels)
    channels = raw.get("c") or {}
    return EngagementProfile(
        as_of=_dt(raw["t"]),
        hours=hours,
        sends={c: float(pair[0]) for c, pair in channels.items() if pair[0]},
        engagements={c: float(pair[1]) for c, pair in channels.items() if pair[1]},
        count=int(raw.get("n", 0)),
    )


def decode_steps(item: Any | None) -> dict[str, int]:
    """How many steps each waiting request's history holds (a row written before the count was kept: its one
    history line)."""
    if item is None:
        return {}
    return {row[0]: row[13] if len(row) > 13 else 1 for row in json.loads(item.pending or "[]")}


def decode_ledger(customer_id: str, item: Any | None) -> CustomerState:
    if item is None:
        return CustomerState(customer_id=customer_id)
    void = set(item.void or ())
    contacts = tuple(
        Contact(rid, _dt(at), ch, cat, camp, ent, prio, bool(tx))
        for rid, at, ch, cat, camp, ent, prio, tx in json.loads(item.contacts or "[]")
        if rid not in void
    )
    pending = tuple(
        Pending(_with_options(_request_from(row[:10], customer_id), row), row[10], _dt(row[11]), row[12])
        for row in json.loads(item.pending or "[]")
    )
    marks = tuple(Mark(rid, cat, ent, _dt(at)) for rid, cat, ent, at in json.loads(item.marks or "[]"))
    return CustomerState(
        customer_id=customer_id,
        version=int(item.version or 0),
        profile=decode_profile(item.profile),
        contacts=contacts,
        pending=pending,
        marks=marks,
        engagement=decode_engagement(item.engagement),
    )


def _with_options(request: Request, row: list[Any]) -> Request:
    """A waiting request that lists channels: its options, after the row's other fields."""
    if len(row) <= 14:
        return request
    options = tuple(ChannelOption(ch, AddressStanding(standing), failed) for ch, standing, failed in row[14])
    return replace(request, options=options)


def encode_candidates(candidates: Iterable[Candidate], not_after: datetime | None) -> str:
    return _dumps({"c": [[c.channel, c.recipient, c.failed] for c in candidates], "na": iso(not_after)})


def _candidates(text: str | None) -> tuple[tuple[Candidate, ...], datetime | None]:
    if not text:
        return (), None
    raw = json.loads(text)
    return tuple(Candidate(ch, address, failed) for ch, address, failed in raw["c"]), _from_iso(raw.get("na"))


def decode_record(customer_id: str, item: Any) -> RequestRecord:
    candidates, not_after = _candidates(item.channels)
    return RequestRecord(
        customer_id=customer_id,
        request_id=item.sk[2:],
        status=RequestStatus(item.status),
        reason=item.reason or "",
        channel=item.channel,
        category=item.category,
        campaign_id=item.campaign_id,
        entity=item.entity,
        priority=None if item.priority is None else int(item.priority),
        transactional=bool(item.transactional),
        requested_at=_from_iso(item.requested_at),
        decided_at=_from_iso(item.decided_at),
        sent_at=_from_iso(item.sent_at),
        release_at=_from_iso(item.release_at),
        lease_until=_from_iso(item.lease_until),
        in_due_index=item.due_pk is not None,
        detail=item.detail or "",
        counts=json.loads(item.counts or "{}"),
        policy=item.policy or "",
        template=item.template,
        data=json.loads(item.data or "{}"),
        content=_content(item.content),
        locale=item.locale,
        rendered_with=item.rendered_with or "",
        recipient=item.recipient,
        message_id=item.message_id,
        attempts=int(item.attempts or 0),
        history=decode_history(item),
        history_dropped=int(item.steps_dropped or 0),
        members=tuple(json.loads(item.members or "[]")),
        carrier=item.carrier or _legacy_carrier(item),
        candidates=candidates,
        not_after=not_after,
    ).on_chosen()  # a request that lists channels: the address of the one chosen


def _content(text: str | None) -> Rendered | None:
    """A pre-rendered message as stored: JSON {subject, text, html} (subject and html for email only)."""
    if not text:
        return None
    raw = json.loads(text)
    return Rendered(subject=raw.get("subject", ""), text=raw["text"], html=raw.get("html"))


def _legacy_carrier(item: Any) -> str | None:
    """A digest member written before members named their carrier: the reason, ``digest:<carrier>``."""
    reason = item.reason or ""
    if item.status == RequestStatus.SENDING and reason.startswith("digest:"):
        return reason.removeprefix("digest:")
    return None


def _soft_map(entries: Iterable[str] | None) -> dict[str, datetime]:
    """STATE.soft_blocked holds "<hash>@<epoch>" (suppressed until then)."""
    out: dict[str, datetime] = {}
    for entry in entries or ():
        digest, _, until = entry.partition("@")
        out[digest] = _dt(float(until or 0))
    return out


def _address_standing(item: Any, digest: str, blocked: set[str], soft: dict[str, datetime]) -> None:
    if item.status in ("hard_bounce", "complaint"):
        blocked.add(digest)
    elif item.status == "soft_bounce" and item.until:
        until = _from_iso(item.until)
        if until is not None:
            soft[digest] = until


def step(at: datetime, what: str, reason: str = "", until: datetime | None = None) -> str:
    """One history step as the request item keeps it (``Step``'s fields, JSON)."""
    return _dumps([_ts(at), what, reason, None if until is None else _ts(until)])


def decision_step(decision: Decision, now: datetime) -> str:
    status = _status(decision)
    if status is RequestStatus.PENDING:
        return step(now, "deferred", decision.reason, decision.release_at)
    return step(now, status, decision.reason)


def decode_history(item: Any) -> tuple[Step, ...]:
    """The steps a request item holds, oldest first: the one line an item written before steps were appended
    holds (``<iso> <status> <reason>``), then the steps."""
    out: list[Step] = []
    for line in json.loads(item.history or "[]"):
        when, _, rest = line.partition(" ")
        status, _, reason = rest.partition(" ")
        at = _from_iso(when)
        if at is not None:
            out.append(Step(at, "deferred" if status == "pending" else status, reason))
    for text in item.steps or ():
        at, what, reason, until = json.loads(text)
        out.append(Step(_dt(at), what, reason, None if until is None else _dt(until)))
    return tuple(out)


def append_steps(attribute: Any, held: int, new: list[str], dropped: Any) -> tuple[list[Action], int]:
    """The actions that append ``new`` steps to a history of ``held`` steps within HISTORY_LIMIT, and how many it
    then holds. Past the bound the first HISTORY_LIMIT - 1 steps stay and the last slot holds the latest step;
    ``dropped`` (the item's steps_dropped) counts the steps not kept."""
    if held + len(new) <= HISTORY_LIMIT:
        return [attribute.set((attribute | []).append(new))], held + len(new)
    if held >= HISTORY_LIMIT:  # full: the latest replaces the one before it
        return [attribute[HISTORY_LIMIT - 1].set(new[-1]), dropped.add(len(new))], HISTORY_LIMIT
    kept = [*new[: HISTORY_LIMIT - 1 - held], new[-1]]
    return [attribute.set((attribute | []).append(kept)), dropped.add(len(new) - len(kept))], HISTORY_LIMIT
