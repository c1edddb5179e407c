"""``baton replay --report`` (and ``--customer``, ``--compare``) through the CLI entry point, on the demo day replayed
by the real handlers on moto: the page's numbers match the replay's own output, and unusable input exits 2 with a
message naming what is wrong, before any replay runs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from baton.local import cli

ROOT = Path(__file__).resolve().parents[2]
DAY = str(ROOT / "examples" / "shopper_day.jsonl")
SHOPPER = "shopper-42"
OPEN_POLICY = "version: open\ntimezone: America/Chicago\n"  # no caps, no windows: everything goes at once


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def embedded(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.DOTALL)
    assert found is not None
    charts: dict[str, Any] = {c["id"]: c for c in json.loads(found.group(1))["charts"]}
    return charts


def series(chart: dict[str, Any]) -> dict[str, list[int]]:
    return {s["key"]: s["values"] for s in chart["series"]}


def summaries(out: str) -> list[dict[str, int]]:
    """The outcome counts of each ``policy ...: N message requests`` block that replay prints."""
    blocks: list[dict[str, int]] = []
    for line in out.splitlines():
        if line.startswith("policy "):
            blocks.append({})
        elif match := re.match(r"^\s+(\w+)\s+(\d+)$", line):
            blocks[-1][match.group(1)] = int(match.group(2))
    return blocks


def test_the_demo_day_report_matches_the_replay(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    report, decisions = tmp_path / "out" / "report.html", tmp_path / "decisions.jsonl"
    code, out, _ = run(
        capsys, "replay", DAY, "--report", str(report), "--customer", SHOPPER, "--out", str(decisions), "--quiet"
    )
    assert code == 0
    assert out.splitlines()[-1] == f"report: {report}"
    assert out.splitlines()[0].endswith(": 26 message requests")  # the summary as without --report
    rows = [json.loads(line) for line in decisions.read_text("utf-8").splitlines()]
    page = report.read_text("utf-8")
    charts = embedded(page)

    per_day = series(charts["per-day"])
    assert sum(per_day["requested"]) == len(rows) == 26
    messages = [r for r in rows if r["outcome"] == "sent" and not r["reason"].startswith("digest:")]
    assert sum(per_day["sent-a"]) == len(messages) < sum(1 for r in rows if r["outcome"] == "sent")
    assert per_day["requested"][0] == 26  # all requested on Friday, in Chicago
    assert charts["per-day"]["categories"][0] == "Fri 27 Nov"

    distribution = series(charts["distribution"])
    assert sum(distribution["requested"]) == sum(distribution["sent-a"]) == charts["distribution"]["customer_days"]
    assert distribution["requested"][26] == 1  # one customer-day with all 26 requests

    assert sum(series(charts["outcomes"])["outcomes-a"]) == 26
    assert [len(s["points"]) for s in charts["timeline"]["series"]] == [26, sum(r["outcome"] == "sent" for r in rows)]

    # the timeline table: every request of the shopper, the reasons in plain words
    assert len(re.findall(r'<tr data-request="req-\d+">', page)) == 26
    assert "a frequency cap was full (all_marketing_daily)" in page
    assert "cancelled by an exclusion rule (req-013)" in page
    # no address, no URL
    for personal in ("sam@example.com", "+13125550142", "5550142", "arn:aws:sns"):
        assert personal not in page
    assert "http://" not in page and "https://" not in page


def test_compare_replays_the_same_events_under_both_policies(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    other = tmp_path / "open.yaml"
    other.write_text(OPEN_POLICY, "utf-8")
    report = tmp_path / "compare.html"
    code, out, _ = run(capsys, "replay", DAY, "--report", str(report), "--compare", str(other), "--quiet")
    assert code == 0
    first, second = summaries(out)
    assert "policy open@" in out
    assert sum(first.values()) == sum(second.values()) == 26
    assert first != second

    page = report.read_text("utf-8")
    charts = embedded(page)
    assert [len(chart["series"]) for chart in charts.values()] == [3, 3, 2, 3]
    per_day = series(charts["per-day"])
    assert sum(per_day["sent-b"]) > sum(per_day["sent-a"])  # without caps, more goes out
    outcomes = series(charts["outcomes"])
    assert sum(outcomes["outcomes-a"]) == sum(outcomes["outcomes-b"]) == 26
    # the side-by-side counts are the two summaries
    counts = re.findall(r'<tr><td class="outcome-(\w+)">\w+</td><td class="n">(\d+)</td><td class="n">(\d+)</td>', page)
    assert {o: (int(a), int(b)) for o, a, b in counts} == {
        o: (first.get(o, 0), second.get(o, 0)) for o in first.keys() | second.keys()
    }
    # every listed request ends differently under A and under B
    differing = int(re.search(r"(\d+) request\(s\) with a different outcome", page).group(1))  # type: ignore[union-attr]
    section = page.split('<table class="differences">')[1].split("</table>")[0]
    listed = re.findall(r'<tr data-request="(req-\d+)">(.*?)</tr>', section, re.DOTALL)
    assert differing == len(listed) > 0
    for _, cells in listed:
        a, b = re.findall(r'<span class="outcome-(\w+)">', cells)
        assert a != b


def test_without_report_flags_the_output_is_unchanged(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    events = tmp_path / "one.jsonl"
    detail = {
        "request_id": "r1",
        "customer_id": "c1",
        "channel": "email",
        "category": "order_confirmation",
        "template": "order_confirmation",
        "transactional": True,
        "data": {"order_id": "A-1", "total": "$1"},
    }
    events.write_text(
        json.dumps(
            {
                "id": "e1",
                "time": "2026-11-27T09:00:00Z",
                "source": "shop",
                "detail-type": "MessageRequested",
                "detail": detail,
            }
        )
        + "\n",
        "utf-8",
    )
    code, out, _ = run(capsys, "replay", str(events), "--quiet")
    assert code == 0
    assert re.fullmatch(r"policy \S+: 1 message requests\n  \w+ +1\n", out)  # the summary, nothing more
    assert list(tmp_path.iterdir()) == [events]


# -- unusable input: exit 2, a message naming what is wrong ---------------------------------------------------


def test_an_unknown_customer_exits_2_naming_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    code, out, err = run(capsys, "replay", DAY, "--report", str(report), "--customer", "nobody-7")
    assert code == 2
    assert "no customer nobody-7 in" in err and DAY in err
    assert out == "" and not report.exists()  # refused before replaying anything


def test_an_unreadable_events_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "absent.jsonl"
    code, _, err = run(capsys, "replay", str(missing), "--report", str(tmp_path / "r.html"))
    assert code == 2
    assert f"cannot read {missing}" in err
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    code, _, err = run(capsys, "replay", str(binary), "--report", str(tmp_path / "r.html"))
    assert code == 2 and f"cannot read {binary}" in err


def test_a_bad_compare_policy_exits_2_naming_file_and_field(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: x\ntimezone: UTC\ncaps:\n  - name: a\n    limit: 1\n    window: often\n", "utf-8")
    code, out, err = run(capsys, "replay", DAY, "--report", str(tmp_path / "r.html"), "--compare", str(bad))
    assert code == 2
    assert str(bad) in err and "line 6: caps[a].window" in err
    assert out == ""
    code, _, err = run(capsys, "replay", DAY, "--report", str(tmp_path / "r.html"), "--compare", "/no/such.yaml")
    assert code == 2 and "/no/such.yaml" in err and "cannot read" in err


@pytest.mark.parametrize("flag", [["--customer", SHOPPER], ["--compare", "other.yaml"]])
def test_customer_and_compare_need_a_report(capsys: pytest.CaptureFixture[str], flag: list[str]) -> None:
    code, _, err = run(capsys, "replay", DAY, *flag)
    assert code == 2
    assert f"{flag[0]} needs --report FILE" in err


def test_a_report_path_that_is_a_folder_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "replay", DAY, "--report", str(tmp_path))
    assert code == 2
    assert f"cannot write {tmp_path}" in err and out == ""
