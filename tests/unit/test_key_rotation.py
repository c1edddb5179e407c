"""Signing-key rotation (``baton.ops.keys``) with the token code that reads its result: a rotated key signs only
once every function can have read it, the keys before it verify their tokens until those expire and are then
dropped, a token of a key id Baton does not hold is refused with 403, and legacy tokens (no key id) verify with the
legacy key only while it is kept. No AWS."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from baton.app.keys import EPOCH, SigningKey, SigningKeys
from baton.app.unsubscribe import VALIDITY, Claim, TokenError, _signature, sign, verify
from baton.core.errors import ConfigurationError
from baton.ops.keys import ACTIVATION_DELAY, LEGACY_KEY_ID, first_signing_keys, rotate

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
OLD = SigningKeys((SigningKey("k0", b"0" * 40, EPOCH),))


def token_at(keys: SigningKeys, when: datetime, customer: str = "c1") -> str:
    return sign(Claim(customer, "category:sale", when + VALIDITY), keys.signing(when))


def key_id(token: str) -> str:
    return token.split(".")[1]


def legacy_token(key: bytes, when: datetime) -> str:
    """A token as signed before key ids: ``v1.<payload>.<signature over v1.<payload>>``."""
    body = {"c": "c1", "s": "category:sale", "e": int((when + VALIDITY).timestamp())}
    payload = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"v1.{payload}.{_signature(key, f'v1.{payload}')}"


def test_after_a_rotation_old_tokens_verify_and_new_ones_use_the_new_key_id() -> None:
    old_token = token_at(OLD, NOW)
    rotation = rotate(OLD, NOW, key_id="k1")
    keys = rotation.keys
    assert [k.id for k in keys.keys] == ["k0", "k1"] and rotation.dropped == ()
    # until every function can have read the new key, the old one still signs
    assert key_id(token_at(keys, NOW + ACTIVATION_DELAY - timedelta(seconds=1))) == "k0"
    new_token = token_at(keys, NOW + ACTIVATION_DELAY)
    assert key_id(new_token) == "k1"
    later = NOW + ACTIVATION_DELAY + timedelta(days=1)
    assert verify(new_token, keys, later).customer_id == "c1"
    assert verify(old_token, keys, later).customer_id == "c1"  # signed before the rotation, still good
    # the old key would not verify a token of the new one
    with pytest.raises(TokenError) as refused:
        verify(new_token, OLD, later)
    assert refused.value.status == 403


def test_a_token_of_an_unknown_key_id_is_403() -> None:
    stranger = SigningKeys((SigningKey("kx", b"0" * 40, EPOCH),))  # the same secret bytes, another id
    with pytest.raises(TokenError) as refused:
        verify(token_at(stranger, NOW), OLD, NOW)
    assert refused.value.status == 403


def test_a_key_is_dropped_once_every_token_it_signed_has_expired() -> None:
    first = rotate(OLD, NOW, key_id="k1").keys
    retired = NOW + ACTIVATION_DELAY  # when k0 stopped signing
    last_old_token = token_at(first, retired - timedelta(seconds=1))
    assert key_id(last_old_token) == "k0"
    # a rotation while that token can still be unexpired keeps k0
    kept = rotate(first, retired + VALIDITY - timedelta(seconds=2), key_id="k2")
    assert [k.id for k in kept.keys.keys] == ["k0", "k1", "k2"]
    assert verify(last_old_token, kept.keys, retired + VALIDITY - timedelta(seconds=2)).customer_id == "c1"
    # one after it drops k0: no token it signed can be unexpired any more
    dropped = rotate(first, retired + VALIDITY, key_id="k2")
    assert dropped.dropped == ("k0",) and [k.id for k in dropped.keys.keys] == ["k1", "k2"]


def test_legacy_tokens_verify_with_the_legacy_key_only_while_it_is_kept() -> None:
    combined = {"signing_key": "s" * 48, "address_salt": "a" * 48}
    keys = first_signing_keys(NOW, combined)
    assert keys.legacy == LEGACY_KEY_ID and keys.signing(NOW).id == LEGACY_KEY_ID
    mailed = legacy_token(b"s" * 48, NOW)
    assert verify(mailed, keys, NOW).customer_id == "c1"
    # a legacy token signed with any other key is not ours
    with pytest.raises(TokenError) as refused:
        verify(legacy_token(b"t" * 48, NOW), keys, NOW)
    assert refused.value.status == 403
    rotated = rotate(keys, NOW, key_id="k1").keys
    assert verify(mailed, rotated, NOW + timedelta(days=59)).customer_id == "c1"
    # once the legacy key is dropped, no token without a key id verifies
    gone = rotate(rotated, NOW + ACTIVATION_DELAY + VALIDITY, key_id="k2").keys
    assert gone.legacy is None
    with pytest.raises(TokenError) as refused:
        verify(legacy_token(b"s" * 48, NOW + ACTIVATION_DELAY + VALIDITY), gone, NOW + ACTIVATION_DELAY + VALIDITY)
    assert refused.value.status == 403


def test_a_new_deployment_has_one_fresh_key_and_no_legacy() -> None:
    keys = first_signing_keys(NOW)
    assert len(keys.keys) == 1 and keys.legacy is None and keys.signing(NOW).since == NOW
    with pytest.raises(TokenError) as refused:
        verify(legacy_token(keys.keys[0].key, NOW), keys, NOW)
    assert refused.value.status == 403


def test_the_secret_round_trips_and_a_bad_one_is_named() -> None:
    keys = rotate(first_signing_keys(NOW, {"signing_key": "s" * 48, "address_salt": "x"}), NOW, key_id="k1").keys
    assert SigningKeys.from_mapping(json.loads(json.dumps(keys.as_mapping())), "s") == keys
    for bad, message in (
        ({}, "non-empty list of keys"),
        ({"keys": [{"id": "k/1", "key": "k" * 40}]}, "a key id must match"),
        ({"keys": [{"id": "k" * 13, "key": "k" * 40}]}, "a key id must match"),
        ({"keys": [{"id": "k1", "key": "short"}]}, "key k1 must be a string of at least 32 bytes"),
        ({"keys": [{"id": "k1", "key": "k" * 40}, {"id": "k1", "key": "j" * 40}]}, "two keys have the same id"),
        ({"keys": [{"id": "k1", "key": "k" * 40, "from": "yesterday"}]}, "from must be an ISO 8601 time"),
    ):
        with pytest.raises(ConfigurationError, match=message):
            SigningKeys.from_mapping(bad, "baton/signing-keys")
    with pytest.raises(ValueError, match="already in the secret"):
        rotate(keys, NOW, key_id="k1")
