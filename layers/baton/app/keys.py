"""Baton's two keys, each in a Secrets Manager secret of its own, so that each can be read, rotated and granted
apart from the other:

- the unsubscribe token **signing keys** (JSON ``{"keys": [{"id": ..., "key": ..., "from": ...}], "legacy": ...}``):
  every key that may still verify a token, each with an id carried in the tokens it signs and the time from which
  it signs. New tokens are signed with the newest key whose ``from`` has come; the others still verify the tokens
  they signed until those expire. ``legacy`` names the key that verifies tokens made before tokens carried a key id.
- the **address salt** (JSON ``{"address_salt": ...}``) that keys the address hashes of the suppression list. It is
  never rotated by Baton: a new salt would orphan every suppressed address's hash (see docs/security.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from baton.core.errors import ConfigurationError

MIN_KEY_BYTES = 32
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,12}")  # in every token: URL-safe, and short enough that the header fits
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SigningKey:
    id: str
    key: bytes
    since: datetime  # signs new tokens from this time on (until a newer key's time comes)


def _key_text(value: Any, source: str, name: str) -> bytes:
    if not isinstance(value, str) or len(value.encode()) < MIN_KEY_BYTES:
        raise ConfigurationError(f"secret {source}: {name} must be a string of at least {MIN_KEY_BYTES} bytes")
    return value.encode()


def _since(value: Any, source: str, key_id: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise ConfigurationError(f"secret {source}: key {key_id}: from must be an ISO 8601 time, got {value!r}") from (
            None
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SigningKeys:
    """The signing keys, oldest first."""

    keys: tuple[SigningKey, ...]
    legacy: str | None = None  # the id of the key that verifies tokens without a key id (made before key ids)

    def signing(self, now: datetime) -> SigningKey:
        """The key new tokens are signed with: the newest whose time has come (the oldest, if none has yet)."""
        due = [key for key in self.keys if key.since <= now]
        return due[-1] if due else self.keys[0]

    def verifying(self, key_id: str | None) -> bytes | None:
        """The key that verifies a token of ``key_id`` (``None``: a token without a key id), or None if Baton holds
        no such key (never had it, or dropped it after every token it signed had expired)."""
        wanted = self.legacy if key_id is None else key_id
        return next((key.key for key in self.keys if key.id == wanted), None) if wanted else None

    @classmethod
    def from_mapping(cls, value: Any, source: str) -> SigningKeys:
        entries = value.get("keys") if isinstance(value, dict) else None
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            raise ConfigurationError(f"secret {source} must be a JSON object with a non-empty list of keys")
        keys = []
        for entry in entries:
            key_id = entry.get("id")
            if not isinstance(key_id, str) or not KEY_ID.fullmatch(key_id):
                raise ConfigurationError(f"secret {source}: a key id must match {KEY_ID.pattern}, got {key_id!r}")
            keys.append(
                SigningKey(
                    key_id,
                    _key_text(entry.get("key"), source, f"key {key_id}"),
                    _since(entry.get("from", EPOCH.isoformat()), source, key_id),
                )
            )
        if len({key.id for key in keys}) != len(keys):
            raise ConfigurationError(f"secret {source}: two keys have the same id")
        legacy = value.get("legacy")
        if legacy is not None and legacy not in {key.id for key in keys}:
            legacy = None  # the legacy key was dropped: tokens without a key id no longer verify
        return cls(tuple(sorted(keys, key=lambda key: key.since)), legacy)

    def as_mapping(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "keys": [{"id": k.id, "key": k.key.decode(), "from": k.since.isoformat()} for k in self.keys]
        }
        if self.legacy:
            document["legacy"] = self.legacy
        return document


def address_salt_from_mapping(value: Any, source: str) -> bytes:
    """The salt from its secret's JSON (``{"address_salt": ...}``; the combined secret of before has it too)."""
    if not isinstance(value, dict):
        raise ConfigurationError(f"secret {source} must be a JSON object with address_salt")
    return _key_text(value.get("address_salt"), source, "address_salt")


LOCAL_SIGNING_KEYS = SigningKeys((SigningKey("local", b"local-only-signing-key-0123456789abcdef", EPOCH),))
LOCAL_ADDRESS_SALT = b"local-only-address-salt-0123456789abc"
