"""``baton.ops.policy_push``'s pure rules: the version label SSM accepts, the tier a policy needs, and what a push
would do to what the parameter holds (no AWS here: the SSM calls are tested on moto in tests/functional)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baton.core.errors import PolicyError
from baton.core.policy import Policy, load_policy, policy_json
from baton.ops.policy_push import LiveParameter, plan_push, version_label

# SSM's rule for a label: letters, digits, ".", "-", "_"; 1 to 100 characters; not beginning with a digit, nor
# with "aws" or "ssm" in any case
SSM_LABEL = re.compile(r"^(?![0-9])(?![aA][wW][sS])(?![sS][sS][mM])[A-Za-z0-9._-]{1,100}$")


@pytest.mark.parametrize(
    ("version", "label"),
    [
        ("2026-11-23.1", "v2026-11-23.1"),  # begins with a digit
        ("release-3", "release-3"),  # a label as it is
        ("spring sale/2", "spring_sale_2"),  # characters a label cannot hold
        ("ssm-test", "vssm-test"),
        ("AWS_1", "vAWS_1"),
        ("été", "_t_"),
        ("v1", "v1"),
    ],
)
def test_a_version_label_follows_ssm_rules(version: str, label: str) -> None:
    assert version_label(version) == label
    assert SSM_LABEL.match(label)


@given(st.text(min_size=1, max_size=64))
def test_every_version_a_policy_may_have_makes_a_label_ssm_accepts(version: str) -> None:
    label = version_label(version)
    assert SSM_LABEL.match(label), label
    assert version_label(label) == label  # a label is its own label: the rule changes nothing it need not


def policy_with(categories: int, version: str = "big") -> Policy:
    listed = "".join(f"  category_number_{i:03d}_of_a_long_list: {{priority: {i % 100}}}\n" for i in range(categories))
    return load_policy(f"version: {version}\ntimezone: UTC\ncategories:\n{listed}", "big.yaml")


def live(policy: Policy | str, version: int = 1, tier: str = "Standard") -> LiveParameter:
    text = policy if isinstance(policy, str) else policy_json(policy)
    return LiveParameter(version=version, text=text, tier=tier)


def test_a_policy_that_fits_4_kb_goes_in_the_standard_tier_and_a_larger_one_in_the_advanced(
    default_policy: Policy,
) -> None:
    small = plan_push("/baton/policy", default_policy, None, "policy.yaml")
    assert (small.tier, small.tier_grows, small.document) == ("Standard", False, policy_json(default_policy))

    large = policy_with(120)
    assert 4096 < len(policy_json(large).encode()) <= 8192
    plan = plan_push("/baton/policy", large, live(default_policy), "big.yaml")
    assert (plan.tier, plan.tier_grows) == ("Advanced", True)


def test_an_advanced_parameter_stays_advanced(default_policy: Policy) -> None:
    """SSM cannot make an advanced parameter standard again: a small policy keeps the tier it finds."""
    plan = plan_push("/baton/policy", default_policy, live(policy_with(120), tier="Advanced"), "policy.yaml")
    assert (plan.tier, plan.tier_grows) == ("Advanced", False)


def test_a_policy_larger_than_8_kb_is_refused() -> None:
    huge = policy_with(250)
    with pytest.raises(PolicyError) as caught:
        plan_push("/baton/policy", huge, None, "huge.yaml")
    size = len(policy_json(huge).encode())
    assert str(caught.value) == (
        f"policy huge.yaml: the policy is {size} bytes as JSON; an SSM parameter holds 8192 at most"
    )


def test_what_a_push_would_do_to_what_the_parameter_holds(default_policy: Policy) -> None:
    created = plan_push("/baton/policy", default_policy, None, "policy.yaml")
    assert (created.live_check, created.next_version, created.changes_nothing) == (None, 1, False)

    again = plan_push("/baton/policy", default_policy, live(default_policy, version=7), "policy.yaml")
    assert again.changes_nothing and again.next_version == 8

    relabelled = default_policy.model_copy(update={"version": "2026-12-01.1"})
    renamed = plan_push("/baton/policy", relabelled, live(default_policy), "policy.yaml")
    assert not renamed.changes_nothing  # decides alike, but the audit records' label changes: a new version
    assert renamed.label == "v2026-12-01.1"

    broken = plan_push("/baton/policy", default_policy, live('{"version": "x"}'), "policy.yaml")
    assert broken.live_check is not None and broken.live_policy is None
    assert [p.field for p in broken.live_check.errors] == ["timezone"]
    assert not broken.changes_nothing
