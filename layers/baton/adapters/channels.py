"""Channel adapters: SESv2 for email (raw MIME, so every header is exact), SNS for SMS and mobile push.

Provider errors become domain errors here: throttling, 5xx and timeouts are TransientFailure (retried with
backoff by botocore's standard retry mode, then by redelivery); anything else is PermanentDeliveryFailure with
the provider's code as the reason.
"""

from __future__ import annotations

import re
import secrets
from email.charset import QP, Charset
from email.header import Header
from email.quoprimime import body_encode
from email.utils import formataddr, make_msgid, parseaddr
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, ReadTimeoutError

from baton.app.ports import Envelope
from baton.core.errors import PermanentDeliveryFailure, TransientFailure

TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "LimitExceededException",
        "SendingPausedException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "InternalErrorException",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
        "KMSThrottlingException",
    }
)


def classify(exc: Exception) -> Exception:
    """A provider exception as TransientFailure or PermanentDeliveryFailure."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
        if code in TRANSIENT_CODES or status >= 500:
            return TransientFailure(f"provider:{code}")
        return PermanentDeliveryFailure(f"provider:{code}")
    if isinstance(exc, ConnectionError | ReadTimeoutError | BotoCoreError):
        return TransientFailure(f"provider:{type(exc).__name__}")
    return exc


# The raw message is written here, line by line, with the email package's encoders: RFC 2047 words for non-ASCII
# header text (``Header``), quoted-printable bodies (``quoprimime``), addresses with ``formataddr``. The lines are
# the very bytes the email package's compat32 generator writes for the same message (tests/unit/test_mime.py
# holds the two to each other), in a tenth of its time for ASCII content and a third for non-ASCII: the generator
# walks message objects and folds every header anew. CRLF line ends, and no folding below RFC 5322's
# 998-character line limit, so that List-Unsubscribe reaches the mailbox exactly as written.
MAX_LINE = 998
CRLF = "\r\n"
_LINE_ENDS = re.compile(r"\r\n|\r|\n")
_LINE_BREAKS = re.compile("[\n\r\v\f\x1c\x1d\x1e]")  # the ASCII characters str.splitlines() breaks at, as Header does
_NOT_7BIT = re.compile("[^\t\n\r\x20-\x7e]")  # 7bit is printable ASCII, tabs and line ends (RFC 2045: no NUL)
UTF8 = Charset("utf-8")
UTF8.body_encoding = QP  # 7-bit safe bodies that stay readable (the default for utf-8 is base64)
UTF8.header_encoding = QP


def _address(value: str) -> str:
    """An address header value. A bare address (every recipient: the contract admits no other form) is kept as
    it is, but for a non-ASCII local part, written as RFC 2047 words as the email package always has (the real
    recipient is SES's Destination; this header is what the mailbox shows). A named one (the sender may be
    ``Name <address>``) gets its display name encoded where it is not ASCII."""
    if "<" not in value:
        local, _, domain = value.rpartition("@")
        return value if local.isascii() else f"{Header(local, UTF8).encode()}@{domain}"
    return formataddr(parseaddr(value), charset=UTF8)


def _header(name: str, value: str) -> str:
    """One header field. ASCII on one line that fits is written as it is (``Header`` would give back the same);
    anything else goes through ``Header``: RFC 2047 words for non-ASCII text, folded below the line limit."""
    if value.isascii() and len(name) + 2 + len(value) <= MAX_LINE and not _LINE_BREAKS.search(value):
        return f"{name}: {value}{CRLF}"
    return f"{name}: {Header(value, header_name=name).encode(linesep=CRLF, maxlinelen=MAX_LINE)}{CRLF}"


def _part(text: str, subtype: str) -> tuple[str, str]:
    """A body part's header fields and its body. 7-bit as it is when it can be (printable ASCII, no line over
    998 characters as written), else quoted-printable, which also breaks long lines (a digest lists its items
    on one line) into soft-wrapped ones."""
    lines = _LINE_ENDS.split(text)
    if not _NOT_7BIT.search(text) and all(len(line) <= MAX_LINE for line in lines):
        charset, encoding, body = "us-ascii", "7bit", text
    else:  # quoprimime encodes a str of byte values: the UTF-8 bytes, read as Latin-1
        charset, encoding, body = "utf-8", "quoted-printable", body_encode(text.encode("utf-8").decode("latin-1"))
    fields = (
        f'Content-Type: text/{subtype}; charset="{charset}"{CRLF}MIME-Version: 1.0{CRLF}'
        f"Content-Transfer-Encoding: {encoding}{CRLF}"
    )
    return fields, CRLF.join(_LINE_ENDS.split(body))


def _boundary(*parts: str) -> str:
    """A multipart boundary that occurs in none of the parts as encoded."""
    while True:
        boundary = f"=_{secrets.token_hex(16)}"
        if not any(boundary in part for part in parts):
            return boundary


def build_mime(envelope: Envelope, sender: str) -> bytes:
    """The raw message: one text/plain part, or text/plain and text/html in a multipart/alternative."""
    fields, body = _part(envelope.content.text, "plain")
    if envelope.content.html:
        html_fields, html = _part(envelope.content.html, "html")
        boundary = _boundary(body, html)
        body = (
            f"--{boundary}{CRLF}{fields}{CRLF}{body}{CRLF}--{boundary}{CRLF}{html_fields}{CRLF}{html}{CRLF}"
            f"--{boundary}--{CRLF}"
        )
        fields = f'Content-Type: multipart/alternative; boundary="{boundary}"{CRLF}MIME-Version: 1.0{CRLF}'
    head = [
        fields,
        _header("From", _address(sender)),
        _header("To", _address(envelope.recipient)),
        _header("Subject", envelope.content.subject),
        _header("Message-ID", make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2])),
        *(_header(name, value) for name, value in envelope.headers.items()),
    ]
    return f"{''.join(head)}{CRLF}{body}".encode("ascii")


class AwsChannels:
    """``baton.app.ports.Channels`` on SESv2 and SNS."""

    def __init__(self, sesv2: Any, sns: Any, *, sender: str, configuration_set: str):
        self._ses = sesv2
        self._sns = sns
        self._sender = sender
        self._configuration_set = configuration_set

    def send(self, envelope: Envelope) -> str:
        try:
            if envelope.channel == "email":
                return self._email(envelope)
            if envelope.channel == "sms":
                return self._sms(envelope)
            return self._push(envelope)
        except (ClientError, BotoCoreError) as exc:
            raise classify(exc) from exc

    def _email(self, envelope: Envelope) -> str:
        response = self._ses.send_email(
            FromEmailAddress=self._sender,
            Destination={"ToAddresses": [envelope.recipient]},
            Content={"Raw": {"Data": build_mime(envelope, self._sender)}},
            ConfigurationSetName=self._configuration_set,
            EmailTags=[
                {"Name": "category", "Value": envelope.category},
                {"Name": "transactional", "Value": str(envelope.transactional).lower()},
            ],
        )
        return str(response["MessageId"])

    def _sms(self, envelope: Envelope) -> str:
        # STOP replies put a number on SNS's opt-out list; SNS would accept the publish and drop it silently,
        # so ask first and end the request failed with a reason an operator can read.
        if self._sns.check_if_phone_number_is_opted_out(phoneNumber=envelope.recipient).get("isOptedOut"):
            raise PermanentDeliveryFailure("sms_opted_out")
        kind = "Transactional" if envelope.transactional else "Promotional"
        response = self._sns.publish(
            PhoneNumber=envelope.recipient,
            Message=envelope.content.text,
            MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": kind}},
        )
        return str(response["MessageId"])

    def _push(self, envelope: Envelope) -> str:
        response = self._sns.publish(TargetArn=envelope.recipient, Message=envelope.content.text)
        return str(response["MessageId"])
