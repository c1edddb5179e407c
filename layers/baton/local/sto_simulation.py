"""Send-time optimisation, shown to work: synthetic shoppers with a hidden preferred two-hour band in their own
time zone, a month of engagement, then a month of triggered requests decided by the arbiter's own code over the
in-memory ledger (as ``baton whatif`` runs it), once with the category's ``send_time`` and once sending at once.

The model. Each hour of the engagement month, a shopper engages (a session) with probability 0.25 inside their
band and 0.03 outside: about 35 engagements each. Each triggered request arrives at a uniformly random instant of
the request month; a message opens with probability 0.25 when it is sent inside the shopper's band, 0.03 outside.
Both runs draw the same arrivals and the same uniform number per message (common random numbers), so the
difference between them is the send time alone. Seeded: the same arguments give the same figures.

What it reports: the open rate with send-time optimisation and sending at once, and, among shoppers with at least
10 engagements, the share whose messages land in their band (most of them: at least half of the messages sent)
and the share of their messages that do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from baton.core.domain import Outcome
from baton.core.policy import Policy, policy_from_mapping

START = datetime(2026, 9, 1, tzinfo=UTC)  # the engagement month begins; the request month follows it
ZONES = (
    "America/Los_Angeles",
    "America/Chicago",
    "America/New_York",
    "Europe/London",
    "Europe/Paris",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
)
IN_BAND, OUT_OF_BAND = 0.25, 0.03
CATEGORY = "browse_abandoned"
MIN_ENGAGEMENTS = 10


def policy(optimize: bool) -> Policy:
    """No cap and no quiet hours: the send time alone differs between the runs."""
    category: dict[str, Any] = {"priority": 50, "max_delay": "24h"}
    if optimize:
        category["send_time"] = {"optimize": True, "within": "24h", "min_engagements": MIN_ENGAGEMENTS}
    document = {"version": "sto-simulation", "timezone": "UTC", "categories": {CATEGORY: category}}
    return policy_from_mapping(document, "sto-simulation")


@dataclass(frozen=True)
class Shopper:
    customer_id: str
    zone: str
    band: int  # the band's first local hour: the band is [band, band + 2)
    engagements: tuple[datetime, ...]
    requests: tuple[tuple[datetime, float], ...]  # arrival, the uniform number that decides its open

    def in_band(self, at: datetime) -> bool:
        return (at.astimezone(ZoneInfo(self.zone)).hour - self.band) % 24 < 2

    def opens(self, at: datetime, draw: float) -> bool:
        return draw < (IN_BAND if self.in_band(at) else OUT_OF_BAND)


def shoppers(count: int, seed: int, days: int = 30, requests: int = 10) -> list[Shopper]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        zone, band = rng.choice(ZONES), rng.randrange(6, 22)
        person = Shopper(f"shopper-{n:05d}", zone, band, (), ())
        hours = [START + timedelta(hours=h) for h in range(days * 24)]
        engaged = tuple(
            at + timedelta(minutes=rng.randrange(60))
            for at in hours
            if rng.random() < (IN_BAND if person.in_band(at) else OUT_OF_BAND)
        )
        arrivals = sorted(START + timedelta(days=days, seconds=rng.randrange(days * 86400)) for _ in range(requests))
        out.append(Shopper(person.customer_id, zone, band, engaged, tuple((at, rng.random()) for at in arrivals)))
    return out


def sent_times(person: Shopper, chosen: Policy) -> dict[str, datetime]:
    """Every request of ``person`` through the arbiter on a fresh in-memory ledger: request id -> when sent."""
    from baton.adapters.memory import MemoryLedger
    from baton.app.arbiter import Report
    from baton.app.engagements import Engagement
    from baton.app.release import sweep
    from baton.contract import CustomerUpdated
    from baton.core.clock import SimulatedClock
    from baton.local.composition import DueTimes, local_arbiter
    from baton.local.whatif import AcceptingChannels, _Releases

    clock = SimulatedClock(START)
    ledger = MemoryLedger()
    update = CustomerUpdated(
        customer_id=person.customer_id, email="shopper@example.com", timezone=person.zone, consent={"email": True}
    )
    ledger.update_profile(update, START)
    learned = person.requests[0][0] if person.requests else START
    for n, at in enumerate(person.engagements):
        ledger.record_engagement(Engagement(f"e{n}", person.customer_id, "session", at), learned, chosen)
    sent: dict[str, datetime] = {}

    def observe(report: Report) -> None:
        due.note(report)
        if report.outcome is Outcome.SENT:
            sent[report.request_id] = report.sent_at or report.at

    arbiter = local_arbiter(ledger, AcceptingChannels(), chosen, clock, observe)
    due = DueTimes(clock, ledger, lambda: sweep(ledger, _Releases(arbiter), clock))
    for n, (at, _) in enumerate(person.requests):
        due.run_until(at)
        detail = {
            "request_id": f"r{n}",
            "customer_id": person.customer_id,
            "channel": "email",
            "category": CATEGORY,
            "content": {"subject": "Still thinking it over?", "text": "Your basket is waiting."},
        }
        arbiter.request(detail, f"evt-{n}")
    due.run_until(None)
    return sent


@dataclass
class Figures:
    shoppers: int = 0
    messages: int = 0
    opens_sto: int = 0
    opens_immediate: int = 0
    eligible: int = 0  # shoppers with MIN_ENGAGEMENTS or more
    landed: int = 0  # of those, shoppers most of whose messages landed in their band
    eligible_messages: int = 0
    in_band_messages: int = 0
    in_band_immediate: int = 0

    def as_results(self) -> dict[str, Any]:
        return {
            "sto_open_rate": round(self.opens_sto / self.messages, 4) if self.messages else 0.0,
            "sto_open_rate_immediate": round(self.opens_immediate / self.messages, 4) if self.messages else 0.0,
            "sto_in_band_share": round(self.landed / self.eligible, 4) if self.eligible else 0.0,
            "sto_in_band_messages": round(self.in_band_messages / self.eligible_messages, 4)
            if self.eligible_messages
            else 0.0,
            "sto_in_band_immediate": round(self.in_band_immediate / self.eligible_messages, 4)
            if self.eligible_messages
            else 0.0,
            "sto_shoppers": self.shoppers,
            "sto_messages": self.messages,
        }


def simulate(count: int = 2000, seed: int = 20) -> dict[str, Any]:
    """Run both policies over ``count`` seeded shoppers: the figures ``make bench`` writes (``sto_*``)."""
    optimised, at_once = policy(True), policy(False)
    figures = Figures()
    for person in shoppers(count, seed):
        figures.shoppers += 1
        with_sto, immediate = sent_times(person, optimised), sent_times(person, at_once)
        draws = {f"r{n}": draw for n, (_, draw) in enumerate(person.requests)}
        common = [rid for rid in draws if rid in with_sto and rid in immediate]
        figures.messages += len(common)
        figures.opens_sto += sum(person.opens(with_sto[rid], draws[rid]) for rid in common)
        figures.opens_immediate += sum(person.opens(immediate[rid], draws[rid]) for rid in common)
        if len(person.engagements) >= MIN_ENGAGEMENTS and common:
            landed = sum(person.in_band(with_sto[rid]) for rid in common)
            figures.eligible += 1
            figures.landed += landed * 2 >= len(common)
            figures.eligible_messages += len(common)
            figures.in_band_messages += landed
            figures.in_band_immediate += sum(person.in_band(immediate[rid]) for rid in common)
    return figures.as_results()
