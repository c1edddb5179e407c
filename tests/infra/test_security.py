"""What issue 24 added to the template: the sweeper's dead-letter queue, the public endpoint's reserved
concurrency, and the ``-c kms=true`` key over the table, queues and log groups (cdk-nag: test_checks.py), each
function's use of it held to the services that keep Baton's data."""

from __future__ import annotations

from typing import Any

from baton.names import SWEEPER_DLQ

from .conftest import CONTEXT, Synthesized, references


def test_the_sweeper_sends_its_failed_invocations_to_its_alarmed_dlq(synth: Synthesized) -> None:
    dlq = synth.queue_id(SWEEPER_DLQ)
    sweeper = synth.function("sweeper")["Properties"]
    assert references(sweeper["DeadLetterConfig"]["TargetArn"]) == [dlq]
    alarms = [a["Properties"] for a in synth.of_type("AWS::CloudWatch::Alarm").values()]
    watched = [a for a in alarms if any(references(d["Value"]) == [dlq] for d in a.get("Dimensions", []))]
    assert [a["MetricName"] for a in watched] == ["ApproximateNumberOfMessagesVisible"]
    # the other functions are invoked synchronously: no function DLQ
    others = [n for n in synth.stack.functions if n != "sweeper"]
    assert [n for n in others if "DeadLetterConfig" in synth.function(n)["Properties"]] == []


def test_only_the_public_endpoint_reserves_concurrency(synth: Synthesized, kms_synth: Synthesized) -> None:
    assert CONTEXT["unsubscribe_concurrency"] == 10  # cdk.json's default
    reserved = {n: synth.function(n)["Properties"].get("ReservedConcurrentExecutions") for n in synth.stack.functions}
    assert {n: v for n, v in reserved.items() if v is not None} == {"unsubscribe": 10}
    # unsubscribe_concurrency=0: none reserved (for an account whose quota cannot spare any)
    assert "ReservedConcurrentExecutions" not in kms_synth.function("unsubscribe")["Properties"]


def test_without_kms_no_key_is_made(synth: Synthesized) -> None:
    assert synth.of_type("AWS::KMS::Key") == {}
    (table,) = synth.of_type("AWS::DynamoDB::Table").values()
    assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}  # the AWS managed key


def key_of(kms_synth: Synthesized) -> str:
    (key_id,) = kms_synth.of_type("AWS::KMS::Key")
    return key_id


def test_the_kms_key_covers_the_table_queues_and_log_groups(kms_synth: Synthesized) -> None:
    key_id = key_of(kms_synth)
    key = kms_synth.resources[key_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"  # the retained table and secrets stay readable
    (alias,) = kms_synth.of_type("AWS::KMS::Alias").values()
    assert alias["Properties"]["AliasName"] == "alias/baton"
    (table,) = kms_synth.of_type("AWS::DynamoDB::Table").values()
    assert references(table["Properties"]["SSESpecification"]["KMSMasterKeyId"]) == [key_id]
    queues = kms_synth.of_type("AWS::SQS::Queue")
    assert len(queues) == 8
    assert all(references(q["Properties"]["KmsMasterKeyId"]) == [key_id] for q in queues.values())
    groups = kms_synth.of_type("AWS::Logs::LogGroup")
    assert len(groups) == len(kms_synth.stack.functions)
    assert all(references(g["Properties"]["KmsKeyId"]) == [key_id] for g in groups.values())


def test_functions_use_the_key_only_through_baton_s_data_services(kms_synth: Synthesized) -> None:
    key_id = key_of(kms_synth)
    for name in kms_synth.stack.functions:
        (role,) = references(kms_synth.function(name)["Properties"]["Role"])
        statements = kms_synth.role_statements(role)
        on_key = [s for s in statements if key_id in references(s["Resource"])]
        assert on_key, name
        for statement in on_key:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert set(actions) <= {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"}, name
            via: Any = statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
            granted_by_cdk = actions == ["kms:Decrypt"]  # the SQS event source's consume grant
            assert granted_by_cdk or len(via) == 3, (name, statement)


def test_the_key_policy_admits_the_account_logs_and_eventbridge_only(kms_synth: Synthesized) -> None:
    """The account (IAM decides, as for every key CDK makes), CloudWatch Logs for this account's log groups only,
    and EventBridge (the CDK's grant for SQS rule targets; the queue policies admit only Baton's rules)."""
    policy = kms_synth.resources[key_of(kms_synth)]["Properties"]["KeyPolicy"]["Statement"]
    by_principal = {
        "logs" if isinstance(s["Principal"].get("Service"), dict) else str(s["Principal"].get("Service", "account")): s
        for s in policy
    }
    assert sorted(by_principal) == ["account", "events.amazonaws.com", "logs"]
    assert "kms:EncryptionContext:aws:logs:arn" in str(by_principal["logs"]["Condition"])
    assert "kms:Create" not in str(by_principal["events.amazonaws.com"]["Action"])
