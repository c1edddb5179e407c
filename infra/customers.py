"""Customers: the profile function (CustomerUpdated, CustomerErased, ContactRecorded, CustomerEngaged from the
profile queue), the public one-click
unsubscribe endpoint and the IAM-authorised preference API (Lambda function URLs)."""

from __future__ import annotations

import jsii
from aws_cdk import CfnOutput, Duration, Fn, IStableStringProducer, Lazy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from baton.entry.settings import PreferencesSettings, ProfileSettings, UnsubscribeSettings
from baton.names import Env
from infra.config import Config
from infra.function import (
    IAM_URL_NO_RESERVATION,
    SQS_FED_NO_FUNCTION_DLQ,
    SQS_FED_NO_RESERVATION,
    URL_NO_FUNCTION_DLQ,
    BatonFunction,
)
from infra.ledger import LedgerTable
from infra.skips import skip_checks

PROFILE_TIMEOUT = Duration.seconds(60)  # an erasure reads and deletes every item of one customer
PROFILE_VISIBILITY_TIMEOUT = Duration.seconds(6 * 60)
ENDPOINT_TIMEOUT = Duration.seconds(10)
UNSUBSCRIBE_PATH = "unsubscribe"  # the route in baton.entry.api.unsubscribe_app


@jsii.implements(IStableStringProducer)
class _ParameterName:
    """The policy parameter's name, known once the Arbitration construct that owns the parameter is built (after
    this one: it needs the unsubscribe URL). Resolved at synth to a reference to the parameter."""

    def __init__(self) -> None:
        self.parameter: ssm.IStringParameter | None = None

    def produce(self) -> str:
        if self.parameter is None:
            raise RuntimeError("Customers.use_policy was not called: the profile function has no policy parameter")
        return self.parameter.parameter_name


class Customers(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        layer: lambda_.ILayerVersion,
        ledger: LedgerTable,
        profile_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self._policy = _ParameterName()
        self.profile = BatonFunction(
            self,
            "Profile",
            settings=ProfileSettings,
            # the policy (a recorded contact's category), from the parameter the stack hands over (``use_policy``)
            environment={**ledger.environment(), Env.POLICY_PARAMETER: Lazy.string(self._policy)},
            layer=layer,
            config=config,
            description="Baton profile: CustomerUpdated, CustomerErased, ContactRecorded, CustomerEngaged in",
            timeout=PROFILE_TIMEOUT,
        )
        self.profile.allow(
            # update: BatchGetItem (state and address items), TransactWriteItems of Updates; contact: GetItem and
            # UpdateItem of the state; engagement: GetItem of the state, a TransactWriteItems of a conditional Put
            # of its own item and a conditional Update of the state's engagement profile;
            # erase: Query the customer's items, GetItem/UpdateItem/DeleteItem address items, BatchWriteItem deletes
            ledger.items("BatchGetItem", "GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"),
            ledger.read_salt(),
        )
        self.profile.function.add_event_source(
            sources.SqsEventSource(profile_queue, batch_size=10, report_batch_item_failures=True)
        )
        skip_checks(self.profile.function, SQS_FED_NO_FUNCTION_DLQ, SQS_FED_NO_RESERVATION)

        self.unsubscribe = BatonFunction(
            self,
            "Unsubscribe",
            settings=UnsubscribeSettings,
            environment={**ledger.environment(), **ledger.signing_environment()},
            layer=layer,
            config=config,
            description="Baton one-click unsubscribe (RFC 8058): GET confirms, POST unsubscribes",
            timeout=ENDPOINT_TIMEOUT,
            # Public: a flood of forged tokens can use this many instances at most, never the arbiter's share
            reserved_concurrency=config.unsubscribe_concurrency or None,
        )
        # BatchGetItem and a TransactWriteItems of the state Update and the audit Put
        self.unsubscribe.allow(
            ledger.items("BatchGetItem", "PutItem", "UpdateItem"), ledger.read_salt(), ledger.read_signing_keys()
        )
        # Public on purpose: mailbox providers call it. The signed, expiring token is the authorisation.
        unsubscribe_url = self.unsubscribe.function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)
        skip_checks(
            unsubscribe_url,
            (
                "CKV_AWS_258",
                "Public on purpose: RFC 8058 one-click unsubscribe is called by mailbox providers, who hold no"
                " credentials. The authorisation is the token: HMAC-SHA256 signed, expiring, scoped to one customer"
                " and one category or channel; a GET changes nothing",
            ),
        )
        skip_checks(self.unsubscribe.function, URL_NO_FUNCTION_DLQ)
        if not config.unsubscribe_concurrency:
            skip_checks(
                self.unsubscribe.function,
                (
                    "CKV_AWS_115",
                    "No reservation: this deployment set -c unsubscribe_concurrency=0, for an account whose"
                    " concurrency quota is too small to reserve from (docs/security.md); set it once the quota allows",
                ),
            )
        self.unsubscribe_url = Fn.join("", [unsubscribe_url.url, UNSUBSCRIBE_PATH])

        self.preferences = BatonFunction(
            self,
            "Preferences",
            settings=PreferencesSettings,
            environment=ledger.environment(),
            layer=layer,
            config=config,
            description="Baton preference API: read and update one customer's preferences (IAM auth), audited",
            timeout=ENDPOINT_TIMEOUT,
        )
        self.preferences.allow(ledger.items("BatchGetItem", "PutItem", "UpdateItem"), ledger.read_salt())
        preferences_url = self.preferences.function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.AWS_IAM)
        skip_checks(self.preferences.function, URL_NO_FUNCTION_DLQ, IAM_URL_NO_RESERVATION)
        # the retailer's backend roles named in context, each by ARN (a resource-based permission per caller)
        for arn in config.preferences_principals:
            self.preferences.function.grant_invoke_url(iam.ArnPrincipal(arn))

        CfnOutput(scope, "UnsubscribeUrl", value=self.unsubscribe_url, description="One-click unsubscribe endpoint")
        CfnOutput(scope, "PreferencesUrl", value=preferences_url.url, description="Preference API (SigV4, IAM)")

    def use_policy(self, parameter: ssm.IStringParameter, read: iam.PolicyStatement) -> None:
        """The policy parameter for the profile function: its name in the environment, and ``read`` (the
        ``ssm:GetParameter`` grant on it, ``Arbitration.read_policy``) on its role."""
        self._policy.parameter = parameter
        self.profile.allow(read)
