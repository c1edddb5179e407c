"""The ledger in memory: ``baton.app.ports.Ledger`` on Python dicts, for service tests without moto and for runs on
a simulated clock. Not deployed (``infra.assets.NOT_DEPLOYED``); nothing deployed imports it (pyproject,
importlinter).

It stores and enforces what the ledger itself guarantees, as the DynamoDB ledger does, and decides nothing: the
decisions come from the engine (``baton.core.engine``) through the arbiter. One contract suite
(``tests/contract``) holds both to the same results:

- a commit applies whole or not at all, and raises ConcurrentUpdate when the customer's state moved since the
  snapshot (a decision, a profile change, a suppression of one of its addresses), when the request it would create
  exists, or when a request it would settle no longer waits;
- a send lease is taken over only once it ran out (``claim``), indexed or given back only by its holder, and a
  confirm ends only a request still ``sending``; a failed send voids its contact without moving the version;
- a request's history keeps its decisions' steps within ``HISTORY_LIMIT``; ``due`` lists the waits and leases
  that have come, earliest first; ``erase`` leaves only the keyed hashes of suppressed addresses.

What the port does not show differs: times are kept as given (DynamoDB keeps milliseconds); ``due`` returns at
most ``limit`` rows in all (DynamoDB at most ``limit`` from each shard of its index); an item past its retention
stays until ``expire`` removes it (DynamoDB's TTL deletes it within days).

Built for speed (a simulated month runs through it): one lock, dicts, records built on read and nothing copied.
What a read returns shares the stored values (a request's data, the profile): treat it as read-only, as the
frozen records say.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import zlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from baton.app.engagements import profile_after
from baton.app.ports import (
    HISTORY_LIMIT,
    SEND_LEASE,
    Arrival,
    FleetHistogram,
    Rendered,
    RequestRecord,
    Snapshot,
    Step,
    failed_on,
    status_after,
)
from baton.app.profiles import (
    SUPPRESSING,
    AddressFeedback,
    after_feedback,
    unsubscribed,
    update_addresses,
    update_audit,
    updated_profile,
    with_contact,
)
from baton.core.addresses import DEFAULT_SALT, address_hash
from baton.core.domain import (
    AddressStanding,
    Contact,
    CustomerState,
    Decision,
    Mark,
    Pending,
    Profile,
    RequestStatus,
    Verdict,
)
from baton.core.engagement import EngagementProfile
from baton.core.errors import ConcurrentUpdate
from baton.names import due_shard_of

if TYPE_CHECKING:
    from baton.app.engagements import Engagement
    from baton.app.ports import Ledger
    from baton.contract import ContactRecorded, CustomerUpdated
    from baton.core.policy import Policy

_EARLIEST = datetime.min.replace(tzinfo=UTC)


class _State:
    """A customer's state: what a decision reads, and the version every write to it checks and moves. The
    collections are replaced, never changed in place, so a snapshot can hold them as they are."""

    __slots__ = ("addresses", "blocked", "contacts", "marks", "pending", "profile", "soft_blocked", "version", "void")

    def __init__(self) -> None:
        self.version = 0
        self.profile = Profile()
        self.contacts: tuple[Contact, ...] = ()
        self.pending: tuple[Pending, ...] = ()
        self.marks: tuple[Mark, ...] = ()
        self.addresses: Mapping[str, str] = {}  # channel -> address
        self.blocked: frozenset[str] = frozenset()  # keyed hashes
        self.soft_blocked: Mapping[str, datetime] = {}  # keyed hash -> end of its soft-bounce suppression
        self.void: frozenset[str] = frozenset()  # contacts of failed sends, dropped by the next commit


_NO_STATE = _State()  # a customer not seen yet, or seen only in rejected requests (never changed)


class _Request:
    """A request: the fields of its record, its history, its place in the due index and its expiry."""

    __slots__ = ("due_at", "expires_at", "fields", "history")

    def __init__(self, fields: dict[str, Any], history: list[Step], expires_at: datetime) -> None:
        self.fields = fields
        self.history = history
        self.expires_at = expires_at
        self.due_at: datetime | None = None

    @property
    def status(self) -> RequestStatus:
        status: RequestStatus = self.fields["status"]
        return status

    def record(self) -> RequestRecord:
        record = RequestRecord(**self.fields, history=tuple(self.history), in_due_index=self.due_at is not None)
        return record.on_chosen()  # a request that lists channels: the address of the one chosen


@dataclass(slots=True)
class _Customer:
    state: _State | None = None
    requests: dict[str, _Request] = field(default_factory=dict)
    audits: list[tuple[datetime, str, Mapping[str, Any], datetime]] = field(default_factory=list)
    engagements: dict[str, Engagement] = field(default_factory=dict)  # by kind and key, apart from the state
    # the engagement profile: read with the state, written apart from it (the version never moves for it)
    profile: EngagementProfile = field(default_factory=EngagementProfile)


@dataclass(slots=True)
class _Address:
    feedback: AddressFeedback = field(default_factory=AddressFeedback)
    owners: set[str] = field(default_factory=set)  # customers whose profile holds the address


def _decision_step(decision: Decision, status: RequestStatus, now: datetime) -> Step:
    if status is RequestStatus.PENDING:
        return Step(now, "deferred", decision.reason, decision.release_at)
    return Step(now, status.value, decision.reason)


def _append_bounded(request: _Request, new: list[Step]) -> None:
    """Append a decision's steps within HISTORY_LIMIT: past it the first HISTORY_LIMIT - 1 stay and the last
    slot holds the latest."""
    history, held = request.history, len(request.history)
    if held + len(new) <= HISTORY_LIMIT:
        history.extend(new)
        return
    if held >= HISTORY_LIMIT:
        history[HISTORY_LIMIT - 1] = new[-1]
        kept = 0
    else:
        kept = HISTORY_LIMIT - held
        history.extend([*new[: kept - 1], new[-1]])
    request.fields["history_dropped"] += len(new) - kept


class MemoryLedger:
    """``baton.app.ports.Ledger`` in this process's memory. ``retention`` is how long a settled request is kept
    (``expire`` drops what is past it); ``salt`` keys the address hashes, as in the DynamoDB ledger."""

    def __init__(self, *, retention: timedelta = timedelta(days=90), salt: bytes = DEFAULT_SALT) -> None:
        self._retention = retention
        self._salt = salt
        self._lock = threading.Lock()
        self._customers: dict[str, _Customer] = {}
        self._addresses: dict[str, _Address] = {}  # keyed hash -> feedback and owners
        # the due index: a heap of (due, entry, customer, request); an entry is live while _due_entry holds it
        self._due_heap: list[tuple[datetime, int, str, str]] = []
        self._due_entry: dict[tuple[str, str], int] = {}
        self._entries = itertools.count()
        self._hashes: dict[str, str] = {}  # address -> keyed hash, as each load of a request hashes its recipient
        self._fleet = FleetHistogram()  # the fleet's engagement histogram (``baton.app.fleet``)

    def hash(self, address: str) -> str:
        digest = self._hashes.get(address)
        if digest is None:
            digest = self._hashes[address] = address_hash(address, self._salt)
        return digest

    # reads ---------------------------------------------------------------------------------------------------
    def load(self, customer_id: str, request_id: str | None, recipient: str | None, consistent: bool) -> Snapshot:
        with self._lock:
            customer = self._customers.get(customer_id)
            state = customer.state if customer is not None else None
            request = customer.requests.get(request_id) if customer is not None and request_id is not None else None
            existing = request.record() if request is not None else None
            if state is None:
                state = _NO_STATE
            held = customer.requests if customer is not None else {}
            steps = {
                p.request.request_id: len(held[p.request.request_id].history)
                for p in state.pending
                if p.request.request_id in held
            }
            blocked, soft = state.blocked, state.soft_blocked
            if recipient:
                blocked, soft = self._recipient_standing(self.hash(recipient), blocked, soft)
            return Snapshot(
                ledger=self._customer_state(customer_id, state, customer.profile if customer else EngagementProfile()),
                existing=existing,
                addresses=state.addresses,
                blocked=blocked,
                soft_blocked=soft,
                voided=state.void,
                hasher=self.hash,
                steps=steps,
            )

    @staticmethod
    def _customer_state(customer_id: str, state: _State, engagement: EngagementProfile | None = None) -> CustomerState:
        contacts = state.contacts
        if state.void:
            contacts = tuple(c for c in contacts if c.request_id not in state.void)
        return CustomerState(
            customer_id=customer_id,
            version=state.version,
            profile=state.profile,
            contacts=contacts,
            pending=state.pending,
            marks=state.marks,
            engagement=engagement if engagement is not None else EngagementProfile(),
        )

    def _recipient_standing(
        self, digest: str, blocked: frozenset[str], soft: Mapping[str, datetime]
    ) -> tuple[frozenset[str], Mapping[str, datetime]]:
        """The state's standings with the recipient's own suppression added (a recipient no profile holds)."""
        address = self._addresses.get(digest)
        if address is None:
            return blocked, soft
        held = address.feedback
        if held.status in SUPPRESSING:
            return blocked | {digest}, soft
        if held.status == "soft_bounce" and held.until is not None:
            return blocked, {**soft, digest: held.until}
        return blocked, soft

    def records(self, customer_id: str, request_ids: list[str]) -> dict[str, RequestRecord]:
        with self._lock:
            customer = self._customers.get(customer_id)
            if customer is None:
                return {}
            found = customer.requests
            return {rid: found[rid].record() for rid in request_ids if rid in found}

    def timeline(self, customer_id: str) -> list[RequestRecord]:
        with self._lock:
            customer = self._customers.get(customer_id)
            records = [r.record() for r in customer.requests.values()] if customer is not None else []
        return sorted(records, key=lambda r: (r.requested_at or _EARLIEST, r.request_id))

    def due(self, now: datetime, limit: int, shards: Collection[int] | None = None) -> list[tuple[str, str, datetime]]:
        """(customer, request, due time) of requests whose release or send lease is due, earliest first, at most
        ``limit`` (of customers in the due-index ``shards`` given, or all)."""
        out: list[tuple[str, str, datetime]] = []
        with self._lock:
            heap, live = self._due_heap, self._due_entry
            found: list[tuple[datetime, int, str, str]] = []
            passed: list[tuple[datetime, int, str, str]] = []  # due, in a shard not asked for: kept
            while heap and len(found) < limit and heap[0][0] <= now:
                entry = heapq.heappop(heap)
                if live.get((entry[2], entry[3])) != entry[1]:
                    continue  # moved or settled since: dropped
                (found if shards is None or due_shard_of(entry[2]) in shards else passed).append(entry)
            for entry in passed:
                heapq.heappush(heap, entry)
            for entry in found:
                heapq.heappush(heap, entry)
                out.append((entry[2], entry[3], entry[0]))
        return out

    # the decision's commit ------------------------------------------------------------------------------------
    def commit(self, snapshot: Snapshot, verdict: Verdict, arrival: Arrival | None, policy: str, now: datetime) -> None:
        customer_id = verdict.ledger.customer_id
        arrival_id = arrival.message.request_id if arrival is not None else None
        with self._lock:
            customer = self._customers.get(customer_id)
            self._check(customer, snapshot, verdict, arrival_id)
            if customer is None:
                customer = self._customers[customer_id] = _Customer()
            state = customer.state
            if state is None:
                state = customer.state = _State()
            waited = {p.request.request_id: p for p in snapshot.ledger.pending}
            for decision in verdict.decisions:
                rid = decision.request.request_id
                if arrival is not None and rid == arrival_id:
                    customer.requests[rid] = self._arrived(arrival, decision, policy, now)
                elif rid != arrival_id:
                    self._settle(customer.requests[rid], decision, policy, now, waited.get(rid))
            state.version += 1
            decided = verdict.ledger
            state.contacts, state.pending, state.marks = decided.contacts, decided.pending, decided.marks
            if snapshot.voided:  # the contacts written above no longer hold them
                state.void = state.void - snapshot.voided

    @staticmethod
    def _check(customer: _Customer | None, snapshot: Snapshot, verdict: Verdict, arrival_id: str | None) -> None:
        """Every condition of a commit, before any of its writes: the version it read, no request where it creates
        one, a waiting request where it settles one."""
        customer_id = verdict.ledger.customer_id
        state = customer.state if customer is not None else None
        if (state.version if state is not None else 0) != snapshot.ledger.version:
            raise ConcurrentUpdate(f"ledger of {customer_id} changed")
        requests = customer.requests if customer is not None else {}
        for decision in verdict.decisions:
            found = requests.get(decision.request.request_id)
            if decision.request.request_id == arrival_id:
                if found is not None:
                    raise ConcurrentUpdate(f"request {arrival_id} of {customer_id} is already recorded")
            elif found is None or found.status is not RequestStatus.PENDING:
                raise ConcurrentUpdate(f"request {decision.request.request_id} of {customer_id} waits no longer")

    def _arrived(self, arrival: Arrival, decision: Decision, policy: str, now: datetime) -> _Request:
        message = arrival.message
        fields: dict[str, Any] = {
            "customer_id": message.customer_id,
            "request_id": message.request_id,
            "channel": decision.request.channel or None,
            "category": message.category,
            "campaign_id": message.campaign_id,
            "entity": message.entity,
            "transactional": bool(message.transactional),
            "requested_at": decision.request.requested_at,
            "sent_at": None,
            "policy": policy,
            "template": message.template,
            "data": message.data,
            "content": _rendered(message.content),
            "locale": arrival.locale,
            "recipient": arrival.recipient_on(decision.request.channel),
            "message_id": None,
            "attempts": 0,
            "history_dropped": 0,
        }
        if arrival.candidates:
            fields.update(candidates=arrival.candidates, not_after=message.not_after)
        request = _Request(fields, [Step(decision.request.requested_at, "arrived")], now)
        # an arrival's send lease stays out of the due index: its queue record comes back for it instead
        status = self._decided(request, decision, now, lease_indexed=False)
        request.history.append(_decision_step(decision, status, now))
        return request

    def _settle(
        self, request: _Request, decision: Decision, policy: str, now: datetime, waited: Pending | None
    ) -> None:
        """A waiting request decided: a wait that has ended is a ``released`` step before the decision's own."""
        request.fields["policy"] = policy
        status = self._decided(request, decision, now, lease_indexed=True)
        new = [_decision_step(decision, status, now)]
        if waited is not None and waited.due_at <= now:
            new.insert(0, Step(now, "released", waited.reason))
        _append_bounded(request, new)

    def _decided(self, request: _Request, decision: Decision, now: datetime, *, lease_indexed: bool) -> RequestStatus:
        """A decision's status, lease, due index entry and expiry on ``request``."""
        status = status_after(decision)
        due_at = None
        if status is RequestStatus.PENDING:
            due_at = decision.release_at
        elif status is RequestStatus.SENDING and lease_indexed:
            due_at = now + SEND_LEASE
        request.fields.update(
            status=status,
            reason=decision.reason,
            detail=decision.detail,
            priority=decision.priority,
            counts={k: [v.count, v.limit] for k, v in decision.counts.items()},
            decided_at=now,
            release_at=decision.release_at,
            lease_until=now + SEND_LEASE if status is RequestStatus.SENDING else None,
            members=tuple(decision.digest_of),
            carrier=decision.carrier,
        )
        if decision.request.options:  # the channel chosen (none: "")
            request.fields["channel"] = decision.request.channel or None
        request.expires_at = (due_at or now) + self._retention
        self._index(decision.request.customer_id, decision.request.request_id, request, due_at)
        return status

    def _index(self, customer_id: str, request_id: str, request: _Request, at: datetime | None) -> None:
        """Put the request into the due index at ``at`` (or take it out: None)."""
        request.due_at = at
        key = (customer_id, request_id)
        if at is None:
            self._due_entry.pop(key, None)
            return
        entry = self._due_entry[key] = next(self._entries)
        heapq.heappush(self._due_heap, (at, entry, customer_id, request_id))
        if len(self._due_heap) > 2 * len(self._due_entry) + 1024:  # drop the entries moved or settled since
            self._due_heap = [e for e in self._due_heap if self._due_entry.get((e[2], e[3])) == e[1]]
            heapq.heapify(self._due_heap)

    # delivery -------------------------------------------------------------------------------------------------
    def _sending(self, record: RequestRecord) -> _Request | None:
        customer = self._customers.get(record.customer_id)
        request = customer.requests.get(record.request_id) if customer is not None else None
        return request if request is not None and request.status is RequestStatus.SENDING else None

    def claim(self, record: RequestRecord, now: datetime) -> RequestRecord | None:
        with self._lock:
            request = self._sending(record)
            lease = request.fields["lease_until"] if request is not None else None
            if request is None or lease is None or lease > now:
                return None  # another holds a live lease (or the send ended)
            fields = request.fields
            fields["lease_until"] = now + SEND_LEASE
            fields["attempts"] += 1
            self._index(record.customer_id, record.request_id, request, now + SEND_LEASE)
            request.history.append(Step(now, "taken_over", "the send lease ran out"))
            return replace(record, lease_until=now + SEND_LEASE, attempts=fields["attempts"])

    def index_lease(self, record: RequestRecord) -> bool:
        if record.lease_until is None:
            raise ValueError(f"request {record.request_id} holds no send lease to index")
        with self._lock:
            request = self._sending(record)
            if request is None or request.fields["lease_until"] != record.lease_until:
                return False
            self._index(record.customer_id, record.request_id, request, record.lease_until)
            return True

    def release_lease(self, record: RequestRecord, now: datetime) -> None:
        with self._lock:
            request = self._sending(record)
            if request is None or request.fields["attempts"] != record.attempts:
                return  # taken over (or settled) since: the lease is no longer this holder's to give
            request.fields["lease_until"] = now
            self._index(record.customer_id, record.request_id, request, now)
            request.history.append(Step(now, "retry", "delivery_retry"))

    def _finish(self, request: _Request, record: RequestRecord, now: datetime, **fields: Any) -> None:
        request.fields.update(fields, lease_until=None)
        request.expires_at = now + self._retention
        self._index(record.customer_id, record.request_id, request, None)

    def confirm_sent(self, record: RequestRecord, now: datetime, message_id: str, rendered_with: str = "") -> None:
        with self._lock:
            request = self._sending(record)
            if request is None:
                return  # already confirmed by another delivery of the same request
            self._finish(
                request,
                record,
                now,
                status=RequestStatus.SENT,
                sent_at=now,
                message_id=message_id,
                rendered_with=rendered_with,
            )
            request.history.append(Step(now, "sent", record.reason))

    def confirm_failed(
        self, record: RequestRecord, now: datetime, reason: str, status: str = "failed", detail: str | None = None
    ) -> None:
        """End a ``sending`` request as failed (or suppressed) and void its contact, so that a message that never
        went out does not count against the customer's caps (without a version change: voiding only loosens
        caps)."""
        with self._lock:
            request = self._sending(record)
            if request is None:
                return  # already ended by another delivery of the same request
            ended = RequestStatus(status)
            extra = {"detail": detail} if detail else {}
            self._finish(request, record, now, status=ended, reason=reason, decided_at=now, **extra)
            request.history.append(Step(now, ended.value, reason))
            customer = self._customers[record.customer_id]
            state = customer.state
            if state is None:
                state = customer.state = _State()
            state.void = state.void | {record.request_id}

    def fall_back(self, record: RequestRecord, now: datetime, reason: str) -> bool:
        with self._lock:
            request = self._sending(record)
            if request is None or request.fields["attempts"] != record.attempts:
                return False  # settled, or taken over, since
            request.fields.update(
                status=RequestStatus.PENDING,
                reason=reason,
                release_at=now,
                lease_until=None,
                candidates=failed_on(record, reason),
            )
            self._index(record.customer_id, record.request_id, request, now)
            request.history.append(Step(now, "deferred", f"fallback:{reason}", now))
            state = self._customers[record.customer_id].state
            if state is not None:
                state.void = state.void | {record.request_id}
            return True

    def record_rejected(self, customer_id: str, request_id: str, reason: str, detail: str, now: datetime) -> bool:
        with self._lock:
            customer = self._customers.get(customer_id)
            if customer is None:
                customer = self._customers[customer_id] = _Customer()
            if request_id in customer.requests:
                return False
            fields: dict[str, Any] = {
                "customer_id": customer_id,
                "request_id": request_id,
                "status": RequestStatus.REJECTED,
                "reason": reason,
                "detail": detail,
                "requested_at": now,
                "decided_at": now,
                "history_dropped": 0,
            }
            history = [Step(now, "arrived"), Step(now, "rejected", reason)]
            customer.requests[request_id] = _Request(fields, history, now + self._retention)
            return True

    # customers ------------------------------------------------------------------------------------------------
    def update_profile(self, update: CustomerUpdated, now: datetime, actor: str | None = None) -> None:
        audit = None if actor is None else (actor, update_audit(update))
        change = partial(updated_profile, update=update)
        self._change_profile(update.customer_id, change, now, update_addresses(update), audit, create=True)

    def record_contact(self, recorded: ContactRecorded, now: datetime, policy: Policy) -> bool:
        """The contacts as a decision leaves them, with the recorded one, and the version moved."""
        with self._lock:
            customer = self._customers.get(recorded.customer_id) or _Customer()
            state = customer.state or _State()
            contacts = with_contact(self._customer_state(recorded.customer_id, state), recorded, policy, now)
            if contacts is None:
                return False
            self._customers[recorded.customer_id] = customer
            customer.state = state
            state.contacts = contacts
            state.version += 1
            return True

    def record_engagement(self, engagement: Engagement, now: datetime, policy: Policy) -> bool:
        """Kept beside the customer's state, which it leaves alone (the version does not move), and added to the
        customer's engagement profile once."""
        with self._lock:
            customer = self._customers.setdefault(engagement.customer_id, _Customer())
            key = f"{engagement.kind}#{engagement.key}"
            if key in customer.engagements:
                return False
            customer.engagements[key] = engagement
            timezone = customer.state.profile.timezone if customer.state is not None else None
            customer.profile = profile_after(customer.profile, timezone, engagement, now, policy)
            return True

    def engagements(self, customer_id: str, kind: str | None = None) -> list[Engagement]:
        with self._lock:
            customer = self._customers.get(customer_id)
            found = list(customer.engagements.values()) if customer is not None else []
        return sorted((e for e in found if kind is None or e.kind == kind), key=lambda e: (e.at, e.key))

    def address_owners(self, address: str) -> list[str]:
        with self._lock:
            held = self._addresses.get(self.hash(address))
            return sorted(held.owners) if held is not None else []

    def fleet_histogram(self) -> FleetHistogram:
        with self._lock:
            return self._fleet

    def put_fleet_histogram(self, fleet: FleetHistogram) -> None:
        with self._lock:
            self._fleet = fleet

    def engagement_segment(self, segment: int, segments: int) -> list[EngagementProfile]:
        with self._lock:
            return [
                customer.profile
                for customer_id, customer in sorted(self._customers.items())
                if customer.profile.as_of is not None and zlib.crc32(customer_id.encode()) % segments == segment
            ]

    def address_status(self, address: str) -> str | None:
        with self._lock:
            held = self._addresses.get(self.hash(address))
            return held.feedback.status if held is not None else None

    def unsubscribe(self, customer_id: str, scope: str, now: datetime, actor: str) -> bool:
        change = partial(unsubscribed, scope=scope)
        return self._change_profile(customer_id, change, now, {}, (actor, {"unsubscribe": scope}), create=False)

    def _change_profile(
        self,
        customer_id: str,
        change: Callable[[Profile], Profile],
        now: datetime,
        addresses: Mapping[str, str],
        audit: tuple[str, Mapping[str, Any]] | None,
        *,
        create: bool,
    ) -> bool:
        """Change the profile and move the version, so that a decision read before the change cannot commit
        after it: consent and opt-outs take effect at once. The profile's new addresses bring their standing."""
        with self._lock:
            customer = self._customers.get(customer_id)
            if (customer is None or customer.state is None) and not create:
                return False
            if customer is None:
                customer = self._customers[customer_id] = _Customer()
            state = customer.state
            if state is None:
                state = customer.state = _State()
            state.profile = change(state.profile)
            state.version += 1
            if addresses:
                state.addresses = {**state.addresses, **addresses}
                for address in addresses.values():
                    digest = self.hash(address)
                    state.blocked, state.soft_blocked = self._recipient_standing(
                        digest, state.blocked, state.soft_blocked
                    )
                    self._addresses.setdefault(digest, _Address()).owners.add(customer_id)
            if audit is not None:
                customer.audits.append((now, audit[0], audit[1], now + self._retention))
            return True

    def suppress_address(self, address: str, kind: str, now: datetime, policy: Policy) -> AddressStanding:
        digest = self.hash(address)
        with self._lock:
            held = self._addresses.get(digest)
            if held is None:
                held = self._addresses[digest] = _Address()
            held.feedback, standing = after_feedback(held.feedback, kind, now, policy.feedback)
            if standing is AddressStanding.OK:
                return standing
            for owner in held.owners:
                customer = self._customers.get(owner)
                state = customer.state if customer is not None else None
                if state is None or state.version == 0:
                    continue
                if standing is AddressStanding.BLOCKED:
                    state.blocked = state.blocked | {digest}
                else:
                    state.soft_blocked = {**state.soft_blocked, digest: held.feedback.until or now}
                state.version += 1  # a decision that read the old standing reads it again
            return standing

    def erase(self, customer_id: str) -> int:
        """Forget the customer: profile, state, requests with their payloads and addresses, audit. Suppressed
        addresses stay suppressed by their keyed hash alone. Returns the number of items deleted."""
        with self._lock:
            customer = self._customers.pop(customer_id, None)
            if customer is None:
                return 0
            held = set(customer.state.addresses.values()) if customer.state is not None else set()
            held.update(r.fields["recipient"] for r in customer.requests.values() if r.fields.get("recipient"))
            for address in held:
                digest = self.hash(address)
                known = self._addresses.get(digest)
                if known is None:
                    continue
                known.owners.discard(customer_id)
                if known.feedback.status is None and not known.owners:
                    del self._addresses[digest]
            for request_id in customer.requests:
                self._due_entry.pop((customer_id, request_id), None)
            return (
                (customer.state is not None) + len(customer.requests) + len(customer.audits) + len(customer.engagements)
            )

    # retention ------------------------------------------------------------------------------------------------
    def expire(self, now: datetime) -> int:
        """Drop the requests and audit entries past their retention at ``now``, as DynamoDB's TTL does in time
        (not part of the port). Returns how many were dropped."""
        dropped = 0
        with self._lock:
            for customer_id, customer in self._customers.items():
                gone = [rid for rid, r in customer.requests.items() if r.expires_at <= now]
                for request_id in gone:
                    del customer.requests[request_id]
                    self._due_entry.pop((customer_id, request_id), None)
                kept = [a for a in customer.audits if a[3] > now]
                dropped += len(gone) + len(customer.audits) - len(kept)
                customer.audits = kept
        return dropped

    def expires_at(self, customer_id: str, request_id: str) -> datetime | None:
        """When the request's retention ends (not part of the port: what DynamoDB keeps as the item's TTL)."""
        with self._lock:
            customer = self._customers.get(customer_id)
            request = customer.requests.get(request_id) if customer is not None else None
            return request.expires_at if request is not None else None


def _rendered(content: Any) -> Rendered | None:
    """The sender's own message as the port's record carries it (the DynamoDB ledger keeps the same parts)."""
    if content is None:
        return None
    return Rendered(subject=content.subject or "", text=content.text, html=content.html)


if TYPE_CHECKING:  # mypy holds the class to the port's every signature (nothing else annotates it as a Ledger)

    def _implements_the_port(ledger: MemoryLedger) -> Ledger:
        return ledger
