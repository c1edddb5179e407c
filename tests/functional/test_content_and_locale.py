"""Pre-rendered ``content`` and the customer's locale, through the real arbiter handler on moto: a message the
sender rendered is sent as it is, with the same MIME and List-Unsubscribe handling as a rendered one; a profile
``locale`` picks the template's variant (``fr-CA`` -> ``fr`` -> ``default``), and the request's record names the
template set version and the locale used."""

from __future__ import annotations

from email import message_from_bytes, message_from_string
from email.message import Message
from typing import Any

from baton.local.runtime import LocalRuntime
from tests.functional import test_handlers as handlers
from tests.functional.test_handlers import customer, event, message, record, ses_raw

local = handlers.local  # the fixture: the default policy, decided on arrival

CONTENT = {"subject": "Your private sale", "html": "<p>Hello <b>Sam</b></p>", "text": "Hello Sam"}


def arbitrate(runtime: LocalRuntime, body: str) -> None:
    assert runtime.invoke_arbiter([body]) == {"batchItemFailures": []}


def mails() -> list[Message]:
    return [
        message_from_bytes(m.raw_data) if isinstance(m.raw_data, bytes) else message_from_string(m.raw_data)
        for m in ses_raw()
    ]


def content_request(runtime: LocalRuntime, rid: str, channel: str = "email", **content: Any) -> str:
    detail = {
        "request_id": rid,
        "customer_id": "c1",
        "channel": channel,
        "category": "sale",
        "content": content,
    }
    return event(runtime, "MessageRequested", detail)


def test_pre_rendered_email_is_sent_as_given_with_the_unsubscribe_headers(local: LocalRuntime) -> None:
    customer(local)
    arbitrate(local, content_request(local, "r1", **CONTENT))

    [mail] = mails()
    assert mail["Subject"] == "Your private sale"
    assert "List-Unsubscribe" in mail and mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in mail.walk() if not p.is_multipart()}
    assert parts["text/plain"].strip() == "Hello Sam" and "<b>Sam</b>" in parts["text/html"]
    stored = record(local, "r1")
    assert stored.status == "sent" and stored.template is None and stored.content.subject == "Your private sale"


def test_content_missing_its_text_is_rejected_naming_the_part(local: LocalRuntime) -> None:
    customer(local)
    arbitrate(local, content_request(local, "r1", subject="Hi"))
    arbitrate(local, content_request(local, "r2", channel="sms", subject="Hi", text="Hi"))
    assert record(local, "r1").reason == "invalid:content.text"
    assert record(local, "r2").reason == "invalid:content.subject"
    assert ses_raw() == []


def test_a_template_not_in_the_set_is_rejected_naming_it(local: LocalRuntime) -> None:
    customer(local)
    body = message(local, "r1", template="flash_sale")
    arbitrate(local, body)
    rejected = record(local, "r1")
    assert rejected.reason == "invalid:template" and "'flash_sale'" in rejected.detail


def test_the_profile_locale_picks_the_variant_and_the_record_names_it(local: LocalRuntime) -> None:
    customer(local, locale="fr-CA")  # the shipped sale template has fr, not fr-CA
    arbitrate(local, message(local, "r1"))
    customer(local, "c2", locale="de")  # no German: the default locale
    arbitrate(local, message(local, "r2", customer="c2"))

    subjects = sorted(m["Subject"] for m in mails())
    assert subjects == ["Black Friday", "Black Friday : les soldes"]
    version = local.arbiter.renderer.source.current().version
    assert record(local, "r1").rendered_with == f"{version}/fr"
    assert record(local, "r2", "c2").rendered_with == f"{version}/default"
