"""The contact ledger on DynamoDB, through pynamodb. Implements ``baton.ports.Ledger``.

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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from pynamodb.attributes import (
    DiscriminatorAttribute,
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

from baton.addresses import address_hash
from baton.contract import CustomerUpdated
from baton.domain import (
    Contact,
    CustomerLedger,
    Decision,
    Mark,
    Outcome,
    Pending,
    Profile,
    QuietWindow,
    Request,
    Verdict,
)
from baton.errors import ConcurrentUpdate, TransientFailure
from baton.names import DUE_INDEX, DUE_INDEX_PK, DUE_INDEX_SK, DUE_SHARDS, PK, SK, TTL_ATTRIBUTE
from baton.ports import Arrival, RequestRecord, Snapshot

STATE_SK = "STATE"
ADDRESS_SK = "ADDR"
SEND_LEASE = timedelta(minutes=5)  # longer than any function timeout: a lease still held means a sender is alive
HISTORY_LIMIT = 20


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
    connection: Connection


@cache
def _models(table_name: str, host: str | None, region: str) -> _Models:
    """Model classes bound to one table; built lazily so nothing reads the environment at import time."""

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
        history = UnicodeAttribute(null=True)

    class AddressItem(LedgerItem, discriminator="address"):
        status = UnicodeAttribute()
        since = UnicodeAttribute(null=True)
        bounces = NumberAttribute(default=0)

    connection = Connection(region=region, host=host, max_retry_attempts=4)
    return _Models(LedgerItem, StateItem, RequestItem, AddressItem, connection)


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
        int(r.transactional), _ts(r.requested_at), na, r.address,
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
        address=address,
    )


def encode_ledger(ledger: CustomerLedger) -> dict[str, str]:
    contacts = [
        [c.request_id, _ts(c.at), c.channel, c.category, c.campaign_id, c.entity, c.priority, int(c.transactional)]
        for c in ledger.contacts
    ]
    pending = [[*_request_row(p.request), p.priority, _ts(p.due_at), p.reason] for p in ledger.pending]
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
    )


def decode_ledger(customer_id: str, item: Any | None) -> CustomerLedger:
    if item is None:
        return CustomerLedger(customer_id=customer_id)
    contacts = tuple(
        Contact(rid, _dt(at), ch, cat, camp, ent, prio, bool(tx))
        for rid, at, ch, cat, camp, ent, prio, tx in json.loads(item.contacts or "[]")
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
        status=item.status,
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
        detail=item.detail or "",
        counts=json.loads(item.counts or "{}"),
        policy=item.policy or "",
        template=item.template,
        data=json.loads(item.data or "{}"),
        recipient=item.recipient,
        message_id=item.message_id,
        attempts=int(item.attempts or 0),
        history=tuple(json.loads(item.history or "[]")),
    )


def _status(decision: Decision) -> str:
    if decision.outcome is Outcome.SENT:
        return "sending"
    if decision.outcome is Outcome.DEFERRED:
        return "pending"
    return decision.outcome.value


def _history_line(decision: Decision, now: datetime) -> str:
    return f"{iso(now)} {_status(decision)} {decision.reason}"


# -- the adapter -----------------------------------------------------------------------------------------------


class DynamoLedger:
    """``baton.ports.Ledger`` on one DynamoDB table."""

    def __init__(self, table_name: str, *, retention: timedelta, host: str | None = None, region: str = "us-east-1"):
        self._m = _models(table_name, host, region)
        self._retention = retention

    # reads
    def load(self, customer_id: str, request_id: str | None, recipient: str | None, consistent: bool) -> Snapshot:
        pk = customer_pk(customer_id)
        keys: list[tuple[str, str]] = [(pk, STATE_SK)]
        if request_id is not None:
            keys.append((pk, request_sk(request_id)))
        recipient_key = None
        if recipient:
            recipient_key = (address_pk(address_hash(recipient)), ADDRESS_SK)
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
        if recipient_key and recipient_key in found and found[recipient_key].status in ("hard_bounce", "complaint"):
            blocked.add(recipient_key[0][2:])
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
        encoded = encode_ledger(ledger)
        state_actions: list[Action] = [
            m.state.kind.set(m.state),
            m.state.version.set(version + 1),
            m.state.contacts.set(encoded["contacts"]),
            m.state.pending.set(encoded["pending"]),
            m.state.marks.set(encoded["marks"]),
            m.state.updated_at.set(iso(now)),
        ]
        try:
            with TransactWrite(connection=m.connection) as tx:
                tx.update(m.state(pk, STATE_SK), actions=state_actions, condition=state_condition)
                arrival_id = arrival.message.request_id if arrival else None
                for decision in verdict.decisions:
                    if decision.request.request_id == arrival_id and arrival is not None:
                        tx.save(
                            self._new_request(pk, arrival, decision, policy, now),
                            condition=m.request.pk.does_not_exist(),
                        )
                    else:
                        tx.update(
                            m.request(pk, request_sk(decision.request.request_id)),
                            actions=self._settle_actions(decision, policy, now),
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

    def _lifecycle(self, decision: Decision, now: datetime) -> dict[str, Any]:
        """Status, due index keys and TTL for a decision (shared by new and settled requests)."""
        status = _status(decision)
        due_at: datetime | None = None
        if status == "pending":
            due_at = decision.release_at
        elif status == "sending":
            due_at = now + SEND_LEASE
        fields: dict[str, Any] = {
            "status": status,
            "reason": decision.reason,
            "detail": decision.detail,
            "priority": decision.priority,
            "counts": _dumps({k: [v.count, v.limit] for k, v in decision.counts.items()}),
            "decided_at": iso(now),
            "release_at": iso(decision.release_at),
            "lease_until": iso(now + SEND_LEASE) if status == "sending" else None,
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
        fields = self._lifecycle(decision, now)
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
            history=_dumps([_history_line(decision, now)]),
            **fields,
        )

    def _settle_actions(self, decision: Decision, policy: str, now: datetime) -> list[Action]:
        r = self._m.request
        actions: list[Action] = [r.policy.set(policy)]
        for name, value in self._lifecycle(decision, now).items():
            attr = getattr(r, name)
            actions.append(attr.remove() if value is None else attr.set(value))
        actions.append(r.history.set(_dumps([_history_line(decision, now)])))
        return actions

    def claim(self, record: RequestRecord, now: datetime) -> bool:
        r = self._m.request
        item = r(customer_pk(record.customer_id), request_sk(record.request_id))
        try:
            item.update(
                actions=[
                    r.lease_until.set(iso(now + SEND_LEASE)),
                    r.due_sk.set(f"{iso(now + SEND_LEASE)}#{record.request_id}"),
                    r.attempts.add(1),
                ],
                condition=(r.status == "sending") & ((r.lease_until <= iso(now)) | (r.attempts == record.attempts)),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise TransientFailure(f"ledger write failed: {exc}") from exc
        return True

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
            ],
        )

    def confirm_failed(self, record: RequestRecord, now: datetime, reason: str, status: str = "failed") -> None:
        r = self._m.request
        self._finish(
            record,
            [
                r.status.set(status),
                r.reason.set(reason),
                r.decided_at.set(iso(now)),
                r.due_pk.remove(),
                r.due_sk.remove(),
                r.lease_until.remove(),
                r.expires_at.set(now + self._retention),
            ],
        )

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
        )
        try:
            item.save(condition=r.pk.does_not_exist())
        except PynamoDBException as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise TransientFailure(f"ledger write failed: {exc}") from exc
        return True

    def update_profile(self, update: CustomerUpdated, now: datetime) -> None:
        """Apply a CustomerUpdated: fields present replace stored ones; the version moves so that a decision
        read before this change cannot commit after it (consent takes effect at once)."""
        s = self._m.state
        pk = customer_pk(update.customer_id)
        attempts = 8
        for _ in range(attempts):
            current = self.load(update.customer_id, None, None, consistent=True).ledger
            profile = current.profile
            consent = dict(profile.consent)
            if update.consent:
                consent.update({ch.value: bool(v) for ch, v in update.consent.items()})
            new_profile = Profile(
                timezone=update.timezone or profile.timezone,
                locale=update.locale or profile.locale,
                consent=consent,
                opted_out_categories=profile.opted_out_categories,
                quiet_hours=profile.quiet_hours,
            )
            actions: list[Action] = [
                s.kind.set(s),
                s.version.set(current.version + 1),
                s.profile.set(encode_profile(new_profile)),
                s.updated_at.set(iso(now)),
            ]
            for attr, value in (
                (s.email, update.email),
                (s.phone, update.phone),
                (s.push_endpoint, update.push_endpoint),
            ):
                if value is not None:
                    actions.append(attr.set(value))
            condition = s.version.does_not_exist() if current.version == 0 else s.version == current.version
            try:
                s(pk, STATE_SK).update(actions=actions, condition=condition)
                return
            except UpdateError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise TransientFailure(f"ledger write failed: {exc}") from exc
        raise ConcurrentUpdate(f"profile of {update.customer_id} kept changing ({attempts} attempts)")


def iter_items(ledger: DynamoLedger) -> Iterable[Mapping[str, Any]]:
    """Every item in the table as plain attributes (tests, erasure checks)."""
    for item in ledger._m.item.scan():
        yield item.attribute_values
