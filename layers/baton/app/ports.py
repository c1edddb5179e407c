"""The ports the service depends on, and the records that cross them. Adapters implement the protocols."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from baton.core.addresses import address_hash
from baton.core.domain import AddressStanding, CustomerState, Decision, Outcome, RequestStatus, Verdict
from baton.core.engagement import EngagementProfile
from baton.core.valueclass import valueclass

if TYPE_CHECKING:  # annotations only: a function that validates no requests loads no contract or policy model
    from baton.app.engagements import Engagement
    from baton.contract import ContactRecorded, CustomerUpdated, MessageRequested
    from baton.core.policy import Policy

# What every ledger holds to (tests/contract checks each implementation against them):
# A send lease lasts this long: longer than any function timeout, so a lease still held means a sender is alive.
SEND_LEASE = timedelta(minutes=5)
# A request's history keeps at most this many steps from its decisions: the first HISTORY_LIMIT - 1 and the
# latest, counting the others in ``history_dropped``. A send appends at most one step per delivery attempt after
# them (sent, failed, taken over, retry), and the queue's receive count and the send lease bound those.
HISTORY_LIMIT = 24


def status_after(decision: Decision) -> RequestStatus:
    """The status a decision leaves its request in: ``sending`` for a send (until confirmed), ``pending`` for a
    deferral, else its outcome."""
    if decision.outcome is Outcome.SENT:
        return RequestStatus.SENDING
    if decision.outcome is Outcome.DEFERRED:
        return RequestStatus.PENDING
    return RequestStatus(decision.outcome.value)


@valueclass
class Step:
    """One step in a request's history: ``what`` is ``arrived``, ``deferred`` (``reason``, ``until``),
    ``released`` (its wait ended), ``sending``, ``taken_over`` (a lease that ran out), ``retry`` (a send that failed
    for now), ``sent``, or the outcome it ended with (``suppressed``, ``expired``, ``cancelled``, ``rejected``,
    ``failed``), each with its reason."""

    at: datetime
    what: str
    reason: str = ""
    until: datetime | None = None


@valueclass
class Candidate:
    """A channel a request that lists ``channels`` may go by: the profile's address for it when the request
    arrived, and why a send by it failed for good, if one did."""

    channel: str
    recipient: str | None
    failed: str | None = None


@valueclass
class RequestRecord:
    """One request as the ledger holds it: its state, its audit, and what to send."""

    customer_id: str
    request_id: str
    status: RequestStatus
    reason: str
    channel: str | None = None
    category: str | None = None
    campaign_id: str | None = None
    entity: str | None = None
    priority: int | None = None
    transactional: bool = False
    requested_at: datetime | None = None
    decided_at: datetime | None = None
    sent_at: datetime | None = None
    release_at: datetime | None = None
    lease_until: datetime | None = None
    in_due_index: bool = False  # the sweeper finds it there when its release time or send lease comes
    detail: str = ""
    counts: Mapping[str, list[int]] = field(default_factory=dict)
    policy: str = ""
    template: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    content: Rendered | None = None  # a message the sender rendered (instead of template and data)
    locale: str | None = None  # the customer's profile locale when the request was decided
    rendered_with: str = ""  # what the message was rendered from: "<template set version>/<locale>"
    recipient: str | None = None
    message_id: str | None = None
    attempts: int = 0
    history: tuple[Step, ...] = ()  # every step it went through, oldest first (bounded: see the ledger)
    history_dropped: int = 0  # steps past the bound, not kept
    members: tuple[str, ...] = ()  # a digest carrier: the requests its one message lists (itself first)
    carrier: str | None = None  # a request listed in a digest: the request that carries the one message
    candidates: tuple[Candidate, ...] = ()  # a request that lists channels: each, in order (``channel``: the chosen)
    not_after: datetime | None = None  # kept for a request that lists channels, which may be decided again

    def on_chosen(self) -> RequestRecord:
        """The record with the address of the channel chosen, for a request that lists channels."""
        if not self.candidates:
            return self
        return replace(self, recipient=next((c.recipient for c in self.candidates if c.channel == self.channel), None))


@valueclass
class Arrival:
    """A valid request arriving now: what the ledger stores beside the engine's decision."""

    message: MessageRequested
    recipient: str | None
    event_id: str
    locale: str | None = None  # the customer's profile locale
    candidates: tuple[Candidate, ...] = ()  # a request that lists channels: each with the profile's address

    def recipient_on(self, channel: str) -> str | None:
        """The address a send by ``channel`` goes to."""
        if not self.candidates:
            return self.recipient
        return next((c.recipient for c in self.candidates if c.channel == channel), None)


@valueclass
class Snapshot:
    """One round trip's read: the customer's ledger, the request if already known, the address's standing."""

    ledger: CustomerState
    existing: RequestRecord | None
    addresses: Mapping[str, str]  # channel -> the profile's address
    blocked: frozenset[str] = frozenset()  # address hashes never sent to (hard bounce, complaint)
    soft_blocked: Mapping[str, datetime] = field(default_factory=dict)  # hash -> end of soft-bounce suppression
    voided: frozenset[str] = frozenset()  # failed sends seen in the ledger (the commit clears them)
    hasher: Callable[[str], str] = address_hash
    steps: Mapping[str, int] = field(default_factory=dict)  # waiting request -> steps its history holds

    def standing(self, address: str | None, now: datetime) -> AddressStanding:
        """Where an address stands, by its keyed hash."""
        if not address:
            return AddressStanding.MISSING
        digest = self.hasher(address)
        if digest in self.blocked:
            return AddressStanding.BLOCKED
        until = self.soft_blocked.get(digest)
        if until is not None and until > now:
            return AddressStanding.SOFT_BLOCKED
        return AddressStanding.OK


def failed_on(record: RequestRecord, reason: str) -> tuple[Candidate, ...]:
    """The candidates of ``record`` with the one it was sent by marked failed for ``reason``."""
    return tuple(replace(c, failed=reason) if c.channel == record.channel else c for c in record.candidates)


@valueclass
class FleetHistogram:
    """The fleet's engagement histogram, one item: 168 weights (by hour of the week in each shopper's own zone) as
    of ``as_of``, and the segment of the customers the sweeper reads next (``baton.app.fleet``)."""

    hours: tuple[float, ...] = ()
    as_of: datetime | None = None
    segment: int = 0
    profiles: int = 0  # profiles in the segment read last


class Ledger(Protocol):
    def load(self, customer_id: str, request_id: str | None, recipient: str | None, consistent: bool) -> Snapshot: ...

    def commit(self, snapshot: Snapshot, verdict: Verdict, arrival: Arrival | None, policy: str, now: datetime) -> None:
        """Write the verdict atomically, or raise ConcurrentUpdate if anything moved since ``snapshot``."""

    def records(self, customer_id: str, request_ids: list[str]) -> dict[str, RequestRecord]: ...

    def claim(self, record: RequestRecord, now: datetime) -> RequestRecord | None:
        """Take over delivery of a ``sending`` record whose lease ran out (its holder is gone: the lease outlasts
        any invocation). The record as its new holder has it, or None while another holds the lease."""

    def index_lease(self, record: RequestRecord) -> bool:
        """Put the send lease ``record`` holds into the due index, so that the sweeper takes the send over when the
        lease runs out. An arrival's lease is not there: its queue record, left undeleted until the confirm,
        comes back instead. A delivery that finds the lease held and acknowledges its record calls this first.
        False when the request was settled or its lease taken over since ``record`` was read."""

    def release_lease(self, record: RequestRecord, now: datetime) -> None:
        """Give back the send lease of a record this invocation holds and did not get sent: free for the next
        delivery to take, and due for the sweeper. Nothing when another holder has taken it since."""

    def confirm_sent(self, record: RequestRecord, now: datetime, message_id: str, rendered_with: str = "") -> None:
        """The provider accepted the message; ``rendered_with`` names the template set version and locale."""

    def confirm_failed(
        self, record: RequestRecord, now: datetime, reason: str, status: str = "failed", detail: str | None = None
    ) -> None: ...

    def fall_back(self, record: RequestRecord, now: datetime, reason: str) -> bool:
        """A ``sending`` request that lists channels failed for good on its channel (``reason``): mark that
        candidate failed, void its contact and leave the request ``pending``, due now (in the due index), to be
        decided again on the others (``Arbiter`` puts it back among the customer's waiting requests). False when
        it was settled or taken over since ``record`` was read."""

    def record_rejected(self, customer_id: str, request_id: str, reason: str, detail: str, now: datetime) -> bool: ...

    def update_profile(self, update: CustomerUpdated, now: datetime, actor: str | None = None) -> None: ...

    def record_contact(self, recorded: ContactRecorded, now: datetime, policy: Policy) -> bool:
        """Count a contact made outside Baton among the customer's contacts, from its ``at`` (``with_contact`` in
        ``baton.app.profiles``), under the version check: the version moves, so a decision read before it cannot
        commit after it. A customer not seen before gets a state holding it. False when nothing changed: the
        same ``contact_id`` again, or a contact older than any rule looks back."""

    def record_engagement(self, engagement: Engagement, now: datetime, policy: Policy) -> bool:
        """Store what the customer did, apart from the state a decision reads, kept for the audit retention, and
        add it to the engagement profile the state carries (``profile_after`` in ``baton.app.engagements``), both
        at once or neither; the version does not move. False when it is already stored (the same ``kind`` and
        ``key``): the profile is left as it was."""

    def engagements(self, customer_id: str, kind: str | None = None) -> list[Engagement]:
        """The customer's stored engagements (of ``kind``), in time order."""

    def address_owners(self, address: str) -> list[str]:
        """The customers whose profile holds ``address`` (found by its keyed hash), sorted; none when unknown."""

    def fleet_histogram(self) -> FleetHistogram:
        """The fleet's histogram as last stored (empty when none is)."""

    def put_fleet_histogram(self, fleet: FleetHistogram) -> None: ...

    def engagement_segment(self, segment: int, segments: int) -> list[EngagementProfile]:
        """The engagement profiles of one of ``segments`` disjoint segments of the customers (together: every
        customer with a profile): what the sweeper adds to the fleet's histogram, one segment an hour."""

    def address_status(self, address: str) -> str | None:
        """The suppression an address carries (``hard_bounce``, ``complaint``, ``soft_bounce``), by its keyed hash;
        None when it carries none."""

    def unsubscribe(self, customer_id: str, scope: str, now: datetime, actor: str) -> bool:
        """Apply an unsubscribe ("category:<name>" or "channel:<name>"); False if the customer is unknown."""

    def suppress_address(self, address: str, kind: str, now: datetime, policy: Policy) -> AddressStanding:
        """Record delivery feedback for an address ("hard_bounce", "complaint", "soft_bounce"); return its
        standing afterwards."""

    def erase(self, customer_id: str) -> int:
        """Delete every item held for the customer; keep only keyed hashes of suppressed addresses."""

    def due(self, now: datetime, limit: int, shards: Collection[int] | None = None) -> list[tuple[str, str, datetime]]:
        """(customer, request, due time) of requests whose release time or send lease has come by ``now``, at
        most ``limit`` from each read; only those of customers in the due-index ``shards`` given
        (``baton.names.due_shard_of``), or all."""

    def timeline(self, customer_id: str) -> list[RequestRecord]: ...


@valueclass
class Rendered:
    subject: str
    text: str
    html: str | None = None
    rendered_with: str = ""  # "<template set version>/<locale>"; "" for content the sender rendered


@valueclass
class Envelope:
    """What a channel needs to send one message."""

    request_id: str
    customer_id: str
    channel: str
    category: str
    recipient: str
    transactional: bool
    content: Rendered
    headers: Mapping[str, str] = field(default_factory=dict)


class Channels(Protocol):
    def send(self, envelope: Envelope) -> str:
        """Send; return the provider's message id. Raise TransientFailure or PermanentDeliveryFailure."""


class PolicySource(Protocol):
    def current(self) -> Policy: ...
