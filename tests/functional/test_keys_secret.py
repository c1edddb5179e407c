"""``python -m infra.keys`` (the first step of ``make deploy``) on moto: it creates the two key secrets with keys
Baton accepts, under the names the stack will read; a deployment from before the split gets its old secret's salt
and signing key carried over; an existing secret is never changed. ``--encrypt`` (after the deploy, with
``-c kms=true``) puts both under the stack's key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from baton.adapters import secrets as secret_reads
from baton.adapters.secrets import address_salt_from_secret, signing_keys_from_secret
from baton.app.keys import SigningKey
from baton.app.unsubscribe import Claim, _signature, sign, verify
from infra import keys

NOW = datetime.now(UTC)


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # a deployer's region (make deploy leaves it to them)
    # a fresh reader: the process's one keeps what an earlier test read for its max_age, whatever this one asks
    secret_reads._secrets.cache_clear()
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")
    secret_reads._secrets.cache_clear()


def value(secrets: object, name: str) -> str:
    return str(secrets.get_secret_value(SecretId=name)["SecretString"])  # type: ignore[attr-defined]


def test_creates_the_two_secrets_named_in_the_cdk_arguments_once(
    secrets: object, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--cdk-args=-c salt_secret=shop/salt -c signing_secret=shop/sign --force"]
    assert keys.main(args) == 0
    assert capsys.readouterr().out.splitlines() == [
        "secret shop/salt: created with new random keys",
        "secret shop/sign: created with new random keys",
    ]
    first = value(secrets, "shop/salt"), value(secrets, "shop/sign")
    salt = address_salt_from_secret("shop/salt", max_age=0)
    signing = signing_keys_from_secret("shop/sign", max_age=0)
    assert len(signing.keys) == 1 and signing.legacy is None and salt != signing.keys[0].key
    assert signing.signing(NOW) == signing.keys[0]
    # again: the existing secrets (and so the address-hash salt) are left exactly as they were
    assert keys.main(args) == 0
    assert "shop/salt: exists, left as it is" in capsys.readouterr().out
    assert (value(secrets, "shop/salt"), value(secrets, "shop/sign")) == first
    assert json.loads(first[0]).keys() == {"address_salt"}


def test_a_deployment_from_before_the_split_keeps_its_salt_and_its_mailed_links(
    secrets: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """The combined secret's salt becomes the salt secret's (every suppressed address stays suppressed), and its
    signing key becomes the key ``legacy``: links mailed before the split (v1, no key id) still verify, and it
    signs the new links until the first rotation. The combined secret is left as it was."""
    old = {"signing_key": "s" * 48, "address_salt": "a" * 48}
    secrets.create_secret(Name="baton/keys", SecretString=json.dumps(old))  # type: ignore[attr-defined]
    assert keys.main(["--cdk-args="]) == 0
    assert "secret baton/address-salt: made from baton/keys" in capsys.readouterr().out
    assert address_salt_from_secret("baton/address-salt", max_age=0) == b"a" * 48
    signing = signing_keys_from_secret("baton/signing-keys", max_age=0)
    assert (signing.legacy, signing.signing(NOW).id, signing.signing(NOW).key) == ("legacy", "legacy", b"s" * 48)
    # a link mailed before the split: its payload signed over "v1.<payload>" with the old signing key
    payload = sign(Claim("c1", "category:sale", NOW + timedelta(days=30)), SigningKey("x", b"s" * 48, NOW)).split(".")[
        2
    ]
    mailed = f"v1.{payload}.{_signature(b's' * 48, f'v1.{payload}')}"
    assert verify(mailed, signing, NOW).customer_id == "c1"
    assert json.loads(value(secrets, "baton/keys")) == old


def test_make_deploy_passes_its_cdk_args_through_the_environment(
    secrets: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """make deploy exports CDK_ARGS rather than quoting it into an option: double quotes in the
    arguments survive, and the --context=key=value form is read too."""
    monkeypatch.setenv("CDK_ARGS", '--context=salt_secret="shop/quoted-salt" --require-approval never')
    assert keys.main([]) == 0
    assert "secret shop/quoted-salt: created" in capsys.readouterr().out
    secrets.describe_secret(SecretId="shop/quoted-salt")  # type: ignore[attr-defined]


def test_make_deploy_with_a_stage_creates_the_stages_own_secrets(
    secrets: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``make deploy STAGE=staging`` puts ``-c stage=staging`` into CDK_ARGS: the secrets made are the stage's, not
    the unstaged deployment's (whose keys would then sign and salt for both)."""
    monkeypatch.setenv("CDK_ARGS", "--require-approval never -c stage=staging")
    assert keys.main([]) == 0
    assert "secret baton/staging/address-salt: created" in capsys.readouterr().out
    listed = secrets.list_secrets()["SecretList"]  # type: ignore[attr-defined]
    assert sorted(s["Name"] for s in listed) == ["baton/staging/address-salt", "baton/staging/signing-keys"]


def test_a_stage_the_stack_would_refuse_stops_the_deploy_before_any_secret(
    secrets: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CDK_ARGS", "-c stage=Staging")
    assert keys.main([]) == 1
    assert "context stage: expected a lowercase letter" in capsys.readouterr().err
    assert secrets.list_secrets()["SecretList"] == []  # type: ignore[attr-defined]


def test_encrypt_puts_both_secrets_under_the_stacks_key_only_with_kms(
    secrets: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert keys.main(["--cdk-args=-c kms=true"]) == 0
    assert keys.main(["--encrypt", "--cdk-args="]) == 0  # no key: nothing to do
    assert "KmsKeyId" not in secrets.describe_secret(SecretId="baton/address-salt")  # type: ignore[attr-defined]
    capsys.readouterr()
    kms = boto3.client("kms", region_name="us-east-1")
    kms.create_alias(AliasName="alias/baton", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])  # the stack's
    assert keys.main(["--encrypt", "--cdk-args=-c kms=true"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "secret baton/address-salt: now under alias/baton",
        "secret baton/signing-keys: now under alias/baton",
    ]
    for name in ("baton/address-salt", "baton/signing-keys"):
        assert secrets.describe_secret(SecretId=name)["KmsKeyId"] == "alias/baton"  # type: ignore[attr-defined]
    assert keys.main(["--encrypt", "--cdk-args=-c kms=true"]) == 0
    assert "already under alias/baton" in capsys.readouterr().out
