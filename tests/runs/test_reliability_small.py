"""``make reliability``'s scenarios at small sizes (the same code, see reliability/scenarios.py)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from baton.app.arbiter import Report
from baton.core.domain import Outcome
from baton.local.dynamodb_local import DynamoDBLocal
from reliability import run, scenarios


@pytest.fixture(scope="module")
def dynamodb_endpoint() -> Iterator[str]:
    with DynamoDBLocal() as ddb:
        yield ddb.endpoint


def test_duplicates_send_once_and_lose_nothing() -> None:
    figures = scenarios.duplicates(60, 10)
    assert figures["duplicates_double_sends"] == 0
    assert figures["duplicates_lost"] == 0
    assert figures["detail"]["deliveries"] == 180
    assert figures["detail"]["statuses"]["sent"] > 0


def test_faults_lose_nothing_and_break_no_cap() -> None:
    figures = scenarios.faults(80, 8, seed=5)
    detail = figures["detail"]
    assert figures["faults_requests"] == 80
    assert figures["faults_lost"] == 0
    assert figures["faults_cap_violations"] == 0
    assert {"crash_before", "crash_after", "throttle", "server_error", "timeout"} <= set(detail["injected"])
    assert detail["open_after_redrive"] == 0  # after the fix and a redrive, every request has its outcome
    assert detail["cap_violations_after_redrive"] == 0


def test_bad_input_is_rejected_and_never_blocks_its_batch() -> None:
    figures = scenarios.bad_input(140)
    assert figures["bad_input_events"] == 140
    assert figures["bad_input_crashes"] == 0
    assert figures["bad_input_unreported"] == 0
    assert figures["detail"]["neighbours_not_sent"] == 0


def test_the_bad_input_check_sees_an_unreported_event() -> None:
    now = datetime(2026, 11, 27, tzinfo=UTC)
    batch: list[tuple[str, str | None]] = [("{bad", None), ("ok-body", "ok-1"), ("{}", None)]
    reports = [
        Report("", None, Outcome.REJECTED, "invalid:json", now),
        Report("ok-1", "c", Outcome.SENT, "within_policy", now),
        Report("x", "c", Outcome.SENT, "within_policy", now),  # a malformed event that went through
    ]
    counts: Counter[str] = Counter()
    unreported: list[str] = []
    scenarios._attribute(batch, reports, counts, unreported)
    assert unreported == ["{}"]
    assert counts["neighbour_missed"] == 0


def test_load_accounts_for_every_request() -> None:
    figures = scenarios.load(200, 20, workers=1, endpoint=None)
    assert figures["load_requests"] == 200
    assert figures["load_unaccounted"] == 0
    assert figures["detail"]["lost"] == []


@pytest.mark.dynamodb
def test_concurrency_keeps_caps_on_dynamodb_local(dynamodb_endpoint: str) -> None:
    figures = scenarios.concurrency(2, 8, 40, endpoint=dynamodb_endpoint, engagements=20)
    assert figures["concurrency_runs"] == 2
    assert figures["concurrency_cap_violations"] == 0
    detail = figures["detail"]
    assert detail["lost"] == 0
    # the engagements, folded in while the decisions ran: each counted once, in every customer's profile
    assert detail["engagements_per_customer"] == 20 and detail["profiles_miscounted"] == 0
    assert detail["decision_commits"] >= 2 * 40
    # no decision's commit was refused for an engagement's write (which never moves the version)
    assert detail["decision_retries_by_reason"].get("TransactionConflict", 0) == 0


@pytest.mark.dynamodb
def test_the_run_shows_progress_and_a_summary_and_keeps_metric_lines_in_its_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, log = tmp_path / "results.json", tmp_path / "reliability.log"
    status = run.main(["--sizes", "small", "--only", "duplicates", "--out", str(out), "--log", str(log)])
    assert status == 0
    results = json.loads(out.read_text())
    assert list(results) == list(run.KEYS)  # exactly the keys results.json has always had
    assert results["duplicates_lost"] == 0 and results["faults_lost"] is None  # faults did not run

    printed = capsys.readouterr()
    assert "✓ duplicates" in printed.err  # the stage, as it ended
    assert "make reliability" in printed.out and "duplicates" in printed.out and "pass" in printed.out
    # 180 deliveries add a metric value each for outcome and reason: powertools prints a set once a metric
    # holds 100 values, disabled or not. Those lines go to the log, none to the terminal.
    emf = [json.loads(line) for line in log.read_text().splitlines() if line.startswith('{"_aws"')]
    assert emf and all("CloudWatchMetrics" in line["_aws"] for line in emf)
    assert '"_aws"' not in printed.out + printed.err
