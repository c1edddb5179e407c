"""Send-time optimisation as operators see it, on the demo's evening shopper (examples/shopper_evening.jsonl) under
the default policy with ``browse_abandoned`` opting into send_time: ``baton decide --dry-run`` and ``baton
explain`` show the chosen hour and why, ``baton replay --report`` the hours of sends, requested against sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baton.core.policy import default_policy_path, load_policy_file
from baton.local import cli
from baton.local.demo import with_send_time

ROOT = Path(__file__).resolve().parents[2]
EVENING = str(ROOT / "examples" / "shopper_evening.jsonl")


@pytest.fixture
def policy_file(tmp_path: Path) -> str:
    policy = with_send_time(load_policy_file(default_policy_path()), "browse_abandoned")
    path = tmp_path / "sto.json"
    path.write_text(json.dumps(policy.model_dump(mode="json")))
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert cli.main(list(argv)) == 0
    return capsys.readouterr().out


def test_decide_dry_run_shows_the_chosen_hour_and_why(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, policy_file: str
) -> None:
    detail = {
        "request_id": "try-7",
        "customer_id": "shopper-7",
        "channel": "email",
        "category": "browse_abandoned",
        "content": {"subject": "Still there?", "text": "Your boots."},
    }
    event = tmp_path / "e.json"
    event.write_text(json.dumps(detail))
    args = ("decide", "--dry-run", str(event), "--replay", EVENING, "--policy", policy_file)
    out = run(capsys, *args, "--at", "2026-11-29T09:00:00+00:00")
    assert "deferred: send_time" in out
    why = next(line for line in out.splitlines() if "why: send time" in line)
    assert "waits for 19:00 GMT" in why and "the shopper's own histogram (12 engagements)" in why
    assert "until 2026-11-29 19:00:00 GMT" in out


def test_explain_shows_the_wait_for_the_evening_hour(capsys: pytest.CaptureFixture[str], policy_file: str) -> None:
    out = run(capsys, "explain", "shopper-7", "--replay", EVENING, "--policy", policy_file)
    assert "deferred send_time until 2026-11-27 19:00:00 GMT" in out
    assert (
        "why: send time: sent at 19:00 GMT, the best hour found by the shopper's own histogram (12 engagements)" in out
    )


def test_replay_report_shows_the_hours_of_sends(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, policy_file: str
) -> None:
    page = tmp_path / "r.html"
    default = str(tmp_path / "default.json")
    Path(default).write_text(json.dumps(load_policy_file(default_policy_path()).model_dump(mode="json")))
    run(capsys, "replay", EVENING, "--policy", policy_file, "--compare", default, "--report", str(page))
    data = json.loads(page.read_text().split('id="report-data">', 1)[1].split("</script>", 1)[0])
    hours = next(chart for chart in data["charts"] if chart["id"] == "hours")
    series = {s["key"]: s["values"] for s in hours["series"]}
    assert series["requested"][13] == 1 and series["sent-a"][19] == 1 and series["sent-b"][13] == 1
