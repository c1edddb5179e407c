"""Baton's keys from Secrets Manager (the secret named in the function's settings), through powertools
Parameters."""

from __future__ import annotations

from functools import cache
from typing import Any

from baton.app.keys import Keys


@cache
def _secrets() -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from baton.adapters.aws import aws_client

    return SecretsProvider(boto3_client=aws_client("secretsmanager"))


def keys_from_secret(name: str, max_age: int = 300) -> Keys:
    """The keys from Secrets Manager through powertools Parameters (cached for ``max_age`` seconds), with the
    process's one client factory (``baton.adapters.aws``)."""
    return Keys.from_mapping(_secrets().get(name, transform="json", max_age=max_age), name)
