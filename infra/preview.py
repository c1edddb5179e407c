"""Decision preview: an IAM-authorised function URL answering "would this request be sent now, and if not,
which rule stops it, at what counts, and when would it fit?" from the live ledger and policy. It reads the
ledger and records nothing: its role holds no write action."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from baton.entry.settings import PreviewSettings
from baton.names import Env
from infra.arbitration import Arbitration
from infra.config import Config
from infra.function import IAM_URL_NO_RESERVATION, URL_NO_FUNCTION_DLQ, BatonFunction
from infra.ledger import LedgerTable
from infra.skips import skip_checks
from infra.templates import TemplateStore

TIMEOUT = Duration.seconds(10)


class DecisionPreview(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        layer: lambda_.ILayerVersion,
        ledger: LedgerTable,
        arbitration: Arbitration,
        templates: TemplateStore,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = BatonFunction(
            self,
            "Preview",
            settings=PreviewSettings,
            environment={
                **ledger.environment(),
                **templates.environment(),
                Env.POLICY_PARAMETER: arbitration.parameter.parameter_name,
            },
            layer=layer,
            config=config,
            description="Baton decision preview (IAM auth): would a request be sent now, and why not; records nothing",
            timeout=TIMEOUT,
        )
        # one BatchGetItem reads the customer's state, the request and the address's standing; the request's
        # template is rendered from the store, as the arbiter would; GetItem reads the fleet's engagement histogram
        # for a request of a category with send_time
        self.function.allow(ledger.items("BatchGetItem", "GetItem"), ledger.read_salt(), arbitration.read_policy())
        templates.grant_read(self.function)
        url = self.function.function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.AWS_IAM)
        # the operators' and support tools' roles named in context, each by ARN
        for arn in config.operator_principals:
            self.function.function.grant_invoke_url(iam.ArnPrincipal(arn))
        skip_checks(self.function.function, URL_NO_FUNCTION_DLQ, IAM_URL_NO_RESERVATION)
        CfnOutput(scope, "PreviewUrl", value=url.url, description="Decision preview: POST /preview (SigV4, IAM)")
