"""Address identity without holding the address: a keyed hash names an address on the suppression list."""

from __future__ import annotations

import hashlib
import hmac

# Not a secret on its own: it separates Baton's hashes from any other system's. Deployments may set their own
# salt (see README, Erasure) so the hashes cannot be compared across installations.
DEFAULT_SALT = b"baton/address/v1"


def normalize(address: str) -> str:
    address = address.strip()
    return address.lower() if "@" in address else address


def address_hash(address: str, salt: bytes = DEFAULT_SALT) -> str:
    return hmac.new(salt, normalize(address).encode(), hashlib.sha256).hexdigest()
