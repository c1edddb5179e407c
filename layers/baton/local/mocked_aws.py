"""Local AWS: embedded moto for everything, optionally DynamoDB Local for the ledger. Tables are created from
the same names and key schema the CDK app deploys (``baton.names``), so local and cloud cannot drift."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from baton.names import (
    DUE_INDEX,
    DUE_INDEX_PK,
    DUE_INDEX_SK,
    PK,
    SK,
    TABLE_NAME,
    TTL_ATTRIBUTE,
)

REGION = "us-east-1"
SENDER = "orders@shop.example"
CONFIGURATION_SET = "baton-local"

LOCAL_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # powertools: quiet on a terminal, no X-Ray daemon here
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_SERVICE_NAME": "baton",
    "POWERTOOLS_METRICS_NAMESPACE": "Baton",
}


def table_definition(table_name: str = TABLE_NAME) -> dict[str, Any]:
    """The ledger table as DynamoDB's CreateTable takes it (the CDK construct declares the same)."""
    return {
        "TableName": table_name,
        "KeySchema": [{"AttributeName": PK, "KeyType": "HASH"}, {"AttributeName": SK, "KeyType": "RANGE"}],
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"} for name in (PK, SK, DUE_INDEX_PK, DUE_INDEX_SK)
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": DUE_INDEX,
                "KeySchema": [
                    {"AttributeName": DUE_INDEX_PK, "KeyType": "HASH"},
                    {"AttributeName": DUE_INDEX_SK, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }


def create_table(dynamodb: Any, table_name: str = TABLE_NAME) -> None:
    existing = dynamodb.list_tables().get("TableNames", [])
    if table_name in existing:
        return
    dynamodb.create_table(**table_definition(table_name))
    dynamodb.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    dynamodb.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
    )


def set_local_env() -> None:
    import warnings

    for key, value in LOCAL_ENV.items():
        os.environ[key] = value
    warnings.filterwarnings("ignore", message="No application metrics to publish")


class _Signing:
    """Whether requests are signed: inside the embedded mock no request leaves the process and moto reads no
    signature (a request without one is the default account's, as a request signed with the local key is), so
    they go unsigned, which takes a tenth off each call; a DynamoDB endpoint's requests are signed as ever."""

    mocked = 0  # mocked_aws contexts open
    endpoint: str | None = None

    @classmethod
    def choose(cls, signing_name: str = "", **_: Any) -> Any:
        import botocore

        return botocore.UNSIGNED if goes_unsigned(signing_name) else None

    @classmethod
    def register(cls) -> None:
        """Every botocore session made from now on asks ``choose`` (as moto's own stubber is registered)."""
        from botocore.handlers import BUILTIN_HANDLERS

        if ("choose-signer", cls.choose) not in BUILTIN_HANDLERS:
            BUILTIN_HANDLERS.append(("choose-signer", cls.choose))


def goes_unsigned(service: str) -> bool:
    """Whether a call to ``service`` goes unsigned now: inside the embedded mock, and for DynamoDB only while it is
    moto's (not a ``dynamodb_endpoint``'s)."""
    return bool(_Signing.mocked) and not (service == "dynamodb" and _Signing.endpoint)


@contextmanager
def mocked_aws(dynamodb_endpoint: str | None = None, table_name: str = TABLE_NAME) -> Iterator[None]:
    """Embedded moto (SES, SNS, SQS, and DynamoDB unless an endpoint is given), with the table and the sender
    identity created."""
    import boto3
    from moto import mock_aws

    from baton.local import moto_direct, moto_dynamodb

    set_local_env()
    moto_dynamodb.install()
    _Signing.register()
    moto_direct.install()
    with mock_aws(), _unsigned(dynamodb_endpoint):
        moto_dynamodb.untrack()
        if dynamodb_endpoint:
            ddb = boto3.client("dynamodb", region_name=REGION, endpoint_url=dynamodb_endpoint)
        else:
            ddb = boto3.client("dynamodb", region_name=REGION)
        create_table(ddb, table_name)
        ses = boto3.client("sesv2", region_name=REGION)
        ses.create_email_identity(EmailIdentity=SENDER)
        ses.create_configuration_set(ConfigurationSetName=CONFIGURATION_SET)
        yield


@contextmanager
def _unsigned(dynamodb_endpoint: str | None) -> Iterator[None]:
    before = _Signing.endpoint
    _Signing.mocked += 1
    _Signing.endpoint = dynamodb_endpoint
    try:
        yield
    finally:
        _Signing.mocked -= 1
        _Signing.endpoint = before


class TableInUse(Exception):
    """A replay was pointed at a table that already holds items; the message says which and what to do."""


@contextmanager
def replay_table(endpoint: str | None, name: str | None, *, keep: bool, reuse: bool) -> Iterator[str]:
    """The table a replay writes its ledger into. On embedded moto, today's name (moto is fresh for each run).
    On a DynamoDB endpoint, a fresh table of its own (``name``, or a new ``baton-replay-<id>``), deleted at the
    end unless ``keep``; a table that already holds items is refused (TableInUse) unless ``reuse``."""
    if endpoint is None:
        yield name or TABLE_NAME
        return
    import uuid

    import boto3

    set_local_env()
    table = name or f"baton-replay-{uuid.uuid4().hex[:8]}"
    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    existed = table in client.list_tables().get("TableNames", [])
    if existed and not reuse and client.scan(TableName=table, Limit=1).get("Items"):
        raise TableInUse(
            f"table {table} on {endpoint} already holds items: a replay writes only into a new or empty table, so"
            " that its outcomes are the events' own (name another table, delete this one, or pass --reuse-table)"
        )
    try:
        yield table
    finally:
        if not keep and not existed:
            client.delete_table(TableName=table)


def register_push_endpoints(arns: list[str]) -> None:
    """Make these SNS platform endpoints exist in moto (the shopper's devices in a local run)."""
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    sns = boto3.client("sns", region_name=REGION)
    backend = sns_backends[DEFAULT_ACCOUNT_ID][REGION]
    for arn in arns:
        if arn in backend.platform_endpoints:
            continue
        platform, app_name = arn.split(":endpoint/", 1)[1].split("/")[:2]
        apps = {a["PlatformApplicationArn"] for a in sns.list_platform_applications()["PlatformApplications"]}
        app_arn = f"arn:aws:sns:{REGION}:{DEFAULT_ACCOUNT_ID}:app/{platform}/{app_name}"
        if app_arn not in apps:
            sns.create_platform_application(Name=app_name, Platform=platform, Attributes={})
        created = sns.create_platform_endpoint(PlatformApplicationArn=app_arn, Token=arn.rsplit("/", 1)[1])
        endpoint = backend.platform_endpoints.pop(created["EndpointArn"])
        endpoint.arn = arn
        backend.platform_endpoints[arn] = endpoint


def sent_messages() -> dict[str, list[Any]]:
    """What moto's SES and SNS received, by channel."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends

    ses = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
    sns = sns_backends[DEFAULT_ACCOUNT_ID][REGION]
    push = [
        (arn, message) for arn, endpoint in sns.platform_endpoints.items() for message in endpoint.messages.values()
    ]
    return {"email": list(ses.sent_messages), "sms": list(sns.sms_messages.values()), "push": push}
