"""The template store's bucket in the synthesized template: versioned (a push is atomic only on a versioned
bucket), encrypted, private, TLS only, kept like the table, named by an output; and only the functions that render
may read it, only its template files and manifest, and nothing may write it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from baton.names import Env
from baton.ops.templates_push import BUCKET_OUTPUT

from .conftest import Synthesized, references

RENDERERS = {"arbiter", "preview"}


def bucket(synthesized: Synthesized) -> tuple[str, dict[str, Any]]:
    (found,) = synthesized.of_type("AWS::S3::Bucket").items()
    return found


@pytest.mark.parametrize("which", ["synth", "staged", "kms_synth"])
def test_the_bucket_is_versioned_encrypted_private_and_kept(which: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(which)
    logical_id, resource = bucket(synthesized)
    props = resource["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"  # as the table, by default
    assert "BucketName" not in props  # S3 names are global: CloudFormation makes one per stack
    assert synthesized.document["Outputs"][BUCKET_OUTPUT]["Value"] == {"Ref": logical_id}


def test_the_bucket_policy_denies_every_request_without_tls_and_allows_nothing(synth: Synthesized) -> None:
    logical_id, _ = bucket(synth)
    (policy,) = synth.of_type("AWS::S3::BucketPolicy").values()
    assert policy["Properties"]["Bucket"] == {"Ref": logical_id}
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Action"] == "s3:*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(references(statement["Resource"])) == [logical_id, logical_id]  # the bucket and its objects


def test_a_destroyable_deployment_destroys_the_bucket_as_the_table(tmp_path: Any) -> None:
    from .conftest import CONTEXT, synthesize

    synthesized = synthesize({**CONTEXT, "removal_policy": "destroy"}, tmp_path)
    _, resource = bucket(synthesized)
    (table,) = synthesized.of_type("AWS::DynamoDB::Table").values()
    assert resource["DeletionPolicy"] == table["DeletionPolicy"] == "Delete"


def test_only_the_functions_that_render_are_told_the_bucket_and_may_read_it(synth: Synthesized) -> None:
    logical_id, _ = bucket(synth)
    for name in synth.stack.functions:
        props = synth.function(name)["Properties"]
        variables = props["Environment"]["Variables"]
        (role,) = references(props["Role"])
        on_bucket = [s for s in synth.role_statements(role) if logical_id in json.dumps(s["Resource"])]
        if name not in RENDERERS:
            assert Env.TEMPLATES_BUCKET not in variables and on_bucket == [], name
            continue
        assert variables[Env.TEMPLATES_BUCKET] == {"Ref": logical_id}, name
        (statement,) = on_bucket
        assert sorted(statement["Action"]) == ["s3:GetObject", "s3:GetObjectVersion"]
        keys = sorted(r["Fn::Join"][1][-1] for r in statement["Resource"])
        assert keys == ["/manifest.json", "/templates/*"], name  # never the bucket itself (no listing), nor "/*"
