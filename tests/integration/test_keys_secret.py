"""``python -m infra.keys`` (the first step of ``make deploy``) on moto: it creates the keys secret with random
keys Baton accepts, under the name the stack will read, and never changes a secret that exists."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from baton.keys import keys_from_secret
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
