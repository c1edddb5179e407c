"""``python -m infra.keys`` (the first step of ``make deploy``) on moto: it creates the keys secret with random
keys Baton accepts, under the name the stack will read, and never changes a secret that exists."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from baton.adapters.secrets import keys_from_secret
from infra import keys


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # a deployer's region (make deploy leaves it to them)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def test_creates_the_secret_named_in_the_cdk_arguments_once(
    secrets: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert keys.main(["--cdk-args=-c keys_secret=shop/baton-keys --force"]) == 0
    assert "created with new random keys" in capsys.readouterr().out
    first = secrets.get_secret_value(SecretId="shop/baton-keys")["SecretString"]  # type: ignore[attr-defined]
    loaded = keys_from_secret("shop/baton-keys", max_age=0)
    assert loaded.signing_key != loaded.address_salt
    # again: the existing secret (and so the address-hash salt) is left exactly as it was
    assert keys.main(["--cdk-args=-c keys_secret=shop/baton-keys --force"]) == 0
    assert "exists, left as it is" in capsys.readouterr().out
    assert secrets.get_secret_value(SecretId="shop/baton-keys")["SecretString"] == first  # type: ignore[attr-defined]
    assert json.loads(first).keys() == {"signing_key", "address_salt"}


def test_make_deploy_passes_its_cdk_args_through_the_environment(
    secrets: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """make deploy exports CDK_ARGS rather than quoting it into an option: double quotes in the
    arguments survive, and the --context=key=value form is read too."""
    monkeypatch.setenv("CDK_ARGS", "--context=keys_secret=\"shop/quoted-keys\" --require-approval never")
    assert keys.main([]) == 0
    assert "secret shop/quoted-keys: created" in capsys.readouterr().out
    secrets.describe_secret(SecretId="shop/quoted-keys")  # type: ignore[attr-defined]


def test_make_deploy_with_a_stage_creates_the_stages_own_secret(
    secrets: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``make deploy STAGE=staging`` puts ``-c stage=staging`` into CDK_ARGS: the secret made is the stage's, not the
    unstaged deployment's (whose keys would then sign and salt for both)."""
    monkeypatch.setenv("CDK_ARGS", "--require-approval never -c stage=staging")
    assert keys.main([]) == 0
    assert "secret baton/staging/keys: created" in capsys.readouterr().out
    listed = secrets.list_secrets()["SecretList"]  # type: ignore[attr-defined]
    assert [s["Name"] for s in listed] == ["baton/staging/keys"]


def test_a_stage_the_stack_would_refuse_stops_the_deploy_before_any_secret(
    secrets: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CDK_ARGS", "-c stage=Staging")
    assert keys.main([]) == 1
    assert "context stage: expected a lowercase letter" in capsys.readouterr().err
    assert secrets.list_secrets()["SecretList"] == []  # type: ignore[attr-defined]
