"""The replay report's numbers and page, from a replay's results written out by hand (no AWS): what it counts per
day and per customer-day, how it groups outcomes, whose timeline it shows, and that the page is self-contained,
escaped and free of addresses. The same report from a real replay is tested in integration/ and report/."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from baton.app.arbiter import Report
from baton.core.domain import Outcome
from baton.local.replay import Line, ReplayRun, Result, read_lines
from baton.local.report import Side, build_report, mask, report_data, requests_per_customer

UTC_ZONE = ZoneInfo("UTC")


def event(detail_type: str, time: str, **detail: Any) -> str:
    return json.dumps({"id": f"e-{time}", "time": time, "source": "shop", "detail-type": detail_type, "detail": detail})


def request(rid: str, customer: str, time: str, channel: str = "email", category: str = "sale") -> str:
    return event(
        "MessageRequested",
        time,
        request_id=rid,
        customer_id=customer,
        channel=channel,
        category=category,
        template=category,
        data={},
    )


# Given: c1 lives in Berlin (UTC+1), c2's zone is unknown (the fallback zone, UTC, applies)
EVENTS = [
    event("CustomerUpdated", "2026-11-27T00:00:00Z", customer_id="c1", timezone="Europe/Berlin"),  # 1
    event("CustomerUpdated", "2026-11-27T00:00:00Z", customer_id="c2"),  # 2
    request("r1", "c1", "2026-11-27T09:00:00Z"),  # 3
    request("r2", "c1", "2026-11-27T10:00:00Z", category="price_drop"),  # 4
    request("r3", "c1", "2026-11-27T11:00:00Z", category="price_drop"),  # 5
    request("r4", "c1", "2026-11-27T23:30:00Z"),  # 6: 00:30 on the 28th in Berlin
    request("r5", "c2", "2026-11-27T12:00:00Z", channel="sms"),  # 7
    request("r6", "c2", "2026-11-27T12:01:00Z", category="order_confirmation"),  # 8
    "{not json",  # 9: no time, no customer
]


def result(
    line: int,
    rid: str | None,
    customer: str | None,
    outcome: str,
    reason: str,
    sent: str | None = None,
    category: str = "sale",
    detail: str = "",
) -> Result:
    decided = sent or "2026-11-27T12:00:00Z"
    return Result(line, rid, customer, "email", category, outcome, reason, decided, sent, detail)


def run_a() -> ReplayRun:
    return ReplayRun(
        results=[
            result(3, "r1", "c1", "sent", "within_policy", "2026-11-27T09:00:00Z"),
            result(4, "r2", "c1", "sent", "digest", "2026-11-28T08:00:00Z", "price_drop"),  # the digest message
            result(5, "r3", "c1", "sent", "digest:r2", "2026-11-28T08:00:00Z", "price_drop"),  # inside it
            result(6, "r4", "c1", "suppressed", "cap:email_daily", detail="email_daily at 1/1 in 1d"),
            result(7, "r5", "c2", "suppressed", "outranked:r6"),
            result(8, "r6", "c2", "sent", "transactional", "2026-11-27T12:01:00Z", "order_confirmation"),
            result(9, None, None, "rejected", "invalid:json"),
        ],
        problems=["line 9: invalid:json: not JSON"],
        trail=[
            Report("r1", "c1", Outcome.DEFERRED, "arbitration_window", datetime(2026, 11, 27, 9, tzinfo=UTC)),
            Report("r1", "c1", Outcome.SENT, "within_policy", datetime(2026, 11, 27, 9, tzinfo=UTC)),
            Report("r2", "c1", Outcome.DEFERRED, "quiet_hours", datetime(2026, 11, 27, 10, tzinfo=UTC)),
            Report("r2", "c1", Outcome.DEFERRED, "digest", datetime(2026, 11, 27, 11, tzinfo=UTC)),
        ],
    )


def run_b() -> ReplayRun:
    """Policy B sends r4 at once and r5 too; everything else as under A."""
    changed = {
        6: result(6, "r4", "c1", "sent", "within_policy", "2026-11-27T23:30:00Z"),
        7: result(7, "r5", "c2", "sent", "within_policy", "2026-11-27T12:00:00Z"),
    }
    return ReplayRun(results=[changed.get(r.line, r) for r in run_a().results])


@pytest.fixture
def lines() -> list[Line]:
    return read_lines(EVENTS)


def chart(data: dict[str, Any], chart_id: str) -> dict[str, Any]:
    return next(c for c in data["charts"] if c["id"] == chart_id)


def values(chart_: dict[str, Any]) -> dict[str, list[int]]:
    return {s["key"]: s["values"] for s in chart_["series"]}


def test_requested_and_sent_per_day_are_counted_on_each_customers_local_day(lines: list[Line]) -> None:
    data = report_data(lines, [Side("a@1", "a.yaml", run_a())], UTC_ZONE)
    per_day = chart(data, "per-day")
    assert per_day["days"] == ["2026-11-27", "2026-11-28"]
    # r4 at 23:30 UTC is on the 28th in Berlin; the unparseable line has no day
    # sent: r1 and r6 on the 27th; the digest r2 (with r3 inside it) is one message on the 28th
    assert values(per_day) == {"requested": [5, 1], "sent-a": [2, 1]}
    assert data["unplaced"] == 1
    assert sum(values(per_day)["requested"]) + data["unplaced"] == len(run_a().results)
    assert data["sides"][0]["requests_sent"] == 4 and data["sides"][0]["messages"] == 3


def test_distribution_counts_customer_days_before_and_after(lines: list[Line]) -> None:
    data = report_data(lines, [Side("a@1", "a.yaml", run_a())], UTC_ZONE)
    distribution = chart(data, "distribution")
    # customer-days: (c1, 27th) 3 requested 1 sent; (c1, 28th) 1 and 1; (c2, 27th) 2 and 1
    assert distribution["customer_days"] == 3
    assert distribution["categories"] == ["0", "1", "2", "3"]
    assert values(distribution) == {"requested": [0, 1, 1, 1], "sent-a": [0, 3, 0, 0]}


def test_distribution_bins_wide_counts_into_at_most_thirty_bars(lines: list[Line]) -> None:
    many = [request(f"m{i}", "c3", f"2026-11-27T{10 + i // 60:02d}:{i % 60:02d}:00Z") for i in range(95)]
    all_lines = read_lines(many)
    run = ReplayRun(
        results=[result(line.number, f"m{i}", "c3", "suppressed", "cap:x") for i, line in enumerate(all_lines)]
    )
    distribution = chart(report_data(all_lines, [Side("a@1", "a.yaml", run)], UTC_ZONE), "distribution")
    assert len(distribution["categories"]) <= 30
    assert distribution["categories"][0] == "0-3" and distribution["categories"][-1] == "92-95"
    assert values(distribution)["requested"][-1] == 1 and values(distribution)["sent-a"][0] == 1


def test_outcomes_are_grouped_by_reason_and_described(lines: list[Line]) -> None:
    rows = report_data(lines, [Side("a@1", "a.yaml", run_a())], UTC_ZONE)["outcome_rows"]
    assert [(r["outcome"], r["reason"], r["counts"]) for r in rows] == [
        ("sent", "digest", [2]),  # the digest and the request inside it
        ("sent", "transactional", [1]),
        ("sent", "within_policy", [1]),
        ("suppressed", "cap:email_daily", [1]),
        ("suppressed", "outranked", [1]),  # outranked:r6, by kind
        ("rejected", "invalid:json", [1]),
    ]
    assert rows[3]["words"] == "a frequency cap was full (email_daily)"  # baton.ops.explain.describe


def test_the_timeline_defaults_to_the_customer_with_the_most_requests(lines: list[Line]) -> None:
    data = report_data(lines, [Side("a@1", "a.yaml", run_a())], UTC_ZONE)
    customer = data["customer"]
    assert (customer["id"], customer["chosen_by"], customer["zone"]) == ("c1", "the most requests", "Europe/Berlin")
    assert [row["request_id"] for row in customer["rows"]] == ["r1", "r2", "r3", "r4"]
    r1, r2 = customer["rows"][0], customer["rows"][1]
    assert r1["requested"] == "Fri 27 Nov 10:00"  # Berlin time
    assert r1["sides"][0]["outcome"] == "sent" and r1["sides"][0]["waited"] == [
        "held in the arbitration window so the most valuable message wins"
    ]
    assert r2["sides"][0]["waited"] == ["quiet hours in the customer's time zone"]  # not the digest it went out as
    timeline = chart(data, "timeline")
    assert [len(s["points"]) for s in timeline["series"]] == [4, 3]  # requested r1-r4; sent r1, r2, r3
    assert requests_per_customer(lines) == {"c1": 4, "c2": 2}


def test_a_chosen_customer_gets_the_timeline(lines: list[Line]) -> None:
    data = report_data(lines, [Side("a@1", "a.yaml", run_a())], UTC_ZONE, customer="c2")
    assert data["customer"]["chosen_by"] == "--customer" and data["customer"]["zone"] == "UTC"
    assert [row["request_id"] for row in data["customer"]["rows"]] == ["r5", "r6"]


def test_compare_lists_the_requests_whose_outcome_differs(lines: list[Line]) -> None:
    data = report_data(lines, [Side("a@1", "a.yaml", run_a()), Side("b@2", "b.yaml", run_b())], UTC_ZONE)
    compare = data["compare"]
    assert [row["request_id"] for row in compare["differences"]] == ["r4", "r5"]
    assert compare["differing"] == 2 and compare["more"] == 0
    assert {row["outcome"]: (row["a"], row["b"], row["change"]) for row in compare["counts"]} == {
        "sent": (4, 6, 2),
        "suppressed": (2, 0, -2),
        "rejected": (1, 1, 0),
    }
    assert values(chart(data, "per-day")) == {"requested": [5, 1], "sent-a": [2, 1], "sent-b": [3, 2]}
    assert [len(c["series"]) for c in data["charts"]] == [3, 3, 2, 3]
    assert report_data(lines, [Side("a@1", "a.yaml", run_a())], UTC_ZONE)["compare"] is None


def test_the_page_is_self_contained_and_carries_its_chart_data(lines: list[Line]) -> None:
    page = build_report(lines, [Side("a@1", "a.yaml", run_a()), Side("b@2", "b.yaml", run_b())], UTC_ZONE)
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"\b(src|href)\s*=", page, re.IGNORECASE)
    assert "@import" not in page and "url(" not in page
    embedded = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.DOTALL)
    assert embedded is not None
    charts = json.loads(embedded.group(1))["charts"]
    assert [c["id"] for c in charts] == ["per-day", "distribution", "outcomes", "timeline"]
    for chart_id in ("per-day", "distribution", "outcomes", "timeline"):
        assert f'data-chart="{chart_id}"' in page


def test_every_string_is_escaped(lines: list[Line]) -> None:
    hostile = '</script><img src=x onerror="alert(1)">&'
    evil_lines = read_lines([request(hostile, hostile, "2026-11-27T09:00:00Z")])
    run = ReplayRun(results=[result(1, hostile, hostile, "sent", "within_policy", "2026-11-27T09:00:00Z")])
    page = build_report(evil_lines, [Side("a@1", "a.yaml", run)], UTC_ZONE)
    assert "<img" not in page
    assert page.count("</script>") == 2  # the data's and the drawing script's own
    assert "&lt;/script&gt;&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&amp;" in page  # in the tables
    embedded = re.search(r'id="report-data">(.*?)</script>', page, re.DOTALL)
    assert embedded is not None
    timeline = json.loads(embedded.group(1))["charts"][-1]
    assert timeline["title"] == f"Timeline of {hostile}"  # the data still says what it said


def test_no_address_reaches_the_page(lines: list[Line]) -> None:
    email, phone = "sam@example.com", "+13125550142"
    personal = read_lines([request("r1", email, "2026-11-27T09:00:00Z")])
    run = ReplayRun(
        results=[result(1, "r1", email, "failed", "delivery_failed", detail=f"rejected {phone} and <{email}>")]
    )
    page = build_report(personal, [Side("a@1", "a.yaml", run)], UTC_ZONE)
    assert email not in page and phone not in page and "5550142" not in page
    assert "[email]" in page and "[phone]" in page
    assert mask("email_daily at 1/1 in 1d, 2026-11-27") == "email_daily at 1/1 in 1d, 2026-11-27"


def test_one_or_two_sides_only(lines: list[Line]) -> None:
    with pytest.raises(ValueError):
        report_data(lines, [], UTC_ZONE)
