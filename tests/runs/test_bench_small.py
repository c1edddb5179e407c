"""``make bench``'s code at tiny sizes, no thresholds (bench/run.py has the goals; timing is never asserted).

The hooks are checked on moto (fast, no DynamoDB Local); the whole bench runs once on DynamoDB Local."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from baton.local.dynamodb_local import DynamoDBLocal
from baton.local.mocked_aws import REGION, mocked_aws
from bench import run
from bench.cost import cost
from bench.decisions import _same_requests
from bench.hooks import Call, Recorder
from bench.lambda_like import import_breakdown


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    hooks = Recorder()
    hooks.install()
    yield hooks
    hooks.uninstall()


def test_hooks_count_dynamodb_calls_keep_their_parameters_and_ask_for_capacity(recorder: Recorder) -> None:
    with mocked_aws(table_name="bench-hooks"):
        client = boto3.client("dynamodb", region_name=REGION)
        key = {"pk": {"S": "C#a"}, "sk": {"S": "STATE"}}
        client.put_item(TableName="bench-hooks", Item={**key, "v": {"N": "1"}})  # not recorded
        with recorder.recording() as recording:
            client.get_item(TableName="bench-hooks", Key=key)
            client.batch_get_item(RequestItems={"bench-hooks": {"Keys": [key, {**key, "sk": {"S": "R#1"}}]}})
            client.update_item(
                TableName="bench-hooks",
                Key=key,
                UpdateExpression="SET v = :v",
                ExpressionAttributeValues={":v": {"N": "2"}},
            )
    assert recording.operations == ["GetItem", "BatchGetItem", "UpdateItem"]
    assert recording.round_trips == 3
    # the caller's parameters are kept as given: the injected ReturnConsumedCapacity is not among them
    assert all("ReturnConsumedCapacity" not in call.params for call in recording.calls)
    assert recording.calls[1].params["RequestItems"]["bench-hooks"]["Keys"][1]["sk"] == {"S": "R#1"}
    # what DynamoDB bills at the least: 0.5 per key read eventually consistent, 1 per single write
    assert recording.billed_read_units >= 0.5 + 1.0
    assert recording.billed_write_units >= 1.0
    assert recording.errors == []


def test_hooks_time_the_channel_call_apart(recorder: Recorder) -> None:
    with mocked_aws(table_name="bench-hooks"):
        ses = boto3.client("sesv2", region_name=REGION)
        with recorder.recording() as recording:
            ses.send_email(
                FromEmailAddress="orders@shop.example",
                Destination={"ToAddresses": ["sam@example.com"]},
                Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
            )
    assert recording.round_trips == 0
    assert [c.operation for c in recording.of("sesv2")] == ["SendEmail"]
    assert recording.channel_seconds > 0


def test_the_library_floor_check_allows_only_renaming_and_batch_get_key_order() -> None:
    def key(pk: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    def calls(customer: str, keys: list[str], status: str) -> list[Call]:
        read = {"RequestItems": {"t": {"Keys": [key(f"C#{customer}", sk) for sk in keys]}}}
        write = {
            "TableName": "t",
            "Key": key(f"C#{customer}", "R#1"),
            "UpdateExpression": "SET #0 = :0",
            "ExpressionAttributeNames": {"#0": "status"},
            "ExpressionAttributeValues": {":0": {"S": status}},
        }
        return [Call("dynamodb", "BatchGetItem", read), Call("dynamodb", "UpdateItem", write)]

    arbiter = calls("b1", ["STATE", "R#1"], "sent")
    names = {"C#b1": "C#l1"}
    assert _same_requests(arbiter, calls("l1", ["R#1", "STATE"], "sent"), names)
    assert not _same_requests(arbiter, calls("l1", ["STATE", "R#1"], "failed"), names)
    assert not _same_requests(arbiter, calls("b1", ["STATE", "R#1"], "sent"), names)  # not the twin's
    assert not _same_requests(arbiter, calls("l1", ["STATE", "R#1"], "sent")[:1], names)


def test_import_breakdown_sums_own_time_by_top_level_package() -> None:
    stderr = (
        b"import time: self [us] | cumulative | imported package\n"
        b"import time:      1000 |       1000 |   botocore.utils\n"
        b"import time:      3000 |       4000 | botocore\n"
        b"import time:      2000 |       2000 | pydantic\n"
    )
    rows = import_breakdown(stderr)
    assert rows[0] == {"package": "botocore", "ms": 4.0, "share": round(4 / 6, 3)}
    assert rows[1]["package"] == "pydantic"


def _path(wcu: float, rcu: float) -> dict[str, Any]:
    return {"billed_wcu": wcu, "billed_rcu": rcu, "baton_cpu_ms": 10.0, "baton_ms": 20.0}


def test_cost_adds_up_by_service_and_names_every_price_source() -> None:
    figures = cost({"send": _path(8, 1), "suppress": _path(4, 1)}, log_bytes=500)
    assert math.isclose(figures["total"], sum(figures["by_service"].values()), abs_tol=1e-3)
    assert figures["by_service"]["dynamodb"] == pytest.approx(8 * 0.625 + 1 * 0.125, abs=1e-3)
    assert figures["suppress_path"]["total"] < figures["total"]
    assert "ses" not in figures["by_service"] and "sns" not in figures["by_service"]
    assert all(p["source"].startswith("https://aws.amazon.com/") and p["looked_up"] for p in figures["prices"].values())


@pytest.fixture(scope="module")
def dynamodb_endpoint() -> Iterator[str]:
    with DynamoDBLocal() as ddb:
        yield ddb.endpoint


@pytest.mark.dynamodb
def test_the_whole_bench_runs_at_tiny_sizes(
    dynamodb_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, log = tmp_path / "results.json", tmp_path / "bench.log"
    argv = ["--sizes", "smoke", "--endpoint", dynamodb_endpoint, "--out", str(out), "--log", str(log)]
    assert run.main(argv) == 0
    figures = json.loads(out.read_text())
    assert list(figures) == [*run.KEYS, "breakdown", "run"]  # the keys results.json has always had

    # the terminal: each stage as it ends, then the summary of each figure against its goal; no metric lines
    printed = capsys.readouterr()
    terminal = printed.out + printed.err
    assert all(f"✓ {stage}" in printed.err for stage in run.STAGES)
    assert "make bench: the functions" in printed.out and "make bench: baton replay" in printed.out
    assert all(verdict in printed.out for verdict in ("met", "missed"))
    assert '"_aws"' not in terminal and "CloudWatchMetrics" not in terminal
    assert log.exists()

    paths = figures["breakdown"]["overhead"]["paths"]
    for name, path in paths.items():
        # the floor replayed exactly the DynamoDB requests the arbiter made
        assert path["operations"][0] == "BatchGetItem", name
        assert path["floor_wcu"] > 0 and path["wcu"] > 0
        assert path["billed_wcu"] >= path["wcu"] and path["billed_rcu"] >= path["rcu"]
        assert path["ratio"] > 0 and path["ratio_with_channel"] > 0
        # the library floor made the same requests through pynamodb's models (the bench checks it per decision)
        assert path["library_ms"] > 0 and path["library_ratio"] > 0 and path["baton_over_library"] > 0
    assert figures["ddb_round_trips_send"] == len(paths["send"]["operations"])
    assert figures["ddb_round_trips_suppress"] == len(paths["suppress"]["operations"])
    assert paths["send"]["channel_ms"] > 0 and paths["suppress"]["channel_ms"] == 0

    assert set(figures["cold_start_ratio"]) == {"arbiter", "profile", "sweeper"}
    assert all(ratio > 0 for ratio in figures["cold_start_ratio"].values())
    assert figures["breakdown"]["cold_start"]["arbiter"]["baton_imports"]
    for name, start in figures["breakdown"]["cold_start"].items():
        # the library floor imported what the handler loaded, and all of it imports on its own
        assert start["library_modules"] > 100 and start["library_modules_not_importable"] == 0, name
        assert start["libraries_ms"] > 0
    # every client of a function, pynamodb's too, from one botocore session (baton.adapters.aws)
    assert {f: c["botocore_sessions"] for f, c in figures["breakdown"]["cold_start"].items()} == {
        "arbiter": 1,
        "profile": 1,
        "sweeper": 1,
    }
    # a function's start builds the contract and settings models it validates, and no others
    assert {f: c["models_built"] for f, c in figures["breakdown"]["cold_start"].items()} == {
        "arbiter": ["ArbiterSettings", "EventEnvelope", "MessageRequested"],
        "profile": ["ContactRecorded", "CustomerErased", "CustomerUpdated", "EventEnvelope", "ProfileSettings"],
        "sweeper": ["SweeperSettings"],
    }
    # the composition root froze what it built (baton.entry.startup.settled), as the handler's start froze its imports
    assert all(c["frozen_by_root"] > 0 for c in figures["breakdown"]["cold_start"].values())
    assert figures["arbiter_peak_rss_mb"] > 0
    assert figures["breakdown"]["memory"]["log_bytes_per_decision"] > 0
    # 200 contacts make a bigger state item than 1: more capacity per decision
    scale = figures["breakdown"]["scale"]
    assert scale["wcu"]["history"] > scale["wcu"]["small"]
    assert figures["engine_decisions_per_second"] > 0
    assert len(figures["breakdown"]["engine"]["top_functions"]) == 5


def test_only_measures_the_stages_named_and_merges_them_into_the_results_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = json.loads(run.RESULTS.read_text())
    out = tmp_path / "results.json"
    out.write_text(json.dumps({**before, "sto_open_rate": -1.0}))
    assert run.main(["--sizes", "smoke", "--only", "sto", "--out", str(out), "--log", str(tmp_path / "b.log")]) == 0
    after = json.loads(out.read_text())
    assert 0 <= after["sto_open_rate"] <= 1  # measured now, in place of the file's
    assert after["breakdown"]["sto"]["sto_shoppers"] == run.SIZES["smoke"]["sto"]["shoppers"]
    kept = [k for k in run.KEYS if k in before and not k.startswith("sto_")]
    assert {k: after[k] for k in kept} == {k: before[k] for k in kept}
    assert list(after["run"]["stages_measured_alone"]) == [*before["run"].get("stages_measured_alone", {})] + (
        [] if "sto" in before["run"].get("stages_measured_alone", {}) else ["sto"]
    )
    assert after["run"]["met"]["sto_in_band_share"] is not None and "sto_open_rate" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "named"),
    [(["--only", "replay,engine"], "engine"), (["--only", ","], "no stage"), (["--only", "sto"], "results file")],
)
def test_only_refuses_a_stage_it_cannot_measure_alone_or_a_missing_results_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], named: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        run.main(["--sizes", "smoke", *argv, "--out", str(tmp_path / "none.json")])
    assert exited.value.code == 2
    assert named in capsys.readouterr().err
