"""Finding a deployment's template bucket, on moto's CloudFormation and S3: by the stack's ``TemplateBucketName``
output (``--stack``), by its ledger table's name (``--table``), and the push ``make deploy`` makes after ``cdk deploy``
(``python -m infra.push_templates``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from baton.app.templates import SHIPPED, read_directory
from baton.local.cli import main
from baton.ops.templates_push import BUCKET_OUTPUT
from infra.push_templates import main as push_after_deploy

REGION = "us-east-1"


def deploy(stack: str) -> str:
    """A stack of that name with a versioned bucket and the output naming it; the bucket's name."""
    template = {
        "Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}},
        "Outputs": {BUCKET_OUTPUT: {"Value": {"Ref": "Bucket"}}},
    }
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    (resource,) = cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
    bucket = str(resource["PhysicalResourceId"])
    # moto's CloudFormation leaves VersioningConfiguration out: as the real bucket is, versioned
    boto3.client("s3", region_name=REGION).put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    return bucket


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_REGION", raising=False)
    with mock_aws():
        yield boto3.client("s3", region_name=REGION)


def live_version(s3: Any, bucket: str) -> str:
    return str(json.loads(s3.get_object(Bucket=bucket, Key="manifest.json")["Body"].read())["version"])


def test_make_deploy_pushes_the_shipped_set_into_the_stage_s_bucket(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    production, staging = deploy("Baton"), deploy("Baton-staging")
    assert push_after_deploy(["--cdk-args", "-c stage=staging -c sender=a@shop.example"]) == 0
    assert live_version(aws, staging) == read_directory(SHIPPED).version
    assert "Contents" not in aws.list_objects_v2(Bucket=production)  # the other stage's store is untouched
    assert f"s3://{staging}: version {read_directory(SHIPPED).version}" in capsys.readouterr().out

    assert push_after_deploy(["--cdk-args", "-c stage=staging"]) == 0  # the next deploy: nothing to write
    assert "nothing pushed" in capsys.readouterr().out


@pytest.mark.parametrize(("table", "stack"), [("baton-ledger", "Baton"), ("baton-staging-ledger", "Baton-staging")])
def test_table_names_the_bucket_of_the_same_deployment(
    aws: Any, capsys: pytest.CaptureFixture[str], table: str, stack: str
) -> None:
    buckets = {name: deploy(name) for name in ("Baton", "Baton-staging")}
    assert main(["templates", "push", str(SHIPPED), "--table", table]) == 0
    assert live_version(aws, buckets[stack]) == read_directory(SHIPPED).version
    assert main(["templates", "diff", str(SHIPPED), "--table", table]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "no changes"


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("orders", "'orders' is not a Baton ledger table name (baton-ledger or baton-<stage>-ledger)"),
        ("baton-Staging-ledger", "expected a lowercase letter"),
    ],
)
def test_a_table_no_deployment_has_is_refused_naming_it(
    aws: Any, capsys: pytest.CaptureFixture[str], table: str, expected: str
) -> None:
    assert main(["templates", "push", str(SHIPPED), "--table", table]) == 2
    err = capsys.readouterr().err
    assert f"--table {table}: " in err and expected in err


def test_a_stack_without_the_output_is_named(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates", "push", str(SHIPPED), "--table", "baton-qa-ledger"]) == 2
    assert "cannot read stack Baton-qa" in capsys.readouterr().err
