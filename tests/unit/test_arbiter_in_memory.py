"""The arbiter's service behaviour on the in-memory ledger, a simulated clock and an outbox for a channel: no AWS,
no moto, no sockets. The ledger is not what these test (tests/contract holds it to the DynamoDB ledger): they
test what the arbiter does with the engine's decisions: windows, caps, retries, consent and suppression."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from baton.adapters.memory import MemoryLedger
from baton.adapters.policy_source import StaticPolicy
from baton.app.arbiter import SEND_ATTEMPTS, Arbiter, Report
from baton.app.feedback import apply_feedback
from baton.app.ports import Envelope
from baton.app.release import sweep
from baton.core.clock import SimulatedClock
from baton.core.domain import Outcome, RequestStatus
from baton.core.errors import PermanentDeliveryFailure, TransientFailure
from baton.core.policy import Policy

START = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 10:00 in New York, the default policy's time zone
WINDOW = timedelta(minutes=15)  # the default policy's arbitration window for sale and newsletter
SALE = {"headline": "Winter sale", "url": "https://shop.example/sale"}
ORDER = {"order_id": "A1", "total": "$10"}


@dataclass
class Outbox:
    """The Channels port in memory: what was sent, and the failures to raise first (a provider's answer)."""

    sent: list[Envelope] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)

    def send(self, envelope: Envelope) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(envelope)
        return f"m-{len(self.sent)}"


@dataclass
class Shop:
    """One customer's messages through the arbiter, with the sweeper run whenever the clock moves."""

    policy: Policy
    ledger: MemoryLedger = field(default_factory=MemoryLedger)
    clock: SimulatedClock = field(default_factory=lambda: SimulatedClock(START))
    outbox: Outbox = field(default_factory=Outbox)
    reports: list[Report] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.arbiter = Arbiter(
            self.ledger,
            self.outbox,
            StaticPolicy(self.policy),
            self.clock,
            observer=self.reports.append,
            sleep=lambda seconds: None,
            seed=7,
        )
        self.ledger.update_profile(_profile(), START)

    def request(self, request_id: str, category: str = "sale", **extra: Any) -> list[Report]:
        data = ORDER if category == "order_confirmation" else SALE
        detail = {"request_id": request_id, "customer_id": "c1", "channel": "email", "category": category,
                  "template": category, "data": data, **extra}  # fmt: skip
        return self.arbiter.request(detail, event_id=f"e-{request_id}")

    def later(self, delta: timedelta) -> None:
        """The clock moves on; the sweeper hands what has come due to the arbiter."""
        self.clock.set(self.clock.now() + delta)
        sweep(self.ledger, self, self.clock)

    def send(self, releases: list[tuple[str, str]]) -> None:  # the release queue, delivered at once
        for customer_id, request_id in releases:
            self.arbiter.release(customer_id, request_id)

    def final(self, request_id: str) -> Outcome:
        return next(r.outcome for r in reversed(self.reports) if r.request_id == request_id)


def _profile() -> Any:
    from baton.contract import CustomerUpdated, parse_detail

    detail = {"customer_id": "c1", "email": "c1@example.com", "consent": {"email": True}}
    return parse_detail(CustomerUpdated, detail)


@pytest.fixture
def shop(default_policy: Policy) -> Shop:
    return Shop(default_policy)


def test_a_request_waits_its_window_and_is_sent_once_when_it_ends(shop: Shop) -> None:
    [held] = shop.request("r1")
    assert (held.outcome, held.reason, held.release_at) == (Outcome.DEFERRED, "arbitration_window", START + WINDOW)
    shop.later(WINDOW - timedelta(minutes=1))
    assert shop.outbox.sent == []
    shop.later(timedelta(minutes=1))
    assert shop.final("r1") is Outcome.SENT
    assert [(e.request_id, e.recipient) for e in shop.outbox.sent] == [("r1", "c1@example.com")]
    assert "unsubscribe" not in " ".join(shop.outbox.sent[0].headers).lower()  # no links configured here
    [again] = shop.request("r1")  # the same event delivered again
    assert (again.outcome, again.reason) == (Outcome.DUPLICATE, "sent:within_policy")
    shop.later(timedelta(hours=1))
    assert len(shop.outbox.sent) == 1


def test_the_window_lets_one_sale_through_a_day(shop: Shop) -> None:
    for n in range(3):
        shop.request(f"r{n}")
    shop.later(WINDOW)
    assert len(shop.outbox.sent) == 1  # category_daily: each category once a day on each channel
    assert sorted(shop.final(f"r{n}") for n in range(3)).count(Outcome.SENT) == 1
    shop.later(timedelta(days=2))
    assert len(shop.outbox.sent) == 1


def test_a_send_failing_for_now_goes_back_to_the_queue_and_its_redelivery_sends_once(shop: Shop) -> None:
    shop.outbox.failures = [TransientFailure("throttled")] * SEND_ATTEMPTS
    with pytest.raises(TransientFailure):
        shop.request("o1", "order_confirmation", transactional=True)
    assert shop.outbox.sent == []
    [record] = shop.ledger.timeline("c1")
    assert record.status is RequestStatus.SENDING and record.lease_until == START  # the lease given back
    [sent] = shop.request("o1", "order_confirmation", transactional=True)  # the queue's redelivery
    assert sent.outcome is Outcome.SENT
    assert [e.request_id for e in shop.outbox.sent] == ["o1"]
    assert [s.what for s in shop.ledger.timeline("c1")[0].history] == [
        "arrived",
        "sending",
        "retry",
        "taken_over",
        "sent",
    ]
    assert shop.request("o1", "order_confirmation", transactional=True)[0].outcome is Outcome.DUPLICATE
    assert len(shop.outbox.sent) == 1


def test_a_refused_send_ends_failed_and_leaves_the_days_room_to_the_next(shop: Shop) -> None:
    shop.outbox.failures = [PermanentDeliveryFailure("MessageRejected")]
    shop.request("r1")
    shop.later(WINDOW)
    assert shop.final("r1") is Outcome.FAILED
    shop.request("r2")
    shop.later(WINDOW)
    assert shop.final("r2") is Outcome.SENT  # the failed sale took no room under category_daily
    assert [e.request_id for e in shop.outbox.sent] == ["r2"]


def test_an_unsubscribe_takes_effect_for_the_next_request(shop: Shop) -> None:
    shop.request("r1")
    shop.later(WINDOW)
    assert shop.ledger.unsubscribe("c1", "channel:email", shop.clock.now(), actor="one-click")
    [report] = shop.request("r2", "newsletter")
    assert (report.outcome, report.reason) == (Outcome.SUPPRESSED, "no_consent")
    shop.later(WINDOW)
    assert [e.request_id for e in shop.outbox.sent] == ["r1"]


def test_a_hard_bounce_stops_even_transactional_mail(shop: Shop) -> None:
    bounce = {"eventType": "Bounce", "bounce": {"bounceType": "Permanent",
              "bouncedRecipients": [{"emailAddress": "c1@example.com"}]}}  # fmt: skip
    assert apply_feedback(shop.ledger, StaticPolicy(shop.policy), shop.clock, bounce) == [("hard_bounce", "blocked")]
    [report] = shop.request("o1", "order_confirmation", transactional=True)
    assert report.outcome is Outcome.SUPPRESSED
    assert shop.outbox.sent == []
