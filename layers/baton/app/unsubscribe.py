"""One-click unsubscribe (RFC 8058): signed, expiring tokens and the headers every marketing email carries.

A token is ``v2.<key id>.<payload>.<signature>``: the payload (base64url JSON) names the customer, the scope
(``category:<name>`` or ``channel:<name>``) and the expiry; the signature is HMAC-SHA256 over
``v2.<key id>.<payload>`` with the signing key of that id (``baton.app.keys.SigningKeys``), compared in constant
time. It holds no address. A token made before key ids (``v1.<payload>.<signature>``, signed over
``v1.<payload>``) is verified with the key the secret names ``legacy``, and with no other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from baton.app.keys import KEY_ID, SigningKey, SigningKeys

VERSION = "v2"
LEGACY_VERSION = "v1"  # no key id: verified with the legacy key while Baton holds it
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


def _signature(key: bytes, signed: str) -> str:
    return _b64(hmac.new(key, signed.encode(), hashlib.sha256).digest())


def sign(claim: Claim, key: SigningKey) -> str:
    body = {"c": claim.customer_id, "s": claim.scope, "e": int(claim.expires.timestamp())}
    # UTF-8 rather than \\u escapes: a customer id of non-ASCII characters makes a token half as long
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode())
    signed = f"{VERSION}.{key.id}.{payload}"
    return f"{signed}.{_signature(key.key, signed)}"


def _parts(token: str) -> tuple[str | None, str, str]:
    """(key id, what was signed, signature), the key id None for a legacy token; TokenError 400 if malformed."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) == 4 and parts[0] == VERSION and KEY_ID.fullmatch(parts[1]) and parts[2] and parts[3]:
        return parts[1], ".".join(parts[:3]), parts[3]
    if len(parts) == 3 and parts[0] == LEGACY_VERSION and parts[1] and parts[2]:
        return None, ".".join(parts[:2]), parts[2]
    raise TokenError(400, "malformed unsubscribe token")


def verify(token: str, keys: SigningKeys, now: datetime) -> Claim:
    """The token's claim, or TokenError: 400 malformed, 403 not signed by a key Baton holds (an unknown key id
    included), 410 expired."""
    key_id, signed, signature = _parts(token)
    key = keys.verifying(key_id)
    if key is None or not hmac.compare_digest(_signature(key, signed).encode(), signature.encode()):
        raise TokenError(403, "unsubscribe token not valid")
    payload = signed.rsplit(".", 1)[1]
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
    """Where unsubscribe links point, and how they are signed: ``keys`` is read when a link is first made, not
    before (the arbiter's cold start reads no signing key; its cache is the secret's)."""

    url: str  # the endpoint, e.g. https://<function-url>/unsubscribe
    keys: Callable[[], SigningKeys]
    mailto: str | None = None

    def headers(self, customer_id: str, scope: str, now: datetime) -> dict[str, str]:
        token = sign(Claim(customer_id, scope, now + VALIDITY), self.keys().signing(now))
        targets = [f"<{self.url}?token={token}>"]
        if self.mailto:
            targets.append(f"<mailto:{self.mailto}?subject={quote('unsubscribe ' + token)}>")
        if len(HEADER) + len(", ".join(targets)) > MAX_HEADER_LINE:
            targets = targets[:1]  # the mailto target is optional (RFC 8058 needs the HTTPS one): one line
        return {HEADER: ", ".join(targets), "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
