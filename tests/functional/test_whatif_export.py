"""``baton whatif`` on a DynamoDB export of the ledger: the real handlers write the table (replay on moto), the
export is written from a Scan in the native export's format (moto has no ExportTableToPointInTime that writes
files): ``manifest-summary.json``, ``manifest-files.json`` and gzipped DynamoDB JSON data files. From it whatif
rebuilds the profiles and the requests, and decides each request as it does from the events file, except what an
export cannot hold (the test names them)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import boto3

from baton.core.policy import Policy, policy_json
from baton.local.cli import main
from baton.local.mocked_aws import REGION
from baton.local.replay import read_lines, replay
from baton.local.whatif_engines import run_local
from baton.local.whatif_export import Export
from baton.names import TABLE_NAME

DEMO_DAY = Path(__file__).parents[2] / "examples" / "shopper_day.jsonl"


def write_export(items: list[dict[str, Any]], folder: Path, files: int = 2) -> Path:
    """The native export's layout under ``folder`` (the ExportId folder): items spread over ``files`` data files."""
    data = folder / "data"
    data.mkdir(parents=True)
    keys = []
    for n in range(files):
        key = f"prefix/AWSDynamoDB/01700000000000-abcd1234/data/part{n}.json.gz"
        chunk = items[n::files]
        with gzip.open(data / f"part{n}.json.gz", "wt", encoding="utf-8") as out:
            out.writelines(json.dumps({"Item": item}) + "\n" for item in chunk)
        keys.append({"itemCount": len(chunk), "md5Checksum": "-", "etag": "-", "dataFileS3Key": key})
    manifest = "prefix/AWSDynamoDB/01700000000000-abcd1234/manifest-files.json"
    (folder / "manifest-files.json").write_text("".join(json.dumps(k) + "\n" for k in keys))
    summary = {
        "version": "2020-06-30",
        "exportArn": f"arn:aws:dynamodb:{REGION}:123456789012:table/{TABLE_NAME}/export/01700000000000-abcd1234",
        "tableArn": f"arn:aws:dynamodb:{REGION}:123456789012:table/{TABLE_NAME}",
        "s3Bucket": "exports",
        "s3Prefix": "prefix",
        "manifestFilesS3Key": manifest,
        "itemCount": len(items),
        "outputFormat": "DYNAMODB_JSON",
    }
    (folder / "manifest-summary.json").write_text(json.dumps(summary))
    return folder


def scanned() -> list[dict[str, Any]]:
    client = boto3.client("dynamodb", region_name=REGION)
    pages = client.get_paginator("scan").paginate(TableName=TABLE_NAME)
    return [item for page in pages for item in page["Items"]]


def rows(numbered: Any, policy: Policy) -> dict[str, dict[str, Any]]:
    out: list[str] = []
    run_local(numbered, policy_json(policy), 1, out.append)
    return {row["request_id"]: row for row in map(json.loads, out)}


def test_an_export_of_the_demo_day_decides_as_its_events(tmp_path: Path, default_policy: Policy) -> None:
    lines = DEMO_DAY.read_text(encoding="utf-8").splitlines()
    items: list[dict[str, Any]] = []
    replay(read_lines(lines), default_policy, inspect=lambda runtime: items.extend(scanned()))
    export = Export.open(str(write_export(items, tmp_path / "export")))
    from_export = rows(export.events(), default_policy)
    from_events = rows(enumerate(lines, start=1), default_policy)
    # an export holds no request's own not_after nor its own priority (docs/whatif.md): those are left out
    asked = [json.loads(line)["detail"] for line in lines if '"MessageRequested"' in line]
    unkept = {d["request_id"] for d in asked if "not_after" in d or "priority" in d}
    expected = {rid: (r["outcome"], r["reason"]) for rid, r in from_events.items() if rid not in unkept}
    assert len(expected) >= 20
    assert {rid: (from_export[rid]["outcome"], from_export[rid]["reason"]) for rid in expected} == expected


def test_a_folder_without_a_manifest_exits_2_naming_it(tmp_path: Path, capsys: Any) -> None:
    assert main(["whatif", str(tmp_path)]) == 2
    assert "manifest-summary.json" in capsys.readouterr().err


def test_an_export_of_another_table_exits_2_naming_the_file(tmp_path: Path, capsys: Any) -> None:
    other = [{"id": {"S": "1"}, "title": {"S": "a book"}}]
    write_export(other, tmp_path / "export", files=1)
    assert main(["whatif", str(tmp_path / "export"), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "part0.json.gz line 1" in err and "not an item of Baton's ledger table" in err
