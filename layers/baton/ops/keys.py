"""Key rotation for the unsubscribe signing keys (``baton keys rotate``), and the first contents of the two key
secrets (``infra.keys``). Not deployed: the functions only read the secrets.

A rotation adds a new key that signs from ``ACTIVATION_DELAY`` on, so that every function has read it (their
cache, ``baton.adapters.secrets.MAX_AGE``) before a token signed with it reaches the unsubscribe endpoint. The
keys before it keep verifying the tokens they signed until those expire, and are dropped from the secret by the
first rotation after that. The address salt is never rotated here (see docs/security.md).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from baton.adapters.secrets import MAX_AGE
from baton.app.keys import EPOCH, SigningKey, SigningKeys, address_salt_from_mapping
from baton.app.unsubscribe import VALIDITY

KEY_BYTES = 48  # > baton.app.keys.MIN_KEY_BYTES (32) once URL-safe encoded
ACTIVATION_DELAY = timedelta(seconds=2 * MAX_AGE)
LEGACY_KEY_ID = "legacy"  # the signing key carried over from the combined secret of before


def new_key() -> bytes:
    return secrets.token_urlsafe(KEY_BYTES).encode()


def new_key_id() -> str:
    return secrets.token_hex(4)


def retired_at(key: SigningKey, keys: SigningKeys) -> datetime | None:
    """When ``key`` stopped signing: the time the next key (by time) started; None while it is the newest."""
    later = [other.since for other in keys.keys if other.since > key.since]
    return min(later) if later else None


def still_verifying(key: SigningKey, keys: SigningKeys, now: datetime) -> bool:
    """A key is kept while a token it signed can still be unexpired."""
    retired = retired_at(key, keys)
    return retired is None or retired + VALIDITY > now


@dataclass(frozen=True)
class Rotation:
    keys: SigningKeys  # what the secret holds after the rotation
    added: SigningKey
    dropped: tuple[str, ...]  # ids of keys no token can need any more


def rotate(keys: SigningKeys, now: datetime, key_id: str | None = None, key: bytes | None = None) -> Rotation:
    """Add a new key that signs from ``now + ACTIVATION_DELAY``; drop every key whose tokens have all expired."""
    added = SigningKey(key_id or new_key_id(), key or new_key(), now + ACTIVATION_DELAY)
    if any(existing.id == added.id for existing in keys.keys):
        raise ValueError(f"key id {added.id} is already in the secret")
    kept = tuple(k for k in keys.keys if still_verifying(k, keys, now))
    dropped = tuple(k.id for k in keys.keys if k not in kept)
    legacy = keys.legacy if keys.legacy in {k.id for k in kept} else None
    return Rotation(SigningKeys((*kept, added), legacy), added, dropped)


def first_signing_keys(now: datetime, combined: dict[str, Any] | None = None) -> SigningKeys:
    """The signing secret's first contents: the combined secret's key (id ``legacy``, which also verifies the
    tokens made before key ids) if there was one, else a new key."""
    if combined is not None:
        legacy = SigningKey(LEGACY_KEY_ID, str(combined["signing_key"]).encode(), EPOCH)
        return SigningKeys((legacy,), LEGACY_KEY_ID)
    return SigningKeys((SigningKey(new_key_id(), new_key(), now),))


def first_address_salt(combined: dict[str, Any] | None, source: str) -> dict[str, str]:
    """The salt secret's first contents: the combined secret's salt if there was one (so every suppressed address
    stays suppressed), else a new salt."""
    salt = address_salt_from_mapping(combined, source) if combined is not None else new_key()
    return {"address_salt": salt.decode()}


def read_signing_keys(client: Any, name: str) -> SigningKeys:
    return SigningKeys.from_mapping(json.loads(client.get_secret_value(SecretId=name)["SecretString"]), name)


def write_signing_keys(client: Any, name: str, keys: SigningKeys) -> None:
    client.put_secret_value(SecretId=name, SecretString=json.dumps(keys.as_mapping()))
