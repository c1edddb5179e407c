"""The policy engine: pure. A policy, one customer's ledger, the arriving requests and the time in;
a decision for every request it settles and the customer's new ledger out.

No AWS, no environment, no logging, no clock of its own: what property tests and benchmarks exercise.

How a call goes:
1. Each arriving request passes the hard stops (blocked address, consent, opt-out, freshness, exclusions in
   force, repeats). Its own exclusion rules cancel the pending requests they name.
2. It then waits in the customer's pending set if its category has an arbitration window, or joins the pool
   at once.
3. The pool (arrivals plus every pending request now due) is ranked by priority, highest first, ties by
   arrival time, together with every request still waiting inside its arbitration window. Each due one in turn
   is sent if it fits quiet hours and every cap; otherwise deferred (to the end of quiet hours, or to when the
   blocking caps free up) or suppressed, by its category's policy. Each waiting one that fits every cap claims
   its room and keeps waiting for the end of its window: a lower-ranked due request cannot take that room. A
   request that would have fitted but for one ranked above it (sent now, or waiting with its room claimed) is
   ``outranked:<that request>``.

A request that lists ``channels`` (``Request.options``) arrives on the first listed channel it may use at all
(reachable, consented, not opted out) and is ranked and waits on it; when it is settled, it goes by the first
listed channel it may use now (outside quiet hours, with room in every cap it touches), or, if none has room,
is deferred or suppressed on the first it may use at all. Its reason then names the channel chosen and why each
one listed before it was passed over: ``channel:email (sms: no_consent, push: no_address)``.

Send-time optimisation (a category's ``send_time``): a marketing request that would be sent now, having just
arrived or ended its arbitration window or quiet hours, is instead deferred, reason ``send_time``, to the instant
in the next ``within`` at which the shopper's engagement histogram is highest: ``now`` or a whole local hour after
it, before any of its deadlines, outside quiet hours, with room in every cap it touches counting the requests
already scheduled (sent, or waiting for their own best hour). Ties go to the earliest, so it is sent at once when
the current hour is the best. When due it is decided again as any waiting request is, and not optimised again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from baton.core.domain import (
    AddressStanding,
    CapCount,
    ChannelOption,
    Contact,
    CustomerState,
    Decision,
    Mark,
    Outcome,
    Pending,
    Profile,
    QuietWindow,
    Request,
    Verdict,
)
from baton.core.engagement import HOURS_OF_WEEK, hour_of_week
from baton.core.policy import Cap, CapMatch, CategoryPolicy, Policy, SendTime

ARBITRATION_WINDOW = "arbitration_window"
QUIET_HOURS = "quiet_hours"
SEND_TIME = "send_time"  # waiting for the shopper's best hour
# What a waiting request may be waiting for and still claim its room: a window, quiet hours or its best hour,
# whose end is known.
CLAIMING = frozenset({ARBITRATION_WINDOW, QUIET_HOURS, SEND_TIME})
# What a request may have waited for and still be optimised when it would be sent: never its best hour again.
OPTIMISED_AFTER = frozenset({"arrived", ARBITRATION_WINDOW, QUIET_HOURS})
_WAITS = {QUIET_HOURS: "for quiet hours to end", SEND_TIME: "for the shopper's best hour"}
DIGEST = "digest"
HOLDOUT = "holdout"  # the reason of a marketing request of a customer in the policy's holdout group
# One call settles at most this many requests, so that its writes fit one DynamoDB transaction (100 items,
# one of them the customer's ledger). The rest stay due and are settled, in rank order, by the next call.
MAX_SETTLE = 90
# A customer's waiting requests live in one item (400 KB): past this many, new ones are suppressed.
MAX_PENDING = 500


def arbitrate(
    policy: Policy,
    ledger: CustomerState,
    arrivals: Sequence[Request],
    now: datetime,
    max_settle: int = MAX_SETTLE,
    *,
    held_out: bool = False,
    fleet: Sequence[float] = (),
) -> Verdict:
    """Decide ``arrivals`` and the pending requests due at ``now`` (highest rank first, at most
    ``max_settle`` of them) for one customer. ``held_out``: the customer is in the policy's holdout group (the
    caller computes it, ``baton.app.holdout``): each arriving marketing request that passes the hard stops is
    suppressed, reason ``holdout``. ``fleet``: the fleet's engagement histogram (168 weights, by hour of the week
    in each shopper's own zone), for send-time optimisation of a shopper with too little history of their own."""
    run = _Run(policy, ledger, now, held_out, fleet)
    for request in arrivals:
        run.arrive(request)
    run.settle_due(max_settle)
    return run.verdict()


def capacity_frees(policy: Policy, ledger: CustomerState, request: Request, now: datetime) -> datetime | None:
    """When every cap that blocks ``request`` at ``now`` has room for it again, if nothing else is sent:
    ``now`` when none blocks, None when a cap never has room for its priority."""
    run = _Run(policy, ledger, now)
    priority = priority_of(policy, request)
    _, blocking = run._caps(request, priority, run.contacts)
    return run._capacity_frees(request, priority, blocking) if blocking else now


def horizon(policy: Policy, profile: Profile, now: datetime) -> datetime:
    """How far back any rule looks at ``now`` (the policy's and the customer's own limits): a contact or a mark
    at or before it counts for nothing and is forgotten."""
    return now - max([policy.longest_window, *(limit.window for limit in profile.limits)])


def priority_of(policy: Policy, request: Request) -> int:
    return request.priority if request.priority is not None else policy.category(request.category).priority


def quiet_until(now: datetime, zone: ZoneInfo, window: QuietWindow) -> datetime | None:
    """The end of the quiet period ``now`` falls in (UTC), or None when ``now`` is not quiet."""
    local = now.astimezone(zone)
    start, end = _clock(window.start), _clock(window.end)
    wall = local.time().replace(tzinfo=None)
    end_day: date = local.date()
    if start < end:
        inside = start <= wall < end
    else:  # spans midnight
        inside = wall >= start or wall < end
        if wall >= start:
            end_day = end_day + timedelta(days=1)
    if not inside:
        return None
    # A wall time that does not exist on a spring-forward day maps past the gap. One that occurs twice on a
    # fall-back day is its first occurrence, unless that is already past (``now`` is in the repeated hour):
    # then its second.
    ending = datetime.combine(end_day, end, tzinfo=zone)
    for candidate in (ending, ending.replace(fold=1)):
        if candidate.astimezone(UTC) > now:
            return candidate.astimezone(UTC)
    return None


def zone_for(policy: Policy, timezone: str | None) -> ZoneInfo:
    for name in (timezone, policy.timezone):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


@lru_cache(maxsize=256)
def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _dimension(subject: Request | Contact, name: str) -> str | None:
    value: str | None = getattr(subject, name)
    return value


class _Run:
    def __init__(
        self, policy: Policy, ledger: CustomerState, now: datetime, held_out: bool = False, fleet: Sequence[float] = ()
    ):
        self.policy = policy
        self.fleet = tuple(fleet) if len(fleet) == HOURS_OF_WEEK else ()
        self.held_out = held_out
        self.ledger = ledger
        self.now = now
        since = horizon(policy, ledger.profile, now)
        self.contacts: list[Contact] = [c for c in ledger.contacts if c.at > since]
        self.marks: list[Mark] = [m for m in ledger.marks if m.at > since]
        self.pending: list[Pending] = list(ledger.pending)
        self.arrived: list[Pending] = []
        self.decisions: list[Decision] = []
        self.zone = zone_for(policy, ledger.profile.timezone)
        self.caps: tuple[Cap, ...] = policy.caps + tuple(
            Cap(name=limit.name, limit=limit.limit, window=limit.window, match=CapMatch(channel=limit.channel))
            for limit in ledger.profile.limits
        )
        self.more_due = False
        self.digests: dict[str, list[Pending]] = {}  # digest carrier -> the requests its message lists
        # room claimed in this call by requests waiting in their arbitration window (by rank): what caps count
        # besides the contacts, and who claimed it
        self.claimed: list[Contact] = []
        self.held: dict[str, Pending] = {}
        self.notes: dict[str, str] = {}  # request -> how its channel was chosen, for its decision's detail

    def _counted(self) -> list[Contact]:
        """What caps count now: the contacts in the window, and the room claimed by waiting requests."""
        return self.contacts + self.claimed if self.claimed else self.contacts

    # -- results -----------------------------------------------------------------------------------
    def verdict(self) -> Verdict:
        ledger = replace(
            self.ledger,
            contacts=tuple(self.contacts),
            pending=tuple(sorted(self.pending, key=lambda p: (p.due_at, p.request.request_id))),
            marks=tuple(self.marks),
        )
        return Verdict(decisions=tuple(self.decisions), ledger=ledger, more_due=self.more_due)

    def _decide(
        self,
        request: Request,
        outcome: Outcome,
        reason: str,
        *,
        counts: dict[str, CapCount] | None = None,
        release_at: datetime | None = None,
        detail: str = "",
        digest_of: tuple[str, ...] = (),
        carrier: str | None = None,
    ) -> None:
        if self.notes and request.request_id in self.notes:
            note = self.notes.pop(request.request_id)
            detail = f"{note}; {detail}" if detail else note
        self.decisions.append(
            Decision(
                request=request,
                outcome=outcome,
                reason=reason,
                priority=priority_of(self.policy, request),
                counts=counts or {},
                release_at=release_at,
                detail=detail,
                digest_of=digest_of,
                carrier=carrier,
            )
        )

    # -- arrival -----------------------------------------------------------------------------------
    def arrive(self, request: Request) -> None:
        if request.options:
            request = self._on_first_open(request)
        category = self.policy.category(request.category)
        priority = priority_of(self.policy, request)
        stop = self._hard_stop(request, category)
        if stop and stop[1] == "repeat" and category.digest is not None and category.repeat_window is not None:
            waiting = Pending(request, priority, self.now, "arrived")
            self._gather(waiting, category, self.now + category.repeat_window, "repeat", {}, stop[2])
        elif stop:
            outcome, reason, detail = stop
            self._decide(request, outcome, reason, detail=detail)
        elif not request.transactional and category.arbitration_window > timedelta(0):
            due = self.now + category.arbitration_window
            self.pending.append(Pending(request, priority, due, ARBITRATION_WINDOW))
            self._decide(
                request,
                Outcome.DEFERRED,
                ARBITRATION_WINDOW,
                release_at=due,
                detail=f"held {_span(category.arbitration_window)} so the most valuable message wins",
            )
        else:
            self.arrived.append(Pending(request, priority, self.now, "arrived"))
        if category.excludes:
            self._exclude(request, category)

    def _hard_stop(self, request: Request, category: CategoryPolicy) -> tuple[Outcome, str, str] | None:
        if request.options and not request.channel:
            return Outcome.SUPPRESSED, _chose("", self._passed_over(request)), "no listed channel may be used"
        if request.address_standing is AddressStanding.BLOCKED:
            return Outcome.SUPPRESSED, "suppressed_address", "the address hard-bounced or complained"
        if request.address_standing is AddressStanding.SOFT_BLOCKED and not request.transactional:
            return Outcome.SUPPRESSED, "suppressed_address", "the address soft-bounced repeatedly"
        if request.address_standing is AddressStanding.MISSING:
            return Outcome.SUPPRESSED, "no_address", f"no {request.channel} address in the request or the profile"
        stale = self._stale(request, category)
        if stale:
            return Outcome.EXPIRED, stale, "stale on arrival"
        if request.transactional:
            return None
        refused = self._refused(request)
        if refused:
            return Outcome.SUPPRESSED, *refused
        mark = self._excluding_mark(request)
        if mark:
            return Outcome.SUPPRESSED, f"excluded:{mark.request_id}", f"excluded by {mark.category} {mark.entity or ''}"
        repeat = self._repeat_of(request, category)
        if repeat:
            return Outcome.SUPPRESSED, "repeat", f"repeats {repeat} ({request.category} {request.entity})"
        if len(self.pending) >= MAX_PENDING and category.arbitration_window > timedelta(0):
            return Outcome.SUPPRESSED, "pending_full", f"{MAX_PENDING} requests already waiting"
        if self.held_out and self.policy.holds_out(request.category, request.transactional):
            share = self.policy.holdout.percent if self.policy.holdout else 0
            return Outcome.SUPPRESSED, HOLDOUT, f"the customer is in the {share:g}% holdout group"
        return None

    def _refused(self, request: Request) -> tuple[str, str] | None:
        """No consent for the channel, or an opt-out of the category, in the profile as it is now: checked on
        arrival and again whenever a waiting marketing request is decided, so a withdrawal takes effect at once."""
        if request.transactional:
            return None
        profile = self.ledger.profile
        if not profile.consent.get(request.channel, False):
            return "no_consent", f"no marketing consent for {request.channel}"
        if request.category in profile.opted_out_categories:
            return f"opted_out:{request.category}", "the customer opted out of this category"
        return None

    def _stale(self, request: Request, category: CategoryPolicy, at: datetime | None = None) -> str | None:
        at = at or self.now
        if request.not_after is not None and at > request.not_after:
            return "not_after"
        if category.max_age is not None and at - request.requested_at > category.max_age:
            return "max_age"
        return None

    def _excluding_mark(self, request: Request) -> Mark | None:
        for mark in self.marks:
            for rule in self.policy.category(mark.category).excludes:
                if (
                    request.category in rule.categories
                    and self.now - mark.at <= rule.window
                    and (not rule.same_entity or mark.entity == request.entity)
                ):
                    return mark
        return None

    def _repeat_of(self, request: Request, category: CategoryPolicy) -> str | None:
        if category.repeat_window is None or request.entity is None:
            return None
        since = self.now - category.repeat_window
        for contact in self.contacts:
            if contact.at > since and contact.category == request.category and contact.entity == request.entity:
                return contact.request_id
        for waiting in self.pending + self.arrived:
            other = waiting.request
            if other.category == request.category and other.entity == request.entity:
                return other.request_id
        return None

    def _exclude(self, request: Request, category: CategoryPolicy) -> None:
        self.marks.append(Mark(request.request_id, request.category, request.entity, self.now))
        for queue in (self.pending, self.arrived):
            keep = []
            for waiting in queue:
                other = waiting.request
                hit = other.request_id != request.request_id and any(
                    other.category in rule.categories and (not rule.same_entity or other.entity == request.entity)
                    for rule in category.excludes
                )
                if hit:
                    self._decide(
                        other,
                        Outcome.CANCELLED,
                        f"excluded:{request.request_id}",
                        detail=f"cancelled by {request.category} {request.entity or ''}".rstrip(),
                    )
                else:
                    keep.append(waiting)
            queue[:] = keep

    # -- the pool ----------------------------------------------------------------------------------
    def settle_due(self, max_settle: int) -> None:
        due = [p for p in self.pending if p.due_at <= self.now] + self.arrived
        self.pending = [p for p in self.pending if p.due_at > self.now]
        self.arrived = []
        due = self._digest_carriers(due)
        due.sort(key=_rank)
        room = max(1, max_settle - len(self.decisions))
        if len(due) > room:
            for waiting in due[room:]:  # still due: the next call takes them, in the same order
                self.pending.append(waiting)
                if waiting.reason == "arrived":
                    self._decide(waiting.request, Outcome.DEFERRED, "queued", release_at=self.now)
            due = due[:room]
            self.more_due = True
        if not due:
            return
        # A claim holds room against the due requests ranked below it: those ranked below the last due one hold
        # it against nothing (claims are counted in this call only), so they are not made.
        candidates = sorted(due + self._claimants(), key=_rank)
        while candidates and candidates[-1].due_at > self.now:
            candidates.pop()
        sent_here: list[Contact] = []
        for candidate in candidates:
            if candidate.due_at > self.now:
                self._claim(candidate)
            else:
                self._settle(candidate, sent_here)

    def _claimants(self) -> list[Pending]:
        """The requests still waiting inside their arbitration window: they compete for room with the due ones.
        One that will be stale when its window ends (past its ``not_after`` or ``max_age``) claims nothing: it
        expires then."""
        return [
            p
            for p in self.pending
            if p.reason in CLAIMING
            and p.due_at > self.now
            and not self._stale(p.request, self.policy.category(p.request.category), p.due_at)
            and not self._refused(p.request)
        ]

    def _claim(self, waiting: Pending) -> None:
        """Hold the room of a waiting request against every request ranked below it in this call, if it will fit
        every cap when it can first be sent (the end of its window, or of the quiet hours it ends in), counting
        what is sent or claimed above it; its room counts as taken from then on."""
        request = waiting.request
        at = self._quiet_end(request.channel, waiting.due_at) or waiting.due_at
        _, blocking = self._caps(request, waiting.priority, self._counted(), at)
        if not blocking:
            self.held[request.request_id] = waiting
            self.claimed.append(_contact(request, waiting.priority, at))

    def _settle(self, waiting: Pending, sent_here: list[Contact]) -> None:
        if waiting.reason == DIGEST:
            self._settle_digest(waiting, sent_here)
            return
        request, priority = waiting.request, waiting.priority
        category = self.policy.category(request.category)
        stale = self._stale(request, category)
        if stale:
            self._decide(request, Outcome.EXPIRED, stale, detail=f"was waiting: {waiting.reason}")
            return
        if request.options:
            later = self._choose(waiting, sent_here)
            if later is None:
                return
            waiting, request = later, later.request
        if request.transactional:
            self._send(request, priority, {}, sent_here)
            return
        refused = self._refused(request)
        if refused:
            reason, why = refused
            self._decide(request, Outcome.SUPPRESSED, reason, detail=f"{why} (was waiting: {waiting.reason})")
            return
        quiet_end = self._quiet_end(request.channel)
        if quiet_end is not None:
            local = quiet_end.astimezone(self.zone).strftime("%H:%M %Z")
            deferred = self._defer(waiting, category, quiet_end, QUIET_HOURS, {}, f"quiet hours until {local}")
            if deferred is not None and deferred.due_at == quiet_end:  # sent then, unless a deadline comes first
                self._claim(deferred)  # its room held against those ranked below it, in this call as in later ones
            return
        counts, blocking = self._caps(request, priority, self._counted())
        if not blocking:
            self._dispatch(waiting, counts, sent_here)
            return
        reason, detail = self._why_held(request, priority, blocking[0], counts, sent_here)
        self._hold(waiting, category, blocking, reason, counts, detail)

    def _why_held(
        self, request: Request, priority: int, cap: Cap, counts: dict[str, CapCount], sent_here: list[Contact]
    ) -> tuple[str, str]:
        """The reason (``cap:<cap>``, or ``outranked:<request>`` when one ranked above took the room) and a
        sentence for operators that names the cap's count and who has the room."""
        outranker = self._outranker(request, priority, cap, sent_here)
        count = counts[cap.name]
        detail = f"{cap.name} at {count.count}/{count.limit} in {_span(cap.window)}"
        if outranker is None:
            return f"cap:{cap.name}", detail
        if outranker.request_id in self.held:
            due = outranker.at.astimezone(self.zone).strftime("%Y-%m-%d %H:%M %Z")
            waits = _WAITS.get(self.held[outranker.request_id].reason, "in its arbitration window")
            detail += (
                f"; the slot is held for {outranker.category} {outranker.request_id} (priority"
                f" {outranker.priority}), waiting {waits} until {due}"
            )
        else:
            detail += f"; the slot went to {outranker.category} (priority {outranker.priority})"
        return f"outranked:{outranker.request_id}", detail

    def _hold(
        self,
        waiting: Pending,
        category: CategoryPolicy,
        blocking: list[Cap],
        reason: str,
        counts: dict[str, CapCount],
        detail: str,
    ) -> None:
        """A request the caps leave no room for: gathered for its digest, deferred until the caps free up, or
        suppressed, as its category says."""
        request, priority = waiting.request, waiting.priority
        if category.digest is not None:
            frees = self._capacity_frees(request, priority, blocking)
            if frees is not None:
                self._gather(waiting, category, frees, reason, counts, detail)
                return
        if category.over_cap == "defer":
            frees = self._capacity_frees(request, priority, blocking)
            if frees is None:
                self._decide(request, Outcome.SUPPRESSED, reason, counts=counts, detail=detail + "; never frees")
            else:
                self._defer(waiting, category, frees, reason, counts, detail)
        else:
            self._decide(request, Outcome.SUPPRESSED, reason, counts=counts, detail=detail)

    # -- channel choice ----------------------------------------------------------------------------
    def _options(self, request: Request) -> tuple[ChannelOption, ...]:
        """The request's channels in the order they are tried: as listed, or with ``channel_choice: engagement``
        by the shopper's engagement rate per channel, highest first (ties, and channels with no data: as
        listed; the sort is stable)."""
        choice = self.policy.category(request.category).channel_choice or self.policy.channel_choice
        if choice != "engagement" or len(request.options) < 2:
            return request.options
        profile = self.ledger.engagement
        return tuple(sorted(request.options, key=lambda option: -profile.rate(option.channel)))

    def _on_first_open(self, request: Request) -> Request:
        """The request on the first listed channel it may use at all (``channel`` "" when there is none)."""
        for option in self._options(request):
            on = _on(request, option)
            if self._closed(on, option) is None:
                return on
        return replace(request, channel="")

    def _passed_over(self, request: Request) -> list[str]:
        """``<channel>: <why>`` for each listed channel the request may not use at all."""
        out = []
        for option in self._options(request):
            why = self._closed(_on(request, option), option)
            if why is not None:
                out.append(f"{option.channel}: {why}")
        return out

    def _closed(self, on: Request, option: ChannelOption) -> str | None:
        """Why ``on`` (a request on ``option``'s channel) may not go by it at all, or None."""
        if option.failed:
            return option.failed
        standing = on.address_standing
        if standing is AddressStanding.BLOCKED or (standing is AddressStanding.SOFT_BLOCKED and not on.transactional):
            return "suppressed_address"
        if standing is AddressStanding.MISSING:
            return "no_address"
        refused = self._refused(on)
        return refused[0] if refused else None

    def _room_now(self, on: Request, priority: int) -> tuple[dict[str, CapCount], str | None]:
        """The caps' counts for ``on`` now, and why it cannot be sent by its channel now (quiet hours, a full
        cap), or None."""
        if on.transactional:
            return {}, None
        if self._quiet_end(on.channel) is not None:
            return {}, QUIET_HOURS
        counts, blocking = self._caps(on, priority, self._counted())
        return counts, f"cap:{blocking[0].name}" if blocking else None

    def _choose(self, waiting: Pending, sent_here: list[Contact]) -> Pending | None:
        """Send ``waiting`` by the first listed channel it may use now, or suppress it when it may use none at
        all (None: settled). Otherwise: the request on the first channel it may use at all, for the usual path
        to rank, defer or suppress it there."""
        request, priority = waiting.request, waiting.priority
        passed: list[str] = []
        later: Pending | None = None
        for option in self._options(request):
            on = _on(request, option)
            why = self._closed(on, option)
            if why is None:
                counts, why = self._room_now(on, priority)
                if why is None:
                    chosen = _chose(option.channel, passed)
                    self._dispatch(replace(waiting, request=on), counts, sent_here, reason=chosen)
                    return None
                later = later or replace(waiting, request=on)
            passed.append(f"{option.channel}: {why}")
        if later is None:
            gone = replace(request, channel="")
            self._decide(gone, Outcome.SUPPRESSED, _chose("", passed), detail=f"was waiting: {waiting.reason}")
            return None
        self.notes[request.request_id] = f"no listed channel has room now ({', '.join(passed)})"
        return later

    # -- digests -----------------------------------------------------------------------------------
    def _gather(
        self,
        waiting: Pending,
        category: CategoryPolicy,
        until: datetime,
        cause: str,
        counts: dict[str, CapCount],
        detail: str,
    ) -> None:
        """Keep a digest category's capped, outranked or repeated request for the customer's next free slot."""
        self._defer(
            waiting,
            category,
            until,
            DIGEST,
            counts,
            f"gathered for the {waiting.request.category} digest ({cause}): {detail}",
        )

    def _digest_carriers(self, due: list[Pending]) -> list[Pending]:
        """Replace the due digest requests by one carrier per (category, channel); remember every member,
        the due ones and those still waiting, up to the digest's size."""
        self.digests = {}
        groups: dict[tuple[str, str], list[Pending]] = {}
        out = []
        for waiting in due:
            if waiting.reason == DIGEST:
                groups.setdefault((waiting.request.category, waiting.request.channel), []).append(waiting)
            else:
                out.append(waiting)
        for (category_name, channel), members in groups.items():
            digest = self.policy.category(category_name).digest
            size = digest.max_items if digest else 10
            waiting_too = [
                p
                for p in self.pending
                if p.reason == DIGEST and p.request.category == category_name and p.request.channel == channel
            ]
            chosen = sorted(members + waiting_too, key=_rank)[:size]
            self.pending = [p for p in self.pending if p not in chosen]
            self.pending.extend(p for p in members if p not in chosen)  # over the size: the next digest
            carrier = chosen[0]
            self.digests[carrier.request.request_id] = chosen
            out.append(carrier)
        return out

    def _settle_digest(self, carrier: Pending, sent_here: list[Contact]) -> None:
        members = []
        for member in self.digests.pop(carrier.request.request_id, [carrier]):
            stale = self._stale(member.request, self.policy.category(member.request.category))
            refused = self._refused(member.request)
            if stale:
                self._decide(member.request, Outcome.EXPIRED, stale, detail="was waiting for a digest")
            elif refused:
                reason, why = refused
                self._decide(member.request, Outcome.SUPPRESSED, reason, detail=f"{why} (was waiting for a digest)")
            else:
                members.append(member)
        if not members:
            return
        lead = members[0]
        request, priority = lead.request, lead.priority
        category = self.policy.category(request.category)
        quiet_end = self._quiet_end(request.channel)
        counts, blocking = self._caps(request, priority, self._counted()) if quiet_end is None else ({}, [])
        frees = quiet_end or (self._capacity_frees(request, priority, blocking) if blocking else None)
        if quiet_end is not None or blocking:
            for member in members:
                if frees is None:
                    self._decide(member.request, Outcome.SUPPRESSED, f"cap:{blocking[0].name}", counts=counts)
                else:
                    self._defer(member, category, frees, DIGEST, counts, "the digest waits for a free slot")
            return
        self._send(
            request, priority, counts, sent_here, reason=DIGEST, digest_of=tuple(m.request.request_id for m in members)
        )
        for member in members[1:]:
            self._decide(
                member.request,
                Outcome.SENT,
                f"{DIGEST}:{request.request_id}",
                counts=counts,
                carrier=request.request_id,
                detail=f"listed in the {request.category} digest sent as {request.request_id}",
            )

    def _send(
        self,
        request: Request,
        priority: int,
        counts: dict[str, CapCount],
        sent_here: list[Contact],
        *,
        reason: str | None = None,
        digest_of: tuple[str, ...] = (),
    ) -> None:
        contact = _contact(request, priority, self.now)
        self.contacts.append(contact)
        sent_here.append(contact)
        default = "transactional" if request.transactional else "within_policy"
        self._decide(request, Outcome.SENT, reason or default, counts=counts, digest_of=digest_of)

    # -- send time -------------------------------------------------------------------------------
    def _dispatch(
        self, waiting: Pending, counts: dict[str, CapCount], sent_here: list[Contact], *, reason: str | None = None
    ) -> None:
        """Send ``waiting`` now (it fits quiet hours and every cap), unless its category optimises the send time
        and a later hour is the shopper's best: then it waits for that hour, its room claimed."""
        request = waiting.request
        category = self.policy.category(request.category)
        plan = category.send_time
        if plan is not None and plan.optimize and not request.transactional and waiting.reason in OPTIMISED_AFTER:
            at, detail = self._best_instant(waiting, plan, category)
            if at > self.now:
                deferred = self._defer(waiting, category, at, SEND_TIME, counts, detail)
                if deferred is not None:
                    self._claim(deferred)
                return
            self._note(request, detail)
        elif plan is not None and waiting.reason == SEND_TIME:  # its best hour has come: say which, not again
            local = self.now.astimezone(self.zone).strftime("%H:%M %Z")
            self._note(request, f"send time: sent at {local}, the best hour found by {self._histogram(plan)[1]}")
        self._send(request, waiting.priority, counts, sent_here, reason=reason)

    def _note(self, request: Request, note: str) -> None:
        """Add ``note`` to what the request's decision will say (its detail)."""
        before = self.notes.get(request.request_id)
        self.notes[request.request_id] = f"{before}; {note}" if before else note

    def _best_instant(self, waiting: Pending, plan: SendTime, category: CategoryPolicy) -> tuple[datetime, str]:
        """The instant to send ``waiting`` at (``now`` or a whole local hour after it, within ``plan.within`` and
        before its first deadline) where the histogram is highest and the request fits; the earliest of equals.
        And a sentence saying which histogram chose it and the local hour."""
        request = waiting.request
        weights, source = self._histogram(plan)
        last = self.now + plan.within
        deadline, _ = _deadline(request, category)
        best_at, best = self.now, weights[hour_of_week(self.now, self.zone)]
        for at in _whole_hours(self.now, self.zone):
            if at > last or at >= deadline:
                break
            weight = weights[hour_of_week(at, self.zone)]
            if weight > best and self._fits_at(request, waiting.priority, at):
                best_at, best = at, weight
        local = best_at.astimezone(self.zone).strftime("%H:%M %Z")
        if best_at == self.now:
            return best_at, f"send time: now ({local}) is the best hour in the next {_span(plan.within)} by {source}"
        return best_at, f"send time: waits for {local}, the best hour in the next {_span(plan.within)} by {source}"

    def _histogram(self, plan: SendTime) -> tuple[tuple[float, ...], str]:
        """The score of each hour of the week, and which histogram it comes from: the shopper's own when they have
        ``min_engagements``, else the fleet's, else one at ``default_hour`` every day."""
        own = self.ledger.engagement
        if own.count >= plan.min_engagements and any(own.hours):
            return _scores(own.hours), f"the shopper's own histogram ({own.count} engagements)"
        if any(self.fleet):
            fewer = f"{own.count} engagements, fewer than {plan.min_engagements}"
            return _scores(self.fleet), f"the fleet histogram (the shopper has {fewer})"
        hours = tuple(1.0 if h % 24 == plan.default_hour else 0.0 for h in range(HOURS_OF_WEEK))
        return hours, f"the default hour {plan.default_hour:02d}:00 (no engagement history)"

    def _fits_at(self, request: Request, priority: int, at: datetime) -> bool:
        """Whether ``request`` may be sent at ``at``: outside quiet hours, with room in every cap it touches,
        counting what is sent, claimed, or waiting for its own best hour."""
        if self._quiet_end(request.channel, at) is not None:
            return False
        claimed = {c.request_id for c in self.claimed}
        scheduled = [
            _contact(p.request, p.priority, p.due_at)
            for p in self.pending
            if p.reason == SEND_TIME
            and p.due_at > self.now
            and p.request.request_id not in claimed
            and p.request.request_id != request.request_id
        ]
        _, blocking = self._caps(request, priority, self._counted() + scheduled, at)
        return not blocking

    def _defer(
        self,
        waiting: Pending,
        category: CategoryPolicy,
        until: datetime,
        reason: str,
        counts: dict[str, CapCount],
        detail: str,
    ) -> Pending | None:
        """Wait until ``until`` or the first deadline before it; expired if that is already past. Returns what
        now waits (None when expired)."""
        request = waiting.request
        deadline, kind = _deadline(request, category)
        target = min(until, deadline)
        if target <= self.now:
            self._decide(
                request, Outcome.EXPIRED, kind, counts=counts, detail=f"{detail}; {kind} reached while waiting"
            )
            return None
        deferred = Pending(request, waiting.priority, target, reason)
        self.pending.append(deferred)
        self._decide(request, Outcome.DEFERRED, reason, counts=counts, release_at=target, detail=detail)
        return deferred

    def _quiet_end(self, channel: str, at: datetime | None = None) -> datetime | None:
        """The end of the quiet hours (the policy's and the customer's) that ``at`` (default: now) falls in."""
        windows = [w for w in (self._policy_quiet(channel), self.ledger.profile.quiet_hours.get(channel)) if w]
        when, moved = at or self.now, False
        for _ in range(4):  # personal and policy windows may overlap: step past each
            ends = [end for end in (quiet_until(when, self.zone, w) for w in windows) if end is not None]
            if not ends:
                break
            when, moved = max(ends), True
        return when if moved else None

    def _policy_quiet(self, channel: str) -> QuietWindow | None:
        hours = self.policy.quiet_hours.get(channel)  # type: ignore[call-overload]
        return QuietWindow(hours.start, hours.end) if hours else None

    # -- caps --------------------------------------------------------------------------------------
    def _applies(self, cap: Cap, request: Request) -> bool:
        match = cap.match
        if match.channel is not None and match.channel != request.channel:
            return False
        if match.category is not None and match.category != request.category:
            return False
        if match.campaign_id is not None and match.campaign_id != request.campaign_id:
            return False
        return not cap.per or all(_dimension(request, dim) is not None for dim in cap.per)

    def _group(self, cap: Cap, request: Request, contacts: Iterable[Contact], since: datetime) -> list[Contact]:
        """The ``contacts`` that ``cap`` counts for ``request``: marketing ones after ``since``, on the cap's
        channel, category and campaign when it names them, sharing the request's value of each ``per``
        dimension; in the order given."""
        match = cap.match
        channel, category, campaign = match.channel, match.category, match.campaign_id
        per = [(dim, _dimension(request, dim)) for dim in cap.per]
        return [
            contact
            for contact in contacts
            if not contact.transactional
            and contact.at > since
            and (channel is None or contact.channel == channel)
            and (category is None or contact.category == category)
            and (campaign is None or contact.campaign_id == campaign)
            and (not per or all(_dimension(contact, dim) == value for dim, value in per))
        ]

    def _room(self, cap: Cap, priority: int) -> int:
        if cap.reserve is not None and priority < cap.reserve.min_priority:
            return cap.limit - cap.reserve.count
        return cap.limit

    def _caps(
        self, request: Request, priority: int, contacts: Iterable[Contact], at: datetime | None = None
    ) -> tuple[dict[str, CapCount], list[Cap]]:
        """The count and room of every cap that applies to ``request``, as they stand at ``at`` (default: now)
        with ``contacts`` counted, and the caps that leave it no room."""
        counts: dict[str, CapCount] = {}
        blocking: list[Cap] = []
        pool = list(contacts)
        when = at or self.now
        for cap in self.caps:
            if not self._applies(cap, request):
                continue
            count = len(self._group(cap, request, pool, when - cap.window))
            room = self._room(cap, priority)
            counts[cap.name] = CapCount(count, room)
            if count >= room:
                blocking.append(cap)
        return counts, blocking

    def _outranker(self, request: Request, priority: int, cap: Cap, sent_here: list[Contact]) -> Contact | None:
        """The lowest-ranked of the requests above this one in this call (sent now, or waiting with their room
        claimed) without which ``cap`` would have had room for it; None when it was full before any of them."""
        if not sent_here and not self.claimed:
            return None
        since = self.now - cap.window
        taken = self._group(cap, request, (*sent_here, *self.claimed), since)
        if not taken:
            return None
        before = len(self._group(cap, request, self._counted(), since)) - len(taken)
        if before >= self._room(cap, priority):
            return None
        return min(taken, key=lambda c: (c.priority, -c.at.timestamp()))

    def _capacity_frees(self, request: Request, priority: int, blocking: list[Cap]) -> datetime | None:
        frees = self.now
        for cap in blocking:
            room = self._room(cap, priority)
            if room <= 0:
                return None
            since = self.now - cap.window
            times = sorted(c.at for c in self._group(cap, request, self._counted(), since))
            # the window must lose (count - room + 1) contacts: the oldest of those leaves at at + window
            frees = max(frees, times[len(times) - room] + cap.window)
        return frees


def _deadline(request: Request, category: CategoryPolicy) -> tuple[datetime, str]:
    """The first instant a waiting request may not be sent after, and which deadline it is."""
    deadlines = [(request.requested_at + category.max_delay, "max_delay")]
    if request.not_after is not None:
        deadlines.append((request.not_after, "not_after"))
    if category.max_age is not None:
        deadlines.append((request.requested_at + category.max_age, "max_age"))
    return min(deadlines)


def _scores(hours: Sequence[float]) -> tuple[float, ...]:
    """How good each hour of the week is: its own weight plus the weight of its hour of the day over the whole
    week. A weekly pattern counts where there is one; a daily one carries a history too sparse for 168 hours (a
    month of engagement gives each hour of the week about four chances, each hour of the day thirty)."""
    daily = [sum(hours[day * 24 + hour] for day in range(7)) for hour in range(24)]
    return tuple(weight + daily[h % 24] for h, weight in enumerate(hours))


def _whole_hours(now: datetime, zone: ZoneInfo) -> Iterable[datetime]:
    """Each whole hour of the local clock after ``now``, for a week (what send time may choose from)."""
    local = now.astimezone(zone)
    first = now - timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
    for hours in range(1, HOURS_OF_WEEK + 1):
        yield first + timedelta(hours=hours)


def _contact(request: Request, priority: int, at: datetime) -> Contact:
    return Contact(
        request_id=request.request_id,
        at=at,
        channel=request.channel,
        category=request.category,
        campaign_id=request.campaign_id,
        entity=request.entity,
        priority=priority,
        transactional=request.transactional,
    )


def _on(request: Request, option: ChannelOption) -> Request:
    return replace(request, channel=option.channel, address_standing=option.address_standing)


def _chose(channel: str, passed: list[str]) -> str:
    """The reason of a request whose channel Baton chose: ``channel:<chosen or none> (<channel>: <why>, ...)``."""
    named = f"channel:{channel or 'none'}"
    return f"{named} ({', '.join(passed)})" if passed else named


def _rank(waiting: Pending) -> tuple[int, datetime, str]:
    """Highest priority first; ties: earliest request first."""
    return (-waiting.priority, waiting.request.requested_at, waiting.request.request_id)


@lru_cache(maxsize=256)
def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
