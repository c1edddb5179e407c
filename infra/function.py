"""The one way Baton builds a Lambda function: its own role (no AWS managed policy), its own log group with
retention, JSON logs, X-Ray, arm64, the shared layer, and exactly the environment its settings model reads.

Grants are added next to the construct that owns the resource (``allow``), never with a wildcard resource except
the ones listed in the README with their reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from baton.names import METRICS_NAMESPACE, NO_PYDANTIC_PLUGINS, SERVICE, Env
from infra.assets import PYTHON_VERSION, function_code
from infra.config import Config
from infra.encryption import deployment_encryption
from infra.skips import skip_checks

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
HANDLER = "handler.lambda_handler"
if RUNTIME.name != f"python{PYTHON_VERSION}":
    raise RuntimeError(f"the layer is built for Python {PYTHON_VERSION}, the functions run {RUNTIME.name}")

RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}
APPLICATION_LOG_LEVEL = {
    "DEBUG": lambda_.ApplicationLogLevel.DEBUG,
    "INFO": lambda_.ApplicationLogLevel.INFO,
    "WARN": lambda_.ApplicationLogLevel.WARN,
    "ERROR": lambda_.ApplicationLogLevel.ERROR,
}


# checkov's answers shared by several functions (skip_checks on each; docs/security.md lists them)
SQS_FED_NO_FUNCTION_DLQ = (
    "CKV_AWS_116",
    "Invoked synchronously by its SQS event source: a record that fails five times goes to its queue's own"
    " dead-letter queue (redrive policy, alarmed). Lambda sends only asynchronous invocations to a function DLQ",
)
SQS_FED_NO_RESERVATION = (
    "CKV_AWS_115",
    "Fed by its SQS queue at the poller's pace. A reservation on an SQS-fed function throttles the poller, which"
    " returns records to the queue and, after five receives, to the dead-letter queue; the public endpoint, the only"
    " one a stranger can drive, has the reservation instead (-c unsubscribe_concurrency)",
)
URL_NO_FUNCTION_DLQ = (
    "CKV_AWS_116",
    "Invoked synchronously through its function URL: the caller gets every error as the HTTP response. Lambda"
    " sends only asynchronous invocations to a function DLQ",
)
IAM_URL_NO_RESERVATION = (
    "CKV_AWS_115",
    "Behind an AWS_IAM function URL: only SigV4-signed calls of the principals named in context (the retailer's own"
    " backend or operators) reach it, so no stranger can flood it; a reservation would only take from the account",
)


class FunctionSettings(Protocol):
    """What infra needs of a ``baton.entry.settings`` model: the function's folder and the variables it reads."""

    function: ClassVar[str]

    @classmethod
    def env_names(cls) -> tuple[str, ...]: ...

    @classmethod
    def model_json_schema(cls, by_alias: bool = ...) -> dict[str, Any]: ...


class ContractError(ValueError):
    """The environment given to a function differs from what its settings model reads."""


def check_environment(settings: type[FunctionSettings], environment: Mapping[str, str]) -> None:
    """Every variable the function requires is set, and none it does not read: fail at synth, not at run time."""
    known = set(settings.env_names())
    required = set(settings.model_json_schema(by_alias=True).get("required", ()))
    missing = sorted(required - set(environment))
    unknown = sorted(set(environment) - known)
    if missing or unknown:
        raise ContractError(
            f"{settings.function}: environment does not match its settings model"
            f" (missing: {', '.join(missing) or 'none'}; not read: {', '.join(unknown) or 'none'})"
        )


def removal_policy(config: Config) -> RemovalPolicy:
    return RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY


class BatonFunction(Construct):
    """One function from functions/<settings.function>/handler.py with its log group, role and environment."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: type[FunctionSettings],
        environment: Mapping[str, str],
        layer: lambda_.ILayerVersion,
        config: Config,
        description: str,
        timeout: Duration,
        memory_size: int = 256,
        reserved_concurrency: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.name = name = settings.function
        env = {
            **environment,
            Env.POWERTOOLS_SERVICE_NAME: SERVICE,
            Env.POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
            Env.POWERTOOLS_LOG_LEVEL: config.log_level,
            Env.PYDANTIC_DISABLE_PLUGINS: NO_PYDANTIC_PLUGINS,
        }
        check_environment(settings, env)

        encryption = deployment_encryption(self)
        key = encryption.key
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=RETENTION[config.log_retention_days],
            removal_policy=removal_policy(config),
            encryption_key=key,
        )
        # Instead of AWSLambdaBasicExecutionRole (logs on every log group): write to this function's group only.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Baton {name} function",
        )
        self.log_group.grant_write(self.role)

        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(function_code(name)), exclude=["__pycache__", "*.pyc"]),
            layers=[layer],
            role=self.role,
            environment=env,
            timeout=timeout,
            memory_size=memory_size,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=APPLICATION_LOG_LEVEL[config.log_level],
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            log_group=self.log_group,
            reserved_concurrent_executions=reserved_concurrency,
        )
        key_use = encryption.function_statement()
        if key_use is not None:
            self.allow(key_use)
        self._skip_common_checks(key is None)
        # Tracing.ACTIVE adds xray:PutTraceSegments and xray:PutTelemetryRecords to the role's default policy.
        NagSuppressions.add_resource_suppressions(
            self.role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason=(
                        "X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level"
                        " permissions, so AWS requires Resource '*' (Service Authorization Reference, AWS X-Ray)."
                        " The infra tests assert these are the only actions on '*' in this policy."
                    ),
                    applies_to=["Resource::*"],
                )
            ],
            apply_to_children=True,
        )

    def allow(self, *statements: iam.PolicyStatement) -> None:
        for statement in statements:
            self.role.add_to_principal_policy(statement)

    def dead_letter_queue(self, queue: sqs.IQueue) -> None:
        """Where Lambda puts an asynchronous invocation that failed or expired (the function's DeadLetterConfig).
        Set on the resource, with sqs:SendMessage alone: the L2 property would also grant GetQueueAttributes and
        GetQueueUrl, and with the KMS key, wildcard KMS actions."""
        cfn = self.function.node.default_child
        assert isinstance(cfn, lambda_.CfnFunction)
        cfn.dead_letter_config = lambda_.CfnFunction.DeadLetterConfigProperty(target_arn=queue.queue_arn)
        self.allow(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn]))

    def _skip_common_checks(self, without_key: bool) -> None:
        """checkov's checks that every Baton function answers the same way (docs/security.md)."""
        skip_checks(
            self.function,
            (
                "CKV_AWS_117",
                "No VPC: the function reaches only AWS APIs (DynamoDB, SQS, SES, SNS, Secrets Manager) over TLS"
                " with IAM; a VPC would add NAT or endpoint cost and cold-start time and protect nothing here",
            ),
            (
                "CKV_AWS_173",
                "The environment holds only resource names and settings, never a key or an address (keys are read"
                " from Secrets Manager); Lambda encrypts it at rest with its AWS managed key",
            ),
        )
        if without_key:
            skip_checks(
                self.log_group,
                (
                    "CKV_AWS_158",
                    "CloudWatch Logs encrypts every log group at rest with its own keys, and Baton logs ids,"
                    " outcomes and reasons, never an address; -c kms=true puts the group under the deployment's key",
                ),
            )
