"""Every resource of the synthesized stack with the properties a reviewer would check."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match
from jsonschema import Draft4Validator

from baton.core.policy import default_policy_path, load_policy_file, policy_json
from baton.entry.settings import ALL_SETTINGS
from baton.local.mocked_aws import table_definition
from baton.names import (
    ARBITER_DLQ,
    ARBITER_QUEUE,
    BUS_NAME,
    DETAIL_CONTACT_RECORDED,
    DETAIL_CUSTOMER_ENGAGED,
    DETAIL_CUSTOMER_ERASED,
    DETAIL_CUSTOMER_UPDATED,
    DETAIL_MESSAGE_REQUESTED,
    FEEDBACK_DLQ,
    FEEDBACK_QUEUE,
    MAX_RECEIVE_COUNT,
    METRICS_NAMESPACE,
    POLICY_PARAMETER,
    PROFILE_DLQ,
    PROFILE_QUEUE,
    RULE_TARGET_DLQ,
    SES_FEEDBACK_DETAIL_TYPES,
    TABLE_NAME,
    TTL_ATTRIBUTE,
)
from infra.assets import PYTHON_VERSION

from .conftest import CONTEXT, Synthesized, references

FUNCTIONS = [s.function for s in ALL_SETTINGS]


# -- ledger ------------------------------------------------------------------------------------------------------
def test_the_table_has_the_key_schema_the_local_runtime_creates(synth: Synthesized) -> None:
    """The same definition moto and DynamoDB Local get (baton.local.mocked_aws): local and cloud cannot drift."""
    local = table_definition()
    (table,) = synth.of_type("AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["TableName"] == TABLE_NAME
    assert props["KeySchema"] == local["KeySchema"]
    assert sorted(props["AttributeDefinitions"], key=str) == sorted(local["AttributeDefinitions"], key=str)
    assert props["GlobalSecondaryIndexes"] == local["GlobalSecondaryIndexes"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"


def test_the_table_has_ttl_pitr_encryption_and_is_kept(synth: Synthesized) -> None:
    (table,) = synth.of_type("AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"] == {"SSEEnabled": True}  # KMS with the AWS managed key
    assert props["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"


# -- ingest ------------------------------------------------------------------------------------------------------
def test_the_bus_lets_only_the_named_producer_accounts_put_events(synth: Synthesized) -> None:
    synth.template.has_resource_properties("AWS::Events::EventBus", {"Name": BUS_NAME})
    (policy,) = synth.of_type("AWS::Events::EventBusPolicy").values()
    statement = policy["Properties"]["Statement"]
    principals = statement["Principal"]["AWS"]
    principals = principals if isinstance(principals, list) else [principals]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Effect"] == "Allow"
    assert {json.dumps(p) for p in principals} == {
        json.dumps({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::{account}:root"]]})
        for account in CONTEXT["producer_account_ids"]
    }
    assert "*" not in json.dumps(principals)


def test_the_bus_name_and_arn_are_outputs(synth: Synthesized) -> None:
    outputs = synth.document["Outputs"]
    (bus,) = synth.of_type("AWS::Events::EventBus")
    assert outputs["BusName"]["Value"] == {"Ref": bus}
    assert outputs["BusArn"]["Value"] == {"Fn::GetAtt": [bus, "Arn"]}


@pytest.mark.parametrize(
    ("detail_types", "queue"),
    [
        ([DETAIL_MESSAGE_REQUESTED], ARBITER_QUEUE),
        (
            [DETAIL_CUSTOMER_UPDATED, DETAIL_CUSTOMER_ERASED, DETAIL_CONTACT_RECORDED, DETAIL_CUSTOMER_ENGAGED],
            PROFILE_QUEUE,
        ),
    ],
)
def test_rules_route_detail_types_to_their_queue_with_a_target_dlq(
    synth: Synthesized, detail_types: list[str], queue: str
) -> None:
    rules = [
        r["Properties"]
        for r in synth.of_type("AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("detail-type") == detail_types
    ]
    assert len(rules) == 1
    (target,) = rules[0]["Targets"]
    assert references(rules[0]["EventBusName"]) == [next(iter(synth.of_type("AWS::Events::EventBus")))]
    assert references(target["Arn"]) == [synth.queue_id(queue)]
    assert references(target["DeadLetterConfig"]["Arn"]) == [synth.queue_id(RULE_TARGET_DLQ)]
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}


@pytest.mark.parametrize(
    ("queue", "dlq"), [(ARBITER_QUEUE, ARBITER_DLQ), (PROFILE_QUEUE, PROFILE_DLQ), (FEEDBACK_QUEUE, FEEDBACK_DLQ)]
)
def test_work_queues_redrive_to_their_dlq(synth: Synthesized, queue: str, dlq: str) -> None:
    props = synth.resources[synth.queue_id(queue)]["Properties"]
    assert props["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVE_COUNT
    assert references(props["RedrivePolicy"]["deadLetterTargetArn"]) == [synth.queue_id(dlq)]


def test_every_queue_is_encrypted_and_refuses_plain_http(synth: Synthesized) -> None:
    queues = synth.of_type("AWS::SQS::Queue")
    assert len(queues) == 8  # three work queues, their DLQs, the rule targets' DLQ and the sweeper's
    policies = synth.of_type("AWS::SQS::QueuePolicy").values()
    for logical_id, queue in queues.items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True, logical_id
        denies = [
            s
            for p in policies
            if {"Ref": logical_id} in p["Properties"]["Queues"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
            if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        assert denies, f"{logical_id} accepts requests without TLS"


def test_visibility_timeout_is_at_least_six_times_the_consumer_timeout(synth: Synthesized) -> None:
    mappings = synth.of_type("AWS::Lambda::EventSourceMapping").values()
    assert len(mappings) == 3
    for mapping in mappings:
        props = mapping["Properties"]
        (queue_id,) = references(props["EventSourceArn"])
        (function_id,) = references(props["FunctionName"])
        visibility = synth.resources[queue_id]["Properties"]["VisibilityTimeout"]
        timeout = synth.resources[function_id]["Properties"]["Timeout"]
        assert visibility >= 6 * timeout, (queue_id, visibility, timeout)


def test_event_source_mappings_report_partial_batch_failures(synth: Synthesized) -> None:
    for mapping in synth.of_type("AWS::Lambda::EventSourceMapping").values():
        props = mapping["Properties"]
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["BatchSize"] == 10


def test_arbiter_concurrency_is_capped_by_context(synth: Synthesized) -> None:
    arbiter = synth.function_id("arbiter")
    (mapping,) = [
        m["Properties"]
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if references(m["Properties"]["FunctionName"]) == [arbiter]
    ]
    assert references(mapping["EventSourceArn"]) == [synth.queue_id(ARBITER_QUEUE)]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": CONTEXT["max_concurrency"]}


def test_the_schema_registry_holds_the_contract_as_draft4(synth: Synthesized) -> None:
    synth.template.resource_count_is("AWS::EventSchemas::Registry", 1)
    schemas = {
        s["Properties"]["SchemaName"]: s["Properties"] for s in synth.of_type("AWS::EventSchemas::Schema").values()
    }
    assert set(schemas) == {
        f"{d}.v1"
        for d in (
            DETAIL_MESSAGE_REQUESTED,
            DETAIL_CUSTOMER_UPDATED,
            DETAIL_CUSTOMER_ERASED,
            DETAIL_CONTACT_RECORDED,
            DETAIL_CUSTOMER_ENGAGED,
        )
    }
    for props in schemas.values():
        assert props["Type"] == "JSONSchemaDraft4"
        Draft4Validator.check_schema(json.loads(props["Content"]))
    validator = Draft4Validator(json.loads(schemas[f"{DETAIL_MESSAGE_REQUESTED}.v1"]["Content"]))
    good = {"request_id": "r-1", "customer_id": "c-1", "channel": "email", "category": "newsletter", "template": "n"}
    assert not list(validator.iter_errors(good))
    assert list(validator.iter_errors({**good, "channel": "fax"}))
    assert list(validator.iter_errors({k: v for k, v in good.items() if k != "request_id"}))


# -- functions ---------------------------------------------------------------------------------------------------
def test_every_function_in_the_template_has_a_settings_model(synth: Synthesized) -> None:
    assert set(synth.stack.functions) == set(FUNCTIONS)
    synth.template.resource_count_is("AWS::Lambda::Function", len(FUNCTIONS))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_runtime_tracing_and_logging(synth: Synthesized, name: str) -> None:
    props = synth.function(name)["Properties"]
    assert props["Architectures"] == ["arm64"]
    assert props["Runtime"] == f"python{PYTHON_VERSION}"
    assert props["Handler"] == "handler.lambda_handler"
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    assert props["LoggingConfig"]["ApplicationLogLevel"] == "INFO"
    (log_group,) = references(props["LoggingConfig"]["LogGroup"])
    assert synth.resources[log_group]["Properties"]["RetentionInDays"] == CONTEXT["log_retention_days"]
    (layer,) = references(props["Layers"])
    assert synth.resources[layer]["Type"] == "AWS::Lambda::LayerVersion"


def test_the_layer_is_built_for_the_runtime_and_architecture(synth: Synthesized) -> None:
    (layer,) = synth.of_type("AWS::Lambda::LayerVersion").values()
    assert layer["Properties"]["CompatibleRuntimes"] == [f"python{PYTHON_VERSION}"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_each_function_has_its_own_log_group(synth: Synthesized) -> None:
    groups = [references(synth.function(n)["Properties"]["LoggingConfig"]["LogGroup"])[0] for n in FUNCTIONS]
    assert len(set(groups)) == len(FUNCTIONS)
    synth.template.resource_count_is("AWS::Logs::LogGroup", len(FUNCTIONS))


# -- arbitration, delivery, deferral, feedback, endpoints ----------------------------------------------------------
def test_the_policy_parameter_holds_the_policy_file_as_json(synth: Synthesized) -> None:
    expected = policy_json(load_policy_file(default_policy_path()))
    synth.template.has_resource_properties(
        "AWS::SSM::Parameter", {"Name": POLICY_PARAMETER, "Type": "String", "Value": expected, "Tier": "Standard"}
    )


def test_ses_identity_configuration_set_and_feedback_destination(synth: Synthesized) -> None:
    synth.template.has_resource_properties(
        "AWS::SES::EmailIdentity",
        {"EmailIdentity": CONTEXT["domain"], "ConfigurationSetAttributes": {"ConfigurationSetName": Match.any_value()}},
    )
    synth.template.has_resource_properties(
        "AWS::SES::ConfigurationSet",
        {"DeliveryOptions": {"TlsPolicy": "REQUIRE"}, "ReputationOptions": {"ReputationMetricsEnabled": True}},
    )
    (destination,) = synth.of_type("AWS::SES::ConfigurationSetEventDestination").values()
    event_destination = destination["Properties"]["EventDestination"]
    assert sorted(event_destination["MatchingEventTypes"]) == ["bounce", "click", "complaint", "delivery", "open"]
    assert "event-bus/default" in json.dumps(event_destination["EventBridgeDestination"])
    assert {k for k in synth.document["Outputs"] if k.startswith("DkimRecord")} == {
        "DkimRecord1",
        "DkimRecord2",
        "DkimRecord3",
    }


def test_the_feedback_rule_takes_only_this_configuration_sets_events(synth: Synthesized) -> None:
    (rule,) = [
        r["Properties"] for r in synth.of_type("AWS::Events::Rule").values() if "EventBusName" not in r["Properties"]
    ]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.ses"]
    assert pattern["detail-type"] == list(SES_FEEDBACK_DETAIL_TYPES)
    assert {"Email Delivered", "Email Opened", "Email Clicked"} < set(pattern["detail-type"])
    (config_set,) = synth.of_type("AWS::SES::ConfigurationSet")
    assert references(pattern["detail"]) == [config_set]
    (target,) = rule["Targets"]
    assert references(target["Arn"]) == [synth.queue_id(FEEDBACK_QUEUE)]
    assert references(target["DeadLetterConfig"]["Arn"]) == [synth.queue_id(RULE_TARGET_DLQ)]


def test_the_sweeper_runs_every_minute_without_retries(synth: Synthesized) -> None:
    (schedule,) = synth.of_type("AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "rate(1 minute)"
    assert props["State"] == "ENABLED"
    assert references(props["Target"]["Arn"]) == [synth.function_id("sweeper")]
    assert props["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60}
    (role_id,) = references(props["Target"]["RoleArn"])
    role = synth.resources[role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert "aws:SourceAccount" in json.dumps(role["AssumeRolePolicyDocument"])
    assert synth.role_statements(role_id) == [
        {"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": props["Target"]["Arn"]}
    ]


@pytest.mark.parametrize(
    ("function", "principals"), [("preferences", "preferences_principals"), ("preview", "operator_principals")]
)
def test_the_unsubscribe_endpoint_is_public_and_the_others_take_iam(
    synth: Synthesized, function: str, principals: str
) -> None:
    urls = {
        references(u["Properties"]["TargetFunctionArn"])[0]: u["Properties"]
        for u in synth.of_type("AWS::Lambda::Url").values()
    }
    assert len(urls) == 3
    assert urls[synth.function_id("unsubscribe")]["AuthType"] == "NONE"
    assert urls[synth.function_id(function)]["AuthType"] == "AWS_IAM"
    callers = {
        p["Properties"]["Action"]: p["Properties"]
        for p in synth.of_type("AWS::Lambda::Permission").values()
        if references(p["Properties"]["FunctionName"]) == [synth.function_id(function)]
    }
    # a function URL needs both permissions: InvokeFunctionUrl, and InvokeFunction through the URL only
    assert set(callers) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert {c["Principal"] for c in callers.values()} == set(CONTEXT[principals])
    assert callers["lambda:InvokeFunctionUrl"]["FunctionUrlAuthType"] == "AWS_IAM"
    assert callers["lambda:InvokeFunction"]["InvokedViaFunctionUrl"] is True


def test_the_arbiter_links_to_the_unsubscribe_endpoint(synth: Synthesized) -> None:
    variables = synth.function("arbiter")["Properties"]["Environment"]["Variables"]
    url = json.dumps(variables["BATON_UNSUBSCRIBE_URL"])
    unsubscribe_url = next(
        k for k, u in synth.of_type("AWS::Lambda::Url").items() if u["Properties"]["AuthType"] == "NONE"
    )
    assert unsubscribe_url in url and url.endswith('"unsubscribe"]]}')


# -- monitoring --------------------------------------------------------------------------------------------------
def test_every_dlq_and_every_function_has_an_alarm_that_notifies(synth: Synthesized) -> None:
    alarms = list(synth.of_type("AWS::CloudWatch::Alarm").values())
    watched: set[str] = set()
    for alarm in alarms:
        props = alarm["Properties"]
        assert props["AlarmActions"] == [CONTEXT["alarm_topic_arn"]]
        watched.update(references(props.get("Dimensions", [])))
    dlqs = {synth.queue_id(q) for q in (ARBITER_DLQ, PROFILE_DLQ, FEEDBACK_DLQ, RULE_TARGET_DLQ)}
    functions = {synth.function_id(n) for n in FUNCTIONS}
    assert dlqs <= watched
    assert functions <= watched
    synth.template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


def test_alarms_watch_send_failures_ses_reputation_and_suppression_jumps(synth: Synthesized) -> None:
    alarms = {k: a["Properties"] for k, a in synth.of_type("AWS::CloudWatch::Alarm").items()}
    by_metric = {a.get("MetricName"): a for a in alarms.values() if "MetricName" in a}
    # SES reviews an account at 5 % bounces and 0.1 % complaints: warn below both
    assert 0 < by_metric["Reputation.BounceRate"]["Threshold"] < 0.05
    assert 0 < by_metric["Reputation.ComplaintRate"]["Threshold"] < 0.001
    assert by_metric["Reputation.BounceRate"]["Namespace"] == "AWS/SES"
    expressions = [m.get("Expression", "") for a in alarms.values() for m in a.get("Metrics", [])]
    # a period in which every send failed has no Outcome_sent point at all: it must still read as 100 %
    assert any("failed / (FILL(sent, 0) + failed)" in e for e in expressions)
    (band,) = [a for a in alarms.values() if a.get("ComparisonOperator") == "GreaterThanUpperThreshold"]
    watched = [m["MetricStat"]["Metric"]["MetricName"] for m in band["Metrics"] if "MetricStat" in m]
    assert watched == ["Outcome_suppressed"]
    assert any("ANOMALY_DETECTION_BAND" in m.get("Expression", "") for m in band["Metrics"])
    # the outcome metrics the alarms read are the ones the functions emit
    used = {
        m["MetricStat"]["Metric"]["Namespace"]
        for a in alarms.values()
        for m in a.get("Metrics", [])
        if "MetricStat" in m
    }
    assert used == {METRICS_NAMESPACE}
