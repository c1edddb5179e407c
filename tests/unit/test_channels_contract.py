"""``channels`` in MessageRequested: exactly one of ``channel`` and ``channels``, each channel listed once, a
template (not content) and the profile's addresses; each bad input is refused naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from baton.adapters.memory import MemoryLedger
from baton.adapters.policy_source import StaticPolicy
from baton.app.arbiter import Arbiter
from baton.app.render import Renderer
from baton.app.templates import StaticTemplates
from baton.contract import MessageRequested, json_schemas, parse_detail
from baton.core.clock import SimulatedClock
from baton.core.domain import Outcome
from baton.core.policy import default_policy_path, load_policy_file
from baton.core.values import Channel
from tests.unit.test_arbiter_in_memory import START, Outbox
from tests.unit.test_contract import REQUEST, refused

LISTING: dict[str, Any] = {**{k: v for k, v in REQUEST.items() if k != "channel"}, "channels": ["sms", "email"]}


def test_a_request_listing_channels_is_accepted_in_its_order() -> None:
    message = parse_detail(MessageRequested, LISTING)
    assert message.channel is None
    assert message.listed == [Channel.SMS, Channel.EMAIL]


def test_a_request_with_channel_lists_it_alone() -> None:
    assert parse_detail(MessageRequested, REQUEST).listed == [Channel.EMAIL]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"channels": []}, "channels", "at least one"),
        ({"channels": ["email", "sms", "email"]}, "channels", "email is listed again"),
        ({"channel": "email"}, "channels", "alongside channel"),
        ({"channels": ["fax"]}, "channels", "email"),
        ({"recipient": "sam@example.com"}, "recipient", "profile's address"),
        ({"template": None, "content": {"text": "hi"}}, "content", "template"),
    ],
)
def test_bad_channels_are_refused_naming_the_field(change: dict[str, Any], field: str, words: str) -> None:
    detail = {k: v for k, v in {**LISTING, **change}.items() if v is not None}
    error = refused(MessageRequested, detail)
    assert error.field.split(".")[0] == field
    assert words in error.message


def test_neither_channel_nor_channels_names_channel() -> None:
    error = refused(MessageRequested, {k: v for k, v in LISTING.items() if k != "channels"})
    assert (error.field, error.message) == ("channel", "field required")


def test_the_published_schema_offers_channels_and_no_longer_requires_channel() -> None:
    schema = json_schemas()["MessageRequested.v1.json"]
    assert "channel" not in schema["required"]
    listed = schema["properties"]["channels"]  # array keywords: a null value ignores them
    assert (listed["minItems"], listed["uniqueItems"]) == (1, True)


def test_a_template_without_a_form_for_a_listed_channel_is_rejected_on_arrival(tmp_path: Path) -> None:
    (tmp_path / "sale" / "default").mkdir(parents=True)
    (tmp_path / "sale" / "default" / "sms.txt").write_text("{{ headline }}")  # an SMS form, and no email
    outbox = Outbox()
    arbiter = Arbiter(
        MemoryLedger(),
        outbox,
        StaticPolicy(load_policy_file(default_policy_path())),
        SimulatedClock(START),
        renderer=Renderer(StaticTemplates(tmp_path)),
    )
    detail = {**LISTING, "channels": ["sms", "email"], "data": {"headline": "h"}}
    [report] = arbiter.request(detail, "e-1")
    assert (report.outcome, report.reason) == (Outcome.REJECTED, "invalid:template")
    assert "for channel email" in report.detail
    assert outbox.sent == []
    [fine] = arbiter.request({**detail, "request_id": "r-2", "channels": ["sms"]}, "e-2")
    assert fine.outcome is not Outcome.REJECTED
