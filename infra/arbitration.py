"""Arbitration: the arbiter function on the arbitration queue, and the policy's run-time home (an SSM
parameter holding the policy as JSON, read through powertools Parameters with caching: a policy change needs no
redeploy, ``baton policy push`` writes it). CloudFormation writes the parameter again only when its properties in
the template change (the policy file's JSON form, its tag or file name in the description, its tier): a deploy of
the same policy file leaves a pushed value in place."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from baton.core.policy import policy_json
from baton.entry.settings import ArbiterSettings
from baton.names import Env
from baton.ops.policy_push import ADVANCED_TIER_BYTES, STANDARD_TIER_BYTES
from infra.config import Config, ConfigError
from infra.delivery import Delivery
from infra.function import SQS_FED_NO_FUNCTION_DLQ, BatonFunction
from infra.ledger import LedgerTable
from infra.skips import skip_checks
from infra.templates import TemplateStore

TIMEOUT = Duration.seconds(30)
VISIBILITY_TIMEOUT = Duration.seconds(6 * 30)  # AWS's guidance for SQS event sources: 6x the function timeout
BATCH_SIZE = 10


def policy_parameter_tier(document: str) -> ssm.ParameterTier:
    size = len(document.encode())
    if size > ADVANCED_TIER_BYTES:
        raise ConfigError(f"context policy: the policy is {size} bytes as JSON; an SSM parameter holds 8 KB at most")
    return ssm.ParameterTier.STANDARD if size <= STANDARD_TIER_BYTES else ssm.ParameterTier.ADVANCED


class Arbitration(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        layer: lambda_.ILayerVersion,
        ledger: LedgerTable,
        queue: sqs.IQueue,
        delivery: Delivery,
        templates: TemplateStore,
        unsubscribe_url: str,
    ) -> None:
        super().__init__(scope, construct_id)
        document = policy_json(config.policy)
        self.parameter = ssm.StringParameter(
            self,
            "Policy",
            parameter_name=config.names.policy_parameter,
            string_value=document,
            tier=policy_parameter_tier(document),
            description=f"Baton marketing policy {config.policy.tag} from {Path(config.policy_path).name} (JSON)",
        )
        environment = {
            **ledger.environment(),
            **ledger.signing_environment(),
            **templates.environment(),
            Env.POLICY_PARAMETER: self.parameter.parameter_name,
            Env.SENDER: config.sender,
            Env.SES_CONFIGURATION_SET: delivery.configuration_set.configuration_set_name,
            Env.UNSUBSCRIBE_URL: unsubscribe_url,
        }
        if config.unsubscribe_mailto:
            environment[Env.UNSUBSCRIBE_MAILTO] = config.unsubscribe_mailto
        self.function = BatonFunction(
            self,
            "Arbiter",
            settings=ArbiterSettings,
            environment=environment,
            layer=layer,
            config=config,
            description="Baton arbiter: message requests and releases in, decisions recorded, messages sent",
            timeout=TIMEOUT,
            memory_size=512,
        )
        self.function.allow(
            # decide: read state, request and address in one BatchGetItem; commit with TransactWriteItems
            # (Put, Update); claim and settle sends with UpdateItem; record a rejected request with PutItem;
            # read the fleet's engagement histogram with GetItem (send-time optimisation)
            ledger.items("BatchGetItem", "GetItem", "PutItem", "UpdateItem"),
            ledger.read_salt(),
            ledger.read_signing_keys(),
            self.read_policy(),
        )
        templates.grant_read(self.function)
        delivery.grant_send(self.function)
        self.function.function.add_event_source(
            sources.SqsEventSource(
                queue,
                batch_size=BATCH_SIZE,
                report_batch_item_failures=True,
                # a burst cannot exhaust SES's sending rate: at most this many arbiters at once
                max_concurrency=config.max_concurrency,
            )
        )
        skip_checks(
            self.function.function,
            SQS_FED_NO_FUNCTION_DLQ,
            (
                "CKV_AWS_115",
                "Bounded by its SQS event source's maximum concurrency (-c max_concurrency, default 5), which keeps"
                " sends within SES's rate; a reservation would throttle the poller and push records toward the DLQ",
            ),
        )

    def read_policy(self) -> iam.PolicyStatement:
        return iam.PolicyStatement(actions=["ssm:GetParameter"], resources=[self.parameter.parameter_arn])
