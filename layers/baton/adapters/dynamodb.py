"""The contact ledger on DynamoDB, through pynamodb. Implements ``baton.app.ports.Ledger``.

Single table (names in ``baton.names``):

- customer state: pk ``C#<customer>``, sk ``STATE``: profile, consent, contacts in the longest window, the
  pending set, exclusion marks, and a version that every write checks and moves.
- request: pk ``C#<customer>``, sk ``R#<request>``: status, reason, cap counts, policy version, payload; TTL is the
  audit retention. While pending or sending it carries the ``due`` index keys (release time or send lease).
- address: pk ``A#<hash>``, sk ``ADDR``: suppression (hard bounce, complaint) of an address, by keyed hash only.

A decision reads the state, the request and the address in one BatchGetItem, and writes the state (conditional
on its version) and the request items in one TransactWriteItems: two round trips, caps exact under any
concurrency. Stored items are converted to and from the domain here and nowhere else.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from pynamodb.attributes import (
    DiscriminatorAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from baton.app.ports import Arrival, RequestRecord, Snapshot, Step
from baton.core.addresses import DEFAULT_SALT, address_hash
from baton.core.domain import (
    AddressStanding,
    Contact,
    CustomerLedger,
    Decision,
    Mark,
    Outcome,
    Pending,
    PersonalLimit,
    Profile,
    QuietWindow,
    Request,
    RequestStatus,
    Verdict,
)
from baton.core.errors import ConcurrentUpdate, TransientFailure
from baton.names import DUE_INDEX, DUE_INDEX_PK, DUE_INDEX_SK, DUE_SHARDS, PK, SK, TTL_ATTRIBUTE

if TYPE_CHECKING:  # annotations only (the sweeper loads the ledger and no contract or policy model)
    from baton.contract import CustomerUpdated
    from baton.core.policy import Policy

STATE_SK = "STATE"
ADDRESS_SK = "ADDR"
SEND_LEASE = timedelta(minutes=5)  # longer than any function timeout: a lease still held means a sender is alive
# A request's history keeps at most this many steps: the first HISTORY_LIMIT - 1 and the latest, counting the
# others in ``steps_dropped``. Its decisions are bounded by this; a send appends at most one step per delivery
# attempt after it (sent, failed, taken over, retry), and the queue's receive count and the send lease bound those.
HISTORY_LIMIT = 24


def customer_pk(customer_id: str) -> str:
    return f"C#{customer_id}"


def request_sk(request_id: str) -> str:
    return f"R#{request_id}"


def address_pk(digest: str) -> str:
    return f"A#{digest}"


def due_shard(customer_id: str) -> str:
    return f"DUE#{sum(customer_id.encode()) % DUE_SHARDS}"


# -- stored items ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Models:
    item: Any
    state: Any
    request: Any
    address: Any
    audit: Any
    connection: Connection


@cache
def _models(table_name: str, host: str | None, region: str, session: Any = None) -> _Models:
    """Model classes bound to one table; built lazily so nothing reads the environment at import time.
    ``session``: the botocore session for the table's client (default: pynamodb makes its own)."""

    class _Meta:
        pass

    _Meta.table_name = table_name  # type: ignore[attr-defined]
    _Meta.region = region  # type: ignore[attr-defined]
    _Meta.host = host  # type: ignore[attr-defined]
    _Meta.max_retry_attempts = 4  # type: ignore[attr-defined]

    class DueIndex(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = DUE_INDEX
            projection = KeysOnlyProjection()

        due_pk = UnicodeAttribute(hash_key=True, attr_name=DUE_INDEX_PK)
        due_sk = UnicodeAttribute(range_key=True, attr_name=DUE_INDEX_SK)

    class LedgerItem(Model):
        Meta = _Meta  # type: ignore[assignment]
        pk = UnicodeAttribute(hash_key=True, attr_name=PK)
        sk = UnicodeAttribute(range_key=True, attr_name=SK)
        kind = DiscriminatorAttribute()
        expires_at = TTLAttribute(null=True, attr_name=TTL_ATTRIBUTE)

    class StateItem(LedgerItem, discriminator="state"):
        version = NumberAttribute(default=0)
        profile = UnicodeAttribute(null=True)
        contacts = UnicodeAttribute(null=True)
        pending = UnicodeAttribute(null=True)
        marks = UnicodeAttribute(null=True)
        email = UnicodeAttribute(null=True)
        phone = UnicodeAttribute(null=True)
        push_endpoint = UnicodeAttribute(null=True)
        blocked = UnicodeSetAttribute(null=True)
        soft_blocked = UnicodeSetAttribute(null=True)
        void = UnicodeSetAttribute(null=True)  # contacts whose send failed for good: not counted by caps
        updated_at = UnicodeAttribute(null=True)

    class RequestItem(LedgerItem, discriminator="request"):
        due = DueIndex()
        due_pk = UnicodeAttribute(null=True, attr_name=DUE_INDEX_PK)
        due_sk = UnicodeAttribute(null=True, attr_name=DUE_INDEX_SK)
        status = UnicodeAttribute()
        reason = UnicodeAttribute(null=True)
        detail = UnicodeAttribute(null=True)
        channel = UnicodeAttribute(null=True)
        category = UnicodeAttribute(null=True)
        campaign_id = UnicodeAttribute(null=True)
        entity = UnicodeAttribute(null=True)
        priority = NumberAttribute(null=True)
        transactional = NumberAttribute(null=True)
        requested_at = UnicodeAttribute(null=True)
        decided_at = UnicodeAttribute(null=True)
        sent_at = UnicodeAttribute(null=True)
        release_at = UnicodeAttribute(null=True)
        lease_until = UnicodeAttribute(null=True)
        counts = UnicodeAttribute(null=True)
        policy = UnicodeAttribute(null=True)
        template = UnicodeAttribute(null=True)
        data = UnicodeAttribute(null=True)
        recipient = UnicodeAttribute(null=True)
        message_id = UnicodeAttribute(null=True)
        event_id = UnicodeAttribute(null=True)
        attempts = NumberAttribute(default=0)
        history = UnicodeAttribute(null=True)  # written before steps were appended: one "<iso> <status> <reason>"
        steps = ListAttribute(of=UnicodeAttribute, null=True)  # each a JSON [at, what, reason, until]
        steps_dropped = NumberAttribute(null=True)
        members = UnicodeAttribute(null=True)
        carrier = UnicodeAttribute(null=True)  # a digest member: the request that carries the digest

    class AddressItem(LedgerItem, discriminator="address"):
        status = UnicodeAttribute(null=True)  # hard_bounce | complaint | soft_bounce (suppressed) | None
        since = UnicodeAttribute(null=True)
        until = UnicodeAttribute(null=True)  # soft-bounce suppression ends
        soft_times = UnicodeAttribute(null=True)  # recent soft bounces (epoch seconds, JSON)
        owners = UnicodeSetAttribute(null=True)  # customers whose profile holds this address

    class AuditItem(LedgerItem, discriminator="audit"):
        actor = UnicodeAttribute()
        change = UnicodeAttribute()
        at = UnicodeAttribute()

    # transactions go through the models' own connection: one botocore session and client per container, not
    # two (each pynamodb Connection builds its own session and loads the DynamoDB service model again)
    connection = LedgerItem._get_connection().connection
    if session is not None:
        # pynamodb has no setting for it: its Connection keeps the session it would create per thread in
        # _local, read when the client is first built. This sets it for the building thread, the only one in
        # Lambda; a client first built on another thread gets a session of its own (tests/bench holds the
        # functions to one session)
        connection._local.session = session
    return _Models(LedgerItem, StateItem, RequestItem, AddressItem, AuditItem, connection)


# -- converters: stored <-> domain -----------------------------------------------------------------------------


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


def encode_ledger(ledger: CustomerLedger, steps: Mapping[str, int] | None = None) -> dict[str, str]:
    """The state item's contacts, pending set and marks. ``steps``: how many steps each waiting request's history
    holds, kept beside it so that a decision can append to that history within the bound without reading it."""
    contacts = [
        [c.request_id, _ts(c.at), c.channel, c.category, c.campaign_id, c.entity, c.priority, int(c.transactional)]
        for c in ledger.contacts
    ]
    counts = steps or {}
    pending = [
        [*_request_row(p.request), p.priority, _ts(p.due_at), p.reason, counts.get(p.request.request_id, 0)]
        for p in ledger.pending
    ]
    marks = [[m.request_id, m.category, m.entity, _ts(m.at)] for m in ledger.marks]
    return {"contacts": _dumps(contacts), "pending": _dumps(pending), "marks": _dumps(marks)}


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


def decode_steps(item: Any | None) -> dict[str, int]:
    """How many steps each waiting request's history holds (a row written before the count was kept: its one
    history line)."""
    if item is None:
        return {}
    return {row[0]: row[13] if len(row) > 13 else 1 for row in json.loads(item.pending or "[]")}


def decode_ledger(customer_id: str, item: Any | None) -> CustomerLedger:
    if item is None:
        return CustomerLedger(customer_id=customer_id)
    void = set(item.void or ())
    contacts = tuple(
        Contact(rid, _dt(at), ch, cat, camp, ent, prio, bool(tx))
        for rid, at, ch, cat, camp, ent, prio, tx in json.loads(item.contacts or "[]")
        if rid not in void
    )
    pending = tuple(
        Pending(_request_from(row[:10], customer_id), row[10], _dt(row[11]), row[12])
        for row in json.loads(item.pending or "[]")
    )
    marks = tuple(Mark(rid, cat, ent, _dt(at)) for rid, cat, ent, at in json.loads(item.marks or "[]"))
    return CustomerLedger(
        customer_id=customer_id,
        version=int(item.version or 0),
        profile=decode_profile(item.profile),
        contacts=contacts,
        pending=pending,
        marks=marks,
    )


def decode_record(customer_id: str, item: Any) -> RequestRecord:
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
        recipient=item.recipient,
        message_id=item.message_id,
        attempts=int(item.attempts or 0),
        history=decode_history(item),
        history_dropped=int(item.steps_dropped or 0),
        members=tuple(json.loads(item.members or "[]")),
        carrier=item.carrier or _legacy_carrier(item),
    )


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


def _status(decision: Decision) -> RequestStatus:
    if decision.outcome is Outcome.SENT:
        return RequestStatus.SENDING
    if decision.outcome is Outcome.DEFERRED:
        return RequestStatus.PENDING
    return RequestStatus(decision.outcome.value)


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


# -- the adapter -----------------------------------------------------------------------------------------------


class DynamoLedger:
    """``baton.app.ports.Ledger`` on one DynamoDB table. ``salt`` keys the address hashes (see README, Erasure);
    ``session`` is the botocore session to build the DynamoDB client from (``baton.adapters.aws.botocore_session``)."""

    def __init__(
        self,
        table_name: str,
        *,
        retention: timedelta,
        host: str | None = None,
        region: str = "us-east-1",
        salt: bytes = DEFAULT_SALT,
        session: Any = None,
    ):
        self._m = _models(table_name, host, region, session)
        self._retention = retention
        self._salt = salt

    def hash(self, address: str) -> str:
        return address_hash(address, self._salt)

    # reads
    def load(self, customer_id: str, request_id: str | None, recipient: str | None, consistent: bool) -> Snapshot:
        pk = customer_pk(customer_id)
        keys: list[tuple[str, str]] = [(pk, STATE_SK)]
        if request_id is not None:
            keys.append((pk, request_sk(request_id)))
        recipient_key = None
        if recipient:
            recipient_key = (address_pk(self.hash(recipient)), ADDRESS_SK)
            keys.append(recipient_key)
        found: dict[tuple[str, str], Any] = {}
        try:
            for item in self._m.item.batch_get(keys, consistent_read=consistent):
                found[(item.pk, item.sk)] = item
        except PynamoDBException as exc:
            raise TransientFailure(f"ledger read failed: {exc}") from exc
        state = found.get((pk, STATE_SK))
        request = found.get((pk, request_sk(request_id))) if request_id is not None else None
        blocked = set(state.blocked or ()) if state is not None else set()
        soft = _soft_map(state.soft_blocked if state is not None else None)
        if recipient_key and recipient_key in found:
            _address_standing(found[recipient_key], recipient_key[0][2:], blocked, soft)
        addresses = {}
        if state is not None:
            addresses = {
                ch: value
                for ch, value in (("email", state.email), ("sms", state.phone), ("push", state.push_endpoint))
                if value
            }
        return Snapshot(
            ledger=decode_ledger(customer_id, state),
            existing=None if request is None else decode_record(customer_id, request),
            addresses=addresses,
            blocked=frozenset(blocked),
            soft_blocked=soft,
            voided=frozenset(state.void or ()) if state is not None else frozenset(),
            hasher=self.hash,
            steps=decode_steps(state),
        )

    def records(self, customer_id: str, request_ids: list[str]) -> dict[str, RequestRecord]:
        if not request_ids:
            return {}
        pk = customer_pk(customer_id)
        try:
            items = list(self._m.request.batch_get([(pk, request_sk(r)) for r in request_ids], consistent_read=True))
        except PynamoDBException as exc:
            raise TransientFailure(f"ledger read failed: {exc}") from exc
        return {item.sk[2:]: decode_record(customer_id, item) for item in items}

    def timeline(self, customer_id: str) -> list[RequestRecord]:
        items = self._m.request.query(customer_pk(customer_id), self._m.request.sk.startswith("R#"))
        records = [decode_record(customer_id, item) for item in items]
        return sorted(records, key=lambda r: (r.requested_at or datetime.min.replace(tzinfo=UTC), r.request_id))

    def due(self, now: datetime, limit: int) -> list[tuple[str, str, datetime]]:
        """(customer, request, due time) of requests whose release or send lease is due, across every shard."""
        out: list[tuple[str, str, datetime]] = []
        bound = f"{iso(now)}~"
        # The low-level query: the index projects keys only, so pynamodb's discriminator filter must not apply.
        table = self._m.item._get_connection()
        try:
            for shard in range(DUE_SHARDS):
                page = table.query(
                    f"DUE#{shard}",
                    range_key_condition=self._m.request.due_sk <= bound,
                    index_name=DUE_INDEX,
                    limit=limit,
                )
                for item in page.get("Items", []):
                    when = _from_iso(item[DUE_INDEX_SK]["S"].split("#", 1)[0])
                    out.append((item[PK]["S"][2:], item[SK]["S"][2:], when or now))
        except PynamoDBException as exc:
            raise TransientFailure(f"due index read failed: {exc}") from exc
        return sorted(out, key=lambda row: row[2])

    # writes
    def commit(self, snapshot: Snapshot, verdict: Verdict, arrival: Arrival | None, policy: str, now: datetime) -> None:
        m = self._m
        ledger = verdict.ledger
        pk = customer_pk(ledger.customer_id)
        version = snapshot.ledger.version
        state_condition = m.state.version.does_not_exist() if version == 0 else m.state.version == version
        arrival_id = arrival.message.request_id if arrival else None
        waited = {p.request.request_id: p for p in snapshot.ledger.pending}
        steps = dict(snapshot.steps)
        writes: list[tuple[Decision, list[Action] | None]] = []
        for decision in verdict.decisions:
            rid = decision.request.request_id
            if rid == arrival_id:
                steps[rid] = 2  # arrived, and this decision
                writes.append((decision, None))
            else:
                actions, steps[rid] = self._settle_actions(
                    decision, policy, now, waited.get(rid), steps.get(rid, 1)
                )
                writes.append((decision, actions))
        encoded = encode_ledger(ledger, steps)
        state_actions: list[Action] = [
            m.state.kind.set(m.state),
            m.state.version.set(version + 1),
            m.state.contacts.set(encoded["contacts"]),
            m.state.pending.set(encoded["pending"]),
            m.state.marks.set(encoded["marks"]),
            m.state.updated_at.set(iso(now)),
        ]
        if snapshot.voided:  # the contacts written above no longer hold them
            state_actions.append(m.state.void.delete(set(snapshot.voided)))
        try:
            with TransactWrite(connection=m.connection) as tx:
                tx.update(m.state(pk, STATE_SK), actions=state_actions, condition=state_condition)
                for decision, settle in writes:
                    if settle is None and arrival is not None:
                        tx.save(
                            self._new_request(pk, arrival, decision, policy, now),
                            condition=m.request.pk.does_not_exist(),
                        )
                    elif settle is not None:
                        tx.update(
                            m.request(pk, request_sk(decision.request.request_id)),
                            actions=settle,
                            condition=m.request.status == "pending",
                        )
        except TransactWriteError as exc:
            reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or []) if r is not None]
            if exc.cause_response_code == "TransactionCanceledException" and (
                "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons
            ):
                raise ConcurrentUpdate(f"ledger of {ledger.customer_id} changed") from exc
            if exc.cause_response_code in ("TransactionConflictException",):
                raise ConcurrentUpdate(f"ledger of {ledger.customer_id} in another transaction") from exc
            raise TransientFailure(f"ledger write failed: {exc.cause_response_code}: {exc}") from exc

    def _lifecycle(self, decision: Decision, now: datetime, *, lease_indexed: bool = True) -> dict[str, Any]:
        """Status, due index keys and TTL for a decision (shared by new and settled requests).

        A send lease goes into the due index unless ``lease_indexed`` is false: an arrival's own queue record
        stays undeleted until its send is confirmed, so its redelivery, not the sweeper, finds a lease left by a
        crash (and puts it in the index then: ``index_lease``). That saves the index write on the way in and
        the one on the way out, 3 of a send's 8 write units."""
        status = _status(decision)
        due_at: datetime | None = None
        if status is RequestStatus.PENDING:
            due_at = decision.release_at
        elif status is RequestStatus.SENDING and lease_indexed:
            due_at = now + SEND_LEASE
        fields: dict[str, Any] = {
            "status": status.value,
            "reason": decision.reason,
            "detail": decision.detail,
            "priority": decision.priority,
            "counts": _dumps({k: [v.count, v.limit] for k, v in decision.counts.items()}),
            "decided_at": iso(now),
            "release_at": iso(decision.release_at),
            "lease_until": iso(now + SEND_LEASE) if status is RequestStatus.SENDING else None,
            "members": _dumps(list(decision.digest_of)) if decision.digest_of else None,
            "carrier": decision.carrier,
            "expires_at": (due_at or now) + self._retention,
        }
        if due_at is not None:
            fields["due_pk"] = due_shard(decision.request.customer_id)
            fields["due_sk"] = f"{iso(due_at)}#{decision.request.request_id}"
        else:
            fields["due_pk"] = None
            fields["due_sk"] = None
        return fields

    def _new_request(self, pk: str, arrival: Arrival, decision: Decision, policy: str, now: datetime) -> Any:
        msg = arrival.message
        fields = self._lifecycle(decision, now, lease_indexed=False)
        return self._m.request(
            pk,
            request_sk(msg.request_id),
            channel=msg.channel.value,
            category=msg.category,
            campaign_id=msg.campaign_id,
            entity=msg.entity,
            transactional=int(msg.transactional),
            requested_at=iso(decision.request.requested_at),
            sent_at=None,
            policy=policy,
            template=msg.template,
            data=_dumps(msg.data),
            recipient=arrival.recipient,
            event_id=arrival.event_id,
            steps=[step(decision.request.requested_at, "arrived"), decision_step(decision, now)],
            **fields,
        )

    def _settle_actions(
        self, decision: Decision, policy: str, now: datetime, waited: Pending | None, held: int
    ) -> tuple[list[Action], int]:
        """The update of a waiting request's item for ``decision``, and the steps its history then holds. A wait
        that has ended (``waited`` was due) is a ``released`` step before the decision's own."""
        r = self._m.request
        actions: list[Action] = [r.policy.set(policy)]
        for name, value in self._lifecycle(decision, now).items():
            attr = getattr(r, name)
            actions.append(attr.remove() if value is None else attr.set(value))
        new = [decision_step(decision, now)]
        if waited is not None and waited.due_at <= now:
            new.insert(0, step(now, "released", waited.reason))
        appended, count = append_steps(r.steps, held, new, r.steps_dropped)
        return actions + appended, count

    def claim(self, record: RequestRecord, now: datetime) -> RequestRecord | None:
        r = self._m.request
        item = r(customer_pk(record.customer_id), request_sk(record.request_id))
        try:
            # only a lease that ran out: a duplicate delivery can arrive while the holder is still sending, and
            # taking over a live lease would send the message twice
            item.update(
                # into the due index as well: the taker may be a copy of the very queue message another delivery,
                # finding the lease held, acknowledges (SQS can hand one message to two consumers)
                actions=[
                    r.lease_until.set(iso(now + SEND_LEASE)),
                    *self._due_at(record, now + SEND_LEASE),
                    r.attempts.add(1),
                    self._append(step(now, "taken_over", "the send lease ran out")),
                ],
                condition=(r.status == "sending") & (r.lease_until <= iso(now)),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return None
            raise TransientFailure(f"ledger write failed: {exc}") from exc
        return replace(record, lease_until=now + SEND_LEASE, attempts=int(item.attempts))

    def _due_at(self, record: RequestRecord, at: datetime) -> list[Action]:
        """The actions that put ``record`` into the due index at ``at`` (or move it there)."""
        r = self._m.request
        return [r.due_pk.set(due_shard(record.customer_id)), r.due_sk.set(f"{iso(at)}#{record.request_id}")]

    def index_lease(self, record: RequestRecord) -> bool:
        if record.lease_until is None:
            raise ValueError(f"request {record.request_id} holds no send lease to index")
        r = self._m.request
        item = r(customer_pk(record.customer_id), request_sk(record.request_id))
        try:
            item.update(
                actions=self._due_at(record, record.lease_until),
                condition=(r.status == "sending") & (r.lease_until == iso(record.lease_until)),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise TransientFailure(f"ledger write failed: {exc}") from exc
        return True

    def release_lease(self, record: RequestRecord, now: datetime) -> None:
        r = self._m.request
        item = r(customer_pk(record.customer_id), request_sk(record.request_id))
        try:
            item.update(
                actions=[
                    r.lease_until.set(iso(now)),
                    *self._due_at(record, now),
                    self._append(step(now, "retry", "delivery_retry")),
                ],
                condition=(r.status == "sending") & (r.attempts == record.attempts),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return  # taken over (or settled) since: the lease is no longer this holder's to give
            raise TransientFailure(f"ledger write failed: {exc}") from exc

    def _finish(self, record: RequestRecord, actions: list[Action]) -> None:
        r = self._m.request
        item = r(customer_pk(record.customer_id), request_sk(record.request_id))
        try:
            item.update(actions=actions, condition=r.status == "sending")
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return  # already confirmed by another delivery of the same request
            raise TransientFailure(f"ledger write failed: {exc}") from exc

    def confirm_sent(self, record: RequestRecord, now: datetime, message_id: str) -> None:
        r = self._m.request
        self._finish(
            record,
            [
                r.status.set("sent"),
                r.sent_at.set(iso(now)),
                r.message_id.set(message_id),
                r.due_pk.remove(),
                r.due_sk.remove(),
                r.lease_until.remove(),
                r.expires_at.set(now + self._retention),
                self._append(step(now, "sent", record.reason)),
            ],
        )

    def _append(self, line: str) -> Action:
        """Append one delivery step to a request's history (after its decisions: see HISTORY_LIMIT)."""
        r = self._m.request
        return r.steps.set((r.steps | []).append([line]))

    def confirm_failed(
        self, record: RequestRecord, now: datetime, reason: str, status: str = "failed", detail: str | None = None
    ) -> None:
        """End a ``sending`` request as failed (or suppressed) and void its contact, so that a message that
        never went out does not count against the customer's caps. Voiding only loosens caps, so it needs no
        version check; the next decision's commit drops the voided contact for good. ``detail`` says why in
        words where the reason alone does not (what a template lacked)."""
        m = self._m
        pk = customer_pk(record.customer_id)
        actions = [
            m.request.status.set(status),
            m.request.reason.set(reason),
            *([m.request.detail.set(detail)] if detail else []),
            m.request.decided_at.set(iso(now)),
            m.request.due_pk.remove(),
            m.request.due_sk.remove(),
            m.request.lease_until.remove(),
            m.request.expires_at.set(now + self._retention),
            self._append(step(now, status, reason)),
        ]
        try:
            with TransactWrite(connection=m.connection) as tx:
                tx.update(
                    m.request(pk, request_sk(record.request_id)),
                    actions=actions,
                    condition=m.request.status == "sending",
                )
                tx.update(m.state(pk, STATE_SK), actions=[m.state.void.add({record.request_id})])
        except TransactWriteError as exc:
            reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or []) if r is not None]
            if "ConditionalCheckFailed" in reasons:
                return  # already ended by another delivery of the same request
            raise TransientFailure(f"ledger write failed: {exc.cause_response_code}") from exc

    def record_rejected(self, customer_id: str, request_id: str, reason: str, detail: str, now: datetime) -> bool:
        r = self._m.request
        item = r(
            customer_pk(customer_id),
            request_sk(request_id),
            status="rejected",
            reason=reason,
            detail=detail,
            requested_at=iso(now),
            decided_at=iso(now),
            expires_at=now + self._retention,
            steps=[step(now, "arrived"), step(now, "rejected", reason)],
        )
        try:
            item.save(condition=r.pk.does_not_exist())
        except PynamoDBException as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise TransientFailure(f"ledger write failed: {exc}") from exc
        return True

    # profile, preferences, consent ------------------------------------------------------------------------
    def _change_profile(
        self,
        customer_id: str,
        change: Callable[[Profile], Profile],
        now: datetime,
        *,
        addresses: Mapping[str, str] | None = None,
        audit: tuple[str, Mapping[str, Any]] | None = None,
        create: bool = True,
    ) -> bool:
        """Read-modify-write the profile under the version check; the version moves, so a decision read
        before this change cannot commit after it: consent and opt-outs take effect at once."""
        m = self._m
        pk = customer_pk(customer_id)
        new_addresses = {k: v for k, v in (addresses or {}).items() if v}
        for _ in range(8):
            keys = [(pk, STATE_SK)] + [(address_pk(self.hash(a)), ADDRESS_SK) for a in new_addresses.values()]
            found = {(i.pk, i.sk): i for i in m.item.batch_get(keys, consistent_read=True)}
            state = found.get((pk, STATE_SK))
            if state is None and not create:
                return False
            version = int(state.version or 0) if state is not None else 0
            profile = change(decode_profile(state.profile if state is not None else None))
            actions: list[Action] = [
                m.state.kind.set(m.state),
                m.state.version.set(version + 1),
                m.state.profile.set(encode_profile(profile)),
                m.state.updated_at.set(iso(now)),
            ]
            blocked: set[str] = set()
            soft: dict[str, datetime] = {}
            for channel, address in new_addresses.items():
                attr = {"email": m.state.email, "sms": m.state.phone, "push": m.state.push_endpoint}[channel]
                actions.append(attr.set(address))
                digest = self.hash(address)
                item = found.get((address_pk(digest), ADDRESS_SK))
                if item is not None:
                    _address_standing(item, digest, blocked, soft)
            if blocked:
                actions.append(m.state.blocked.add(blocked))
            if soft:
                actions.append(m.state.soft_blocked.add({f"{h}@{_ts(u)}" for h, u in soft.items()}))
            condition = m.state.version.does_not_exist() if version == 0 else m.state.version == version
            try:
                with TransactWrite(connection=m.connection) as tx:
                    tx.update(m.state(pk, STATE_SK), actions=actions, condition=condition)
                    for address in new_addresses.values():
                        owner = m.address(address_pk(self.hash(address)), ADDRESS_SK)
                        tx.update(owner, actions=[m.address.kind.set(m.address), m.address.owners.add({customer_id})])
                    if audit is not None:
                        actor, what = audit
                        tx.save(
                            m.audit(
                                pk,
                                f"AUDIT#{iso(now)}#{uuid.uuid4().hex[:8]}",
                                actor=actor,
                                change=_dumps(what),
                                at=iso(now),
                                expires_at=now + self._retention,
                            )
                        )
                return True
            except TransactWriteError as exc:
                reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or []) if r is not None]
                if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                    continue
                raise TransientFailure(f"ledger write failed: {exc.cause_response_code}") from exc
        raise ConcurrentUpdate(f"profile of {customer_id} kept changing")

    def update_profile(self, update: CustomerUpdated, now: datetime, actor: str | None = None) -> None:
        """Apply a CustomerUpdated: fields present replace stored ones."""

        def change(profile: Profile) -> Profile:
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

        addresses = {"email": update.email, "sms": update.phone, "push": update.push_endpoint}
        audit = None
        if actor is not None:
            audit = (
                actor,
                update.model_dump(mode="json", exclude_none=True, exclude={"email", "phone", "push_endpoint"}),
            )
        self._change_profile(
            update.customer_id, change, now, addresses={k: v for k, v in addresses.items() if v}, audit=audit
        )

    def unsubscribe(self, customer_id: str, scope: str, now: datetime, actor: str) -> bool:
        kind, _, name = scope.partition(":")

        def change(profile: Profile) -> Profile:
            if kind == "channel":
                return replace(profile, consent={**profile.consent, name: False})
            return replace(profile, opted_out_categories=profile.opted_out_categories | {name})

        return self._change_profile(customer_id, change, now, audit=(actor, {"unsubscribe": scope}), create=False)

    def preferences(self, customer_id: str) -> Profile | None:
        """The customer's profile and preferences, or None for a customer Baton has never seen."""
        try:
            state = self._m.state.get(customer_pk(customer_id), STATE_SK, consistent_read=True)
        except self._m.state.DoesNotExist:
            return None
        return decode_profile(state.profile)

    # delivery feedback -------------------------------------------------------------------------------------
    def suppress_address(self, address: str, kind: str, now: datetime, policy: Policy) -> AddressStanding:
        m = self._m
        digest = self.hash(address)
        key = address_pk(digest)
        try:
            item = m.address.get(key, ADDRESS_SK, consistent_read=True)
        except m.address.DoesNotExist:
            item = m.address(key, ADDRESS_SK)
        standing = AddressStanding.OK
        if kind in ("hard_bounce", "complaint"):
            if item.status not in ("hard_bounce", "complaint"):
                item.status, item.since, item.until = kind, iso(now), None
            standing = AddressStanding.BLOCKED
        else:
            feedback = policy.feedback
            since = now - feedback.soft_bounce_window
            times = [t for t in json.loads(item.soft_times or "[]") if _dt(t) > since] + [_ts(now)]
            item.soft_times = _dumps(times)
            if item.status in ("hard_bounce", "complaint"):
                standing = AddressStanding.BLOCKED
            elif len(times) >= feedback.soft_bounce_limit:
                item.status, item.since = "soft_bounce", iso(now)
                item.until = iso(now + feedback.soft_bounce_suppression)
                standing = AddressStanding.SOFT_BLOCKED
        item.save()
        for owner in item.owners or ():
            state = m.state(customer_pk(owner), STATE_SK)
            if standing is AddressStanding.BLOCKED:
                actions = [m.state.blocked.add({digest}), m.state.version.add(1)]
            elif standing is AddressStanding.SOFT_BLOCKED:
                until = _from_iso(item.until) or now
                actions = [m.state.soft_blocked.add({f"{digest}@{_ts(until)}"}), m.state.version.add(1)]
            else:
                continue
            try:  # moving the version makes a decision that read the old standing re-read it
                state.update(actions=actions, condition=m.state.version.exists())
            except UpdateError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise TransientFailure(f"ledger write failed: {exc}") from exc
        return standing

    # erasure -----------------------------------------------------------------------------------------------
    def erase(self, customer_id: str) -> int:
        """Delete every item under the customer's key (profile, ledger, requests with payloads and addresses,
        pending, audit) and the customer's id from address items; suppressed addresses stay suppressed by
        their keyed hash alone. Returns the number of items deleted."""
        m = self._m
        pk = customer_pk(customer_id)
        items = list(m.item.query(pk, consistent_read=True))
        addresses: set[str] = set()
        for item in items:
            if isinstance(item, m.state):
                addresses.update(a for a in (item.email, item.phone, item.push_endpoint) if a)
            elif isinstance(item, m.request) and item.recipient:
                addresses.add(item.recipient)
        for address in addresses:
            key = address_pk(self.hash(address))
            try:
                owner = m.address.get(key, ADDRESS_SK, consistent_read=True)
            except m.address.DoesNotExist:
                continue
            remaining = set(owner.owners or ()) - {customer_id}
            if owner.status is None and not remaining:
                owner.delete()
            elif customer_id in (owner.owners or ()):
                owner.update(actions=[m.address.owners.delete({customer_id})])
        with m.item.batch_write() as batch:
            for item in items:
                batch.delete(item)
        return len(items)


def iter_items(ledger: DynamoLedger) -> Iterable[Mapping[str, Any]]:
    """Every item in the table as plain attributes (tests, erasure checks)."""
    for item in ledger._m.item.scan():
        yield item.attribute_values
