"""Delivery: the SES configuration set and sending identity (an address, or a whole domain with Easy DKIM), and
the grants that let one function send through SES (email) and SNS (SMS and mobile push)."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ses as ses
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.config import Config
from infra.function import BatonFunction
from infra.skips import skip_checks


class Delivery(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: Config) -> None:
        super().__init__(scope, construct_id)
        self.sender = config.sender
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            reputation_metrics=True,
            tls_policy=ses.ConfigurationSetTlsPolicy.REQUIRE,
            # SES's own account-level list as a second line behind Baton's suppression list
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        identity = ses.Identity.domain(config.domain) if config.domain else ses.Identity.email(config.sender)
        self.identity = ses.EmailIdentity(self, "Identity", identity=identity, configuration_set=self.configuration_set)
        if config.domain:
            for i, record in enumerate(self.identity.dkim_records, start=1):
                CfnOutput(scope, f"DkimRecord{i}", value=f"{record.name} CNAME {record.value}")
        self.configuration_set_arn = Stack.of(self).format_arn(
            service="ses",
            resource="configuration-set",
            resource_name=self.configuration_set.configuration_set_name,
        )

    def grant_send(self, function: BatonFunction) -> None:
        """Email through this identity and configuration set; SMS and push through SNS."""
        function.allow(
            iam.PolicyStatement(
                sid="SendEmailAsTheSenderIdentity",
                actions=["ses:SendEmail", "ses:SendRawEmail"],
                resources=[self.identity.email_identity_arn, self.configuration_set_arn],
            )
        )
        # Publishing to a phone number names no resource (SNS authorises it against "*"), and neither does
        # CheckIfPhoneNumberIsOptedOut. Kept in a policy of its own so its suppression covers nothing else.
        sns_policy = iam.Policy(
            self,
            "SmsAndPushPolicy",
            roles=[function.role],
            statements=[
                iam.PolicyStatement(
                    sid="SmsAndPushPublish",
                    actions=["sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"],
                    resources=["*"],
                )
            ],
        )
        NagSuppressions.add_resource_suppressions(
            sns_policy,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason=(
                        "SMS: sns:Publish to a PhoneNumber and sns:CheckIfPhoneNumberIsOptedOut have no resource"
                        " type, so IAM can only allow them on '*' (Service Authorization Reference, Amazon SNS)."
                        " The same statement covers Publish to mobile push endpoints (TargetArn). The function"
                        " publishes only with PhoneNumber or an endpoint TargetArn, never to a topic; the infra"
                        " tests assert this is the only '*' statement besides X-Ray."
                    ),
                    applies_to=["Resource::*"],
                )
            ],
        )
        skip_checks(
            sns_policy,
            (
                "CKV_AWS_111",
                "sns:Publish to a phone number and sns:CheckIfPhoneNumberIsOptedOut have no resource type, so IAM"
                " allows them only on '*'; the arbiter publishes SMS and push only, never to a topic, and this"
                " policy holds nothing else",
            ),
        )
