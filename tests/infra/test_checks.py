"""cdk-nag's AwsSolutions pack finds nothing unsuppressed; every suppression is one the docs list (Architecture), with a
reason; cfn-lint finds no error in the synthesized template."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Annotations, Match

from baton.entry.settings import ALL_SETTINGS

from .conftest import Synthesized


@pytest.mark.parametrize("which", ["synth", "staged", "kms_synth"])
def test_cdk_nag_finds_no_unsuppressed_error_or_warning(which: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(which)
    annotations = Annotations.from_stack(synthesized.stack)
    errors = annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    warnings = annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert [f"{e.id}: {e.entry.data}" for e in errors] == []
    assert [f"{w.id}: {w.entry.data}" for w in warnings] == []


def test_suppressions_are_only_the_documented_ones(synth: Synthesized) -> None:
    """A new suppression must be added here (and to docs/architecture.md) on purpose, with a reason."""
    found = []
    for logical_id, resource in synth.resources.items():
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            assert len(rule["reason"]) >= 80, (logical_id, rule)
            found.append((rule["id"], tuple(rule.get("applies_to") or ()), resource["Type"]))
    default_policies = [f for f in found if f[2] == "AWS::IAM::Policy" and f[1] == ("Resource::*",)]
    bucket = synth.logical_id(synth.stack.node.find_child("TemplateStore").bucket)
    template_files = (f"Resource::<{bucket}.Arn>/templates/*",)  # the store's files, read by who renders
    assert sorted(set(found)) == [
        ("AwsSolutions-IAM5", ("Resource::*",), "AWS::IAM::Policy"),
        ("AwsSolutions-IAM5", ("Resource::*",), "AWS::IAM::Role"),
        ("AwsSolutions-IAM5", template_files, "AWS::IAM::Policy"),
        ("AwsSolutions-IAM5", template_files, "AWS::IAM::Role"),
        ("AwsSolutions-S1", (), "AWS::S3::Bucket"),  # no server access logs on the template store
        ("AwsSolutions-SQS3", (), "AWS::SQS::Queue"),
    ]
    assert len([f for f in found if f[1] == template_files]) == 4  # the arbiter's and the preview's role and policy
    # every function's role and default policy (X-Ray), and the arbiter's SMS policy
    assert len([f for f in found if f[2] == "AWS::IAM::Role" and f[1] == ("Resource::*",)]) == len(ALL_SETTINGS)
    assert len(default_policies) == len(ALL_SETTINGS) + 1


def test_cfn_lint_finds_no_error(synth: Synthesized, tmp_path: Path) -> None:
    template = tmp_path / "Baton.template.json"
    template.write_text(json.dumps(synth.document))
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--format", "json", "--regions", "us-east-1", "eu-west-1", "--", str(template)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 4, 8, 12), result.stderr  # bits: 2 error, 4 warning, 8 informational
    matches = json.loads(result.stdout or "[]")
    errors = [m for m in matches if m["Level"] == "Error"]
    assert errors == [], json.dumps(errors, indent=1)
