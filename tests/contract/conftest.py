"""The ledger contract's fixture: a fresh, empty ledger of each implementation of ``baton.app.ports.Ledger``. The
in-memory ledger; the DynamoDB ledger on embedded moto; the DynamoDB ledger on Amazon's DynamoDB Local (one engine
for the session, a table of its own for each test)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from baton.adapters.dynamodb.ledger import DynamoLedger
from baton.adapters.memory import MemoryLedger
from baton.local.dynamodb_local import DynamoDBLocal
from baton.local.mocked_aws import LOCAL_ENV, REGION, create_table, mocked_aws
from baton.names import TABLE_NAME
from tests.contract.shop import RETENTION, Shop

IMPLEMENTATIONS = ["memory", "moto", pytest.param("dynamodb_local", marks=pytest.mark.dynamodb)]


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    with DynamoDBLocal() as engine:
        yield engine


def _on_dynamodb_local(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoLedger]:
    engine: DynamoDBLocal = request.getfixturevalue("dynamodb_local")
    for key, value in LOCAL_ENV.items():
        monkeypatch.setenv(key, value)
    table = f"contract-{uuid.uuid4().hex[:10]}"
    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=engine.endpoint)
    create_table(client, table)
    try:
        yield DynamoLedger(table, retention=RETENTION, host=engine.endpoint, region=REGION)
    finally:
        client.delete_table(TableName=table)


@pytest.fixture(params=IMPLEMENTATIONS)
def ledger(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh, empty ledger of each implementation."""
    if request.param == "memory":
        yield MemoryLedger(retention=RETENTION)
    elif request.param == "moto":
        with mocked_aws():
            yield DynamoLedger(TABLE_NAME, retention=RETENTION, region=REGION)
    else:
        yield from _on_dynamodb_local(request, monkeypatch)


@pytest.fixture
def shop(ledger: Any) -> Shop:
    return Shop(ledger)
