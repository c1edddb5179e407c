"""`baton replay --dynamodb-endpoint` runs on a table of its own: two runs and a compare against one DynamoDB
Local give the outputs the embedded moto gives, no table is left behind, and a table that holds items is never
written unless asked."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from baton.local.cli import main
from baton.local.dynamodb_local import DynamoDBLocal
from baton.local.mocked_aws import REGION, set_local_env

pytestmark = pytest.mark.dynamodb

DAY = Path(__file__).resolve().parents[2] / "examples" / "shopper_day.jsonl"
STRICT = """\
version: strict
timezone: America/Chicago
caps:
  - {name: one_a_day, limit: 1, window: 24h}
"""


def _replay(tmp: Path, name: str, *extra: str) -> list[dict[str, object]]:
    out = tmp / f"{name}.jsonl"
    assert main(["replay", str(DAY), "--out", str(out), "--quiet", *extra]) == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def _tables(endpoint: str) -> list[str]:
    set_local_env()
    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    return list(client.list_tables()["TableNames"])


def test_two_runs_and_a_compare_on_one_endpoint_match_moto(
    dynamodb_local: DynamoDBLocal, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = dynamodb_local.endpoint
    before = _tables(endpoint)
    on_moto = _replay(tmp_path, "moto")
    first = _replay(tmp_path, "first", "--dynamodb-endpoint", endpoint)
    second = _replay(tmp_path, "second", "--dynamodb-endpoint", endpoint)
    assert first == on_moto
    assert second == on_moto  # not 26 duplicates of the first run's requests
    assert _tables(endpoint) == before
    capsys.readouterr()

    strict = tmp_path / "strict.yaml"
    strict.write_text(STRICT)

    def compared(*extra: str) -> str:
        report = tmp_path / "report.html"
        argv = ["replay", str(DAY), "--quiet", "--report", str(report), "--compare", str(strict), *extra]
        assert main(argv) == 0
        return capsys.readouterr().out

    assert compared("--dynamodb-endpoint", endpoint) == compared()  # policy B on a ledger of its own
    assert _tables(endpoint) == before


def test_a_kept_table_is_never_written_again_unless_asked(
    dynamodb_local: DynamoDBLocal, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = dynamodb_local.endpoint
    kept = _replay(tmp_path, "kept", "--dynamodb-endpoint", endpoint, "--keep-table", "kept-run")
    assert "kept-run" in _tables(endpoint)
    count = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint).scan(
        TableName="kept-run", Select="COUNT"
    )["Count"]

    argv = ["replay", str(DAY), "--quiet", "--dynamodb-endpoint", endpoint, "--keep-table", "kept-run"]
    assert main(argv) == 2
    assert "kept-run" in capsys.readouterr().err
    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    assert client.scan(TableName="kept-run", Select="COUNT")["Count"] == count

    reused = _replay(tmp_path, "reused", "--dynamodb-endpoint", endpoint, "--keep-table", "kept-run", "--reuse-table")
    assert {row["outcome"] for row in reused} == {"duplicate"}  # asked for: the first run's requests are there
    assert {row["outcome"] for row in kept} != {"duplicate"}
