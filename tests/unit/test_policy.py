"""The policy document: the default loads; every mistake is an error naming the file, the field and the problem,
and a bad document yields no Policy at all (never half-applied)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from baton.errors import PolicyError
from baton.policy import Policy, default_policy_path, load_policy, load_policy_file, policy_from_mapping, policy_json

HEAD = "version: t1\ntimezone: America/New_York\n"


def problem_of(text: str, source: str = "marketing.yaml") -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        load_policy(text, source)
    assert caught.value.source == source
    assert source in str(caught.value)
    return caught.value


def test_default_policy_loads_with_the_issue_caps(default_policy: Policy) -> None:
    caps = {cap.name: cap for cap in default_policy.caps}
    assert (caps["email_daily"].limit, caps["email_daily"].window) == (2, timedelta(hours=24))
    assert (caps["email_weekly"].limit, caps["email_weekly"].window) == (5, timedelta(days=7))
    assert (caps["sms_daily"].limit, caps["sms_weekly"].limit) == (1, 3)
    assert caps["push_daily"].limit == 3
    assert caps["all_marketing_daily"].limit == 3 and caps["all_marketing_daily"].match.channel is None
    assert caps["category_daily"].per == ("channel", "category")
    assert {ch.value: (q.start, q.end) for ch, q in default_policy.quiet_hours.items()} == {
        "sms": ("21:00", "08:00"),
        "push": ("21:00", "08:00"),
    }
    assert default_policy.timezone


def test_policy_round_trips_through_its_json_form(default_policy: Policy) -> None:
    again = load_policy(policy_json(default_policy), "ssm:/baton/policy")
    assert again == default_policy
    assert again.tag == default_policy.tag


def test_durations_accept_every_unit() -> None:
    text = (
        HEAD
        + "caps:\n"
        + "".join(
            f"  - name: c{i}\n    limit: 1\n    window: {w}\n" for i, w in enumerate(["90s", "15m", "24h", "7d", "2w"])
        )
    )
    policy = load_policy(text, "p.yaml")
    assert [c.window for c in policy.caps] == [
        timedelta(seconds=90),
        timedelta(minutes=15),
        timedelta(hours=24),
        timedelta(days=7),
        timedelta(weeks=2),
    ]


def test_window_of_thirty_days_and_more_is_allowed() -> None:
    policy = load_policy(HEAD + "caps:\n  - name: monthly\n    limit: 8\n    window: 30d\n", "p.yaml")
    assert policy.caps[0].window == timedelta(days=30)
    assert policy.longest_window == timedelta(days=30)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ("caps:\n  - name: a\n    limit: 1\n    window: 3 days\n", "caps[0].window", "not a duration"),
        ("caps:\n  - name: a\n    limit: 1\n    window: 1d\n    windw: 2d\n", "caps[0].windw", "unknown field"),
        ("caps:\n  - name: a\n    limit: 1\n    window: 30s\n", "caps[0]", "window must be between"),
        ("caps:\n  - name: a\n    limit: -1\n    window: 1d\n", "caps[0].limit", "greater than or equal to 0"),
        (
            "caps:\n  - name: a\n    limit: 2\n    window: 1d\n    reserve: {count: 2, min_priority: 50}\n",
            "caps[0]",
            "reserve.count (2) must be less than limit (2)",
        ),
        (
            "caps:\n  - name: a\n    limit: 2\n    window: 1d\n  - name: a\n    limit: 3\n    window: 2d\n",
            "(document)",
            "cap names must be unique: a",
        ),
        (
            "categories:\n  order_confirmation:\n    excludes:\n"
            "      - categories: [cart_abandoned]\n        window: 7d\n",
            "categories.order_confirmation.excludes[0].categories",
            "unknown category: cart_abandoned",
        ),
        ("quiet_hours:\n  fax: {start: '21:00', end: '08:00'}\n", "quiet_hours.fax", "'email', 'sms' or 'push'"),
        ("quiet_hours:\n  sms: {start: '25:00', end: '08:00'}\n", "quiet_hours.sms.start", "pattern"),
        ("categories:\n  sale:\n    over_cap: drop\n", "categories.sale.over_cap", "'suppress' or 'defer'"),
        ("categories:\n  sale:\n    arbitration_window: 7h\n", "categories.sale", "at most 6h"),
        ("prioritee: 3\n", "prioritee", "unknown field"),
    ],
)
def test_each_mistake_names_the_field_and_the_problem(body: str, field: str, words: str) -> None:
    error = problem_of(HEAD + body)
    assert any(field in p and words in p for p in error.problems), error.problems


def test_unknown_time_zone_is_named() -> None:
    error = problem_of("version: t1\ntimezone: Mars/Olympus_Mons\n")
    assert error.problems == ["timezone: unknown IANA time zone 'Mars/Olympus_Mons'"]


def test_missing_required_fields_are_named() -> None:
    error = problem_of("caps: []\n")
    assert {p.split(":")[0] for p in error.problems} == {"version", "timezone"}


def test_bad_yaml_names_the_line() -> None:
    error = problem_of(HEAD + "caps:\n  - name: a\n   limit: 2\n")
    assert len(error.problems) == 1
    assert error.problems[0].startswith("line 5, column 4: not valid YAML")


def test_bad_json_form_is_an_error() -> None:
    error = problem_of('{"version": "x", ', "ssm:/baton/policy")
    assert error.problems[0].startswith("not valid JSON")


def test_a_document_that_is_not_a_mapping_is_refused() -> None:
    error = problem_of("- just\n- a list\n")
    assert error.problems[0].startswith("(document)")


def test_every_problem_is_reported_at_once() -> None:
    error = problem_of(HEAD + "caps:\n  - name: a\n    limit: x\n    window: soon\n")
    fields = sorted(p.split(":")[0] for p in error.problems)
    assert fields == ["caps[0].limit", "caps[0].window"]


def test_file_errors_name_the_path(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(HEAD + "caps:\n  - name: a\n    limit: 1\n    window: 1 day\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy_file(str(path))
    assert str(path) in str(caught.value) and "caps[0].window" in str(caught.value)
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy_file(str(tmp_path / "absent.yaml"))
    binary = tmp_path / "policy.bin"
    binary.write_bytes(b"version: x\n\xff\xfe\x00")
    with pytest.raises(PolicyError, match="not UTF-8") as caught:
        load_policy_file(str(binary))
    assert str(binary) in str(caught.value)


def test_bad_policy_is_never_half_applied(default_policy: Policy) -> None:
    """Given a good document with one bad cap at the end, when it is loaded, nothing comes back: the caller
    keeps what it had (the good caps before the mistake are not applied on their own)."""
    document = default_policy.model_dump(mode="json")
    document["caps"] = [*document["caps"], {"name": "broken", "limit": 1, "window": "forever"}]
    current = default_policy
    try:
        current = policy_from_mapping(document, "new.yaml")
    except PolicyError as exc:
        assert exc.problems == [
            f"caps[{len(document['caps']) - 1}].window: 'forever' is not a duration such as 90s, 15m, 24h, 7d or 2w"
        ]
    assert current is default_policy


def test_default_policy_path_is_the_shipped_file() -> None:
    assert Path(default_policy_path()).name == "default.yaml"
    assert load_policy_file(default_policy_path()).version
