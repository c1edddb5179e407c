"""The deployment's customer-managed KMS key, with ``-c kms=true``: the table, every queue, every log group and
(``python -m infra.keys --encrypt``, after the deploy) the two key secrets are encrypted under it. Off by default:
AWS owned and managed keys already encrypt all of them at rest, and the key costs money (see docs/security.md).

With the key, every function's role may use it only through the services that hold Baton's data under it
(``kms:ViaService``); the key policy lets CloudWatch Logs use it for this account's log groups, and (the CDK's SQS
rule targets grant it) EventBridge for the rule targets' queues."""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct, IConstruct

from infra.config import Config
from infra.keys import kms_alias

CONSTRUCT_ID = "Encryption"
# What a function does with the key, through DynamoDB, SQS and Secrets Manager (reads and writes of its data)
FUNCTION_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
VIA_SERVICES = ("dynamodb", "sqs", "secretsmanager")


class Encryption(Construct):
    """``key`` is None without ``-c kms=true``."""

    def __init__(self, scope: Construct, construct_id: str, *, config: Config) -> None:
        super().__init__(scope, construct_id)
        self.key: kms.Key | None = None
        if not config.kms:
            return
        self.key = kms.Key(
            self,
            "Key",
            alias=kms_alias(config.names.bus),
            description="Baton: the ledger table, queues, log groups and key secrets",
            enable_key_rotation=True,
            # the retained table and secrets stay readable only while the key exists
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsForThisAccountsLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    "kms:GenerateDataKey",
                    "kms:DescribeKey",
                ],
                resources=["*"],  # in a key policy: this key
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                        )
                    }
                },
            )
        )
        # EventBridge's use for the rule targets' queues is granted by the CDK's SQS targets themselves; the queues'
        # own policies admit only Baton's rules (aws:SourceArn).

    def function_statement(self) -> iam.PolicyStatement | None:
        """What a function's role holds on the key: its data's reads and writes, through those services only."""
        if self.key is None:
            return None
        return iam.PolicyStatement(
            sid="BatonKeyThroughItsServices",
            actions=list(FUNCTION_ACTIONS),
            resources=[self.key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": [f"{s}.{Aws.REGION}.amazonaws.com" for s in VIA_SERVICES]}},
        )


def deployment_encryption(scope: IConstruct) -> Encryption:
    """The stack's Encryption construct (made first, so every construct after it finds it)."""
    found = Stack.of(scope).node.try_find_child(CONSTRUCT_ID)
    if not isinstance(found, Encryption):
        raise LookupError(f"{scope.node.path}: the stack has no {CONSTRUCT_ID} construct (make it first)")
    return found


def encryption_key(scope: IConstruct) -> kms.IKey | None:
    """The deployment's key (None without ``-c kms=true``)."""
    return deployment_encryption(scope).key
