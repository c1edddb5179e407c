"""SES deliveries, opens and clicks into the engagement profile (``baton.app.feedback``) on the in-memory ledger:
the customer is found by the address's owners; a machine open (within seconds of the send, or by a known image
proxy) weighs MACHINE_OPEN_WEIGHT; the same event again counts once; an event missing what is needed is refused
naming it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from baton.adapters.memory import MemoryLedger
from baton.adapters.policy_source import StaticPolicy
from baton.app.feedback import apply_feedback, engagement_event
from baton.contract import CustomerUpdated, parse_detail
from baton.core.clock import SimulatedClock
from baton.core.engagement import KIND_WEIGHTS, MACHINE_OPEN_WEIGHT, hour_of_week
from baton.core.errors import InvalidRequest
from baton.core.policy import default_policy_path, load_policy_file

SENT = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # a Friday
ADDRESS = "c1@example.com"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def ses(event_type: str, at: datetime, **body: Any) -> dict[str, Any]:
    mail = {"timestamp": SENT.isoformat().replace("+00:00", "Z"), "messageId": "m-1", "destination": [ADDRESS]}
    part = {"timestamp": at.isoformat().replace("+00:00", "Z"), **body}
    if event_type == "Delivery":
        part["recipients"] = [ADDRESS]
    return {"eventType": event_type, "mail": mail, event_type.lower(): part}


@pytest.fixture
def world() -> tuple[MemoryLedger, StaticPolicy, SimulatedClock]:
    ledger = MemoryLedger()
    update = {"customer_id": "c1", "email": ADDRESS, "timezone": "Europe/Paris", "consent": {"email": True}}
    ledger.update_profile(parse_detail(CustomerUpdated, update), SENT - timedelta(days=1))
    return ledger, StaticPolicy(load_policy_file(default_policy_path())), SimulatedClock(SENT + timedelta(hours=3))


def profile(ledger: MemoryLedger, customer: str = "c1") -> Any:
    return ledger.load(customer, None, None, consistent=True).ledger.engagement


def test_a_delivery_counts_a_send_and_an_open_an_engagement_in_the_shoppers_hour(world: Any) -> None:
    ledger, policies, clock = world
    version = ledger.load("c1", None, None, consistent=True).ledger.version
    assert apply_feedback(ledger, policies, clock, ses("Delivery", SENT + timedelta(seconds=2))) == [
        ("delivery", "recorded")
    ]
    opened = SENT + timedelta(hours=2)
    assert apply_feedback(ledger, policies, clock, ses("Open", opened, userAgent=BROWSER, ipAddress="203.0.113.9")) == [
        ("open", "recorded")
    ]
    p = profile(ledger)
    assert p.sends["email"] > 0.99 and p.engagements["email"] > 0.99 * KIND_WEIGHTS["open"]
    assert max(range(168), key=lambda h: p.hours[h]) == hour_of_week(opened, ZoneInfo("Europe/Paris"))
    assert ledger.load("c1", None, None, consistent=True).ledger.version == version  # no decision retries for it


def test_the_same_event_again_counts_once(world: Any) -> None:
    ledger, policies, clock = world
    click = ses("Click", SENT + timedelta(hours=1), link="https://shop.example/x", userAgent=BROWSER)
    assert apply_feedback(ledger, policies, clock, click) == [("click", "recorded")]
    before = profile(ledger)
    assert apply_feedback(ledger, policies, clock, click) == [("click", "duplicate")]
    assert profile(ledger) == before and before.count == 1


@pytest.mark.parametrize(
    ("after_send", "agent", "ip"),
    [
        (timedelta(seconds=3), BROWSER, "203.0.113.9"),  # seconds after the send: fetched on arrival
        (timedelta(hours=2), "Mozilla/5.0", "203.0.113.9"),  # Apple Mail Privacy Protection's bare agent
        (timedelta(hours=2), "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com"
         " GoogleImageProxy)", "66.249.84.1"),
        (timedelta(hours=2), BROWSER, "17.58.1.2"),  # from Apple's network
    ],
)  # fmt: skip
def test_a_machine_open_weighs_little(after_send: timedelta, agent: str, ip: str) -> None:
    _, engagement = engagement_event(ses("Open", SENT + after_send, userAgent=agent, ipAddress=ip))
    assert engagement.weight == MACHINE_OPEN_WEIGHT


def test_a_shoppers_open_weighs_an_open() -> None:
    _, engagement = engagement_event(ses("Open", SENT + timedelta(minutes=5), userAgent=BROWSER, ipAddress="::1"))
    assert engagement.weight == KIND_WEIGHTS["open"]


def test_an_address_nobody_holds_is_dropped_with_a_reason(world: Any) -> None:
    ledger, policies, clock = world
    stray = ses("Open", SENT + timedelta(hours=1), userAgent=BROWSER)
    stray["mail"]["destination"] = ["nobody@example.com"]
    assert apply_feedback(ledger, policies, clock, stray) == [("open", "no_owner")]
    assert ledger.engagements("c1") == []


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda e: e.pop("mail"), "mail"),
        (lambda e: e["mail"].pop("messageId"), "mail.messageId"),
        (lambda e: e["mail"].update(timestamp="yesterday"), "mail.timestamp"),
        (lambda e: e.pop("open"), "open"),
        (lambda e: e["open"].pop("timestamp"), "open.timestamp"),
        (lambda e: e["mail"].update(destination=[]), "recipients"),
        (lambda e: e.update(eventType="Send"), "eventType"),
    ],
)
def test_an_event_missing_what_is_needed_is_refused_naming_it(damage: Any, named: str, world: Any) -> None:
    ledger, policies, clock = world
    event = ses("Open", SENT + timedelta(hours=1), userAgent=BROWSER)
    damage(event)
    with pytest.raises(InvalidRequest) as caught:
        apply_feedback(ledger, policies, clock, event)
    assert caught.value.field == named
    assert ADDRESS not in caught.value.message
    assert ledger.engagements("c1") == []
