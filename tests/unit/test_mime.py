"""The raw MIME an email goes out as: headers exact, text encoded, both parts there (read back with the
standard library's parser, as a mailbox would)."""

from __future__ import annotations

import re
import secrets
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32, default
from typing import cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baton.adapters.channels import MAX_LINE, UTF8, _address, build_mime
from baton.app.ports import Envelope, Rendered

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


# -- the bytes are the email package's own --------------------------------------------------------------------

REFERENCE_POLICY = compat32.clone(linesep="\r\n", max_line_length=MAX_LINE)


def reference_mime(envelope: Envelope, sender: str, boundary: str, message_id: str) -> bytes:
    """The same message made the email package's way (message objects, its compat32 generator): what
    build_mime writes by hand must be these very bytes."""

    def text(body: str, subtype: str) -> MIMEText:
        # the choice of encoding is build_mime's (checked on its own below): the generator is the reference here
        lines = re.split(r"\r\n|\r|\n", body)
        plain = not re.search("[^\t\n\r\x20-\x7e]", body) and all(len(line) <= MAX_LINE for line in lines)
        return MIMEText(body, subtype, "us-ascii" if plain else UTF8, policy=REFERENCE_POLICY)  # type: ignore[arg-type]

    message: Message = text(envelope.content.text, "plain")
    if envelope.content.html:
        parts = [message, text(envelope.content.html, "html")]
        message = MIMEMultipart("alternative", boundary=boundary, _subparts=parts, policy=REFERENCE_POLICY)
    message["From"] = _address(sender)
    message["To"] = _address(envelope.recipient)
    message["Subject"] = envelope.content.subject
    message["Message-ID"] = message_id
    for name, value in envelope.headers.items():
        message[name] = value
    return message.as_bytes(policy=REFERENCE_POLICY)


# text as templates render it: any characters, long lines, every kind of line end, leading and trailing space
_chars = st.characters(codec="utf-8", exclude_categories=("Cs",))
_text = st.one_of(
    st.text(_chars, max_size=300),
    st.text(st.sampled_from("ab \t\r\n=.-é€\x00\x0c\x1c\x7f"), max_size=300),
    st.builds(
        lambda word, n: word * n, st.text(st.sampled_from("ab= é\x0c\x1e"), min_size=1, max_size=5), st.integers(1, 600)
    ),
)
# header values as build_mime gets them: one line, no control characters (the renderer makes a subject so;
# Baton writes the rest)
_one_line = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="\u2028\u2029")
_header_value = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=1100),
    st.text(_one_line, max_size=200),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subject=_header_value,
    text=_text,
    html=st.one_of(st.none(), _text),
    unsubscribe=_header_value,
    sender=st.sampled_from(["orders@shop.example", "Schöne Schuhe <news@shop.example>", "Shop <o@shop.example>"]),
    recipient=st.sampled_from(["sam@example.com", "o'neil+deals@example.com", "jürgen@example.de"]),
)
def test_the_bytes_are_those_of_the_email_packages_generator(
    subject: str, text: str, html: str | None, unsubscribe: str, sender: str, recipient: str
) -> None:
    mail = envelope(
        recipient=recipient,
        content=Rendered(subject=subject, text=text, html=html),
        headers={"List-Unsubscribe": unsubscribe, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    mine = build_mime(mail, sender)
    message_id = re.search(rb"\r\nMessage-ID: (<[^>]*>)\r\n", mine)
    boundary = re.search(rb'^Content-Type: multipart/alternative; boundary="([^"]+)"', mine)
    assert message_id is not None
    assert (boundary is not None) == bool(html)
    # the message id and the boundary are random: the reference is given the ones build_mime chose
    chosen = (boundary.group(1).decode() if boundary else "", message_id.group(1).decode())
    assert mine == reference_mime(mail, sender, *chosen)
    # and on its own terms (RFC 5322, RFC 2045): 7-bit, CRLF line ends only, no line over 998, no NUL
    assert mine.isascii() and b"\x00" not in mine
    lines = mine.split(b"\r\n")
    assert all(b"\r" not in line and b"\n" not in line for line in lines)
    # (a value longer than a line with no space to fold at cannot fit: Baton's own stay within one, see unsubscribe)
    assert max(len(line) for line in lines) <= MAX_LINE or max(len(subject), len(unsubscribe)) > MAX_LINE - 20
    assert parsed(mine)["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # the headers end where they should
