"""The arbiter, Baton's service: decide, record, send, confirm. Handlers and the local runtime call it and nothing
below it.

Every step goes through a port (ledger, channels, policy source, clock), so the same code runs in Lambda on
AWS, in ``baton replay`` on a simulated clock, and in tests on moto or DynamoDB Local.

Crash safety. A decision to send is committed as ``sending`` with a lease before the provider is called, then
confirmed ``sent``. Redelivery of the same event finds the request: ``sending`` means a delivery was started and
not confirmed, so it is taken over (one taker wins, by a conditional write) and sent; only a crash between the
provider accepting a message and the confirm can send it twice. Anything else already recorded is reported as
``duplicate`` and nothing is sent again.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import field, replace
from datetime import UTC, datetime
from functools import partial
from itertools import chain
from typing import TYPE_CHECKING, Any, TypeVar

from baton.app.fleet import FleetCache, optimises
from baton.app.holdout import held_out
from baton.app.ports import (
    Arrival,
    Candidate,
    Channels,
    Envelope,
    Ledger,
    PolicySource,
    Rendered,
    RequestRecord,
    Snapshot,
)
from baton.app.render import Renderer
from baton.app.unsubscribe import Links
from baton.contract import MessageRequested, parse_detail
from baton.core.clock import Clock
from baton.core.domain import AddressStanding, ChannelOption, Decision, Outcome, Pending, Request, RequestStatus
from baton.core.engine import DIGEST, arbitrate, priority_of
from baton.core.errors import ConcurrentUpdate, InvalidRequest, PermanentDeliveryFailure, TransientFailure
from baton.core.valueclass import valueclass

if TYPE_CHECKING:
    from baton.core.policy import Policy

MAX_ATTEMPTS = 10
SEND_ATTEMPTS = 5  # each on top of botocore's own standard-mode retries
SAFETY_SECONDS = 5.0  # stop retrying while this much of the invocation is left, so the record goes back cleanly
IDENTIFIER_CHARS = 128
T = TypeVar("T")
FALLBACK = "fallback"  # what a request that failed for good on its channel waits for: a decision on another


@valueclass
class Report:
    """What became of one request in one call: what the handler logs and counts, and replay writes out."""

    request_id: str
    customer_id: str | None
    outcome: Outcome
    reason: str
    at: datetime
    channel: str | None = None
    category: str | None = None
    sent_at: datetime | None = None
    release_at: datetime | None = None
    detail: str = ""
    counts: Mapping[str, Any] = field(default_factory=dict)


Observer = Callable[[Report], None]


def _ignore(_: Report) -> None:
    return None


class Arbiter:
    """Decides each message request against the policy, records the decision, sends and confirms; settles a
    customer's due requests when the sweeper releases them."""

    def __init__(
        self,
        ledger: Ledger,
        channels: Channels,
        policies: PolicySource,
        clock: Clock,
        renderer: Renderer | None = None,
        observer: Observer = _ignore,
        links: Links | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
        holdout_key: bytes | None = None,
    ):
        self.ledger = ledger
        self.holdout_key = holdout_key  # the address salt: assigns the policy's holdout group (baton.app.holdout)
        self.channels = channels
        self.policies = policies
        self.clock = clock
        self.renderer = renderer or Renderer()
        self.observer = observer
        self.links = links
        self._sleep = sleep
        self._random = random.Random(seed)
        self._budget = threading.local()
        self.fleet = FleetCache(ledger)  # read only for a decision with a request of a send_time category

    @contextmanager
    def budget(self, remaining_seconds: Callable[[], float]) -> Iterator[None]:
        """Bound every retry inside the block by the invocation's remaining time (Lambda's context)."""
        self._budget.remaining = remaining_seconds
        try:
            yield
        finally:
            self._budget.remaining = None

    # -- entry points ------------------------------------------------------------------------------
    def request(self, detail: Any, event_id: str) -> list[Report]:
        """A MessageRequested detail: validate, decide, record, deliver."""
        try:
            message: MessageRequested = parse_detail(MessageRequested, detail)
            if message.template is not None:  # its default locale: the customer's is known once the ledger is read
                for channel in message.listed:  # a form for every channel it may go by
                    self.renderer.render(message.template, channel.value, message.data)
        except InvalidRequest as exc:
            return self.emit([self._reject(detail, exc)])
        return self.emit(self._arbitrate(message.customer_id, message=message, event_id=event_id))

    def release(self, customer_id: str, request_id: str | None) -> list[Report]:
        """A due release (sweeper) or lease expiry: settle the customer's due requests, or resume a send."""
        return self.emit(self._arbitrate(customer_id, release_id=request_id))

    # -- the decision loop -------------------------------------------------------------------------
    def _arbitrate(
        self,
        customer_id: str,
        *,
        message: MessageRequested | None = None,
        event_id: str = "",
        release_id: str | None = None,
        fresh: bool = False,
    ) -> list[Report]:
        policy = self.policies.current()
        request_id = message.request_id if message else release_id
        holdout = message is not None and held_out(
            policy, self.holdout_key, message.customer_id, message.category, message.transactional
        )
        for attempt in range(MAX_ATTEMPTS):
            now = self.clock.now()
            snapshot = self.ledger.load(
                customer_id, request_id, message.recipient if message else None, consistent=fresh or attempt > 0
            )
            arrival: Arrival | None = None
            arrivals: list[Request] = []
            existing = snapshot.existing
            if message is not None:
                if existing is not None:
                    return self._again(existing)
                arrival = arrival_of(message, event_id, snapshot)
                arrivals = [domain_request(message, now, arrival.recipient, snapshot, arrival.candidates)]
            elif existing is not None and existing.status is RequestStatus.SENDING:
                return self._again(existing)
            elif existing is not None and existing.status is not RequestStatus.PENDING:
                return []  # settled already: a release that fired twice
            elif existing is not None and existing.candidates:
                snapshot = fallen_back(snapshot, existing, policy, now)
            fleet = self._fleet(policy, snapshot, arrivals, now)
            verdict = arbitrate(policy, snapshot.ledger, arrivals, now, held_out=holdout, fleet=fleet)
            if not verdict.decisions:
                return []
            try:
                self.ledger.commit(snapshot, verdict, arrival, policy.tag, now)
            except ConcurrentUpdate:
                self._backoff(attempt)
                continue
            reports = self._after_commit(snapshot, verdict.decisions, arrival, now)
            if verdict.more_due:
                with self._reported_if_raised(reports):
                    reports += self._arbitrate(customer_id)
            return reports
        raise TransientFailure(f"ledger of {customer_id}: too much contention ({MAX_ATTEMPTS} attempts)")

    def _fleet(self, policy: Policy, snapshot: Snapshot, arrivals: list[Request], now: datetime) -> tuple[float, ...]:
        """The fleet's engagement histogram, when a request this call may settle (arriving or waiting) belongs to
        a category that optimises its send time; else nothing (and no read)."""
        categories = chain((r.category for r in arrivals), (p.request.category for p in snapshot.ledger.pending))
        return self.fleet.hours(now) if optimises(policy, categories) else ()

    def _after_commit(
        self, snapshot: Snapshot, decisions: tuple[Decision, ...], arrival: Arrival | None, now: datetime
    ) -> list[Report]:
        reports = [_report(d, now) for d in decisions if d.outcome is not Outcome.SENT]
        # a digest's members are delivered (and reported) with their carrier's one message
        sends = [d for d in decisions if d.outcome is Outcome.SENT and d.carrier is None]
        if not sends:
            return reports
        arrival_id = arrival.message.request_id if arrival else None
        with self._reported_if_raised(reports):
            stored = self.ledger.records(
                snapshot.ledger.customer_id,
                [d.request.request_id for d in sends if d.request.request_id != arrival_id],
            )
            for decision in sends:
                rid = decision.request.request_id
                if arrival is not None and rid == arrival_id:
                    record = _record_of_arrival(arrival, decision, now)
                    reports += self._deliver(record, snapshot, now, raise_transient=True)
                elif rid in stored:
                    reports += self._deliver(stored[rid], snapshot, now, raise_transient=False)
        return reports

    @contextmanager
    def _reported_if_raised(self, reports: list[Report]) -> Iterator[None]:
        """Emit ``reports`` if the block raises. They are outcomes already committed (a cancellation decided
        with a send, say): the record goes back to the queue for what failed, and its redelivery finds them
        settled and has nothing more to say of them, so they are reported now or never."""
        try:
            yield
        except Exception:
            self.emit(reports)
            raise

    def _again(self, existing: RequestRecord) -> list[Report]:
        """The request is known: resume a send left unconfirmed, or report a duplicate."""
        now = self.clock.now()
        if existing.status is not RequestStatus.SENDING:
            return [_duplicate(existing, now)]
        if existing.carrier is not None:
            return self._again_member(existing, now)
        held = self.ledger.claim(existing, now)
        if held is None:
            return self._leave_to_holder(existing, now)
        return self._deliver(held, None, now, raise_transient=True)

    def _leave_to_holder(self, record: RequestRecord, now: datetime) -> list[Report]:
        """Another invocation holds the send lease (a duplicate delivery racing the first one, or a send in
        progress): it confirms, or the sweeper takes the send over when the lease runs out. An arrival's lease is
        in no index until now: this delivery may be the redelivery of a crashed holder's own record, and nothing
        else would come back for the send once it is acknowledged, so the lease goes into the due index first."""
        holder = self._read_again(record)  # which way did the send go since the load?
        if holder.status is RequestStatus.SENDING and not holder.in_due_index and not self.ledger.index_lease(holder):
            holder = self._read_again(holder)  # settled, or taken over (a takeover indexes its own lease)
        if holder.status is not RequestStatus.SENDING:
            return [_duplicate(holder, now)]
        return [_record_report(holder, Outcome.DEFERRED, "delivery_in_progress", now, release_at=holder.lease_until)]

    def _read_again(self, record: RequestRecord) -> RequestRecord:
        """The request as the ledger holds it now (``record`` itself if it is gone: erased)."""
        return self.ledger.records(record.customer_id, [record.request_id]).get(record.request_id, record)

    def _again_member(self, member: RequestRecord, now: datetime) -> list[Report]:
        """A digest member left ``sending``: it ends as its carrier ends (resuming the carrier if need be)."""
        carrier_id = member.carrier or ""
        carrier = self.ledger.records(member.customer_id, [carrier_id]).get(carrier_id)
        if carrier is not None and carrier.status is RequestStatus.SENDING:
            return self._again(carrier)
        if carrier is not None and carrier.status is RequestStatus.SENT:
            self._settle_write(
                partial(self.ledger.confirm_sent, member, carrier.sent_at or now, carrier.message_id or "")
            )
            return [_record_report(member, Outcome.SENT, member.reason, now, sent_at=carrier.sent_at)]
        reason = f"{DIGEST}_failed:{carrier.reason if carrier else 'missing'}"
        self._settle_write(partial(self.ledger.confirm_failed, member, now, reason))
        return [_record_report(member, Outcome.FAILED, reason, now)]

    # -- delivery ----------------------------------------------------------------------------------
    def _deliver(
        self, record: RequestRecord, snapshot: Snapshot | None, decided: datetime, *, raise_transient: bool
    ) -> list[Report]:
        """Send one message (for a digest carrier: the one message listing its members) and confirm it.

        A digest member whose data its template cannot show (each is only checked against its own template when
        it arrives) fails alone, with what the template lacked, before the send, and the digest goes out with
        the others: a carrier left ``sending`` by a crash is resumed with the members still ``sending``. A
        carrier the template cannot show fails the digest whole, as a template that cannot render at all does:
        its members end as it ends (``_again_member``), and it carries the digest's one contact in the caps."""
        record = record.on_chosen()
        everyone = [record, *self._members(record)]
        if snapshot is not None and _refused(record, snapshot.standing(record.recipient, decided)):
            if self._falls_back(record, "suppressed_address"):
                return self._arbitrate(record.customer_id, release_id=record.request_id, fresh=True)
            return self._suppressed_address(everyone, decided)
        unfit: list[Report] = []  # digest members failed before the send
        listed = everyone  # the requests the message lists
        with self._reported_if_raised(unfit):  # settled before the send: reported now or never
            try:
                if not record.recipient or not record.channel or not (record.template or record.content):
                    raise PermanentDeliveryFailure("no_address")
                locale = snapshot.ledger.profile.locale if snapshot is not None else record.locale
                listed, content = self._content(record, everyone, unfit, locale)
                message_id = self._send(self._envelope(record, content, decided))
            except InvalidRequest as exc:
                return unfit + self._render_failed(listed, exc)
            except PermanentDeliveryFailure as exc:
                if self._falls_back(record, exc.reason):
                    return unfit + self._arbitrate(record.customer_id, release_id=record.request_id, fresh=True)
                return unfit + self._failed_for_good(listed, exc)
            except TransientFailure:
                if raise_transient:  # back to the queue
                    self._give_lease_back(record)
                    raise
                # the send lease is in the due index: the sweeper takes this over when it runs out
                return unfit + [_record_report(each, Outcome.DEFERRED, "delivery_retry", decided) for each in listed]
            return unfit + self._confirmed(listed, decided, message_id, content.rendered_with)

    def _falls_back(self, record: RequestRecord, reason: str) -> bool:
        """Whether a request that lists channels, refused for good on its channel for ``reason``, is left to be
        decided again on another (recorded so: ``fall_back``). Not a digest's one message, and not when no
        other listed channel is left untried."""
        if record.members or record.carrier is not None:
            return False
        if not any(c.failed is None and c.channel != record.channel for c in record.candidates):
            return False
        fall_back = partial(self.ledger.fall_back, record, self.clock.now(), reason)
        return self._retrying(fall_back, MAX_ATTEMPTS, self._backoff)

    def _suppressed_address(self, everyone: list[RequestRecord], decided: datetime) -> list[Report]:
        """The address hard-bounced or complained (or soft-bounced, for marketing) since the decision."""
        for each in everyone:
            self._settle_write(partial(self.ledger.confirm_failed, each, decided, "suppressed_address", "suppressed"))
        return [_record_report(each, Outcome.SUPPRESSED, "suppressed_address", decided) for each in everyone]

    def _content(
        self, record: RequestRecord, everyone: list[RequestRecord], unfit: list[Report], locale: str | None
    ) -> tuple[list[RequestRecord], Rendered]:
        """What the message lists and says, in the customer's ``locale``. A digest lists the members its
        template can show; the others are failed here (their reports added to ``unfit``)."""
        channel = record.channel or ""
        digest = self.policies.current().category(record.category or "").digest if record.members else None
        if digest is None:
            if record.content is not None:
                return everyone, record.content
            return everyone, self.renderer.render(record.template or "", channel, record.data, locale)
        listed, misfits = self._digest_fit(digest.template, channel, everyone)
        for each, exc in misfits:
            unfit += self._render_failed([each], exc)
        return listed, self.renderer.render(digest.template, channel, _digest_data(listed), locale)

    def _envelope(self, record: RequestRecord, content: Rendered, decided: datetime) -> Envelope:
        return Envelope(
            request_id=record.request_id,
            customer_id=record.customer_id,
            channel=record.channel or "",
            category=record.category or "",
            recipient=record.recipient or "",
            transactional=record.transactional,
            content=content,
            headers=self._headers(record, decided),
        )

    def _failed_for_good(self, listed: list[RequestRecord], exc: PermanentDeliveryFailure) -> list[Report]:
        """The provider refused the message for good: each request it lists ends failed."""
        now = self.clock.now()
        for each in listed:
            self._settle_write(partial(self.ledger.confirm_failed, each, now, exc.reason))
        return [_record_report(each, Outcome.FAILED, exc.reason, now, detail=str(exc)) for each in listed]

    def _give_lease_back(self, record: RequestRecord) -> None:
        """Before a send that failed for now goes back to the queue: free its lease, so that the redelivery sends
        at once instead of waiting for the lease to run out (best effort: a failed give-back leaves it to run
        out)."""
        with suppress(TransientFailure):
            self.ledger.release_lease(record, self.clock.now())

    def _confirmed(
        self, listed: list[RequestRecord], decided: datetime, message_id: str, rendered_with: str
    ) -> list[Report]:
        """The provider accepted the message: confirm each request it lists, the carrier first (once it is sent,
        a member left sending follows it), with the template set version and locale it was rendered from."""
        sent_at = self.clock.now()
        for each in listed:
            self._settle_write(partial(self.ledger.confirm_sent, each, sent_at, message_id, rendered_with))
        return [_record_report(each, Outcome.SENT, each.reason, decided, sent_at=sent_at) for each in listed]

    def _digest_fit(
        self, template: str, channel: str, everyone: list[RequestRecord]
    ) -> tuple[list[RequestRecord], list[tuple[RequestRecord, InvalidRequest]]]:
        """The members a digest template can show, and those it cannot, each with why, the carrier first. A
        template that cannot be rendered at all, a carrier it cannot show, and members that fit one by one but
        not together raise InvalidRequest for all."""
        try:
            self.renderer.render(template, channel, _digest_data(everyone))
            return everyone, []
        except InvalidRequest as exc:
            if exc.field != "data":
                raise
            first = exc
        fit: list[RequestRecord] = []
        misfits: list[tuple[RequestRecord, InvalidRequest]] = []
        for each in everyone:
            try:
                self.renderer.render(template, channel, _digest_data([each]))
                fit.append(each)
            except InvalidRequest as alone:
                misfits.append((each, alone))
        if not misfits or misfits[0][0] is everyone[0]:
            raise first
        return fit, misfits

    def _render_failed(self, records: list[RequestRecord], exc: InvalidRequest) -> list[Report]:
        """End ``records`` failed with ``render:<field>``, keeping what the template lacked for explain."""
        now, reason = self.clock.now(), f"render:{exc.field}"
        for each in records:
            self._settle_write(partial(self.ledger.confirm_failed, each, now, reason, detail=exc.message))
        return [_record_report(each, Outcome.FAILED, reason, now, detail=str(exc)) for each in records]

    def _members(self, record: RequestRecord) -> list[RequestRecord]:
        others = [rid for rid in record.members if rid != record.request_id]
        if not others:
            return []
        found = self.ledger.records(record.customer_id, others)
        return [found[rid] for rid in others if rid in found and found[rid].status is RequestStatus.SENDING]

    def _headers(self, record: RequestRecord, now: datetime) -> dict[str, str]:
        """One-click unsubscribe headers for every marketing email (RFC 8058)."""
        if record.channel != "email" or record.transactional or self.links is None:
            return {}
        channel_wide = self.policies.current().unsubscribe_scope == "channel"
        scope = "channel:email" if channel_wide else f"category:{record.category}"
        return self.links.headers(record.customer_id, scope, now)

    # -- helpers -----------------------------------------------------------------------------------
    def _reject(self, detail: Any, exc: InvalidRequest) -> Report:
        now = self.clock.now()
        customer_id, request_id = _identifiers(detail)
        if customer_id and request_id:
            stored = self.ledger.record_rejected(customer_id, request_id, exc.reason, exc.message, now)
            if not stored:
                return Report(request_id, customer_id, Outcome.DUPLICATE, "rejected", now)
        return Report(request_id or "", customer_id, Outcome.REJECTED, exc.reason, now, detail=exc.message)

    def _settle_write(self, write: Callable[[], None]) -> None:
        """A ledger write that ends a send, retried with backoff within the time budget: given up, the record
        would go back to the queue and the message, already with the provider, would be sent again."""
        self._retrying(write, MAX_ATTEMPTS, self._backoff)

    def _retrying(self, call: Callable[[], T], attempts: int, backoff: Callable[[int], None]) -> T:
        """``call``, tried up to ``attempts`` times while it fails for now, with ``backoff(attempt)`` between."""
        for attempt in range(attempts - 1):
            try:
                return call()
            except TransientFailure:
                backoff(attempt)
        return call()

    def _backoff(self, attempt: int) -> None:
        """Full jitter: a random pause up to 10 ms x 2^attempt (at most 0.64 s), never past the time budget."""
        pause = self._random.uniform(0, 0.01 * (2 ** min(attempt, 6)))
        self._pause(pause)

    def _pause(self, seconds: float) -> None:
        remaining = getattr(self._budget, "remaining", None)
        if remaining is not None and remaining() - seconds < SAFETY_SECONDS:
            raise TransientFailure("out of time for retries: the record goes back to the queue")
        self._sleep(seconds)

    def _send(self, envelope: Envelope) -> str:
        """The provider call, retried on throttling and 5xx with exponential backoff and full jitter
        (50 ms x 2^attempt, at most 2 s), bounded by the invocation's remaining time."""
        return self._retrying(
            partial(self.channels.send, envelope),
            SEND_ATTEMPTS,
            lambda attempt: self._pause(self._random.uniform(0, min(2.0, 0.05 * 2**attempt))),
        )

    def emit(self, reports: list[Report]) -> list[Report]:
        for report in reports:
            self.observer(report)
        return reports

    def refuse(self, problem: InvalidRequest) -> list[Report]:
        """A record that carries no request (not an EventBridge event, or a detail type this queue does not
        take): reported as rejected, and nothing recorded, since there is no request to record it on."""
        return self.emit([Report("", None, Outcome.REJECTED, problem.reason, self.clock.now(), detail=problem.message)])


def _identifiers(detail: Any) -> tuple[str | None, str | None]:
    if not isinstance(detail, dict):
        return None, None

    def ok(value: Any) -> str | None:
        if (
            isinstance(value, str)
            and 0 < len(value) <= IDENTIFIER_CHARS
            and "#" not in value
            and value.strip() == value
            and " " not in value
        ):
            return value
        return None

    return ok(detail.get("customer_id")), ok(detail.get("request_id"))


def arrival_of(message: MessageRequested, event_id: str, snapshot: Snapshot) -> Arrival:
    """What the ledger stores of an arriving request beside its decision: the address (the request's own, or the
    profile's), or for a request that lists channels the profile's address for each."""
    locale = snapshot.ledger.profile.locale
    if message.channels is None:
        recipient = message.recipient or snapshot.addresses.get(message.listed[0].value)
        return Arrival(message, recipient, event_id, locale)
    candidates = tuple(Candidate(c.value, snapshot.addresses.get(c.value)) for c in message.channels)
    return Arrival(message, None, event_id, locale, candidates)


def domain_request(
    message: MessageRequested,
    now: datetime,
    recipient: str | None,
    snapshot: Snapshot,
    candidates: tuple[Candidate, ...] = (),
) -> Request:
    standing = snapshot.standing(recipient, now)
    return Request(
        request_id=message.request_id,
        customer_id=message.customer_id,
        channel=message.listed[0].value,
        category=message.category,
        requested_at=now,
        campaign_id=message.campaign_id,
        entity=message.entity,
        priority=message.priority,
        transactional=message.transactional,
        not_after=message.not_after,
        address_standing=standing,
        options=_options(candidates, snapshot, now),
    )


def _options(candidates: tuple[Candidate, ...], snapshot: Snapshot, now: datetime) -> tuple[ChannelOption, ...]:
    return tuple(ChannelOption(c.channel, snapshot.standing(c.recipient, now), c.failed) for c in candidates)


def fallen_back(snapshot: Snapshot, record: RequestRecord, policy: Policy, now: datetime) -> Snapshot:
    """The snapshot with a request that fell back (``Ledger.fall_back``: ``pending``, yet not among the customer's
    waiting requests) waiting again, due now, to be decided on the channels it has not failed on."""
    if any(p.request.request_id == record.request_id for p in snapshot.ledger.pending):
        return snapshot
    request = Request(
        request_id=record.request_id,
        customer_id=record.customer_id,
        channel=record.channel or record.candidates[0].channel,
        category=record.category or "",
        requested_at=record.requested_at or now,
        campaign_id=record.campaign_id,
        entity=record.entity,
        priority=record.priority,
        transactional=record.transactional,
        not_after=record.not_after,
        options=_options(record.candidates, snapshot, now),
    )
    waiting = Pending(request, priority_of(policy, request), now, FALLBACK)
    ledger = replace(snapshot.ledger, pending=(*snapshot.ledger.pending, waiting))
    return replace(snapshot, ledger=ledger, steps={**snapshot.steps, record.request_id: len(record.history)})


def _record_of_arrival(arrival: Arrival, decision: Decision, now: datetime) -> RequestRecord:
    message = arrival.message
    return RequestRecord(
        customer_id=message.customer_id,
        request_id=message.request_id,
        status=RequestStatus.SENDING,
        reason=decision.reason,
        channel=decision.request.channel,
        category=message.category,
        campaign_id=message.campaign_id,
        entity=message.entity,
        priority=decision.priority,
        transactional=message.transactional,
        requested_at=decision.request.requested_at,
        decided_at=now,
        counts={k: [v.count, v.limit] for k, v in decision.counts.items()},
        template=message.template,
        data=message.data,
        content=_content_of(message),
        locale=arrival.locale,
        recipient=arrival.recipient_on(decision.request.channel),
        members=decision.digest_of,
        candidates=arrival.candidates,
        not_after=message.not_after,
    )


def _content_of(message: MessageRequested) -> Rendered | None:
    content = message.content
    if content is None:
        return None
    return Rendered(subject=content.subject or "", text=content.text, html=content.html)


def _digest_data(records: list[RequestRecord]) -> dict[str, Any]:
    """What a digest template gets: one item per entity (the latest request's data wins), oldest first. A request
    that came with ``content`` is listed by its ``subject`` and ``text``."""
    items: dict[str, dict[str, Any]] = {}
    for record in sorted(records, key=lambda r: (r.requested_at or datetime.min.replace(tzinfo=UTC), r.request_id)):
        items.pop(record.entity or record.request_id, None)
        shown = {"subject": record.content.subject, "text": record.content.text} if record.content else record.data
        items[record.entity or record.request_id] = dict(shown)
    return {"items": list(items.values()), "count": len(items)}


def _refused(record: RequestRecord, standing: AddressStanding) -> bool:
    """Whether the address may not be sent to: never when blocked, and not for marketing when soft-blocked."""
    soft = standing is AddressStanding.SOFT_BLOCKED and not record.transactional
    return standing is AddressStanding.BLOCKED or soft


def _duplicate(existing: RequestRecord, now: datetime) -> Report:
    """A request_id seen again after its request was settled: nothing is done again."""
    return Report(
        request_id=existing.request_id,
        customer_id=existing.customer_id,
        outcome=Outcome.DUPLICATE,
        reason=f"{existing.status}:{existing.reason}" if existing.reason else existing.status,
        at=now,
        channel=existing.channel,
        category=existing.category,
        sent_at=existing.sent_at,
    )


def _record_report(record: RequestRecord, outcome: Outcome, reason: str, at: datetime, **extra: Any) -> Report:
    return Report(
        request_id=record.request_id,
        customer_id=record.customer_id,
        outcome=outcome,
        reason=reason,
        at=at,
        channel=record.channel,
        category=record.category,
        counts=record.counts,
        **extra,
    )


def _report(decision: Decision, now: datetime) -> Report:
    request = decision.request
    return Report(
        request_id=request.request_id,
        customer_id=request.customer_id,
        outcome=decision.outcome,
        reason=decision.reason,
        at=now,
        channel=request.channel or None,  # "": a request that lists channels and may use none
        category=request.category,
        release_at=decision.release_at,
        detail=decision.detail,
        counts={k: [v.count, v.limit] for k, v in decision.counts.items()},
    )
