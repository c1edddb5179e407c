"""One DynamoDB Local for the whole session (about 3 s to start); each test makes its own table on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from baton.local.dynamodb_local import DynamoDBLocal


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    with DynamoDBLocal() as engine:
        yield engine
