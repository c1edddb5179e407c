"""The raw MIME an email goes out as: headers exact, text encoded, both parts there (read back with the
standard library's parser, as a mailbox would)."""

from __future__ import annotations

import secrets
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import cast

import pytest

from baton.channels import build_mime
from baton.ports import Envelope, Rendered

UNSUBSCRIBE = "<https://unsubscribe.shop.example/u?t=" + "a" * 400 + ">, <mailto:unsubscribe@shop.example?subject=u>"


def envelope(**changes: object) -> Envelope:
    fields: dict[str, object] = {
        "request_id": "r1",
        "customer_id": "c1",
        "channel": "email",
        "category": "sale",
        "recipient": "sam@example.com",
        "transactional": False,
        "content": Rendered(
            subject="Winter sale: 30 % off für Sie — today",
            text="Hello Sam — " + "coats " * 40,
            html="<p>Hello Sam — <b>coats</b></p>",
        ),
        "headers": {"List-Unsubscribe": UNSUBSCRIBE, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    }
    fields.update(changes)
    return Envelope(**fields)  # type: ignore[arg-type]


def parsed(raw: bytes) -> EmailMessage:
    return cast(EmailMessage, message_from_bytes(raw, policy=default))


def test_headers_and_parts_read_back_as_written() -> None:
    raw = build_mime(envelope(), "orders@shop.example")
    message = parsed(raw)
    assert (message["From"], message["To"]) == ("orders@shop.example", "sam@example.com")
    assert message["Subject"] == "Winter sale: 30 % off für Sie — today"
    parts = {p.get_content_type(): p.get_content() for p in message.walk() if not p.is_multipart()}
    assert parts["text/plain"].rstrip() == "Hello Sam — " + ("coats " * 40).rstrip()
    assert parts["text/html"].rstrip() == "<p>Hello Sam — <b>coats</b></p>"
    assert raw.isascii(), "bodies and headers are 7-bit (quoted-printable, RFC 2047)"


def test_list_unsubscribe_is_one_unfolded_line_and_lines_end_in_crlf() -> None:
    raw = build_mime(envelope(), "orders@shop.example")
    assert f"\r\nList-Unsubscribe: {UNSUBSCRIBE}\r\n".encode() in raw
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_a_named_sender_keeps_its_address_and_gives_the_message_id_its_domain() -> None:
    message = parsed(build_mime(envelope(), "Schöne Schuhe <news@shop.example>"))
    assert message["From"].addresses[0].display_name == "Schöne Schuhe"
    assert message["From"].addresses[0].addr_spec == "news@shop.example"
    assert message["Message-ID"].endswith("@shop.example>")


def test_a_text_only_message_is_one_ascii_part() -> None:
    raw = build_mime(envelope(content=Rendered(subject="Your order", text="Shipped.")), "orders@shop.example")
    message = parsed(raw)
    assert not message.is_multipart()
    assert (message.get_content_type(), message.get_content_charset()) == ("text/plain", "us-ascii")
    assert message.get_content().rstrip() == "Shipped."


def test_a_long_ascii_line_is_wrapped_and_reads_back_whole() -> None:
    items = "".join(f'<li><a href="https://shop.example/p/{n:04d}">Product {n}</a> now $9</li>' for n in range(40))
    html = f"<ul>{items}</ul>"
    raw = build_mime(envelope(content=Rendered(subject="Price drops", text="See below.", html=html)), "o@shop.example")
    assert len(html) > 998
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    parts = {p.get_content_type(): p.get_content() for p in parsed(raw).walk() if not p.is_multipart()}
    assert parts["text/html"].rstrip() == html


def test_a_bare_recipient_is_written_as_given() -> None:
    for recipient in ("o'neil+deals@example.com", "a(b)@example.com", "a:b@example.com"):
        raw = build_mime(envelope(recipient=recipient), "orders@shop.example")
        assert f"\r\nTo: {recipient}\r\n".encode() in raw, recipient


def test_the_boundary_is_in_neither_part(monkeypatch: pytest.MonkeyPatch) -> None:
    """Baton picks the boundary (the email package's own check compiles a regex per message); one that occurs
    in a part is never used."""
    tokens = iter(["0" * 32, "1" * 32])
    monkeypatch.setattr(secrets, "token_hex", lambda n: next(tokens))
    text = "Reply with this code: =_" + "0" * 32
    raw = build_mime(envelope(content=Rendered(subject="Codes", text=text, html="<p>code</p>")), "o@shop.example")
    message = parsed(raw)
    assert message.get_boundary() == "=_" + "1" * 32
    parts = {p.get_content_type(): p.get_content() for p in message.walk() if not p.is_multipart()}
    assert parts["text/plain"].rstrip() == text
    assert parts["text/html"].rstrip() == "<p>code</p>"
