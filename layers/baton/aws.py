"""The one way Baton makes a boto3 client: standard retries (exponential backoff with jitter on throttling) and
timeouts short enough that a hung call leaves the caller time to retry. Imports nothing of Baton's own, so the
storefront client can use it without the ledger."""

from __future__ import annotations

from typing import Any

CLIENT_RETRIES: Any = {"mode": "standard", "max_attempts": 3}


def aws_client(name: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(name, config=Config(retries=CLIENT_RETRIES, connect_timeout=3, read_timeout=10))  # type: ignore[call-overload]
