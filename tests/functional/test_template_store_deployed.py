"""The deployed functions with the template store wired in, on moto: the real handlers, composition roots and settings
(the environment the stack gives them, ``BATON_TEMPLATES_BUCKET`` included), a versioned bucket, and sets pushed with
``baton templates push``. Only AWS is faked."""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from collections.abc import Iterator
from email import message_from_bytes, message_from_string
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from baton.app.keys import LOCAL_ADDRESS_SALT, LOCAL_SIGNING_KEYS
from baton.app.templates import SHIPPED, read_directory
from baton.core.policy import Policy, policy_json
from baton.entry import composition
from baton.local.cli import main
from baton.local.mocked_aws import CONFIGURATION_SET, REGION, SENDER
from baton.local.runtime import LocalContext, sqs_event
from baton.names import METRICS_NAMESPACE, TABLE_NAME, TEMPLATES_REJECTED_METRIC, Env
from baton.ops import templates_push
from functions.arbiter.handler import lambda_handler as arbiter_handler
from functions.profile.handler import lambda_handler as profile_handler
from tests.conftest import START, without_windows

BUCKET = "baton-templates-deployed-test"
# names of this file's own: the powertools caches of the process are keyed by name, and other tests use the defaults
POLICY = "/baton/templates-test/policy"
SALT = "baton/templates-test/address-salt"
SIGNING = "baton/templates-test/signing-keys"
SALE = {"headline": "Doors open", "url": "https://shop.example/sale"}


@pytest.fixture
def deployed(local_aws: None, default_policy: Policy, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The resources and environment the stack gives the arbiter and the profile function, and a fresh container
    (composition roots not built yet); yields the S3 client."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    secrets = boto3.client("secretsmanager", region_name=REGION)
    secrets.create_secret(Name=SALT, SecretString=json.dumps({"address_salt": LOCAL_ADDRESS_SALT.decode()}))
    secrets.create_secret(Name=SIGNING, SecretString=json.dumps(LOCAL_SIGNING_KEYS.as_mapping()))
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=POLICY, Value=policy_json(without_windows(default_policy)), Type="String"
    )
    for name, value in {
        Env.TABLE_NAME: TABLE_NAME,
        Env.SALT_SECRET: SALT,
        Env.SIGNING_SECRET: SIGNING,
        Env.AUDIT_RETENTION_DAYS: "90",
        Env.POLICY_PARAMETER: POLICY,
        Env.SENDER: SENDER,
        Env.SES_CONFIGURATION_SET: CONFIGURATION_SET,
        Env.UNSUBSCRIBE_URL: "https://unsubscribe.shop.example/unsubscribe",
        Env.TEMPLATES_BUCKET: BUCKET,
        "POWERTOOLS_METRICS_DISABLED": "false",
    }.items():
        monkeypatch.setenv(name, value)
    composition.arbiter_service.cache_clear()
    composition.profile_parts.cache_clear()
    yield s3
    composition.arbiter_service.cache_clear()
    composition.profile_parts.cache_clear()


def envelope(detail_type: str, detail: dict[str, Any]) -> str:
    return json.dumps(
        {
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": "shop",
            "time": START.isoformat(),
            "detail": detail,
        }
    )


def customer(customer_id: str) -> None:
    profile = {"customer_id": customer_id, "email": f"{customer_id}@example.com", "consent": {"email": True}}
    result = profile_handler(sqs_event([envelope("CustomerUpdated", {**profile, "timezone": "UTC"})]), LocalContext())
    assert result == {"batchItemFailures": []}


def request(request_id: str, customer_id: str, template: str) -> dict[str, Any]:
    return arbiter_handler(
        sqs_event(
            [
                envelope(
                    "MessageRequested",
                    {
                        "request_id": request_id,
                        "customer_id": customer_id,
                        "channel": "email",
                        "category": "sale",
                        "template": template,
                        "data": SALE,
                    },
                )
            ]
        ),
        LocalContext(),
    )


def record(customer_id: str, request_id: str) -> Any:
    ledger = composition.arbiter_service().ledger
    return {r.request_id: r for r in ledger.timeline(customer_id)}[request_id]


def subjects() -> list[str]:
    out = []
    for sent in ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages:
        raw = sent.raw_data
        mime = message_from_bytes(raw) if isinstance(raw, bytes) else message_from_string(raw)
        out.append(str(mime["Subject"]))
    return out


def push(directory: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Push a set as an operator would; the version it printed."""
    assert main(["templates", "push", str(directory), "--bucket", BUCKET]) == 0
    return read_directory(directory).version


def a_copy(tmp_path: Path, subject: str, name: str = "set") -> Path:
    root = tmp_path / name
    shutil.copytree(SHIPPED, root)
    (root / "sale" / "default" / "subject.txt").write_text(subject)
    return root


def expire_cache() -> None:
    """As 60 seconds passing would: the arbiter's cached manifest is forgotten, the next render reads it again."""
    composition.arbiter_service().renderer.source.store._manifests.clear_cache()


def emitted(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"_aws"')]


def test_the_deployed_arbiter_renders_the_pushed_set_read_at_its_first_event(
    deployed: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    version = push(a_copy(tmp_path, "{{ headline }}: pushed copy\n"), capsys)
    customer("c1")
    source = composition.arbiter_service().renderer.source  # the container's start: settings, clients
    assert source.store is None  # no store adapter, no S3 client, no template read before the first render

    assert request("r1", "c1", "sale") == {"batchItemFailures": []}
    assert subjects() == ["Doors open: pushed copy"]
    assert record("c1", "r1").rendered_with == f"{version}/default"
    assert "baton.adapters.template_store" in sys.modules and source.store is not None


def test_a_template_the_current_set_lacks_is_rejected_naming_it_and_a_pushed_one_is_sent(
    deployed: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_flash_sale = a_copy(tmp_path, "{{ headline }}\n")
    shutil.copytree(with_flash_sale / "sale", with_flash_sale / "flash_sale")
    push(with_flash_sale, capsys)
    customer("c2")
    request("r1", "c2", "flash_sale")
    request("r2", "c2", "ghost_sale")
    assert record("c2", "r1").status.value == "sent"
    rejected = record("c2", "r2")
    assert rejected.status.value == "rejected" and rejected.reason == "invalid:template"
    assert "'ghost_sale' is not in the current set" in rejected.detail


def test_a_broken_set_in_the_bucket_leaves_the_last_good_one_and_counts_templates_rejected(
    deployed: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    good = push(a_copy(tmp_path, "{{ headline }}: good copy\n"), capsys)
    customer("c3")
    customer("c3b")
    request("r1", "c3", "sale")
    capsys.readouterr()
    # a set written to the bucket by hand, past baton templates push: its sale subject does not render
    broken = deployed.put_object(Bucket=BUCKET, Key="templates/sale/default/subject.txt", Body=b"{{ headline \n")
    manifest = json.loads(deployed.get_object(Bucket=BUCKET, Key="manifest.json")["Body"].read())
    manifest["version"] = "by-hand"
    manifest["files"]["sale/default/subject.txt"] = broken["VersionId"]
    deployed.put_object(Bucket=BUCKET, Key="manifest.json", Body=json.dumps(manifest).encode())
    expire_cache()

    request("r2", "c3b", "sale")
    assert record("c3b", "r2").rendered_with == f"{good}/default"
    assert subjects()[-1] == "Doors open: good copy"
    counted = [blob for blob in emitted(capsys.readouterr().out) if TEMPLATES_REJECTED_METRIC in blob]
    assert len(counted) == 1 and counted[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == METRICS_NAMESPACE
    (warning,) = [r for r in caplog.records if r.getMessage() == "templates rejected"]
    assert "template set by-hand" in str(vars(warning)) and "sale/default/subject.txt" in str(vars(warning))


def test_a_push_switches_the_whole_set_at_once(
    deployed: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between a push's file uploads and its manifest write, the arbiter renders the old set, every file of it;
    after the manifest write, the new one."""
    first = push(a_copy(tmp_path, "{{ headline }}: first\n", "first"), capsys)
    for each in ("c4", "c5", "c6"):  # one sale each: the policy sends one a day
        customer(each)
    request("r1", "c4", "sale")
    second_dir = a_copy(tmp_path, "{{ headline }}: second\n", "second")
    (second_dir / "sale" / "default" / "body.txt").write_text("second body {{ url }}\n")
    manifests: list[bytes] = []

    def hold_the_manifest(params: dict[str, Any], **kwargs: Any) -> None:
        if params["Key"] == "manifest.json":  # the push's last step: decide with the new files uploaded, before it
            expire_cache()
            request("r2", "c5", "sale")
            manifests.append(params["Body"])

    pusher = boto3.client("s3", region_name=REGION)  # the operator's client, watched
    pusher.meta.events.register("provide-client-params.s3.PutObject", hold_the_manifest)
    monkeypatch.setattr(templates_push, "s3_client", lambda: pusher)
    second = push(second_dir, capsys)
    assert manifests, "the push wrote no manifest"
    r2 = record("c5", "r2")
    assert r2.rendered_with == f"{first}/default", (r2.status, r2.reason, r2.detail)
    during = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages[-1].raw_data
    assert "second body" not in str(during) and subjects()[-1] == "Doors open: first"

    expire_cache()
    request("r3", "c6", "sale")
    r3 = record("c6", "r3")
    assert r3.rendered_with == f"{second}/default", (r3.status, r3.reason, r3.detail)
    assert subjects()[-1] == "Doors open: second"
