"""DynamoDB's data-plane calls served by embedded moto in process (``baton.local.moto_direct``) answer as the same
calls through botocore's request and moto's HTTP round trip do: random calls go to two tables alike, one each way,
and every response (errors, cancellation reasons and returned items included) and both tables after each call are
the same, from a client that validates its parameters and from one that does not (as pynamodb's)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baton.local import moto_direct
from baton.local.mocked_aws import (
    CONFIGURATION_SET,
    REGION,
    SENDER,
    create_table,
    mocked_aws,
    register_push_endpoints,
    sent_messages,
)
from baton.names import DUE_INDEX, DUE_INDEX_PK, DUE_INDEX_SK, PK, SK
from tests.functional.test_moto_dynamodb import scalars

DIRECT, USUAL = "direct-table", "usual-table"
CUSTOMERS = ["a", "b"]
REQUESTS = ["1", "2", "3"]


def _key(customer: str, request: str) -> dict[str, Any]:
    return {PK: {"S": f"C#{customer}"}, SK: {"S": f"R#{request}"}}


keys = st.tuples(st.sampled_from(CUSTOMERS), st.sampled_from(REQUESTS)).map(lambda k: _key(*k))
names = st.sampled_from(["status", "data", "n", DUE_INDEX_PK, DUE_INDEX_SK])
due_values = st.builds(lambda d: {"S": f"2026-01-01T00:0{d}"}, st.integers(0, 9))
# Map keys not empty: moto's serializer writes a map's empty key as the value alone, which botocore cannot read.
# A binary value given as text: botocore writes its UTF-8 bytes in base64.
attribute_values = st.recursive(
    scalars | st.builds(lambda s: {"B": s}, st.text(max_size=4)),
    lambda inner: st.one_of(
        st.builds(lambda m: {"M": m}, st.dictionaries(st.text(min_size=1, max_size=4), inner, max_size=3)),
        st.builds(lambda items: {"L": items}, st.lists(inner, max_size=3)),
    ),
    max_leaves=8,
)
conditions = st.sampled_from([None, "attribute_exists(pk)", "attribute_not_exists(pk)", "#n = :v"])


@st.composite
def items(draw: st.DrawFn) -> dict[str, Any]:
    item = {**draw(keys), "status": draw(attribute_values), "n": {"N": str(draw(st.integers(0, 3)))}}
    if draw(st.booleans()):
        item[DUE_INDEX_PK], item[DUE_INDEX_SK] = {"S": f"DUE#{draw(st.integers(0, 1))}"}, draw(due_values)
    return item


@st.composite
def updates(draw: st.DrawFn) -> dict[str, Any]:
    attribute = draw(st.sampled_from(["status", "data", "n", PK]))  # the key attribute: a ValidationException
    call: dict[str, Any] = {
        "Key": draw(keys),
        "UpdateExpression": "SET #a = :a" if draw(st.booleans()) else "SET #a = :a REMOVE data",
        "ExpressionAttributeNames": {"#a": attribute},
        "ExpressionAttributeValues": {":a": draw(attribute_values)},
        "ReturnValues": draw(st.sampled_from(["NONE", "ALL_NEW", "ALL_OLD", "UPDATED_NEW"])),
    }
    return _conditioned(call, draw(conditions), draw(st.integers(0, 3)))


def _conditioned(call: dict[str, Any], condition: str | None, value: int) -> dict[str, Any]:
    if condition is None:
        return call
    call["ConditionExpression"] = condition
    if ":v" in condition:
        call.setdefault("ExpressionAttributeNames", {})["#n"] = "n"
        call.setdefault("ExpressionAttributeValues", {})[":v"] = {"N": str(value)}
    call["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return call


@st.composite
def calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """One call as (operation, parameters), the table named ``T`` (each side puts its own)."""
    kind = draw(
        st.sampled_from(
            ["put", "update", "delete", "get", "batch_get", "batch_write", "query", "due", "scan", "transact", "read"]
        )
    )
    if kind == "put":
        call = _conditioned({"Item": draw(items())}, draw(conditions), draw(st.integers(0, 3)))
        return "put_item", {"TableName": "T", **call, "ReturnValues": draw(st.sampled_from(["NONE", "ALL_OLD"]))}
    if kind == "update":
        return "update_item", {"TableName": "T", **draw(updates())}
    if kind == "delete":
        return "delete_item", {"TableName": "T", "Key": draw(keys), "ReturnValues": "ALL_OLD"}
    if kind == "get":
        return "get_item", {"TableName": "T", "Key": draw(keys), "ConsistentRead": draw(st.booleans())}
    if kind == "batch_get":
        wanted = draw(st.lists(keys, min_size=1, max_size=4, unique_by=lambda k: (k[PK]["S"], k[SK]["S"])))
        return "batch_get_item", {"RequestItems": {"T": {"Keys": wanted, "ConsistentRead": True}}}
    if kind == "batch_write":
        writes = [
            {"PutRequest": {"Item": draw(items())}} if draw(st.booleans()) else {"DeleteRequest": {"Key": draw(keys)}}
            for _ in range(draw(st.integers(1, 3)))
        ]
        return "batch_write_item", {"RequestItems": {"T": writes}}
    if kind == "query":
        return "query", {
            "TableName": "T",
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": f"C#{draw(st.sampled_from(CUSTOMERS))}"}},
            "Limit": draw(st.integers(1, 4)),
        }
    if kind == "due":
        return "query", {
            "TableName": "T",
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "due_pk = :p AND due_sk <= :b",
            "ExpressionAttributeValues": {":p": {"S": f"DUE#{draw(st.integers(0, 1))}"}, ":b": draw(due_values)},
        }
    if kind == "scan":
        return "scan", {"TableName": "T", "Segment": draw(st.integers(0, 1)), "TotalSegments": 2}
    if kind == "read":
        wanted = draw(st.lists(keys, min_size=1, max_size=3))
        return "transact_get_items", {"TransactItems": [{"Get": {"TableName": "T", "Key": k}} for k in wanted]}
    entries = []
    for update in draw(st.lists(updates(), min_size=1, max_size=3)):
        update.pop("ReturnValues")
        entries.append({"Update": {"TableName": "T", **update}})
    return "transact_write_items", {"TransactItems": entries}


@st.composite
def any_calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A call of ``calls``, now and then with a parameter the operation does not model."""
    operation, params = draw(calls())
    if draw(st.integers(0, 9)) == 0:
        params["Unmodelled"] = "x"
    return operation, params


def _on(table: str, value: Any) -> Any:
    """``value`` with the table placeholder ``T`` (as a table name and as a key of RequestItems) made ``table``."""
    if isinstance(value, dict):
        return {
            k: (
                table
                if k == "TableName" and v == "T"
                else {(table if name == "T" else name): _on(table, each) for name, each in v.items()}
                if k == "RequestItems"
                else _on(table, v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_on(table, v) for v in value]
    return value


def _outcome(method: Callable[..., Any], params: dict[str, Any], table: str) -> Any:
    """The response of ``method`` on ``table`` (or the error's response), its metadata left out and ``table``
    named ``T`` again."""
    try:
        response = method(**_on(table, params))
        kind = "ok"
    except ClientError as exc:
        response = exc.response
        kind = type(exc).__name__
    except Exception as exc:  # what else goes wrong must go wrong alike (botocore's parser, say)
        return type(exc).__name__, str(exc)
    response = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    return kind, _named_back(table, response)


def _named_back(table: str, value: Any) -> Any:
    if isinstance(value, dict):
        return {("T" if k == table else k): _named_back(table, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_named_back(table, v) for v in value]
    return "T" if value == table else value


def _contents(client: Any, table: str) -> list[dict[str, Any]]:
    with moto_direct.the_usual_way():
        return sorted(client.scan(TableName=table)["Items"], key=lambda i: (i[PK]["S"], i[SK]["S"]))


@pytest.mark.parametrize("validation", [True, False], ids=["validating", "not-validating"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(any_calls(), min_size=1, max_size=20))
def test_a_call_answers_and_writes_as_through_moto_s_http_round_trip(
    validation: bool, ops: list[tuple[str, dict[str, Any]]]
) -> None:
    with mocked_aws(table_name=DIRECT):
        client = boto3.client("dynamodb", region_name=REGION, config=Config(parameter_validation=validation))
        create_table(client, USUAL)
        for operation, params in ops:
            method = getattr(client, operation)
            direct = _outcome(method, params, DIRECT)
            with moto_direct.the_usual_way():
                usual = _outcome(method, params, USUAL)
            assert direct == usual, operation
            assert _contents(client, DIRECT) == _contents(client, USUAL)


class _Sent(Exception):
    """Raised by a look at a request about to be sent over HTTP."""


def _goes_over_http(client: Any, call: Callable[[], Any]) -> bool:
    seen: list[bool] = []

    def look(**_: Any) -> None:
        seen.append(True)
        raise _Sent

    client.meta.events.register_first("before-send", look)
    try:
        call()
    except _Sent:
        pass
    finally:
        client.meta.events.unregister("before-send", look)
    return bool(seen)


def test_data_plane_calls_skip_http_inside_the_mock_and_the_rest_go_the_usual_way() -> None:
    with mocked_aws(table_name=DIRECT):
        client = boto3.client("dynamodb", region_name=REGION)
        get = lambda: client.get_item(TableName=DIRECT, Key=_key("a", "1"))  # noqa: E731
        assert not _goes_over_http(client, get)
        assert _goes_over_http(client, lambda: client.describe_table(TableName=DIRECT))
        with moto_direct.the_usual_way():
            assert _goes_over_http(client, get)
        endpoint = boto3.client("dynamodb", region_name=REGION, endpoint_url="http://127.0.0.1:9")
        assert _goes_over_http(endpoint, lambda: endpoint.get_item(TableName=DIRECT, Key=_key("a", "1")))


def test_a_call_to_a_missing_table_raises_as_over_http() -> None:
    with mocked_aws(table_name=DIRECT):
        client = boto3.client("dynamodb", region_name=REGION)
        with pytest.raises(client.exceptions.ResourceNotFoundException) as direct:
            client.get_item(TableName="missing", Key=_key("a", "1"))
        with moto_direct.the_usual_way(), pytest.raises(client.exceptions.ResourceNotFoundException) as usual:
            client.get_item(TableName="missing", Key=_key("a", "1"))
        assert direct.value.response["Error"] == usual.value.response["Error"]


def _reaches(client: Any, event: str, call: Callable[[], Any]) -> list[Any]:
    """What ``event`` is emitted with while ``call`` runs (the call then goes on)."""
    seen: list[Any] = []

    def look(**kwargs: Any) -> None:
        seen.append(kwargs)

    client.meta.events.register_first(event, look)
    try:
        call()
    finally:
        client.meta.events.unregister(event, look)
    return seen


def test_a_data_plane_call_takes_the_client_s_url_and_sends_no_user_agent() -> None:
    with mocked_aws(table_name=DIRECT):
        client = boto3.client("dynamodb", region_name=REGION, config=Config(parameter_validation=False))
        get = lambda: client.get_item(TableName=DIRECT, Key=_key("a", "1"))  # noqa: E731
        assert not _reaches(client, "before-endpoint-resolution.dynamodb", get)
        (call,) = _reaches(client, "before-call.dynamodb", get)
        assert call["params"]["url"] == client.meta.endpoint_url + "/"
        assert "User-Agent" not in call["params"]["headers"]
        assert _reaches(client, "before-endpoint-resolution.dynamodb", lambda: client.describe_table(TableName=DIRECT))
        with moto_direct.the_usual_way():
            assert _reaches(client, "before-endpoint-resolution.dynamodb", get)


# -- the channels' calls (SES v2, SNS): served in process as moto's stubber serves them ----------------------------

PUSH = f"arn:aws:sns:{REGION}:123456789012:endpoint/GCM/shop/device-1"
addresses = st.sampled_from([SENDER, "other@shop.example", "x@y.z"])
phones = st.sampled_from(["+15555550100", "+15555550101", "555", "+1"])
mime = st.builds(
    lambda subject, text: (
        f"From: {SENDER}\r\nTo: x@y.z\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n".encode()
    ),
    st.text("abc xyz", max_size=8),
    st.text(max_size=20),
)


@st.composite
def channel_calls(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    """One call as (service, operation, parameters): sends on every channel, sender or recipient good or not (and a
    call that is not a send, which goes the usual way)."""
    kind = draw(st.sampled_from(["email", "simple", "sms", "opted", "push", "identity"]))
    if kind == "email":
        return (
            "sesv2",
            "send_email",
            {
                "FromEmailAddress": draw(addresses),
                "Destination": {"ToAddresses": draw(st.lists(addresses, min_size=1, max_size=2))},
                "Content": {"Raw": {"Data": draw(mime)}},
                "ConfigurationSetName": draw(st.sampled_from([CONFIGURATION_SET, "missing"])),
                "EmailTags": [{"Name": "category", "Value": draw(st.text("abc", min_size=1, max_size=3))}],
            },
        )
    if kind == "simple":
        return "sesv2", "send_email", {
            "FromEmailAddress": draw(addresses),
            "Destination": {"ToAddresses": [draw(addresses)]},
            "Content": {"Simple": {"Subject": {"Data": draw(st.text(max_size=5))},
                                   "Body": {"Text": {"Data": draw(st.text(max_size=10))}}}},
        }  # fmt: skip
    if kind == "sms":
        kind_of = draw(st.sampled_from(["Transactional", "Promotional"]))
        return (
            "sns",
            "publish",
            {
                "PhoneNumber": draw(phones),
                "Message": draw(st.text(max_size=10)),
                "MessageAttributes": {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": kind_of}},
            },
        )
    if kind == "opted":
        return "sns", "check_if_phone_number_is_opted_out", {"phoneNumber": draw(phones)}
    if kind == "push":
        target = draw(st.sampled_from([PUSH, PUSH.replace("device-1", "gone")]))
        return "sns", "publish", {"TargetArn": target, "Message": draw(st.text(max_size=10))}
    return "sesv2", "get_email_identity", {"EmailIdentity": draw(addresses)}


def _status(response: dict[str, Any]) -> tuple[Any, Any]:
    """A response's HTTP status and the retries botocore made for it."""
    metadata = response["ResponseMetadata"]
    return metadata["HTTPStatusCode"], metadata["RetryAttempts"]


def _channel_outcomes(calls: list[tuple[str, str, dict[str, Any]]]) -> list[Any]:
    """Each call's response (its metadata and message ids left out) or error, then what SES and SNS hold."""
    with mocked_aws(table_name=DIRECT):
        register_push_endpoints([PUSH])
        clients = {service: boto3.client(service, region_name=REGION) for service in ("sesv2", "sns")}
        out: list[Any] = []
        for service, operation, params in calls:
            try:
                answer = getattr(clients[service], operation)(**params)
                out.append({k: v for k, v in answer.items() if k not in ("ResponseMetadata", "MessageId")})
                out.append(_status(answer))
            except ClientError as exc:
                out.append((exc.response["Error"], _status(exc.response)))
            except Exception as exc:  # what else goes wrong must go wrong alike
                out.append((type(exc).__name__, str(exc)))
        sent = sent_messages()
        out.append({"email": [(m.source, m.destinations) for m in sent["email"]], "sms": sent["sms"],
                    "push": [(arn, message) for arn, message in sent["push"]]})  # fmt: skip
        return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(channel_calls(), min_size=1, max_size=8))
def test_a_channel_call_answers_and_sends_as_through_moto_s_stubber(
    calls: list[tuple[str, str, dict[str, Any]]],
) -> None:
    direct = _channel_outcomes(calls)
    with moto_direct.the_usual_way():
        usual = _channel_outcomes(calls)
    assert direct == usual


def test_a_channel_s_send_skips_moto_s_stubber_inside_the_mock_and_other_calls_do_not() -> None:
    from moto.core.models import botocore_stubber

    with mocked_aws(table_name=DIRECT):
        sns = boto3.client("sns", region_name=REGION)
        ses = boto3.client("sesv2", region_name=REGION)
        seen: list[Any] = []
        stub = botocore_stubber.process_request

        def look(request: Any) -> Any:
            seen.append(request.url)
            return stub(request)

        botocore_stubber.process_request = look  # type: ignore[method-assign]
        try:
            sns.check_if_phone_number_is_opted_out(phoneNumber="+15555550100")
            assert seen == []
            with moto_direct.the_usual_way():
                sns.check_if_phone_number_is_opted_out(phoneNumber="+15555550100")
            assert len(seen) == 1
            ses.get_email_identity(EmailIdentity=SENDER)
            assert len(seen) == 2
        finally:
            botocore_stubber.process_request = stub  # type: ignore[method-assign]
