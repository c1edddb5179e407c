"""Baton's two keys, from one Secrets Manager secret (JSON ``{"signing_key": ..., "address_salt": ...}``):
the unsubscribe token signing key, and the salt that keys address hashes (the suppression list)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from baton.core.errors import ConfigurationError

MIN_KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class Keys:
    signing_key: bytes
    address_salt: bytes

    @classmethod
    def from_mapping(cls, value: Any, source: str) -> Keys:
        if not isinstance(value, dict):
            raise ConfigurationError(f"secret {source} must be a JSON object with signing_key and address_salt")
        keys = {}
        for name in ("signing_key", "address_salt"):
            text = value.get(name)
            if not isinstance(text, str) or len(text.encode()) < MIN_KEY_BYTES:
                raise ConfigurationError(f"secret {source}: {name} must be a string of at least {MIN_KEY_BYTES} bytes")
            keys[name] = text.encode()
        return cls(**keys)


LOCAL_KEYS = Keys(
    signing_key=b"local-only-signing-key-0123456789abcdef", address_salt=b"local-only-address-salt-0123456789abc"
)
