"""Unsubscribe tokens: every forgery is refused and changes nothing (unit: no AWS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from baton.app.keys import EPOCH, SigningKey, SigningKeys
from baton.app.unsubscribe import Claim, Links, TokenError, sign, verify

KEY = SigningKey("k1", b"k" * 32, EPOCH)
KEYS = SigningKeys((KEY,))
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def token(
    customer: str = "c1", scope: str = "category:newsletter", expires: datetime | None = None, key: SigningKey = KEY
) -> str:
    return sign(Claim(customer, scope, expires or NOW + timedelta(days=1)), key)


def tamper_payload(original: str, **changes: object) -> str:
    import base64
    import json

    version, key_id, payload, signature = original.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{version}.{key_id}.{forged}.{signature}"


def test_a_valid_token_names_customer_scope_and_expiry() -> None:
    claim = verify(token(), KEYS, NOW)
    assert (claim.customer_id, claim.scope) == ("c1", "category:newsletter")
    assert claim.expires == NOW + timedelta(days=1)


@pytest.mark.parametrize(
    ("forged", "status"),
    [
        (tamper_payload(token(), c="someone-else"), 403),  # another customer
        (tamper_payload(token(), s="channel:email"), 403),  # another scope
        (tamper_payload(token(), e=int((NOW + timedelta(days=999)).timestamp())), 403),  # a changed expiry
        (token(key=SigningKey("k1", b"w" * 32, EPOCH)), 403),  # a wrong key under our key id
        (token(key=SigningKey("k9", b"k" * 32, EPOCH)), 403),  # a key id Baton does not hold
        (token()[:-5], 403),  # a truncated signature
        (".".join(token().split(".")[:3]), 400),  # no signature
        (token()[:10], 400),  # truncated to nothing useful
        ("", 400),
        ("v3." + token().split(".", 1)[1], 400),  # unknown version
        ("v2.k/1." + token().split(".", 2)[2], 400),  # a key id that is no key id
        ("v1." + token().split(".", 2)[2], 403),  # a legacy token while Baton holds no legacy key
    ],
)
def test_forged_tokens_are_refused(forged: str, status: int) -> None:
    with pytest.raises(TokenError) as refused:
        verify(forged, KEYS, NOW)
    assert refused.value.status == status


def test_an_expired_token_is_gone() -> None:
    expired = token(expires=NOW - timedelta(seconds=1))
    with pytest.raises(TokenError) as refused:
        verify(expired, KEYS, NOW)
    assert refused.value.status == 410


def test_headers_hold_no_address_and_follow_rfc_8058() -> None:
    headers = Links(url="https://u.example/unsubscribe", keys=lambda: KEYS, mailto="unsub@shop.example").headers(
        "c1", "category:sale", NOW
    )
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = headers["List-Unsubscribe"].split(", ")
    assert https.startswith("<https://u.example/unsubscribe?token=v2.k1.") and https.endswith(">")
    assert mailto.startswith("<mailto:unsub@shop.example?subject=unsubscribe%20v2.k1.")
    assert "@" not in https


def test_the_header_stays_one_line_within_the_line_limit_for_the_longest_customer_id() -> None:
    """A customer id may be 128 characters of any script: its token is UTF-8, and the optional mailto target
    is left out where both would not fit on one 998-character line."""
    longest = "\U0001f600" * 128
    url = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-central-1.on.aws/unsubscribe"  # a function URL
    # the longest key id Baton accepts
    keys = SigningKeys((SigningKey("k" * 12, b"k" * 32, EPOCH),))
    links = Links(url=url, keys=lambda: keys, mailto="unsubscribe@shop.example")
    for customer, mailto in (("c1", True), (longest, False)):
        headers = links.headers(customer, "category:" + "c" * 64, NOW)
        line = f"List-Unsubscribe: {headers['List-Unsubscribe']}"
        assert len(line) <= 998 and "\n" not in line, len(line)
        assert ("mailto:" in line) is mailto
        url_token = line.split("token=", 1)[1].split(">", 1)[0]
        assert verify(url_token, keys, NOW).customer_id == customer


def test_a_legacy_token_made_with_escaped_json_still_verifies_with_the_legacy_key() -> None:
    """Tokens signed before key ids (v1) and before the payload was UTF-8 (JSON with \\u escapes) keep working for
    their 60 days, with the key the secret names legacy."""
    import base64
    import json

    from baton.app.unsubscribe import _signature

    body = {"c": "jürgen", "s": "category:newsletter", "e": int((NOW + timedelta(days=1)).timestamp())}
    payload = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).rstrip(b"=").decode()
    assert "\\u00fc" in json.dumps(body)
    legacy = f"v1.{payload}.{_signature(KEY.key, f'v1.{payload}')}"
    assert verify(legacy, SigningKeys((KEY,), legacy="k1"), NOW).customer_id == "jürgen"
