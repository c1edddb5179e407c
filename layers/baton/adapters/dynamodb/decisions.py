"""The ledger's decisions: one customer's state, request and address read in one BatchGetItem, and a verdict
written with the state's version check in one TransactWriteItems; the timeline and the due index."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from baton.adapters.dynamodb.codec import (
    _address_standing,
    _dumps,
    _from_iso,
    _soft_map,
    _status,
    append_steps,
    decision_step,
    decode_ledger,
    decode_record,
    decode_steps,
    encode_candidates,
    encode_ledger,
    iso,
    step,
)
from baton.adapters.dynamodb.items import (
    ADDRESS_SK,
    STATE_SK,
    _Models,
    address_pk,
    customer_pk,
    due_partition,
    due_shard,
    request_sk,
)
from baton.app.ports import SEND_LEASE, Arrival, RequestRecord, Snapshot
from baton.core.addresses import address_hash
from baton.core.domain import (
    Decision,
    Pending,
    RequestStatus,
    Verdict,
)
from baton.core.errors import ConcurrentUpdate, TransientFailure
from baton.names import DUE_INDEX, DUE_INDEX_SK, DUE_SHARDS, PK, SK


def due_bound(now: datetime) -> str:
    """The due index's sort key bound of what is due at ``now`` (``due_sk <= bound``)."""
    return f"{iso(now)}~"


class Decisions:
    """Reads and the decision's commit (part of ``DynamoLedger``)."""

    _m: _Models
    _retention: timedelta
    _salt: bytes

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

    def due(self, now: datetime, limit: int, shards: Collection[int] | None = None) -> list[tuple[str, str, datetime]]:
        """(customer, request, due time) of requests whose release or send lease is due, across every shard (or
        the ``shards`` given): one query per shard."""
        out: list[tuple[str, str, datetime]] = []
        bound = due_bound(now)
        # The low-level query: the index projects keys only, so pynamodb's discriminator filter must not apply.
        table = self._m.item._get_connection()
        try:
            for shard in range(DUE_SHARDS) if shards is None else sorted(set(shards)):
                page = table.query(
                    due_partition(shard),
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
                actions, steps[rid] = self._settle_actions(decision, policy, now, waited.get(rid), steps.get(rid, 1))
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
            channel=decision.request.channel or None,
            category=msg.category,
            campaign_id=msg.campaign_id,
            entity=msg.entity,
            transactional=int(msg.transactional),
            requested_at=iso(decision.request.requested_at),
            sent_at=None,
            policy=policy,
            template=msg.template,
            data=_dumps(msg.data),
            content=_dumps(msg.content.model_dump(exclude_none=True)) if msg.content else None,
            locale=arrival.locale,
            recipient=arrival.recipient_on(decision.request.channel),
            channels=encode_candidates(arrival.candidates, msg.not_after) if arrival.candidates else None,
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
        if decision.request.options:  # the channel chosen (none: "")
            actions.append(r.channel.set(decision.request.channel) if decision.request.channel else r.channel.remove())
        new = [decision_step(decision, now)]
        if waited is not None and waited.due_at <= now:
            new.insert(0, step(now, "released", waited.reason))
        appended, count = append_steps(r.steps, held, new, r.steps_dropped)
        return actions + appended, count
