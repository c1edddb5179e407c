"""Infra tests: the CDK app is synthesized once per session (with cdk-nag, as app.py does) and every test reads
that one template; the stage tests read a second one, the same deployment with a stage. No AWS: synthesis is local;
the layer build asks only the package index, once, then caches."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

from infra.node import use_bundled_node

use_bundled_node()  # before aws_cdk: jsii starts node from PATH

from aws_cdk import App  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from baton.names import StageNames  # noqa: E402
from infra.config import load_config  # noqa: E402
from infra.stack import BatonStack, build, cdk_json_context  # noqa: E402

# What a real deployment sets, so that every optional path is in the template (the optional mailto included).
CONTEXT: dict[str, Any] = {
    **cdk_json_context(),
    "sender": "orders@shop.example",
    "domain": "shop.example",
    "producer_account_ids": ["111111111111", "222222222222"],
    "preferences_principals": ["arn:aws:iam::111111111111:role/preference-centre"],
    "operator_principals": ["arn:aws:iam::111111111111:role/support"],
    "unsubscribe_mailto": "unsubscribe@shop.example",
    "alarm_topic_arn": "arn:aws:sns:us-east-1:123456789012:baton-alarms",
    "max_concurrency": 7,
    "log_retention_days": 60,
    "audit_retention_days": 120,
}
STAGE = "staging"  # the stage of the ``staged`` synth


@dataclass
class Synthesized:
    stack: BatonStack
    template: Template
    document: dict[str, Any]
    outdir: Path
    names: StageNames  # what infra.config made of the context's stage
    _ids: dict[str, str] = field(default_factory=dict)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.document["Resources"])

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    def logical_id(self, construct: Any) -> str:
        return str(self.stack.resolve(self.stack.get_logical_id(construct.node.default_child)))

    def function_id(self, name: str) -> str:
        return self.logical_id(self.stack.functions[name].function)

    def function(self, name: str) -> dict[str, Any]:
        return self.resources[self.function_id(name)]

    def role_statements(self, role_id: str) -> list[dict[str, Any]]:
        """Every statement of every IAM policy attached to the role (inline policies of AWS::IAM::Policy)."""
        out = []
        for policy in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": role_id} in policy["Properties"]["Roles"]:
                out.extend(policy["Properties"]["PolicyDocument"]["Statement"])
        return out

    def queue_id(self, name: str) -> str:
        return next(k for k, v in self.of_type("AWS::SQS::Queue").items() if v["Properties"].get("QueueName") == name)


REFERENCE = re.compile(r'\{"Ref": "([A-Za-z0-9]+)"\}|\{"Fn::GetAtt": \["([A-Za-z0-9]+)", "[A-Za-z0-9.]+"\]\}')


def synthesize(context: dict[str, Any], outdir: Path) -> Synthesized:
    app = App(context=context, outdir=str(outdir))
    stack = build(app)
    template = Template.from_stack(stack)
    return Synthesized(
        stack=stack, template=template, document=template.to_json(), outdir=outdir, names=load_config(context).names
    )


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield synthesize(CONTEXT, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The deployment of ``synth`` with ``-c stage=staging``."""
    return synthesize({**CONTEXT, "stage": STAGE}, tmp_path_factory.mktemp("cdk.out.staged"))


@pytest.fixture(scope="session")
def kms_synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The deployment of ``synth`` with ``-c kms=true``, and no reserved concurrency (``unsubscribe_concurrency=0``,
    an account too small to reserve from): the two options' other sides in one synth."""
    return synthesize({**CONTEXT, "kms": True, "unsubscribe_concurrency": 0}, tmp_path_factory.mktemp("cdk.out.kms"))


@pytest.fixture(scope="session", params=["synth", "staged"], ids=["unstaged", "staged"])
def each_synth(request: pytest.FixtureRequest) -> Synthesized:
    """The unstaged synth, then the staged one: for the checks that every deployment must pass."""
    return cast(Synthesized, request.getfixturevalue(request.param))


def references(value: Any) -> list[str]:
    """Logical ids a template value refers to (Ref or GetAtt)."""
    return [a or b for a, b in REFERENCE.findall(json.dumps(value))]
