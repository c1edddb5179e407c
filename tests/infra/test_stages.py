"""Stages: ``-c stage=NAME`` puts the stage into every name the stack gives, so stages share an account and region;
without a stage every name, and the template, is what it always was. The names themselves (``baton.names``) need no
synth; the templates are the session's two synths, the same deployment without and with a stage."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import asdict, astuple, fields
from pathlib import Path
from typing import Any

import pytest

from baton.names import MAX_STAGE_LENGTH, UNSTAGED, StageNames, check_stage, stage_names
from infra.keys import configured_name

from .conftest import STAGE, Synthesized

REPO = Path(__file__).resolve().parents[2]
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
    "sweeper_dlq": "baton-sweeper-dlq",
    "policy_parameter": "/baton/policy",
    "signing_secret": "baton/signing-keys",
    "salt_secret": "baton/address-salt",
    "keys_secret": "baton/keys",
}
# Top-level properties called *Name that hold no name of the account's own: named within a parent, or not a
# resource's name at all. Any other *Name with a literal value is a physical name, and must carry the stage.
NOT_ACCOUNT_WIDE = {
    ("AWS::IAM::Policy", "PolicyName"),  # an inline policy, named within its role
    ("AWS::EventSchemas::Schema", "SchemaName"),  # named within the stage's registry
    ("AWS::Scheduler::Schedule", "GroupName"),  # the account's default group; the schedule's own name is generated
    ("AWS::CloudWatch::Alarm", "MetricName"),  # a metric, not the alarm
}
# Names the stack does not give: the stack's own (not in its template) and the key secrets (made by infra.keys).
NOT_IN_TEMPLATE = ("stack", "signing_secret", "salt_secret", "keys_secret")


def physical_names(document: dict[str, Any]) -> dict[str, str]:
    """``<logical id>.<property>`` -> each literal name the template gives a resource."""
    return {
        f"{logical_id}.{key}": value
        for logical_id, resource in document["Resources"].items()
        for key, value in resource.get("Properties", {}).items()
        if key.endswith("Name") and isinstance(value, str) and (resource["Type"], key) not in NOT_ACCOUNT_WIDE
    }


def strings(value: Any) -> Iterator[str]:
    """Every string in a template value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def given_names(names: dict[str, str]) -> list[str]:
    """The names the stack gives, sorted (the bus and the schema registry share theirs)."""
    return sorted(value for key, value in names.items() if key not in NOT_IN_TEMPLATE)


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
        "sweeper_dlq": "baton-staging-sweeper-dlq",
        "policy_parameter": "/baton/staging/policy",
        "signing_secret": "baton/staging/signing-keys",
        "salt_secret": "baton/staging/address-salt",
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


# -- the templates -------------------------------------------------------------------------------------------------
def test_without_a_stage_the_template_gives_todays_names(synth: Synthesized) -> None:
    assert synth.stack.stack_name == TODAYS_NAMES["stack"]
    assert sorted(physical_names(synth.document).values()) == given_names(TODAYS_NAMES)


def test_a_staged_template_gives_every_name_with_the_stage(staged: Synthesized) -> None:
    names = stage_names(STAGE)
    assert staged.names == names
    assert staged.stack.stack_name == f"Baton-{STAGE}"
    # the construct id stays: the same logical ids in every stage, and cdk.out/Baton.template.json
    assert staged.stack.artifact_id == "Baton"
    given = physical_names(staged.document)
    assert sorted(given.values()) == given_names(asdict(names))
    assert [where for where, name in given.items() if STAGE not in name] == []


def test_no_unstaged_name_is_left_anywhere_in_a_staged_template(staged: Synthesized) -> None:
    """Not as a name, nor in an ARN, an environment variable or a policy: today's names other than the bare
    ``baton`` (the service's name, in metric dimensions too) appear nowhere in the staged template."""
    distinctive = {name for name in astuple(UNSTAGED) if name.lower() != "baton"}
    found = sorted({(name, text) for text in strings(staged.document) for name in distinctive if name in text})
    assert found == []
    # and the key secrets the functions are given, and may read, are the stage's
    text = json.dumps(staged.document)
    assert f"secret:{stage_names(STAGE).salt_secret}-??????" in text
    assert f"secret:{stage_names(STAGE).signing_secret}-??????" in text


def test_a_stage_changes_the_names_and_nothing_else(synth: Synthesized, staged: Synthesized) -> None:
    """The staged template with each staged name put back to today's is the unstaged template, byte for byte as
    JSON: a stage touches nothing but the names (and without one, the names are today's: above)."""
    text = json.dumps(staged.document)
    pairs = sorted(zip(astuple(stage_names(STAGE)), astuple(UNSTAGED), strict=True), key=lambda p: -len(p[0]))
    for staged_name, name in pairs:
        text = text.replace(staged_name, name)
    assert STAGE not in text
    assert text == json.dumps(synth.document)


def test_two_stages_share_no_name_in_their_templates(synth: Synthesized, staged: Synthesized) -> None:
    assert not set(physical_names(synth.document).values()) & set(physical_names(staged.document).values())


# -- make deploy STAGE=... ------------------------------------------------------------------------------------------
def _dry_run(target: str, *variables: str) -> list[str]:
    """What ``make -n target variables`` would run, free of a make or shell that runs the tests (``make test
    STAGE=...`` passes its variables down through MAKEFLAGS)."""
    inherited = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "STAGE", "CDK_ARGS")
    env = {key: value for key, value in os.environ.items() if key not in inherited}
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", target, *variables],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.splitlines()


def test_make_deploy_stage_creates_the_stages_secrets_and_deploys_the_stages_stack() -> None:
    lines = _dry_run("deploy", "STAGE=staging", "CDK_ARGS=-c sender=orders@shop.example")
    keys, encrypt = [line for line in lines if "-m infra.keys" in line]  # before the deploy, and after it
    assert lines.index(keys) < lines.index(encrypt) and encrypt.endswith("-m infra.keys --encrypt")
    for line in (keys, encrypt):
        (cdk_args,) = [word for word in shlex.split(line) if word.startswith("CDK_ARGS=")]
        assert configured_name(cdk_args.removeprefix("CDK_ARGS=")) == "baton/staging/address-salt"
    (deploy,) = [line for line in lines if " cdk deploy " in line]
    assert shlex.split(deploy)[-4:] == ["-c", "sender=orders@shop.example", "-c", "stage=staging"]


@pytest.mark.parametrize("target", ["synth", "destroy"])
def test_make_synth_and_destroy_pass_the_stage(target: str) -> None:
    (command,) = [line for line in _dry_run(target, "STAGE=staging") if f" cdk {target} " in line]
    assert shlex.split(command)[-2:] == ["-c", "stage=staging"]
    (unstaged,) = [line for line in _dry_run(target) if f" cdk {target} " in line]
    assert "stage" not in unstaged
