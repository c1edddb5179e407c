"""Stages: ``-c stage=NAME`` puts the stage into every name a deployment gives, so stages share an account and
region; without a stage every name is what it always was (``baton.names``, no synth)."""

from __future__ import annotations

import re
from dataclasses import asdict, astuple, fields

import pytest

from baton.names import MAX_STAGE_LENGTH, UNSTAGED, StageNames, check_stage, stage_names

# Today's names, written out: a deployment without a stage must keep every one of them.
TODAYS_NAMES = {
    "stack": "Baton",
    "bus": "baton",
    "schema_registry": "baton",
    "table": "baton-ledger",
    "arbiter_queue": "baton-arbitration",
    "arbiter_dlq": "baton-arbitration-dlq",
    "profile_queue": "baton-profile",
    "profile_dlq": "baton-profile-dlq",
    "rule_target_dlq": "baton-rule-target-dlq",
    "feedback_queue": "baton-feedback",
    "feedback_dlq": "baton-feedback-dlq",
    "policy_parameter": "/baton/policy",
    "keys_secret": "baton/keys",
}


# -- the names -----------------------------------------------------------------------------------------------------
def test_without_a_stage_the_names_are_todays_and_the_constants() -> None:
    assert stage_names(None) is UNSTAGED
    assert asdict(UNSTAGED) == TODAYS_NAMES


def test_a_stage_goes_after_baton_in_every_name() -> None:
    assert asdict(stage_names("staging")) == {
        "stack": "Baton-staging",
        "bus": "baton-staging",
        "schema_registry": "baton-staging",
        "table": "baton-staging-ledger",
        "arbiter_queue": "baton-staging-arbitration",
        "arbiter_dlq": "baton-staging-arbitration-dlq",
        "profile_queue": "baton-staging-profile",
        "profile_dlq": "baton-staging-profile-dlq",
        "rule_target_dlq": "baton-staging-rule-target-dlq",
        "feedback_queue": "baton-staging-feedback",
        "feedback_dlq": "baton-staging-feedback-dlq",
        "policy_parameter": "/baton/staging/policy",
        "keys_secret": "baton/staging/keys",
    }


@pytest.mark.parametrize("stage", ["", "Staging", "1st", "-qa", "qa_1", "qa.1", "qa/1", "qa 1", "é", "a" * 59])
def test_a_stage_that_cannot_go_into_every_name_is_refused(stage: str) -> None:
    with pytest.raises(ValueError, match="expected a lowercase letter followed by lowercase letters, digits or hyph"):
        stage_names(stage)


def test_the_longest_stage_fills_the_tightest_limits_exactly() -> None:
    """SQS allows 80 characters in a queue name, EventBridge Schemas 64 in a registry name: the longest stage
    reaches both and passes neither, and the limits in baton.names are these."""
    longest = stage_names("a" * MAX_STAGE_LENGTH)
    assert len(longest.rule_target_dlq) == 80
    assert len(longest.schema_registry) == 64
    limits = {f.name: f.metadata["limit"] for f in fields(StageNames)}
    assert all(len(name) <= limits[key] for key, name in asdict(longest).items())
    assert check_stage("a" * MAX_STAGE_LENGTH)
    with pytest.raises(ValueError):
        check_stage("a" * (MAX_STAGE_LENGTH + 1))


def _namespaces(names: StageNames) -> dict[str, set[str]]:
    """Names by where they must be unique in an account and region: the queues share SQS's, the others one each."""
    queues = {f.name for f in fields(StageNames) if f.name.endswith(("_queue", "_dlq"))}
    out: dict[str, set[str]] = {"queues": {getattr(names, q) for q in queues}}
    out |= {f.name: {getattr(names, f.name)} for f in fields(StageNames) if f.name not in queues}
    return out


def _tricky_stages() -> list[str]:
    """Stages made of the words of Baton's own names (``arbitration``, ``rule-target``, ``dlq`` ...), alone and
    after another word: where one stage's name could run into another stage's (``baton-a`` + ``-arbitration-dlq``
    against ``baton-a-arbitration`` + ``-dlq``), if any could."""
    words: set[str] = set()
    for name in astuple(UNSTAGED):
        parts = re.split(r"[-/]", name.strip("/"))[1:]  # after the leading baton
        words |= {"-".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)}
    return sorted(words | {f"a-{word}" for word in words} | {"a", "staging", "production"})


def test_no_two_stages_share_a_name() -> None:
    """Every pair among no stage and the tricky stages: in each namespace, not one name in common."""
    stages: list[str | None] = [None, *_tricky_stages()]
    assert "rule-target" in stages and "a-arbitration" in stages
    owner: dict[tuple[str, str], str | None] = {}
    for stage in stages:
        for namespace, names in _namespaces(stage_names(stage)).items():
            for name in names:
                assert (namespace, name) not in owner, f"{stage} and {owner[namespace, name]} both name {name}"
                owner[namespace, name] = stage
