"""One-click unsubscribe (RFC 8058): signed, expiring tokens and the headers every marketing email carries.

A token is ``v1.<payload>.<signature>``: the payload (base64url JSON) names the customer, the scope
(``category:<name>`` or ``channel:<name>``) and the expiry; the signature is HMAC-SHA256 over ``v1.<payload>``
with a key from Secrets Manager, compared in constant time. It holds no address.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

VERSION = "v1"
VALIDITY = timedelta(days=60)  # mailbox providers expect the link to keep working for a long while
HEADER = "List-Unsubscribe"
MAX_HEADER_LINE = 998 - len(": ")  # RFC 5322: a line of at most 998 characters, with the name and ": " on it


class TokenError(Exception):
    """A token that changes nothing: ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Claim:
    customer_id: str
    scope: str  # "category:<name>" or "channel:<name>"
    expires: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, f"{VERSION}.{payload}".encode(), hashlib.sha256).digest())


def sign(claim: Claim, key: bytes) -> str:
    body = {"c": claim.customer_id, "s": claim.scope, "e": int(claim.expires.timestamp())}
    # UTF-8 rather than \\u escapes: a customer id of non-ASCII characters makes a token half as long
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode())
    return f"{VERSION}.{payload}.{_signature(key, payload)}"


def verify(token: str, key: bytes, now: datetime) -> Claim:
    """The token's claim, or TokenError: 400 malformed, 403 not signed by us, 410 expired."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or parts[0] != VERSION or not parts[1] or not parts[2]:
        raise TokenError(400, "malformed unsubscribe token")
    _, payload, signature = parts
    if not hmac.compare_digest(_signature(key, payload).encode(), signature.encode()):
        raise TokenError(403, "unsubscribe token not valid")
    try:
        body = json.loads(_unb64(payload))
        claim = Claim(str(body["c"]), str(body["s"]), datetime.fromtimestamp(int(body["e"]), UTC))
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise TokenError(400, "malformed unsubscribe token") from exc
    kind, _, name = claim.scope.partition(":")
    if kind not in ("category", "channel") or not name:
        raise TokenError(400, "malformed unsubscribe token")
    if claim.expires <= now:
        raise TokenError(410, "this unsubscribe link has expired; use the preference centre")
    return claim


@dataclass(frozen=True, slots=True)
class Links:
    """Where unsubscribe links point, and how they are signed."""

    url: str  # the endpoint, e.g. https://<function-url>/unsubscribe
    key: bytes
    mailto: str | None = None

    def headers(self, customer_id: str, scope: str, now: datetime) -> dict[str, str]:
        token = sign(Claim(customer_id, scope, now + VALIDITY), self.key)
        targets = [f"<{self.url}?token={token}>"]
        if self.mailto:
            targets.append(f"<mailto:{self.mailto}?subject={quote('unsubscribe ' + token)}>")
        if len(HEADER) + len(", ".join(targets)) > MAX_HEADER_LINE:
            targets = targets[:1]  # the mailto target is optional (RFC 8058 needs the HTTPS one): one line
        return {HEADER: ", ".join(targets), "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
