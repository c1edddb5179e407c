"""The embedded moto's DynamoDB, as ``baton.local.moto_dynamodb`` patches it, answers like DynamoDB: random puts,
updates, deletes and transactions (cancelled ones included) on Baton's table; after each of them, every query of
the table and of the due index is held to what a scan of the same table says, and a cancelled transaction changes
nothing."""

from __future__ import annotations

import pickle
import sys
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from baton.local import moto_direct
from baton.local.mocked_aws import REGION, mocked_aws
from baton.local.moto_dynamodb import partitions_at_most
from baton.names import DUE_INDEX, DUE_INDEX_PK, DUE_INDEX_SK, PK, SK

TABLE = "moto-patched"
CUSTOMERS = ["a", "b", "c"]
REQUESTS = ["1", "2", "3", "4"]
SHARDS = ["DUE#0", "DUE#1"]


def _key(customer: str, request: str) -> dict[str, Any]:
    return {PK: {"S": f"C#{customer}"}, SK: {"S": f"R#{request}"}}


keys = st.tuples(st.sampled_from(CUSTOMERS), st.sampled_from(REQUESTS))
due = st.one_of(st.none(), st.tuples(st.sampled_from(SHARDS), st.integers(0, 9)))


@st.composite
def operations(draw: st.DrawFn) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["put", "update", "delete", "transact"]))
        if kind == "transact":
            picked = draw(st.lists(keys, min_size=1, max_size=3, unique=True))
            out.append((kind, [(k, draw(due), draw(st.booleans())) for k in picked]))
        else:
            out.append((kind, (draw(keys), draw(due))))
    return out


def _put(key: tuple[str, str], at: tuple[str, int] | None) -> dict[str, Any]:
    item = {**_key(*key), "status": {"S": "pending" if at else "sent"}}
    if at:
        item[DUE_INDEX_PK] = {"S": at[0]}
        item[DUE_INDEX_SK] = {"S": f"2026-01-01T00:0{at[1]}#{key[1]}"}
    return item


def _update(key: tuple[str, str], at: tuple[str, int] | None) -> dict[str, Any]:
    if at is None:
        return {
            "Key": _key(*key),
            "UpdateExpression": "SET #s = :s REMOVE due_pk, due_sk",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":s": {"S": "sent"}},
        }
    return {
        "Key": _key(*key),
        "UpdateExpression": "SET due_pk = :p, due_sk = :k",
        "ExpressionAttributeValues": {":p": {"S": at[0]}, ":k": {"S": f"2026-01-01T00:0{at[1]}#{key[1]}"}},
    }


def _scan(client: Any) -> list[dict[str, Any]]:
    return sorted(client.scan(TableName=TABLE)["Items"], key=lambda i: (i[PK]["S"], i[SK]["S"]))


def _check_queries(client: Any) -> None:
    items = _scan(client)
    for shard in SHARDS:
        got = client.query(
            TableName=TABLE,
            IndexName=DUE_INDEX,
            KeyConditionExpression="due_pk = :p AND due_sk <= :b",
            ExpressionAttributeValues={":p": {"S": shard}, ":b": {"S": "2026-01-01T00:05~"}},
        )["Items"]
        want = sorted(
            (i for i in items if i.get(DUE_INDEX_PK) == {"S": shard} and i[DUE_INDEX_SK]["S"] <= "2026-01-01T00:05~"),
            key=lambda i: (i[DUE_INDEX_SK]["S"], i[PK]["S"], i[SK]["S"]),
        )
        assert [(i[PK], i[SK]) for i in got] == [(i[PK], i[SK]) for i in want]
    for bound in ("2026-01-01T00:03~", "2026-01-01T00:07~"):  # the shards a sweep would find anything in
        named = partitions_at_most(REGION, TABLE, DUE_INDEX, bound)
        assert named == {i[DUE_INDEX_PK]["S"] for i in items if DUE_INDEX_PK in i and i[DUE_INDEX_SK]["S"] <= bound}
    for customer in CUSTOMERS:
        got = client.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": f"C#{customer}"}},
        )["Items"]
        assert got == [i for i in items if i[PK]["S"] == f"C#{customer}"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations())
def test_queries_answer_what_a_scan_of_the_table_says(ops: list[tuple[str, Any]]) -> None:
    with mocked_aws(table_name=TABLE):
        client = boto3.client("dynamodb", region_name=REGION)
        for kind, args in ops:
            if kind == "put":
                client.put_item(TableName=TABLE, Item=_put(*args))
            elif kind == "update":
                client.update_item(TableName=TABLE, **_update(*args))
            elif kind == "delete":
                client.delete_item(TableName=TABLE, Key=_key(*args[0]))
            else:
                before = _scan(client)
                entries = []
                for key, at, must_exist in args:
                    entry = {"TableName": TABLE, **_update(key, at)}
                    if must_exist:
                        entry["ConditionExpression"] = "attribute_exists(pk)"
                    entries.append({"Update": entry})
                try:
                    client.transact_write_items(TransactItems=entries)
                except ClientError as exc:
                    assert exc.response["Error"]["Code"] == "TransactionCanceledException"
                    assert _scan(client) == before, "a cancelled transaction changed the table"
            _check_queries(client)


# -- responses and update expressions ---------------------------------------------------------------------------

scalars = st.one_of(
    st.builds(lambda s: {"S": s}, st.text(max_size=8)),
    st.builds(lambda n: {"N": str(n)}, st.integers(-(10**6), 10**6)),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda s: {"SS": s}, st.lists(st.text(max_size=4), min_size=1, max_size=3, unique=True)),
    st.builds(lambda s: {"NS": s}, st.lists(st.integers(0, 99).map(str), min_size=1, max_size=3, unique=True)),
    st.builds(lambda b: {"B": b}, st.binary(max_size=6)),  # binary: moto's own way
    st.builds(lambda s: {"S": s, "N": "1"}, st.text(max_size=3)),  # not wire form: moto's own way
)
attribute_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.builds(lambda m: {"M": m}, st.dictionaries(st.text(max_size=4), inner, max_size=3)),
        st.builds(lambda items: {"L": items}, st.lists(inner, max_size=3)),
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=6), attribute_values, max_size=5))
def test_a_response_serializes_as_moto_would_without_the_shortcut(item: dict[str, Any]) -> None:
    """A GetItem response with any attribute values (wire form or not, binary included) is the same JSON body
    through the patched serializer and through moto's own walk of the shape."""
    from moto.core.serialize import BaseJSONSerializer, JSONSerializer, XFormedAttributePicker
    from moto.core.utils import get_service_model

    from baton.local import moto_dynamodb

    moto_dynamodb.install()
    operation = get_service_model("dynamodb").operation_model("GetItem")

    def body() -> Any:
        serializer = JSONSerializer(operation_model=operation, value_picker=XFormedAttributePicker())
        return serializer.serialize({"Item": item})["body"]

    shortcut, walked = _patched_and_original(BaseJSONSerializer, "_serialize_type_structure", body)
    assert shortcut == walked


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=6), attribute_values, max_size=5), attribute_values)
def test_a_request_serializes_as_botocore_would_without_the_shortcut(item: dict[str, Any], value: Any) -> None:
    """Requests with any attribute values (wire form or not, binary included) in an item, a key, a transaction's
    expression values and a map's members are the same request body through the patched serializer and through
    botocore's own walk of the shape."""
    from botocore.serialize import JSONSerializer
    from botocore.session import get_session

    from baton.local import moto_dynamodb

    moto_dynamodb.install()
    model = get_session().get_service_model("dynamodb")
    calls = [
        ("PutItem", {"TableName": TABLE, "Item": item}),
        ("TransactWriteItems", {"TransactItems": [{"Update": {
            "TableName": TABLE, "Key": {PK: value}, "UpdateExpression": "SET a = :v",
            "ExpressionAttributeValues": {":v": {"M": {"k": value, "l": {"L": [value]}}}}}}]}),
    ]  # fmt: skip

    def bodies() -> list[Any]:
        return [JSONSerializer().serialize_to_request(params, model.operation_model(name))["body"]
                for name, params in calls]  # fmt: skip

    shortcut, walked = _patched_and_original(JSONSerializer, "_serialize_type_structure", bodies)
    assert shortcut == walked


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=6), attribute_values, max_size=5))
def test_a_result_becomes_the_plain_values_moto_s_own_conversion_makes(item: dict[str, Any]) -> None:
    """A result holding an item's attributes as moto keeps them, the same values listed, and plain members (any
    attribute values: wire form or not, binary included) becomes the same plain values through the patched
    conversion as through moto's own."""
    import moto.dynamodb.responses as responses
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from baton.local import moto_dynamodb

    moto_dynamodb.install()
    wire_binary = {"bin": {"B": "aGk="}, "bins": {"BS": ["aGk="]}, "deep": {"M": {"b": {"L": [{"B": "aGk="}]}}}}
    stored = Item(DynamoType({"S": "k"}), None, {**item, **wire_binary})  # binary as it comes from the wire
    result = {"Items": [stored.attrs], "Attributes": dict(stored.attrs), "Values": list(stored.attrs.values()),
              "Count": 1, "Scanned": None, "Found": True}  # fmt: skip
    assert responses.dynamo_to_dict(result) == responses.dynamo_to_dict.original(result)  # type: ignore[attr-defined]


def _patched_and_original(owner: type, name: str, run: Callable[[], Any]) -> tuple[Any, Any]:
    """What ``run`` gives with the patched ``owner.name``, and then with moto's own (kept as its ``original``)."""
    patched = getattr(owner, name)
    ours = run()
    try:
        setattr(owner, name, patched.original)
        theirs = run()
    finally:
        setattr(owner, name, patched)
    return ours, theirs


def test_an_update_expression_is_checked_again_under_other_names_and_refused_each_time() -> None:
    """The parse of an expression and its static checks are kept, keyed by the names too: the same expression
    that set an attribute is refused when its name now points at the table's key, and a refused expression is
    refused every time; the values still come from each call."""
    with mocked_aws(table_name=TABLE):
        client = boto3.client("dynamodb", region_name=REGION)
        client.put_item(TableName=TABLE, Item=_put(("a", "1"), None))
        update = {"TableName": TABLE, "Key": _key("a", "1"), "UpdateExpression": "SET #a = :v"}
        for value in ("one", "two"):
            client.update_item(**update, ExpressionAttributeNames={"#a": "status"},
                               ExpressionAttributeValues={":v": {"S": value}})  # fmt: skip
            assert _scan(client)[0]["status"] == {"S": value}
        for _ in range(2):
            try:
                client.update_item(**update, ExpressionAttributeNames={"#a": PK},
                                   ExpressionAttributeValues={":v": {"S": "C#b"}})  # fmt: skip
            except ClientError as exc:
                assert "key" in exc.response["Error"]["Message"].lower()
            else:
                raise AssertionError("an update of the hash key was accepted")
        overlapping = {"UpdateExpression": "SET #a = :v, #a = :v", "ExpressionAttributeNames": {"#a": "status"}}
        for _ in range(2):
            try:
                client.update_item(TableName=TABLE, Key=_key("a", "1"), **overlapping,
                                   ExpressionAttributeValues={":v": {"S": "x"}})  # fmt: skip
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "ValidationException"
            else:
                raise AssertionError("an update setting one attribute twice was accepted")
        assert _scan(client)[0]["status"] == {"S": "two"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.text(max_size=3), st.text(max_size=3), st.booleans()), min_size=1, max_size=30,
                unique_by=lambda row: row[:2]),
       st.integers(1, 7), st.sampled_from([None, (0, 2), (1, 2), (2, 3)]), st.booleans())  # fmt: skip
def test_a_scan_pages_through_the_items_in_moto_s_own_order(
    keys: list[tuple[str, str, bool]], page: int, segment: tuple[int, int] | None, filtered: bool
) -> None:
    """A Scan (paged, one segment of a parallel one, with a filter expression) returns the items moto's own scan
    gives, in that order: the patched sort casts each key once and changes no order, a segment starts from its own
    items, and an item the filter refuses is not copied first."""
    from moto.dynamodb.models.table import Table

    with mocked_aws(table_name=TABLE):
        client = boto3.client("dynamodb", region_name=REGION)
        for customer, request, marked in keys:
            mark = {"engagement": {"S": "x"}} if marked else {}
            client.put_item(TableName=TABLE, Item={**_key(customer, request), "status": {"S": "sent"}, **mark})

        def pages() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = []
            start: dict[str, Any] = {}
            parallel = {"Segment": segment[0], "TotalSegments": segment[1]} if segment else {}
            if filtered:
                parallel["FilterExpression"] = "attribute_exists(engagement)"
            while True:
                answer = client.scan(TableName=TABLE, Limit=page, **parallel, **start)
                found += answer["Items"]
                if "LastEvaluatedKey" not in answer:
                    return found
                start = {"ExclusiveStartKey": answer["LastEvaluatedKey"]}

        ours, theirs = _with_originals([(Table, "all_items"), (Table, "scan")], pages)
        assert ours == theirs
        if segment is None:
            assert len(ours) == sum(1 for *_, marked in keys if marked or not filtered)


def test_a_filtered_scan_returns_copies_of_the_items_it_keeps() -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.models import dynamodb_backends

    with mocked_aws(table_name=TABLE):
        client = boto3.client("dynamodb", region_name=REGION)
        client.put_item(TableName=TABLE, Item={**_key("a", "1"), "engagement": {"S": "x"}})
        client.put_item(TableName=TABLE, Item={**_key("a", "2")})
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables[TABLE]
        refuses = get_filter_expression("attribute_exists(engagement)", {}, {})
        kept, _, _ = table.scan({}, None, None, filter_expression=refuses)
        stored = table.items[kept[0].hash_key][kept[0].range_key]
        assert len(kept) == 1 and kept[0] is not stored and kept[0].attrs == stored.attrs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(keys, st.sampled_from(SHARDS), st.one_of(st.none(), st.integers(0, 5)), st.integers(0, 3)),
        min_size=1, max_size=12, unique_by=lambda row: row[0],
    ),
    st.sampled_from(["<", "<=", ">=", "BETWEEN"]), st.integers(0, 5), st.one_of(st.none(), st.integers(1, 4)),
    st.booleans(),
)  # fmt: skip
@example(  # the matching items fill most of a page, and a large item two sort key values past the bound ends it
    [(("a", "1"), "DUE#0", 1, 3), (("a", "2"), "DUE#0", 2, 2), (("a", "3"), "DUE#0", 4, 0),
     (("b", "1"), "DUE#0", 5, 3)], "<=", 3, None, True,
)  # fmt: skip
def test_a_due_index_query_pages_as_moto_s_own_query_does(
    rows: list[tuple[tuple[str, str], str, int | None, int]],
    comparison: str,
    bound: int,
    limit: int | None,
    forward: bool,
) -> None:
    """Every page of a query of one due-index partition with a sort key condition (items past the bound, items
    without a sort key, and items large enough to fill a page among them) is moto's own query's page."""
    from moto.dynamodb.models.table import Table

    with mocked_aws(table_name=TABLE):
        client = boto3.client("dynamodb", region_name=REGION)
        for key, shard, at, size in rows:
            item = {**_key(*key), DUE_INDEX_PK: {"S": shard}, "blob": {"S": "x" * (size * 130_000)}}
            if at is not None:
                item[DUE_INDEX_SK] = {"S": f"2026-01-01T00:0{at}"}
            client.put_item(TableName=TABLE, Item=item)
        condition = {
            "<": "due_sk < :b", "<=": "due_sk <= :b", ">=": "due_sk >= :b", "BETWEEN": "due_sk BETWEEN :a AND :b"
        }[comparison]  # fmt: skip
        values = {":p": {"S": SHARDS[0]}, ":b": {"S": f"2026-01-01T00:0{bound}"}}
        if comparison == "BETWEEN":
            values[":a"] = {"S": "2026-01-01T00:01"}

        def pages() -> list[Any]:
            found: list[Any] = []
            start: dict[str, Any] = {}
            while True:
                answer = client.query(
                    TableName=TABLE, IndexName=DUE_INDEX, KeyConditionExpression=f"due_pk = :p AND {condition}",
                    ExpressionAttributeValues=values, ScanIndexForward=forward, **({"Limit": limit} if limit else {}),
                    **start,
                )  # fmt: skip
                found.append((answer["Items"], answer.get("LastEvaluatedKey")))
                if "LastEvaluatedKey" not in answer or len(found) > len(rows) + 1:
                    return found
                start = {"ExclusiveStartKey": answer["LastEvaluatedKey"]}

        ours, theirs = _with_originals([(Table, "all_items"), (Table, "query")], pages)
        assert ours == theirs


def test_a_cancelled_transaction_that_reaches_one_item_twice_leaves_it_as_it_was() -> None:
    """moto tells two operations on one item apart by their whole key maps, so an item reached once with an extra
    attribute in its key and once without is changed by both before a later one cancels the transaction: a
    condition check or a plain SET first, then an ADD that changes a set in place; the item stays as it was."""
    with mocked_aws(table_name=TABLE):
        client = boto3.client("dynamodb", region_name=REGION)
        client.put_item(TableName=TABLE, Item={**_key("a", "1"), "n": {"N": "1"}, "s": {"SS": ["x"]}})
        before = _scan(client)
        aliased = {**_key("a", "1"), "x": {"S": "1"}}
        firsts = [
            {"ConditionCheck": {"TableName": TABLE, "Key": aliased, "ConditionExpression": "attribute_exists(pk)"}},
            {"Update": {"TableName": TABLE, "Key": aliased, "UpdateExpression": "SET n = :v",
                        "ExpressionAttributeValues": {":v": {"N": "7"}}}},
        ]  # fmt: skip
        for first in firsts:
            items = [
                first,
                {"Update": {"TableName": TABLE, "Key": _key("a", "1"), "UpdateExpression": "SET n = :v ADD s :t",
                            "ExpressionAttributeValues": {":v": {"N": "99"}, ":t": {"SS": ["y"]}}}},
                {"ConditionCheck": {"TableName": TABLE, "Key": _key("b", "9"),
                                    "ConditionExpression": "attribute_exists(pk)"}},
            ]  # fmt: skip
            try:
                client.transact_write_items(TransactItems=items)
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "TransactionCanceledException"
            else:
                raise AssertionError("a transaction with a failed condition was taken")
            assert _scan(client) == before


# -- signing ------------------------------------------------------------------------------------------------------


class _Looked(Exception):
    """Raised by the look at a request, before it is sent."""


def _signed(client: Any, call: Callable[[], Any]) -> bool:
    """Whether ``call`` on ``client`` signs its request (looked at just before it would be sent, and not sent)."""
    seen: list[bool] = []

    def look(request: Any, **_: Any) -> None:
        seen.append("Authorization" in request.headers)
        raise _Looked

    client.meta.events.register_first("before-send", look)
    try:
        call()
    except _Looked:
        pass
    finally:
        client.meta.events.unregister("before-send", look)
    return seen[-1]


def test_inside_the_embedded_mock_requests_go_unsigned_and_outside_it_signed() -> None:
    with mocked_aws(table_name=TABLE):
        client = boto3.client("dynamodb", region_name=REGION)
        assert not _signed(client, lambda: client.describe_table(TableName=TABLE))
        ses = boto3.client("sesv2", region_name=REGION)
        with moto_direct.the_usual_way():  # SES's calls are answered in process (moto_direct), before sending
            assert not _signed(ses, ses.list_email_identities)
        assert client.scan(TableName=TABLE)["Items"] == []  # moto answers an unsigned request as the local account's
    outside = boto3.client("dynamodb", region_name=REGION, endpoint_url="http://127.0.0.1:9")
    assert _signed(outside, lambda: outside.describe_table(TableName=TABLE))


def test_a_dynamodb_endpoint_s_requests_are_signed_inside_the_mock() -> None:
    from baton.local.mocked_aws import _Signing, _unsigned

    _Signing.register()
    with _unsigned("http://127.0.0.1:9"):
        client = boto3.client("dynamodb", region_name=REGION, endpoint_url="http://127.0.0.1:9")
        assert _signed(client, lambda: client.describe_table(TableName=TABLE))
        sns = boto3.client("sns", region_name=REGION, endpoint_url="http://127.0.0.1:9")
        assert not _signed(sns, sns.list_topics)


# -- update expressions validated and items measured as moto's own code does -------------------------------------


def _with_originals(patched: list[tuple[Any, str]], run: Callable[[], Any]) -> tuple[Any, Any]:
    """What ``run`` gives with the patched methods, and then with moto's own (each kept as its ``original``)."""
    saved = [(owner, name, getattr(owner, name)) for owner, name in patched]
    ours = run()
    try:
        for owner, name, method in saved:
            setattr(owner, name, method.original)
        theirs = run()
    finally:
        for owner, name, method in saved:
            setattr(owner, name, method)
    return ours, theirs


def _outcomes(calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Each call's response (or error) on a fresh table, then the table's items."""
    with mocked_aws(table_name=TABLE):
        client = boto3.client("dynamodb", region_name=REGION)
        out: list[Any] = []
        for operation, params in calls:
            try:
                answer = getattr(client, operation)(TableName=TABLE, **params)
                out.append({k: v for k, v in answer.items() if k != "ResponseMetadata"})
            except ClientError as exc:
                out.append(exc.response["Error"])
            except (KeyError, TypeError, IndexError) as exc:  # moto's own failures (a map's [0], say): the same
                out.append((type(exc).__name__, str(exc)))
        out.append(_scan(client))
        return out


NAMES = ["a", "b", "m", "l", "n", "s", PK]
PLAIN = ["a", PK, DUE_INDEX_PK, DUE_INDEX_SK]  # written as themselves: moto checks these against the key attributes


@st.composite
def update_actions(draw: st.DrawFn) -> tuple[str, str]:
    """One action of an update expression, as (clause, text), names as #<name>, values as :<n> placeholders
    numbered later (``{v}`` marks each value)."""
    name = draw(st.sampled_from(NAMES))
    other = draw(st.sampled_from(NAMES))
    return draw(
        st.sampled_from(
            [
                ("SET", f"#{name} = {{v}}"),
                ("SET", f"#{name} = {{v}}"),  # plain SETs and REMOVEs: the values put in place directly
                ("SET", f"{draw(st.sampled_from(PLAIN))} = {{v}}"),
                ("SET", f"{draw(st.sampled_from(PLAIN))} = if_not_exists({draw(st.sampled_from(PLAIN))}, {{v}})"),
                ("SET", f"#{name} = if_not_exists(#{other}, {{v}})"),
                ("SET", f"#{name} = list_append(if_not_exists(#{name}, {{v}}), {{v}})"),
                ("SET", f"#{name} = list_append(#{other}, {{v}})"),
                ("SET", f"#{name} = #{other} + {{v}}"),
                ("SET", f"#{name} = #{other} - {{v}}"),
                ("SET", f"#{name} = #{other}"),
                ("SET", f"#m.#{name} = {{v}}"),
                ("SET", "#l[1] = {v}"),
                ("REMOVE", f"#{name}"),
                ("REMOVE", "#l[0]"),
                ("ADD", f"#{name} {{v}}"),
                ("DELETE", f"#{name} {{v}}"),
            ]
        )
    )


stored_values = st.recursive(  # map members named: moto's response to a member named "" fails to parse
    scalars,
    lambda inner: st.one_of(
        st.builds(lambda m: {"M": m}, st.dictionaries(st.text(min_size=1, max_size=4), inner, max_size=3)),
        st.builds(lambda items: {"L": items}, st.lists(inner, max_size=3)),
    ),
    max_leaves=12,
)
update_values = st.one_of(
    stored_values,
    st.just({"S": ""}),
    st.builds(lambda n: {"N": str(n)}, st.integers(-5, 5)),
    st.builds(lambda items: {"L": items}, st.lists(scalars, max_size=2)),
    st.builds(lambda s: {"SS": s}, st.lists(st.sampled_from("xyz"), min_size=1, max_size=2, unique=True)),
)


@st.composite
def updates(draw: st.DrawFn) -> dict[str, Any]:
    actions = draw(st.lists(update_actions(), min_size=1, max_size=5))
    values: dict[str, Any] = {}
    clauses: dict[str, list[str]] = {}
    for clause, text in actions:
        while "{v}" in text:
            placeholder = f":v{len(values)}"
            values[placeholder] = draw(update_values)
            text = text.replace("{v}", placeholder, 1)
        clauses.setdefault(clause, []).append(text)
    expression = " ".join(f"{clause} {', '.join(texts)}" for clause, texts in clauses.items())
    names = {f"#{n}": n for n in NAMES if f"#{n}" in expression.replace(",", " ").replace(")", " ").split()
             or f"#{n}," in expression or f"#{n}." in expression or f"#{n}[" in expression}  # fmt: skip
    params: dict[str, Any] = {"Key": _key("a", draw(st.sampled_from(REQUESTS[:2]))), "UpdateExpression": expression,
                              "ReturnValues": "ALL_NEW"}  # fmt: skip
    # now and then a name or a value the expression holds is missing (moto refuses it, at the first its walk meets)
    missing = draw(st.sampled_from([None] * 6 + ["name", "value"]))
    if missing == "name" and names:
        names.pop(draw(st.sampled_from(sorted(names))))
    if missing == "value" and values:
        values.pop(draw(st.sampled_from(sorted(values))))
    if names:
        params["ExpressionAttributeNames"] = names
    if values:
        params["ExpressionAttributeValues"] = values
    return params


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(updates(), min_size=1, max_size=6))
def test_update_expressions_are_validated_as_moto_s_own_walk_does(calls: list[dict[str, Any]]) -> None:
    """Random update expressions (SET, REMOVE, ADD, DELETE; functions, arithmetic, nested paths, the key and the
    index's keys written as themselves, empty strings, a name or a value missing) on random items: the same
    responses, the same errors and the same items with the patched walk of the tree, the passes it skips and the
    plain SETs put in place directly, and with moto's."""
    import moto.dynamodb.parsing.validators as validators
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node
    from moto.dynamodb.parsing.validators import UpdateExpressionValidator

    from baton.local import moto_dynamodb

    moto_dynamodb.install()
    seed = [("put_item", {"Item": {**_key("a", "1"), "m": {"M": {"a": {"S": "x"}}}, "l": {"L": [{"N": "1"}]},
                                   "n": {"N": "2"}, "s": {"SS": ["x"]}}})]  # fmt: skip
    run = seed + [("update_item", params) for params in calls]
    patched = [(DepthFirstTraverser, "traverse_node_recursively"), (UpdateExpressionValidator, "validate"),
               (validators, "deepcopy"), (Node, "find_clauses")]  # fmt: skip
    ours, theirs = _with_originals(patched, lambda: _outcomes(run))
    assert ours == theirs
    for tree in moto_dynamodb._parsed.values():  # each tree lent to a validation was given back as it was parsed
        assert pickle.dumps(tree, pickle.HIGHEST_PROTOCOL) == moto_dynamodb._parsed_ids[id(tree)]


def test_updates_from_several_threads_all_take_while_each_is_lent_the_tree() -> None:
    """Threads update items with the same expressions at once (``baton replay --workers``): each update is
    validated on the kept tree lent to it while the others' handlers list the names it holds; every update takes,
    and every item ends as the last update of it left it."""
    from concurrent.futures import ThreadPoolExecutor

    with mocked_aws(table_name=TABLE):
        clients = [boto3.client("dynamodb", region_name=REGION) for _ in range(4)]

        def work(worker: int) -> None:
            for n in range(40):
                clients[worker].update_item(
                    TableName=TABLE, Key=_key(CUSTOMERS[worker % 3], f"w{worker}-{n % 5}"),
                    UpdateExpression="SET #a = :v, #l = list_append(if_not_exists(#l, :e), :one) REMOVE #gone",
                    ExpressionAttributeNames={"#a": "a", "#l": "l", "#gone": "gone"},
                    ExpressionAttributeValues={":v": {"N": str(n)}, ":e": {"L": []}, ":one": {"L": [{"N": "1"}]}},
                )  # fmt: skip

        switching = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # threads switch between a handler's and an update's steps
        try:
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(work, range(4)))
        finally:
            sys.setswitchinterval(switching)
        items = _scan(clients[0])
        assert len(items) == 20
        assert all(len(item["l"]["L"]) == 8 and item["a"]["N"] in {"35", "36", "37", "38", "39"} for item in items)


@settings(max_examples=300, deadline=None)
@given(attribute_values)
def test_a_value_s_size_is_moto_s(value: dict[str, Any]) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    from baton.local import moto_dynamodb

    moto_dynamodb.install()
    typed = DynamoType(value)
    assert typed.size() == DynamoType.size.original(typed)  # type: ignore[attr-defined]


LIMIT = 405000  # moto's


def _plain_sets(values: dict[str, Any]) -> dict[str, Any]:
    """An update of item ("a", "1") with two plain SETs, of "a" and "b"."""
    return {"Key": _key("a", "1"), "UpdateExpression": "SET #a = :v0, #b = :v1", "ReturnValues": "ALL_NEW",
            "ExpressionAttributeNames": {"#a": "a", "#b": "b"}, "ExpressionAttributeValues": values}  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from("abcdef"), stored_values, max_size=4), st.integers(-300, 60),
       st.lists(updates(), max_size=3))  # fmt: skip
@example({"m": {"M": {"a": {"S": "x"}}}}, -100, [{  # a nested SET grows "m" in place between two SETs of the update
    "Key": _key("a", "1"), "UpdateExpression": "SET #a = :v0, #m.#b = :v1, #n = :v2", "ReturnValues": "ALL_NEW",
    "ExpressionAttributeNames": {"#a": "a", "#m": "m", "#b": "b", "#n": "n"},
    "ExpressionAttributeValues": {":v0": {"S": "x"}, ":v1": {"S": "y" * 150}, ":v2": {"S": "z"}}}])  # fmt: skip
@example({}, -150, [_plain_sets({":v0": {"S": "x"}, ":v1": {"S": "y"}})])  # the second SET's sum: the first's
@example({"a": {"S": "x" * 100}}, -20, [_plain_sets({":v0": {"S": "x"}, ":v1": {"S": "y" * 60}})])  # "a" made smaller
def test_items_near_the_size_limit_are_taken_and_refused_as_moto_does(
    attributes: dict[str, Any], margin: int, calls: list[dict[str, Any]]
) -> None:
    """A put of an item a few bytes under or over moto's limit, then updates that grow it: the same items taken,
    the same refused (and with the same errors), with the patched measures and with moto's."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    from baton.local import moto_dynamodb

    moto_dynamodb.install()
    item = {**_key("a", "1"), **attributes}
    used = sum(len(k.encode()) + DynamoType(v).size() for k, v in item.items()) + len("pad")
    item["pad"] = {"S": "é" + "x" * max(0, LIMIT - used + margin - 2)}
    run = [("put_item", {"Item": item}), *[("update_item", params) for params in calls]]
    patched = [(DynamoType, "size"), (LimitedSizeDict, "__setitem__"), (Item, "__init__")]
    ours, theirs = _with_originals(patched, lambda: _outcomes(run))
    assert ours == theirs


def test_an_update_on_a_table_with_a_stream_still_records_the_item_as_it_was() -> None:
    """update_item's copy of the item before the update is skipped only for a table without a stream: on one with
    a stream, each record's old image is the item before that update."""
    with mocked_aws(table_name=TABLE):
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName="streamed", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )  # fmt: skip
        client.put_item(TableName="streamed", Item={"k": {"S": "x"}, "n": {"N": "1"}, "m": {"M": {"a": {"N": "1"}}}})
        for value in ("2", "3"):
            client.update_item(TableName="streamed", Key={"k": {"S": "x"}}, UpdateExpression="SET n = :v, m.a = :v",
                               ExpressionAttributeValues={":v": {"N": value}})  # fmt: skip
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        shard = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables["streamed"].stream_shard
        images = [(r.record["dynamodb"].get("OldImage"), r.record["dynamodb"]["NewImage"]) for r in shard.items]
        old = [image[0] for image in images[1:]]
        assert [(o or {}).get("n") for o in old] == [{"N": "1"}, {"N": "2"}]
        assert [(o or {})["m"]["M"]["a"] for o in old] == [{"N": "1"}, {"N": "2"}]
        assert [image[1]["n"] for image in images] == [{"N": "1"}, {"N": "2"}, {"N": "3"}]


# -- condition expressions parsed once per string and names -----------------------------------------------------

CONDITION_TOKENS = ["#a", "#b", ":v", ":w", "a", "b.c", "l[0]", "=", "<>", "<", "<=", ">", ">=", "AND", "OR", "not",
                    "BETWEEN", "IN", "(", ")", ",", "attribute_exists", "attribute_not_exists", "begins_with",
                    "contains", "size", "attribute_type", "!", "#missing", "size(a)"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(CONDITION_TOKENS), st.sampled_from(["", " "])), max_size=10),
       st.lists(st.one_of(st.none(), st.dictionaries(st.sampled_from([":v", ":w", ":x"]), scalars, max_size=3)),
                min_size=1, max_size=4))  # fmt: skip
@example([("#a", " "), ("=", " "), (":v", "")], [{":v": {"S": "x"}}, {":v": {"N": "2"}}, {}, None])
def test_a_condition_kept_under_its_names_takes_each_call_s_values(
    tokens: list[tuple[str, str]], calls: list[dict[str, Any] | None]
) -> None:
    """Random condition expressions parsed again and again under the same names with other values each time
    (values missing, none at all): each parse gives what moto's own parse gives for those values (the same
    condition, the same verdict on two items, the names and values it found) or the same error."""
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from baton.local import moto_dynamodb

    moto_dynamodb.install()
    expression = "".join(token + gap for token, gap in tokens)
    names = {"#a": "a", "#b": "b"}
    stored = [{"a": {"S": "x"}, "b": {"N": "2"}}, {"b": {"M": {"c": {"S": "xy"}}}, "l": {"L": [{"S": "x"}]}}]
    items = [Item(DynamoType({"S": "k"}), None, attributes) for attributes in stored]

    def parse() -> list[Any]:
        out: list[Any] = []
        for values in calls:
            parser = ConditionExpressionParser(expression, names, values)
            try:
                condition = parser.parse()
                out.append((repr(condition), [_verdict(condition, item) for item in items],
                            parser.expr_attr_names_found, parser.expr_attr_values_found))  # fmt: skip
            except Exception as exc:  # the error itself is what is compared
                out.append((type(exc), str(exc)))
        return out

    ours, theirs = _patched_and_original(ConditionExpressionParser, "parse", parse)
    assert ours == theirs


def _verdict(condition: Any, item: Any) -> Any:
    try:
        return condition.expr(item)
    except Exception as exc:  # an operand of the wrong type, say: the same error either way
        return type(exc), str(exc)


projected_names = st.lists(
    st.sampled_from(["pk", "sk", "a", "b", "gone", "a[0]", "a.b"]).map(lambda n: n.split(".")), max_size=4
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "c", "a[0]"]), attribute_values, max_size=4), projected_names)
def test_an_item_projects_as_moto_s_own_projection_does(attributes: dict[str, Any], paths: list[list[str]]) -> None:
    """Any projection (top-level names, a name twice, a list element, a nested path, none) of an item with any
    values, a number past DynamoDB's 38 digits among them now and then, gives what moto's own gives, or fails as
    it fails."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from baton.local import moto_dynamodb

    moto_dynamodb.install()
    if "c" in attributes:
        attributes["c"] = {"N": "1" * 40}  # moto's reading of it fails
    item = Item(DynamoType({"S": "k"}), DynamoType({"S": "s"}), {"pk": {"S": "k"}, "sk": {"S": "s"}, **attributes})

    def projected() -> Any:
        try:
            return item.project(paths).to_json()
        except Exception as exc:  # moto's reading of a value fails alike
            return type(exc).__name__

    ours, theirs = _patched_and_original(Item, "project", projected)
    assert ours == theirs
