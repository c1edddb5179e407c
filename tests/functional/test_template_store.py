"""The template store on moto's S3: ``baton templates push`` uploads a set and switches the manifest, ``diff``
says what a push would change, a broken set changes nothing (exit 2, every problem as FILE:LINE), and the
functions' source reads the manifest through a cache, keeping the last good set when a new one is bad."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from baton.adapters.template_store import MANIFEST_KEY, StoreTemplates
from baton.app.render import Renderer
from baton.app.templates import SHIPPED, read_directory
from baton.local.cli import main

BUCKET = "baton-templates-test"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


@pytest.fixture
def edited(tmp_path: Path) -> Path:
    """A copy of the shipped set with the sale subject changed."""
    root = tmp_path / "set"
    shutil.copytree(SHIPPED, root)
    (root / "sale" / "default" / "subject.txt").write_text("{{ headline }}: today only\n")
    return root


def push(directory: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(["templates", "push", str(directory), "--bucket", BUCKET])
    out, err = capsys.readouterr()
    return status, out, err


def test_push_uploads_the_set_then_a_diff_shows_one_change(
    s3: Any, edited: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = push(SHIPPED, capsys)
    shipped = read_directory(SHIPPED)
    assert status == 0 and f"version {shipped.version}" in out
    assert s3.head_object(Bucket=BUCKET, Key="templates/sale/default/subject.txt")["ContentLength"] > 0

    assert main(["templates", "diff", str(edited), "--bucket", BUCKET]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == ["~ sale/default/subject.txt"]

    status, out, _ = push(SHIPPED, capsys)
    assert status == 0 and "nothing pushed" in out


def test_the_functions_see_a_push_once_their_cache_expires_and_keep_the_last_good_set(
    s3: Any, edited: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rejected: list[str] = []
    source = StoreTemplates(s3, BUCKET, max_age=0, on_rejected=rejected.append)
    renderer = Renderer(source)
    data = {"headline": "Doors open", "url": "https://shop.example"}
    assert source.current().version == read_directory(SHIPPED).version  # no manifest yet: the shipped set

    push(SHIPPED, capsys)
    push(edited, capsys)
    assert renderer.render("sale", "email", data).subject == "Doors open: today only"

    manifest = s3.get_object(Bucket=BUCKET, Key=MANIFEST_KEY)["Body"].read().decode()
    s3.put_object(Bucket=BUCKET, Key=MANIFEST_KEY, Body=manifest.replace('"version"', '"versio"'))
    assert renderer.render("sale", "email", data).subject == "Doors open: today only"
    assert len(rejected) == 1 and "not a template manifest" in rejected[0]
    renderer.render("sale", "email", data)
    assert len(rejected) == 1  # the same broken manifest is not tried again


def test_a_cached_manifest_is_not_read_again_within_max_age(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    push(SHIPPED, capsys)
    calls: list[str] = []
    s3.meta.events.register(
        "provide-client-params.s3.GetObject", lambda **kw: calls.append(kw["params"].get("Key", ""))
    )
    source = StoreTemplates(s3, BUCKET, max_age=60)
    first = source.current()
    read = len(calls)
    assert calls.count(MANIFEST_KEY) == 1 and read > 1  # the manifest, then the set's files
    assert source.current() is first and len(calls) == read


def test_a_broken_set_changes_nothing_and_exits_2_listing_every_problem(
    s3: Any, edited: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    push(SHIPPED, capsys)
    (edited / "sale" / "default" / "body.txt").write_text("ok\n{% for %}\n")
    (edited / "newsletter" / "default" / "subject.txt").write_text("one\ntwo\n")
    status, out, err = push(edited, capsys)
    assert status == 2 and out == ""
    assert f"{edited}/sale/default/body.txt:2: " in err
    assert f"{edited}/newsletter/default/subject.txt:2: the subject must be one line" in err
    assert "problem(s), nothing changed" in err
    live = s3.get_object(Bucket=BUCKET, Key="templates/sale/default/subject.txt")["Body"].read().decode()
    assert live == (SHIPPED / "sale" / "default" / "subject.txt").read_text()


def test_preview_prints_the_rendered_message_in_the_locale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data.json"
    data.write_text('{"headline": "Portes ouvertes", "url": "https://shop.example"}')
    assert main(["templates", "preview", "sale", "--data", str(data), "--locale", "fr-CA"]) == 0
    out = capsys.readouterr().out
    assert "Subject: Portes ouvertes : les soldes" in out and out.startswith("rendered with: dir:")
    assert out.splitlines()[0].endswith("/fr")


def test_an_unreadable_manifest_is_counted_and_not_read_again_until_max_age(s3: Any) -> None:
    rejected: list[str] = []
    calls: list[str] = []
    s3.meta.events.register("provide-client-params.s3.GetObject", lambda **kw: calls.append(kw["params"]["Key"]))
    source = StoreTemplates(s3, "no-such-bucket", max_age=60, on_rejected=rejected.append)
    shipped = read_directory(SHIPPED).version
    assert source.current().version == shipped and source.current().version == shipped
    assert calls == [MANIFEST_KEY] and len(rejected) == 1 and "manifest unreadable" in rejected[0]
    source._retry_at = 0.0  # as 60 s passing would
    source.current()
    assert calls == [MANIFEST_KEY, MANIFEST_KEY] and len(rejected) == 2
