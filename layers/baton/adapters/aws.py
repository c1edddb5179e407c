"""The one way Baton makes a boto3 client: standard retries (exponential backoff with jitter on throttling) and
timeouts short enough that a hung call leaves the caller time to retry. Imports nothing of Baton's own, so the
storefront client can use it without the ledger.

Every client of a function comes from one botocore session, pynamodb's included (``botocore_session``): each
session loads the SDK's endpoint and partition data again, about 40 ms of a cold start apiece."""

from __future__ import annotations

from functools import cache
from typing import Any

CLIENT_RETRIES: Any = {"mode": "standard", "max_attempts": 3}


@cache
def botocore_session() -> Any:
    from botocore.session import get_session

    return get_session()


@cache
def _session() -> Any:
    import boto3

    return boto3.session.Session(botocore_session=botocore_session())


def client_config() -> Any:
    from botocore.config import Config

    return Config(retries=CLIENT_RETRIES, connect_timeout=3, read_timeout=10)


def aws_client(name: str) -> Any:
    """A client from the function's one session (``baton.client`` uses boto3's default session instead, which a
    storefront may have set up with its own profile or region)."""
    return _session().client(name, config=client_config())


def aws_region() -> str | None:
    """The region the clients use (AWS_REGION in Lambda), or None where none is configured."""
    return _session().region_name
