"""Least privilege, per function: the exact (action, resource) pairs each role holds, and no wildcard resource
anywhere except the two AWS leaves no alternative to (X-Ray, and SNS for SMS)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from baton.entry.settings import ALL_SETTINGS
from baton.names import (
    ARBITER_QUEUE,
    FEEDBACK_QUEUE,
    POLICY_PARAMETER,
    PROFILE_QUEUE,
    SALT_SECRET_NAME,
    SIGNING_SECRET_NAME,
    SWEEPER_DLQ,
)

from .conftest import Synthesized, references

Grant = tuple[str, str]  # (action, resource label)

XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
SMS = {"sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"}
CONSUME = (
    "sqs:ReceiveMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueUrl",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
)
SALT = ("secretsmanager:GetSecretValue", f"secret:{SALT_SECRET_NAME}")
SIGNING = ("secretsmanager:GetSecretValue", f"secret:{SIGNING_SECRET_NAME}")  # only who signs or verifies tokens
POLICY = ("ssm:GetParameter", f"parameter:{POLICY_PARAMETER}")
# who renders reads the template store: its files and manifest, at a version; no listing, no write, no other key
TEMPLATE_ACTIONS = {"s3:GetObject", "s3:GetObjectVersion"}
TEMPLATES = {(a, f"template-bucket/{key}") for a in TEMPLATE_ACTIONS for key in ("templates/*", "manifest.json")}


def base() -> set[Grant]:
    """Every function: write to its own log group, and send traces."""
    return {("logs:CreateLogStream", "own-log-group"), ("logs:PutLogEvents", "own-log-group")} | {
        (a, "*") for a in XRAY
    }


def table(*actions: str) -> set[Grant]:
    return {(f"dynamodb:{a}", "table") for a in actions}


def consume(queue: str) -> set[Grant]:
    return {(a, f"queue:{queue}") for a in CONSUME}


EXPECTED: dict[str, set[Grant]] = {
    "arbiter": base()
    | table("BatchGetItem", "GetItem", "PutItem", "UpdateItem")
    | {SALT, SIGNING, POLICY}
    | TEMPLATES
    | {(a, r) for a in ("ses:SendEmail", "ses:SendRawEmail") for r in ("ses-identity", "ses-configuration-set")}
    | {(a, "*") for a in SMS}
    | consume(ARBITER_QUEUE),
    "profile": base()
    | table("BatchGetItem", "GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")
    | {SALT, POLICY}
    | consume(PROFILE_QUEUE),
    "sweeper": base()
    | table("GetItem", "PutItem", "Scan")  # the fleet's engagement histogram: one Scan segment an hour, one item
    | {
        ("dynamodb:Query", "table/index/due"),
        ("sqs:SendMessage", f"queue:{ARBITER_QUEUE}"),
        ("sqs:SendMessage", f"queue:{SWEEPER_DLQ}"),  # its failed invocations (DeadLetterConfig)
    },
    "unsubscribe": base() | table("BatchGetItem", "PutItem", "UpdateItem") | {SALT, SIGNING},
    "preferences": base() | table("BatchGetItem", "PutItem", "UpdateItem") | {SALT},
    "preview": base() | table("BatchGetItem", "GetItem") | {SALT, POLICY} | TEMPLATES,
    "feedback": base() | table("GetItem", "PutItem", "UpdateItem") | {SALT, POLICY} | consume(FEEDBACK_QUEUE),
}


def label(synth: Synthesized, resource: Any, own_log_group: str) -> str:
    """A readable name for a statement's resource (a template value)."""
    if resource == "*":
        return "*"
    text = json.dumps(resource)
    if ":secret:" in text:
        return "secret:" + text.split(":secret:", 1)[1].split("-??????", 1)[0]
    (target,) = references(resource)
    kind = synth.resources[target]["Type"]
    props = synth.resources[target].get("Properties", {})
    name = {
        "AWS::DynamoDB::Table": "table",
        "AWS::SQS::Queue": f"queue:{props.get('QueueName')}",
        "AWS::Logs::LogGroup": "own-log-group" if target == own_log_group else f"log-group:{target}",
        "AWS::SES::EmailIdentity": "ses-identity",
        "AWS::SES::ConfigurationSet": "ses-configuration-set",
        "AWS::SSM::Parameter": f"parameter:{props.get('Name')}",
        "AWS::Lambda::Function": f"function:{target}",
    }.get(kind, f"{kind}:{target}")
    if kind == "AWS::S3::Bucket":  # an object key pattern: the Fn::Join's last part, after the bucket's ARN
        name = "template-bucket" + resource["Fn::Join"][1][-1]
    if "/index/" in text:
        name += "/index/" + text.split("/index/", 1)[1].split('"', 1)[0]
    return name


def grants(synth: Synthesized, name: str) -> set[Grant]:
    props = synth.function(name)["Properties"]
    (role,) = references(props["Role"])
    (own_log_group,) = references(props["LoggingConfig"]["LogGroup"])
    out: set[Grant] = set()
    for statement in synth.role_statements(role):
        assert statement["Effect"] == "Allow"
        assert "Condition" not in statement
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        out |= {(a, label(synth, r, own_log_group)) for a in actions for r in resources}
    return out


@pytest.mark.parametrize("name", [s.function for s in ALL_SETTINGS])
def test_each_function_holds_exactly_the_permissions_its_code_uses(synth: Synthesized, name: str) -> None:
    assert grants(synth, name) == EXPECTED[name]


def test_roles_use_no_aws_managed_policy(synth: Synthesized) -> None:
    for logical_id, role in synth.of_type("AWS::IAM::Role").items():
        assert "ManagedPolicyArns" not in role["Properties"], logical_id


def is_template_read(statement: dict[str, Any]) -> bool:
    """The template store's read statement: its one pattern is the objects under templates/ in its own bucket."""
    text = json.dumps(statement["Resource"])
    return text.count("*") == 1 and '"/templates/*"' in text and set(statement["Action"]) == TEMPLATE_ACTIONS


def test_no_wildcard_resource_but_xray_sms_and_the_template_files(synth: Synthesized) -> None:
    """Across every policy of the stack: '*' (or a pattern with '*') only for X-Ray and the SNS SMS statement, and
    the key pattern of the template store's files (read only)."""
    found: dict[str, set[str]] = {}
    template_readers = 0
    for logical_id, policy in synth.of_type("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any("*" in a for a in actions), (logical_id, actions)
            if is_template_read(statement):
                template_readers += 1
            elif "*" in json.dumps(statement["Resource"]):
                assert statement["Resource"] == "*", (logical_id, statement["Resource"])
                found.setdefault(logical_id, set()).update(actions)
    sms_policies = [k for k, v in found.items() if v == SMS]
    assert len(sms_policies) == 1
    assert all(v == XRAY for k, v in found.items() if k not in sms_policies)
    (arbiter_role,) = references(synth.function("arbiter")["Properties"]["Role"])
    assert synth.resources[sms_policies[0]]["Properties"]["Roles"] == [{"Ref": arbiter_role}]
    assert template_readers == 2  # the arbiter and the preview


def test_no_resource_policy_opens_anything_to_everyone(synth: Synthesized) -> None:
    """'*' principals only in TLS-only denies on queues, and on the public unsubscribe function URL."""
    for policy in synth.of_type("AWS::SQS::QueuePolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Allow":
                assert statement["Principal"] == {"Service": "events.amazonaws.com"}
                assert "aws:SourceArn" in json.dumps(statement["Condition"])
    public = [
        p["Properties"]
        for p in synth.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "*"
    ]
    assert {references(p["FunctionName"])[0] for p in public} == {synth.function_id("unsubscribe")}
    assert all(p.get("FunctionUrlAuthType") == "NONE" or p.get("InvokedViaFunctionUrl") is True for p in public)
