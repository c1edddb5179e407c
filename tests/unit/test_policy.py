"""The policy document: the default loads; every mistake is an error naming the file, the field (a cap by its
name), its YAML line and the problem, all of them in one pass and in document order; a category that is not
listed is a warning; and a bad document yields no Policy at all (never half-applied)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from baton.core.errors import PolicyError, Problem
from baton.core.policy import (
    Policy,
    check_policy,
    default_policy_path,
    load_policy,
    load_policy_file,
    policy_from_mapping,
    policy_json,
)

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
        ("caps:\n  - name: a\n    limit: 1\n    window: 3 days\n", "caps[a].window", "not a duration"),
        ("caps:\n  - name: a\n    limit: 1\n    window: 1d\n    windw: 2d\n", "caps[a].windw", "unknown field"),
        ("caps:\n  - name: a\n    limit: 1\n    window: 30s\n", "caps[a].window", "must be between 1m and 400d"),
        ("caps:\n  - name: a\n    limit: -1\n    window: 1d\n", "caps[a].limit", "greater than or equal to 0"),
        (
            "caps:\n  - name: a\n    limit: 2\n    window: 1d\n    reserve: {count: 2, min_priority: 50}\n",
            "caps[a].reserve",
            "count (2) must be less than the cap's limit (2)",
        ),
        (
            "caps:\n  - name: a\n    limit: 2\n    window: 1d\n    per: [channel, channel]\n",
            "caps[a].per",
            "lists a dimension twice",
        ),
        (
            "caps:\n  - name: a\n    limit: 2\n    window: 1d\n  - name: a\n    limit: 3\n    window: 2d\n",
            "caps[1].name",
            "caps[0] is named a too: cap names must be unique",
        ),
        ("quiet_hours:\n  fax: {start: '21:00', end: '08:00'}\n", "quiet_hours.fax", "'email', 'sms' or 'push'"),
        ("quiet_hours:\n  sms: {start: '21:00', end: '21:00'}\n", "quiet_hours.sms", "start and end are equal"),
        ("categories:\n  sale:\n    over_cap: drop\n", "categories.sale.over_cap", "'suppress' or 'defer'"),
        ("categories:\n  sale:\n    arbitration_window: 7h\n", "categories.sale.arbitration_window", "at most 6h"),
        ("prioritee: 3\n", "prioritee", "unknown field"),
        (
            "caps:\n  - name: a\n    limit: 1\n    window: 1d\n    match: {channel: Direct Mail}\n",
            "caps[a].match.channel",
            '"Direct Mail" is not a channel name',
        ),
        ("categories:\n  sale:\n    transactional: yes please\n", "categories.sale.transactional", "boolean"),
    ],
)
def test_each_mistake_names_the_field_and_the_problem(body: str, field: str, words: str) -> None:
    error = problem_of(HEAD + body)
    assert any(p.field == field and words in p.message for p in error.problems), error.problems


def test_a_cap_may_match_a_channel_outside_baton() -> None:
    policy = load_policy(
        HEAD + "caps:\n  - {name: mail_weekly, limit: 1, window: 7d, match: {channel: direct_mail}}\n"
        "categories:\n  order_confirmation: {transactional: true}\n",
        "p.yaml",
    )
    assert policy.caps[0].match.channel == "direct_mail"
    assert policy.category("order_confirmation").transactional is True
    assert policy.category("sale").transactional is False
    assert load_policy(policy_json(policy), "p.json") == policy


def test_unknown_time_zone_is_named() -> None:
    error = problem_of("version: t1\ntimezone: Mars/Olympus_Mons\n")
    assert error.problems == [Problem("timezone", "unknown IANA time zone 'Mars/Olympus_Mons'", line=2)]
    assert str(error) == "policy marketing.yaml: line 2: timezone: unknown IANA time zone 'Mars/Olympus_Mons'"


def test_missing_required_fields_are_named() -> None:
    error = problem_of("caps: []\n")
    assert {(p.field, p.message, p.line) for p in error.problems} == {
        ("version", "Field required", 1),
        ("timezone", "Field required", 1),
    }


def test_bad_yaml_names_the_line() -> None:
    error = problem_of(HEAD + "caps:\n  - name: a\n   limit: 2\n")
    [problem] = error.problems
    assert (problem.field, problem.line) == ("", 5)
    assert problem.message.startswith("not valid YAML: ") and problem.message.endswith("(column 4)")


def test_bad_json_form_is_an_error() -> None:
    error = problem_of('{"version": "x", ', "ssm:/baton/policy")
    [problem] = error.problems
    assert problem.message.startswith("not valid JSON: ") and problem.line == 1


def test_a_document_that_is_not_a_mapping_is_refused() -> None:
    error = problem_of("- just\n- a list\n")
    assert error.problems[0].field == "(document)"


def test_every_problem_is_reported_at_once() -> None:
    error = problem_of(HEAD + "caps:\n  - name: a\n    limit: x\n    window: soon\n")
    fields = sorted(p.field for p in error.problems)
    assert fields == ["caps[a].limit", "caps[a].window"]


# Field errors, what only the whole document shows, and what pydantic checks only once a model's fields are valid:
# every one of them in one pass, in the order they are written, each with its line.
SEVERAL = """\
version: "2026-12-01.1"
timezone: Mars/Olympus
caps:
  - name: email_daily
    limit: -1
    windw: 24h
  - name: flash_daily
    limit: x
    window: 30s
  - name: email_daily
    limit: 2
    window: 24h
    reserve: {count: 2, min_priority: 70}
quiet_hours:
  sms: {start: "25:00", end: "08:00"}
categories:
  sale: {priority: 101, arbitration_window: 7h}
"""


def test_field_and_document_problems_come_together_in_document_order() -> None:
    error = problem_of(SEVERAL, "policy.yaml")
    assert [p.located("policy.yaml") for p in error.problems] == [
        "policy.yaml:2: timezone: unknown IANA time zone 'Mars/Olympus'",
        "policy.yaml:4: caps[0].window: Field required",
        "policy.yaml:5: caps[0].limit: Input should be greater than or equal to 0",
        "policy.yaml:6: caps[0].windw: unknown field",
        "policy.yaml:8: caps[flash_daily].limit: Input should be a valid integer, unable to parse string as an integer",
        "policy.yaml:9: caps[flash_daily].window: must be between 1m and 400d",
        "policy.yaml:10: caps[2].name: caps[0] is named email_daily too: cap names must be unique",
        "policy.yaml:13: caps[2].reserve: count (2) must be less than the cap's limit (2)",
        'policy.yaml:15: quiet_hours.sms.start: "25:00" is not a time of day: write HH:MM from 00:00 to 23:59',
        "policy.yaml:17: categories.sale.priority: Input should be less than or equal to 100",
        "policy.yaml:17: categories.sale.arbitration_window: must be at most 6h",
    ]


def test_a_repeated_cap_name_is_reported_once_at_the_repeat() -> None:
    text = HEAD + "caps:\n  - {name: daily, limit: 1, window: 1d}\n  - {name: daily, limit: 2, window: 1d}\n"
    assert problem_of(text).problems == [
        Problem("caps[1].name", "caps[0] is named daily too: cap names must be unique", line=5)
    ]
    with pytest.raises(ValidationError, match="cap names must be unique: daily"):  # a Policy made any other way
        Policy.model_validate(yaml.safe_load(text))


def test_a_cap_is_named_by_its_name_when_it_has_one_of_its_own() -> None:
    text = HEAD + (
        "caps:\n"
        "  - {name: daily, limit: x, window: 1d}\n"  # its own name
        "  - {limit: x, window: 1d}\n"  # no name
        "  - {name: Bad Name, limit: x, window: 1d}\n"  # a name that is no name (and would not read as one)
    )
    fields = [p.field for p in problem_of(text).problems]
    assert fields == ["caps[daily].limit", "caps[1].name", "caps[1].limit", "caps[2].name", "caps[2].limit"]


def test_json_problems_have_no_lines_but_keep_names_and_order() -> None:
    text = '{"version": "x", "timezone": "UTC", "caps": [{"name": "daily", "limit": -1}], "prioritee": 1}'
    error = problem_of(text, "policy.json")
    assert [p.located("policy.json") for p in error.problems] == [
        "policy.json: caps[daily].window: Field required",
        "policy.json: caps[daily].limit: Input should be greater than or equal to 0",
        "policy.json: prioritee: unknown field",
    ]


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ('{start: "25:00", end: "08:00"}', '"25:00" is not a time of day: write HH:MM from 00:00 to 23:59'),
        ('{start: "9pm", end: "08:00"}', '"9pm" is not a time of day: write HH:MM from 00:00 to 23:59'),
        (
            '{start: 21:00, end: "08:00"}',  # unquoted: YAML 1.1 reads it as 1260
            '1260 is a number, not a time of day: write "HH:MM" in quotes'
            " (YAML reads an unquoted 21:00 as the number 1260)",
        ),
    ],
)
def test_a_time_of_day_is_explained_in_plain_words(hours: str, message: str) -> None:
    error = problem_of(HEAD + f"quiet_hours:\n  sms: {hours}\n")
    assert [(p.field, p.message) for p in error.problems] == [("quiet_hours.sms.start", message)]


def test_no_message_shows_a_pattern() -> None:
    text = HEAD + (
        "caps:\n  - {name: Daily-Cap, limit: 1, window: 1d, match: {category: Flash-Sale}}\n"
        "quiet_hours:\n  sms: {start: '7:00', end: '08:00'}\n"
        "categories:\n  Big-Sale: {priority: 1}\n  sale:\n    digest: {template: Sale Digest}\n"
        "    excludes: [{categories: [Cart], window: 1d}]\n"
    )
    error = problem_of(text)
    assert len(error.problems) == 6
    assert not [p for p in error.problems if "pattern" in p.message or "^" in p.message], error.problems
    assert Problem(
        "categories.Big-Sale",
        '"Big-Sale" is not a category name: lower-case letters, digits and _, starting with a letter, at most 64',
        line=8,
    ) in error.problems


# -- warnings ----------------------------------------------------------------------------------------------------

UNLISTED = HEAD + """\
caps:
  - {name: flash_daily, limit: 1, window: 24h, match: {category: flash_sle}}
categories:
  flash_sale: {priority: 60}
  order_confirmation:
    excludes:
      - {categories: [flash_sale, cart_abandoned], window: 7d}
"""


def test_a_category_that_is_not_listed_is_a_warning_not_an_error() -> None:
    policy = load_policy(UNLISTED, "policy.yaml")  # loads: requests of any category follow default_category
    assert policy.caps[0].match.category == "flash_sle"
    assert policy.categories["order_confirmation"].excludes[0].categories == ("flash_sale", "cart_abandoned")

    check = check_policy(UNLISTED, "policy.yaml")
    assert check.policy == policy and check.errors == ()
    assert [p.located("policy.yaml", "warning") for p in check.warnings] == [
        "policy.yaml:4: warning: caps[flash_daily].match.category:"
        " flash_sle is not a listed category: requests of it follow default_category",
        "policy.yaml:9: warning: categories.order_confirmation.excludes[0].categories[1]:"
        " cart_abandoned is not a listed category: requests of it follow default_category",
    ]


def test_warnings_come_with_the_errors_of_an_invalid_document() -> None:
    check = check_policy(UNLISTED.replace("priority: 60", "priority: high"), "policy.yaml")
    assert check.policy is None
    assert [p.field for p in check.errors] == ["categories.flash_sale.priority"]
    assert [p.field for p in check.warnings] == [
        "caps[flash_daily].match.category",
        "categories.order_confirmation.excludes[0].categories[1]",
    ]


def test_the_default_policy_has_no_warnings() -> None:
    with open(default_policy_path(), encoding="utf-8") as handle:
        check = check_policy(handle.read(), "default.yaml")
    assert check.policy is not None and check.errors == () and check.warnings == ()


def test_file_errors_name_the_path(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(HEAD + "caps:\n  - name: a\n    limit: 1\n    window: 1 day\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy_file(str(path))
    assert str(path) in str(caught.value) and "line 6: caps[a].window" in str(caught.value)
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
            Problem("caps[broken].window", "'forever' is not a duration such as 90s, 15m, 24h, 7d or 2w")
        ]
    assert current is default_policy


def test_default_policy_path_is_the_shipped_file() -> None:
    assert Path(default_policy_path()).name == "default.yaml"
    assert load_policy_file(default_policy_path()).version
