"""The template store: a private, versioned S3 bucket holding the template set the functions render from
(``baton.adapters.template_store``), written by ``baton templates push`` (``make deploy`` pushes the shipped set),
and the statement that lets a function read it, and nothing else of it.

Encrypted with S3-managed keys (SSE-S3) in every deployment, ``-c kms=true`` included: the bucket holds marketing
copy and sample data, never an address, and so neither the functions nor the operator who pushes need a grant on
the deployment's key. Versioning is what makes a push atomic (the manifest names each file's version id)."""

from __future__ import annotations

from typing import cast

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from baton.adapters.template_store import MANIFEST_KEY, PREFIX
from baton.names import Env
from baton.ops.templates_push import BUCKET_OUTPUT
from infra.config import Config
from infra.function import BatonFunction, removal_policy
from infra.skips import skip_checks

# what a function may do with the store: read a file at the version the manifest names, and the manifest
READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")
NO_ACCESS_LOGS = (
    "The bucket holds marketing copy, not personal data; only the rendering functions' roles may read it and only"
    " operators with their own IAM rights write it. Every write is a new object version, and the manifest names the"
    " set in force with its push time: the versions are the record of what changed and when"
)


class TemplateStore(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: Config) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            versioned=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            # like the table: kept unless the deployment chose removal_policy=destroy (then empty it by hand first:
            # CloudFormation deletes no bucket that holds object versions)
            removal_policy=removal_policy(config),
        )
        NagSuppressions.add_resource_suppressions(
            self.bucket, [NagPackSuppression(id="AwsSolutions-S1", reason=NO_ACCESS_LOGS)]
        )
        skip_checks(self.bucket, ("CKV_AWS_18", NO_ACCESS_LOGS))
        CfnOutput(
            scope,
            BUCKET_OUTPUT,
            value=self.bucket.bucket_name,
            description="Template store: baton templates push DIR --bucket NAME (or --stack, --table)",
        )

    def environment(self) -> dict[str, str]:
        """What a function that renders is given (``baton.entry.settings``: ``templates_bucket``)."""
        return {Env.TEMPLATES_BUCKET: self.bucket.bucket_name}

    def grant_read(self, function: BatonFunction) -> None:
        """GetObject and GetObjectVersion on the set's files (``templates/*``) and the manifest: no listing, no
        write, nothing else in the bucket."""
        function.allow(
            iam.PolicyStatement(
                actions=list(READ_ACTIONS),
                resources=[self.bucket.arn_for_objects(f"{PREFIX}*"), self.bucket.arn_for_objects(MANIFEST_KEY)],
            )
        )
        stack = Stack.of(self)
        bucket_id = stack.resolve(stack.get_logical_id(cast(s3.CfnBucket, self.bucket.node.default_child)))
        NagSuppressions.add_resource_suppressions(
            function.role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason=(
                        "The template set is one file per template, locale and form under templates/, each read"
                        " at the version the manifest names: the objects of that prefix are the resource, and the"
                        " statement allows only GetObject and GetObjectVersion on them and on the manifest"
                    ),
                    applies_to=[f"Resource::<{bucket_id}.Arn>/{PREFIX}*"],
                )
            ],
            apply_to_children=True,
        )
