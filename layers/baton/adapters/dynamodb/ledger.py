"""The contact ledger on DynamoDB, through pynamodb. Implements ``baton.app.ports.Ledger``.

Single table (names in ``baton.names``):

- customer state: pk ``C#<customer>``, sk ``STATE``: profile, consent, contacts in the longest window, the
  pending set, exclusion marks, and a version that every write checks and moves.
- request: pk ``C#<customer>``, sk ``R#<request>``: status, reason, cap counts, policy version, payload; TTL is the
  audit retention. While pending or sending it carries the ``due`` index keys (release time or send lease).
- address: pk ``A#<hash>``, sk ``ADDR``: suppression (hard bounce, complaint) of an address, by keyed hash only.

A decision reads the state, the request and the address in one BatchGetItem, and writes the state (conditional
on its version) and the request items in one TransactWriteItems: two round trips, caps exact under any
concurrency. Stored items are converted to and from the domain here and nowhere else.

The adapter is assembled from its parts: ``decisions`` (reads, commit), ``delivery`` (leases, confirms),
``customers`` (profiles, feedback, erasure); ``items`` holds the models, ``codec`` the conversions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from baton.adapters.dynamodb.customers import Customers
from baton.adapters.dynamodb.decisions import Decisions
from baton.adapters.dynamodb.delivery import Delivery
from baton.adapters.dynamodb.fleet import Fleet
from baton.adapters.dynamodb.items import (
    _models,
)
from baton.core.addresses import DEFAULT_SALT, address_hash


class DynamoLedger(Decisions, Delivery, Customers, Fleet):
    """``baton.app.ports.Ledger`` on one DynamoDB table. ``salt`` keys the address hashes (see the docs, Erasure);
    ``session`` is the botocore session to build the DynamoDB client from (``baton.adapters.aws.botocore_session``)."""

    def __init__(
        self,
        table_name: str,
        *,
        retention: timedelta,
        host: str | None = None,
        region: str = "us-east-1",
        salt: bytes = DEFAULT_SALT,
        session: Any = None,
    ):
        self._m = _models(table_name, host, region, session)
        self._retention = retention
        self._salt = salt

    def hash(self, address: str) -> str:
        return address_hash(address, self._salt)


def iter_items(ledger: DynamoLedger) -> Iterable[Mapping[str, Any]]:
    """Every item in the table as plain attributes (tests, erasure checks)."""
    for item in ledger._m.item.scan():
        yield item.attribute_values
