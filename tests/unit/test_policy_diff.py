"""``baton.ops.policy_diff``: what changes between two policies, in plain words, on real Policy objects (no I/O)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml

from baton.core.policy import Policy, default_policy_path, load_policy
from baton.ops.policy_diff import compare, diff_policies, readable_duration


def edited(edit: Any) -> Policy:
    """The shipped default policy, with ``edit(document)`` applied to its YAML document, validated as usual."""
    with open(default_policy_path(), encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    edit(document)
    return load_policy(yaml.safe_dump(document, sort_keys=False), "edited.yaml")


def lines(before: Policy, after: Policy) -> list[str]:
    return [change.text for change in diff_policies(before, after)]


def test_the_same_policy_has_no_changes(default_policy: Policy) -> None:
    again = edited(lambda doc: None)
    result = compare(default_policy, again)
    assert result.changes == ()
    assert result.decides_alike
    assert result.before_tag == result.after_tag == default_policy.tag


def test_a_new_version_label_alone_decides_alike(default_policy: Policy) -> None:
    relabelled = edited(lambda doc: doc.update(version="2026-12-01.1"))
    result = compare(default_policy, relabelled)
    assert [c.text for c in result.changes] == ["version: 2026-11-23.1 -> 2026-12-01.1"]
    assert result.decides_alike
    assert result.before_tag != result.after_tag  # the label is part of the tag, not of the rules


def test_each_kind_of_change_reads_as_one_plain_line(default_policy: Policy) -> None:
    def edit(doc: dict[str, Any]) -> None:
        caps = {cap["name"]: cap for cap in doc["caps"]}
        caps["email_daily"]["limit"] = 3
        doc["caps"].remove(caps["sms_weekly"])
        doc["caps"].append({"name": "push_weekly", "limit": 5, "window": "7d", "match": {"channel": "push"}})
        doc["quiet_hours"]["sms"]["start"] = "22:00"
        doc["categories"]["newsletter"]["priority"] = 20
        del doc["categories"]["price_drop"]["digest"]
        doc["timezone"] = "Europe/Berlin"

    changed = lines(default_policy, edited(edit))
    assert changed == [
        "default time zone: America/New_York -> Europe/Berlin",
        "cap email_daily: limit 2 -> 3 (per rolling 24h)",
        "cap sms_weekly: removed (was 3 per rolling 7d for channel sms)",
        "cap push_weekly: added (5 per rolling 7d for channel push)",
        "quiet hours for sms: 21:00-08:00 -> 22:00-08:00",
        "category price_drop: digest removed (was template price_drop_digest, up to 10 items)",
        "category newsletter: priority 10 -> 20",
    ]
    assert not compare(default_policy, edited(edit)).decides_alike


def test_nested_options_are_named_by_their_path(default_policy: Policy) -> None:
    def edit(doc: dict[str, Any]) -> None:
        caps = {cap["name"]: cap for cap in doc["caps"]}
        caps["email_daily"]["reserve"]["min_priority"] = 80
        caps["all_marketing_daily"]["match"] = {"category": "sale"}
        doc["categories"]["back_in_stock"]["digest"] = {"template": "bis_digest", "max_items": 5}
        doc["categories"]["order_confirmation"]["excludes"][0]["window"] = "3d"
        doc["categories"]["review_request"]["max_age"] = "72h"
        doc["feedback"]["soft_bounce_limit"] = 5

    changed = lines(default_policy, edited(edit))
    assert "cap email_daily: reserve.min_priority 70 -> 80" in changed
    assert "cap all_marketing_daily: match.category added (sale)" in changed
    assert "category back_in_stock: digest added (template bis_digest, up to 5 items)" in changed
    assert (
        "category order_confirmation: excludes cart_abandoned within 7d for the same entity"
        " -> cart_abandoned within 3d for the same entity"
    ) in changed
    assert "category review_request: max_age added (3d)" in changed
    assert "feedback: soft_bounce_limit 3 -> 5" in changed
    assert len(changed) == 6


def test_a_removed_category_says_where_its_requests_go(default_policy: Policy) -> None:
    def edit(doc: dict[str, Any]) -> None:
        del doc["categories"]["sale"]
        doc["default_category"]["priority"] = 45

    changed = lines(default_policy, edited(edit))
    assert changed[0].startswith("category sale: removed (was priority 30")
    assert changed[0].endswith("; its requests now follow the default category")
    assert changed[1] == "default category: priority 40 -> 45"


def test_reordered_caps_are_a_change_but_reordered_categories_are_not(default_policy: Policy) -> None:
    def swap_caps(doc: dict[str, Any]) -> None:
        doc["caps"][0], doc["caps"][1] = doc["caps"][1], doc["caps"][0]

    [change] = diff_policies(default_policy, edited(swap_caps))
    assert change.subject == "caps" and change.field == "order"
    assert change.text.startswith("caps: order all_marketing_daily, email_daily, ")
    assert "-> email_daily, all_marketing_daily, " in change.text

    def reverse_categories(doc: dict[str, Any]) -> None:
        doc["categories"] = dict(reversed(list(doc["categories"].items())))

    assert diff_policies(default_policy, edited(reverse_categories)) == []
    assert compare(default_policy, edited(reverse_categories)).decides_alike

    def reverse_and_change(doc: dict[str, Any]) -> None:
        reverse_categories(doc)
        doc["categories"]["newsletter"]["priority"] = 20

    assert lines(default_policy, edited(reverse_and_change)) == ["category newsletter: priority 10 -> 20"]


def test_json_form_carries_values_as_policies_write_them(default_policy: Policy) -> None:
    changed = edited(lambda doc: doc["caps"][1].update(window="48h"))
    document = compare(default_policy, changed).as_json()
    assert document["decides_alike"] is False
    [change] = document["changes"]
    assert change == {
        "subject": "cap email_daily",
        "kind": "changed",
        "field": "window",
        "before": "24h",
        "after": "48h",
        "text": "cap email_daily: window 24h -> 48h",
    }


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(seconds=90), "90s"),
        (timedelta(minutes=15), "15m"),
        (timedelta(hours=24), "24h"),
        (timedelta(hours=36), "36h"),
        (timedelta(hours=48), "48h"),
        (timedelta(days=7), "7d"),
        (timedelta(weeks=2), "14d"),
        (timedelta(days=30), "30d"),
        (timedelta(0), "0s"),
    ],
)
def test_durations_read_as_marketers_write_them(span: timedelta, text: str) -> None:
    assert readable_duration(span) == text
