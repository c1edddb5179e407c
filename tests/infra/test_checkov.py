"""checkov, an outside scanner, finds no failed check in the synthesized template: every check Baton does not
follow is skipped on its own resource (template Metadata, written by the CDK code next to the resource), with a
reason; docs/security.md lists each one. The same holds with ``-c kms=true``, which needs fewer skips."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra.scan import MIN_COMMENT, failures, scan, skips

from .conftest import Synthesized

DOCS = Path(__file__).resolve().parents[2] / "docs" / "security.md"
# skipped only where the deployment has no customer-managed key (-c kms=true answers them)
ANSWERED_BY_KMS = {"CKV_AWS_27", "CKV_AWS_119", "CKV_AWS_158"}


def checkov(synthesized: Synthesized, tmp_path: Path) -> list[str]:
    template = tmp_path / "Baton.template.json"
    template.write_text(json.dumps(synthesized.document))
    report = scan(template)
    assert report["summary"]["passed"] > 100, report["summary"]  # it did read the template
    return failures(report)


def test_checkov_finds_no_failed_check(each_synth: Synthesized, tmp_path: Path) -> None:
    assert checkov(each_synth, tmp_path) == []


def test_checkov_finds_no_failed_check_with_the_kms_key(kms_synth: Synthesized, tmp_path: Path) -> None:
    assert checkov(kms_synth, tmp_path) == []


@pytest.mark.parametrize("which", ["synth", "kms_synth"])
def test_every_skip_names_a_check_and_says_why(which: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(which)
    found = skips(synthesized.document)
    assert found
    for logical_id, check, comment in found:
        assert re.fullmatch(r"CKV2?_AWS_\d+", check), (logical_id, check)
        assert len(comment.strip()) >= MIN_COMMENT, (logical_id, check, comment)
    per_resource = [(logical_id, check) for logical_id, check, _ in found]
    assert len(per_resource) == len(set(per_resource)), "a check skipped twice on one resource"


def test_the_kms_key_leaves_no_encryption_check_skipped(kms_synth: Synthesized) -> None:
    assert {check for _, check, _ in skips(kms_synth.document)} & ANSWERED_BY_KMS == set()


def documented_skips() -> set[tuple[str, str]]:
    """(check id, resource type) of each row of docs/security.md's table of skips."""
    rows = re.findall(r"^\| `(CKV2?_AWS_\d+)` \| `(AWS::[A-Za-z0-9:]+)` \|", DOCS.read_text(), re.MULTILINE)
    return set(rows)


def test_docs_list_every_skip_and_no_other(synth: Synthesized, kms_synth: Synthesized) -> None:
    """The security page's table is the template's skips, by check and resource type, with and without the key."""
    found = {
        (check, document["Resources"][logical_id]["Type"])
        for document in (synth.document, kms_synth.document)
        for logical_id, check, _ in skips(document)
    }
    assert found == documented_skips()
