"""Ingest: Baton's EventBridge bus and who may put events on it, the rules that route the contract's detail
types to their queues (each rule target with a dead-letter queue), and the schema registry holding the contract."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import CfnOutput, Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_eventschemas as eventschemas
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from baton.contract import json_schemas
from baton.names import (
    DETAIL_CONTACT_RECORDED,
    DETAIL_CUSTOMER_ENGAGED,
    DETAIL_CUSTOMER_ERASED,
    DETAIL_CUSTOMER_UPDATED,
    DETAIL_MESSAGE_REQUESTED,
)
from infra.config import Config
from infra.queues import WorkQueue, dead_letter_queue

DRAFT4 = "http://json-schema.org/draft-04/schema#"
# EventBridge retries a failed delivery to a target for up to 24 hours (185 attempts), then dead-letters it.
TARGET_RETRIES = 185
TARGET_MAX_AGE = Duration.hours(24)


def draft4(schema: Any) -> Any:
    """A JSON Schema (2020-12, as pydantic writes it) in the Draft 4 dialect the schema registry accepts:
    ``$defs`` -> ``definitions``, ``$id`` -> ``id``, ``const`` -> one-value ``enum``, numeric exclusive bounds
    -> boolean ones. Keywords Draft 4 does not know (``propertyNames``) stay: Draft 4 ignores them."""
    if isinstance(schema, list):
        return [draft4(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$schema":
            out[key] = DRAFT4
        elif key == "$defs":
            out["definitions"] = {name: draft4(sub) for name, sub in value.items()}
        elif key == "$id":
            out["id"] = value
        elif key == "$ref" and isinstance(value, str):
            out[key] = value.replace("#/$defs/", "#/definitions/")
        elif key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key in ("properties", "patternProperties", "definitions") and isinstance(value, dict):
            out[key] = {name: draft4(sub) for name, sub in value.items()}
        else:
            out[key] = draft4(value)
    return out


class Ingest(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        arbiter_visibility: Duration,
        profile_visibility: Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        names = config.names
        self.bus = events.EventBus(self, "Bus", event_bus_name=names.bus, description="Baton: message requests in")
        if config.producer_account_ids:
            # Same-account producers need only IAM; other accounts are named here, one by one (never "*").
            # (aws-cdk-lib 2.275 prints a deprecation notice for CfnEventBusPolicy#principal here: its own use.)
            self.bus.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="ProducerAccountsPutEvents",
                    principals=[iam.AccountPrincipal(a) for a in config.producer_account_ids],
                    actions=["events:PutEvents"],
                    resources=[self.bus.event_bus_arn],
                )
            )

        self.arbitration = WorkQueue(
            self,
            "Arbitration",
            name=names.arbiter_queue,
            dlq_name=names.arbiter_dlq,
            visibility_timeout=arbiter_visibility,
        )
        self.profile = WorkQueue(
            self, "Profile", name=names.profile_queue, dlq_name=names.profile_dlq, visibility_timeout=profile_visibility
        )
        self.rule_target_dlq = dead_letter_queue(self, "RuleTargetDeadLetterQueue", names.rule_target_dlq)
        NagSuppressions.add_resource_suppressions(
            self.rule_target_dlq,
            [
                NagPackSuppression(
                    id="AwsSolutions-SQS3",
                    reason=(
                        "This queue is itself a dead-letter queue: the DeadLetterConfig of every EventBridge rule"
                        " target. cdk-nag recognises only SQS redrive policies as DLQ use. It has an alarm on"
                        " ApproximateNumberOfMessagesVisible > 0."
                    ),
                )
            ],
        )

        self.route(
            "MessageRequested", [DETAIL_MESSAGE_REQUESTED], self.arbitration.queue, "message requests to arbitration"
        )
        self.route(
            "CustomerChanged",
            [DETAIL_CUSTOMER_UPDATED, DETAIL_CUSTOMER_ERASED, DETAIL_CONTACT_RECORDED, DETAIL_CUSTOMER_ENGAGED],
            self.profile.queue,
            "profile changes, erasures, contacts made outside Baton and engagements to the profile queue",
        )
        self._schemas(names.schema_registry)

        CfnOutput(scope, "BusName", value=self.bus.event_bus_name, description="PutEvents here (EventBusName)")
        CfnOutput(scope, "BusArn", value=self.bus.event_bus_arn, description="PutEvents here from another account")

    def route(self, construct_id: str, detail_types: list[str], queue: sqs.IQueue, description: str) -> events.Rule:
        rule = events.Rule(
            self,
            construct_id,
            event_bus=self.bus,
            description=f"Baton: {description}",
            event_pattern=events.EventPattern(detail_type=detail_types),
        )
        rule.add_target(
            targets.SqsQueue(
                queue,
                dead_letter_queue=self.rule_target_dlq,
                retry_attempts=TARGET_RETRIES,
                max_event_age=TARGET_MAX_AGE,
            )
        )
        return rule

    def _schemas(self, registry_name: str) -> None:
        registry = eventschemas.CfnRegistry(
            self,
            "SchemaRegistry",
            registry_name=registry_name,
            description="Baton's public event contract: the detail of each detail-type storefronts put on the bus",
        )
        for file_name, schema in sorted(json_schemas().items()):
            name = file_name.removesuffix(".json")
            eventschemas.CfnSchema(
                self,
                f"Schema{name.replace('.', '')}",
                registry_name=registry.attr_registry_name,
                schema_name=name,
                type="JSONSchemaDraft4",
                content=json.dumps(draft4(schema), sort_keys=True),
                description=str(schema.get("description") or name)[:256],
            )
