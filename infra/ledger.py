"""The contact ledger: one DynamoDB table (single-table design, key schema from ``baton.names``), the keys
secret its address hashes are salted with, and the statements that grant item-level actions on the table per
function."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from baton.names import DUE_INDEX, DUE_INDEX_PK, DUE_INDEX_SK, PK, SK, TTL_ATTRIBUTE, Env
from infra.config import Config
from infra.encryption import encryption_key
from infra.function import removal_policy
from infra.keys import secret_arn_pattern
from infra.skips import skip_checks


class LedgerTable(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: Config) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=config.names.table,
            partition_key=dynamodb.Attribute(name=PK, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=SK, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # The AWS managed key (aws/dynamodb): KMS encryption at rest, every use logged in CloudTrail, and no
            # key policy to get wrong; access is decided by the per-function IAM statements below. With
            # -c kms=true, the deployment's own key (docs/security.md).
            **self._encryption(),
            deletion_protection=config.deletion_protection,
            removal_policy=removal_policy(config),
        )
        if encryption_key(self) is None:
            skip_checks(
                self.table,
                (
                    "CKV_AWS_119",
                    "Encrypted with the AWS managed key aws/dynamodb (KMS, every use in CloudTrail). -c kms=true puts"
                    " it under the deployment's customer-managed key instead, at the cost in docs/security.md",
                ),
            )
        # Sparse, keys only: only pending and sending requests carry the due keys (see README, Deferral).
        self.table.add_global_secondary_index(
            index_name=DUE_INDEX,
            partition_key=dynamodb.Attribute(name=DUE_INDEX_PK, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=DUE_INDEX_SK, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )

    def _encryption(self) -> dict[str, Any]:
        key = encryption_key(self)
        if key is None:
            return {"encryption": dynamodb.TableEncryption.AWS_MANAGED}
        return {"encryption": dynamodb.TableEncryption.CUSTOMER_MANAGED, "encryption_key": key}

    def items(self, *actions: str) -> iam.PolicyStatement:
        """Item actions (``GetItem``, ``PutItem`` ...) on the table itself, not on its indexes.

        Transactions need no action of their own: TransactWriteItems is authorised per item by PutItem,
        UpdateItem, DeleteItem or ConditionCheckItem."""
        return iam.PolicyStatement(actions=[f"dynamodb:{a}" for a in actions], resources=[self.table.table_arn])

    def scan(self) -> iam.PolicyStatement:
        """Scan of the table itself (the sweeper reads one segment of the profiles an hour)."""
        return iam.PolicyStatement(actions=["dynamodb:Scan"], resources=[self.table.table_arn])

    def due_index_query(self) -> iam.PolicyStatement:
        """Query on the ``due`` index only."""
        return iam.PolicyStatement(actions=["dynamodb:Query"], resources=[f"{self.table.table_arn}/index/{DUE_INDEX}"])

    def _read_secret(self, name: str) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            actions=["secretsmanager:GetSecretValue"],
            resources=[secret_arn_pattern(Aws.PARTITION, Aws.REGION, Aws.ACCOUNT_ID, name)],
        )

    def read_salt(self) -> iam.PolicyStatement:
        """GetSecretValue on the address-salt secret (created outside the stack: see ``infra.keys``)."""
        return self._read_secret(self.config.salt_secret)

    def read_signing_keys(self) -> iam.PolicyStatement:
        """GetSecretValue on the unsubscribe signing-keys secret (likewise)."""
        return self._read_secret(self.config.signing_secret)

    def environment(self) -> dict[str, str]:
        """What every function that reads or writes customer data is given
        (``baton.entry.settings._LedgerSettings``)."""
        return {
            Env.TABLE_NAME: self.table.table_name,
            Env.SALT_SECRET: self.config.salt_secret,
            Env.AUDIT_RETENTION_DAYS: str(self.config.audit_retention_days),
        }

    def signing_environment(self) -> dict[str, str]:
        """For the functions that sign or verify unsubscribe tokens (``SIGNING_SECRET``)."""
        return {Env.SIGNING_SECRET: self.config.signing_secret}
