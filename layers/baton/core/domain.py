"""The domain: what the policy engine reasons about. Plain immutable dataclasses, no AWS, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from datetime import datetime, timedelta
from enum import StrEnum

from baton.core.engagement import EngagementProfile
from baton.core.valueclass import valueclass


class Outcome(StrEnum):
    SENT = "sent"
    SUPPRESSED = "suppressed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    FAILED = "failed"
    DEFERRED = "deferred"  # a state on the way, never an end
    DUPLICATE = "duplicate"  # only reported back to a caller that repeated a request_id

    @property
    def final(self) -> bool:
        return self not in (Outcome.DEFERRED, Outcome.DUPLICATE)


class AddressStanding(StrEnum):
    """Where the address a request would go to stands."""

    OK = "ok"
    BLOCKED = "blocked"  # hard bounce or complaint: nothing is sent, transactional included
    SOFT_BLOCKED = "soft_blocked"  # repeated soft bounces: marketing is not sent
    MISSING = "missing"  # no address for the channel


class RequestStatus(StrEnum):
    """A request's state in the ledger: waiting, being sent, or its end."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SUPPRESSED = "suppressed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    FAILED = "failed"


@valueclass
class ChannelOption:
    """One channel a request may go by (``channels``, in the sender's order): where its address stands, and why
    a send on it failed for good, if one did (the request then falls back to the next)."""

    channel: str
    address_standing: AddressStanding = AddressStanding.OK
    failed: str | None = None


@valueclass
class Request:
    """A message request as the engine sees it (no template, data or address). A request with ``options`` lets
    the engine choose its channel: ``channel`` is then the one chosen (or the one it is ranked and waits on)."""

    request_id: str
    customer_id: str
    channel: str
    category: str
    requested_at: datetime
    campaign_id: str | None = None
    entity: str | None = None
    priority: int | None = None  # None: the policy's priority for the category
    transactional: bool = False
    not_after: datetime | None = None
    address_standing: AddressStanding = AddressStanding.OK
    options: tuple[ChannelOption, ...] = ()  # empty: ``channel`` is fixed


@valueclass
class Contact:
    """A message sent: what caps and repeats count."""

    request_id: str
    at: datetime
    channel: str
    category: str
    campaign_id: str | None
    entity: str | None
    priority: int
    transactional: bool


@valueclass
class Pending:
    """A request waiting: held in an arbitration window, or deferred (quiet hours, caps)."""

    request: Request
    priority: int
    due_at: datetime
    reason: str


@valueclass
class Mark:
    """An exclusion in force: a request of ``category`` (about ``entity``) arrived at ``at``."""

    request_id: str
    category: str
    entity: str | None
    at: datetime


@valueclass
class QuietWindow:
    start: str  # "HH:MM" local
    end: str


@valueclass
class PersonalLimit:
    """A customer's own frequency limit ("at most one marketing email a week"): an extra cap, never a looser one."""

    channel: str | None
    limit: int
    window: timedelta

    @property
    def name(self) -> str:
        return f"personal:{self.channel or 'marketing'}_{int(self.window.total_seconds() // 86400)}d"


@valueclass
class Profile:
    timezone: str | None = None
    locale: str | None = None
    consent: Mapping[str, bool] = field(default_factory=dict)
    opted_out_categories: frozenset[str] = frozenset()
    quiet_hours: Mapping[str, QuietWindow] = field(default_factory=dict)  # personal, on top of the policy's
    limits: tuple[PersonalLimit, ...] = ()


@valueclass
class CustomerState:
    """Everything one decision for one customer needs, read in one round trip."""

    customer_id: str
    version: int = 0  # 0: nothing stored yet
    profile: Profile = Profile()
    contacts: tuple[Contact, ...] = ()
    pending: tuple[Pending, ...] = ()
    marks: tuple[Mark, ...] = ()
    # read with the state; decisions never write it
    engagement: EngagementProfile = field(default_factory=EngagementProfile)


@valueclass
class CapCount:
    count: int  # messages in the window before this decision
    limit: int  # the room this request may use (limit less any reserve it cannot touch)


@valueclass
class Decision:
    request: Request
    outcome: Outcome
    reason: str
    priority: int
    counts: Mapping[str, CapCount] = field(default_factory=dict)
    release_at: datetime | None = None  # for DEFERRED
    detail: str = ""  # a sentence for operators
    digest_of: tuple[str, ...] = ()  # for a digest's carrier: every request the one message lists
    carrier: str | None = None  # for a request listed in a digest: the request that carries the one message


@valueclass
class Verdict:
    decisions: tuple[Decision, ...]
    ledger: CustomerState
    more_due: bool = False  # pending requests were due but left for the next call (one transaction's worth)

    def for_request(self, request_id: str) -> Decision | None:
        return next((d for d in self.decisions if d.request.request_id == request_id), None)
