"""Baton's keys from Secrets Manager (the secrets named in the function's settings), through powertools
Parameters: the address salt and the unsubscribe signing keys, each from its own secret."""

from __future__ import annotations

from functools import cache
from typing import Any

from baton.app.keys import SigningKeys, address_salt_from_mapping

MAX_AGE = 300  # seconds a function keeps a secret before reading it again (``baton keys rotate`` waits longer)


@cache
def _secrets() -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from baton.adapters.aws import aws_client

    return SecretsProvider(boto3_client=aws_client("secretsmanager"))


def address_salt_from_secret(name: str, max_age: int = MAX_AGE) -> bytes:
    """The address-hash salt (cached for ``max_age`` seconds), with the process's one client factory
    (``baton.adapters.aws``)."""
    return address_salt_from_mapping(_secrets().get(name, transform="json", max_age=max_age), name)


def signing_keys_from_secret(name: str, max_age: int = MAX_AGE) -> SigningKeys:
    """The unsubscribe signing keys (cached for ``max_age`` seconds)."""
    return SigningKeys.from_mapping(_secrets().get(name, transform="json", max_age=max_age), name)
