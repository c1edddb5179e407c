"""Who is in the global holdout: a keyed hash (HMAC-SHA256) of the customer id, with the deployment's address
salt (the secret that is never rotated, ``baton.app.keys``), placed on [0, 100). A customer is held out when the
place is below the policy's ``holdout.percent``.

So the group depends on the key, the customer id and the percentage only: not on arrival order, not on which
function asks (the arbiter, ``baton decide --dry-run``, ``baton replay``, ``baton lift``), and no one without the
key can choose or predict a customer's group. Raising the percentage keeps every customer already held out in the
group. Local runs use the local salt (``LOCAL_ADDRESS_SALT``), the same for every run.
"""

from __future__ import annotations

import hashlib
import hmac

from baton.core.errors import ConfigurationError
from baton.core.policy import Policy

_PURPOSE = b"baton/holdout/v1\x00"  # the salt also keys address hashes: this keeps the two uses apart
_SCALE = 100 / 2**64


def holdout_place(key: bytes, customer_id: str) -> float:
    """The customer's place on [0, 100): one HMAC."""
    digest = hmac.new(key, _PURPOSE + customer_id.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") * _SCALE


def in_holdout(key: bytes, customer_id: str, percent: float) -> bool:
    return percent > 0 and holdout_place(key, customer_id) < percent


def held_out(policy: Policy, key: bytes | None, customer_id: str, category: str, transactional: bool) -> bool:
    """Whether the policy holds this request's customer out: False at no cost (no HMAC) when the policy has no
    holdout, or the request is transactional (itself or by its category) or of an exempt category."""
    if policy.holdout is None or not policy.holds_out(category, transactional):
        return False
    if key is None:
        raise ConfigurationError("the policy has a holdout, and no key (the address salt) was given to assign it")
    return in_holdout(key, customer_id, policy.holdout.percent)
