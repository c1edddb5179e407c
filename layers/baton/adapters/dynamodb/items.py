"""The ledger table's items: their keys, and the pynamodb models bound to one table (built lazily, so
nothing reads the environment at import time). Single-table design: see ``baton.adapters.dynamodb.ledger``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from pynamodb.attributes import (
    DiscriminatorAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from baton.names import DUE_INDEX, DUE_INDEX_PK, DUE_INDEX_SK, PK, SK, TTL_ATTRIBUTE, due_shard_of

STATE_SK = "STATE"

ADDRESS_SK = "ADDR"


def customer_pk(customer_id: str) -> str:
    return f"C#{customer_id}"


def request_sk(request_id: str) -> str:
    return f"R#{request_id}"


def engagement_sk(kind: str, key: str) -> str:
    """An engagement of the customer's, beside (never in) the state item: ``E#<kind>#<key>``."""
    return f"E#{kind}#{key}"


def address_pk(digest: str) -> str:
    return f"A#{digest}"


def due_partition(shard: int) -> str:
    """The due index's partition key of one shard."""
    return f"DUE#{shard}"


def due_shard(customer_id: str) -> str:
    return due_partition(due_shard_of(customer_id))


@dataclass(frozen=True)
class _Models:
    item: Any
    state: Any
    request: Any
    address: Any
    audit: Any
    engagement: Any
    fleet: Any
    connection: Connection


@cache
def _models(table_name: str, host: str | None, region: str, session: Any = None) -> _Models:
    """Model classes bound to one table; built lazily so nothing reads the environment at import time.
    ``session``: the botocore session for the table's client (default: pynamodb makes its own)."""

    class _Meta:
        pass

    _Meta.table_name = table_name  # type: ignore[attr-defined]
    _Meta.region = region  # type: ignore[attr-defined]
    _Meta.host = host  # type: ignore[attr-defined]
    _Meta.max_retry_attempts = 4  # type: ignore[attr-defined]

    class DueIndex(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = DUE_INDEX
            projection = KeysOnlyProjection()

        due_pk = UnicodeAttribute(hash_key=True, attr_name=DUE_INDEX_PK)
        due_sk = UnicodeAttribute(range_key=True, attr_name=DUE_INDEX_SK)

    class LedgerItem(Model):
        Meta = _Meta  # type: ignore[assignment]
        pk = UnicodeAttribute(hash_key=True, attr_name=PK)
        sk = UnicodeAttribute(range_key=True, attr_name=SK)
        kind = DiscriminatorAttribute()
        expires_at = TTLAttribute(null=True, attr_name=TTL_ATTRIBUTE)

    class StateItem(LedgerItem, discriminator="state"):
        version = NumberAttribute(default=0)
        profile = UnicodeAttribute(null=True)
        contacts = UnicodeAttribute(null=True)
        pending = UnicodeAttribute(null=True)
        marks = UnicodeAttribute(null=True)
        email = UnicodeAttribute(null=True)
        phone = UnicodeAttribute(null=True)
        push_endpoint = UnicodeAttribute(null=True)
        blocked = UnicodeSetAttribute(null=True)
        soft_blocked = UnicodeSetAttribute(null=True)
        void = UnicodeSetAttribute(null=True)  # contacts whose send failed for good: not counted by caps
        updated_at = UnicodeAttribute(null=True)
        # the engagement profile (codec.encode_engagement): written by the profile and feedback functions only,
        # under a condition on its own value, never with the version (a decision's commit leaves it alone)
        engagement = UnicodeAttribute(null=True)

    class RequestItem(LedgerItem, discriminator="request"):
        due = DueIndex()
        due_pk = UnicodeAttribute(null=True, attr_name=DUE_INDEX_PK)
        due_sk = UnicodeAttribute(null=True, attr_name=DUE_INDEX_SK)
        status = UnicodeAttribute()
        reason = UnicodeAttribute(null=True)
        detail = UnicodeAttribute(null=True)
        channel = UnicodeAttribute(null=True)
        category = UnicodeAttribute(null=True)
        campaign_id = UnicodeAttribute(null=True)
        entity = UnicodeAttribute(null=True)
        priority = NumberAttribute(null=True)
        transactional = NumberAttribute(null=True)
        requested_at = UnicodeAttribute(null=True)
        decided_at = UnicodeAttribute(null=True)
        sent_at = UnicodeAttribute(null=True)
        release_at = UnicodeAttribute(null=True)
        lease_until = UnicodeAttribute(null=True)
        counts = UnicodeAttribute(null=True)
        policy = UnicodeAttribute(null=True)
        template = UnicodeAttribute(null=True)
        data = UnicodeAttribute(null=True)
        content = UnicodeAttribute(null=True)  # a pre-rendered message: JSON {subject, text, html}
        locale = UnicodeAttribute(null=True)  # the profile's locale at the decision
        rendered_with = UnicodeAttribute(null=True)  # "<template set version>/<locale>" of the message sent
        recipient = UnicodeAttribute(null=True)
        message_id = UnicodeAttribute(null=True)
        event_id = UnicodeAttribute(null=True)
        attempts = NumberAttribute(default=0)
        history = UnicodeAttribute(null=True)  # written before steps were appended: one "<iso> <status> <reason>"
        steps = ListAttribute(of=UnicodeAttribute, null=True)  # each a JSON [at, what, reason, until]
        steps_dropped = NumberAttribute(null=True)
        members = UnicodeAttribute(null=True)
        carrier = UnicodeAttribute(null=True)  # a digest member: the request that carries the digest
        # a request that lists channels: JSON {"c": [[channel, address, failed], ...], "na": not_after}
        channels = UnicodeAttribute(null=True)

    class AddressItem(LedgerItem, discriminator="address"):
        status = UnicodeAttribute(null=True)  # hard_bounce | complaint | soft_bounce (suppressed) | None
        since = UnicodeAttribute(null=True)
        until = UnicodeAttribute(null=True)  # soft-bounce suppression ends
        soft_times = UnicodeAttribute(null=True)  # recent soft bounces (epoch seconds, JSON)
        owners = UnicodeSetAttribute(null=True)  # customers whose profile holds this address

    class AuditItem(LedgerItem, discriminator="audit"):
        actor = UnicodeAttribute()
        change = UnicodeAttribute()
        at = UnicodeAttribute()

    class EngagementItem(LedgerItem, discriminator="engagement"):
        engaged = UnicodeAttribute()  # open | click | session | purchase (``kind`` is the item's discriminator)
        at = UnicodeAttribute()
        channel = UnicodeAttribute(null=True)
        request_id = UnicodeAttribute(null=True)
        value = NumberAttribute(null=True)

    class FleetItem(LedgerItem, discriminator="fleet"):
        hours = UnicodeAttribute(null=True)  # JSON: the 168 weights
        as_of = UnicodeAttribute(null=True)
        segment = NumberAttribute(default=0)  # the segment of the customers the sweeper reads next
        profiles = NumberAttribute(default=0)

    # transactions go through the models' own connection: one botocore session and client per container, not
    # two (each pynamodb Connection builds its own session and loads the DynamoDB service model again)
    connection = LedgerItem._get_connection().connection
    if session is not None:
        # pynamodb has no setting for it: its Connection keeps the session it would create per thread in
        # _local, read when the client is first built. This sets it for the building thread, the only one in
        # Lambda; a client first built on another thread gets a session of its own (tests/bench holds the
        # functions to one session)
        connection._local.session = session
    return _Models(LedgerItem, StateItem, RequestItem, AddressItem, AuditItem, EngagementItem, FleetItem, connection)
