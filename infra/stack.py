"""The Baton stack: composes one construct per concern and nothing else. ``build`` is what app.py and the
infra tests both run, cdk-nag included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import App, Aspects, Stack
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from baton.names import (
    FUNCTION_ARBITER,
    FUNCTION_FEEDBACK,
    FUNCTION_PREFERENCES,
    FUNCTION_PREVIEW,
    FUNCTION_PROFILE,
    FUNCTION_SWEEPER,
    FUNCTION_UNSUBSCRIBE,
    STACK_NAME,
)
from infra import arbitration, customers
from infra.arbitration import Arbitration
from infra.assets import build_layer
from infra.config import Config, load_config
from infra.customers import Customers
from infra.deferral import Deferral
from infra.delivery import Delivery
from infra.encryption import CONSTRUCT_ID as ENCRYPTION_ID
from infra.encryption import Encryption
from infra.feedback import Feedback
from infra.function import ARCHITECTURE, RUNTIME
from infra.ingest import Ingest
from infra.ledger import LedgerTable
from infra.monitoring import Monitoring
from infra.preview import DecisionPreview
from infra.templates import TemplateStore

CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    """cdk.json's context: what the CDK CLI passes to the app, for running app.py (and the tests) without it."""
    return dict(json.loads(CDK_JSON.read_text()).get("context", {}))


class BatonStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: Config) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=config.names.stack,
            description="Baton: contact orchestration (EventBridge, Lambda, DynamoDB, SES, SNS)",
        )
        # first: the queues, table and log groups below find the deployment's key (-c kms=true) through it
        Encryption(self, ENCRYPTION_ID, config=config)
        layer = lambda_.LayerVersion(
            self,
            "SharedLayer",
            code=lambda_.Code.from_asset(str(build_layer())),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Baton's shared code with powertools, pydantic, pynamodb and jinja2",
        )
        ledger = LedgerTable(self, "Ledger", config=config)
        ingest = Ingest(
            self,
            "Ingest",
            config=config,
            arbiter_visibility=arbitration.VISIBILITY_TIMEOUT,
            profile_visibility=customers.PROFILE_VISIBILITY_TIMEOUT,
        )
        delivery = Delivery(self, "Delivery", config=config)
        templates = TemplateStore(self, "TemplateStore", config=config)
        people = Customers(
            self, "Customers", config=config, layer=layer, ledger=ledger, profile_queue=ingest.profile.queue
        )
        arbiter = Arbitration(
            self,
            "Arbitration",
            config=config,
            layer=layer,
            ledger=ledger,
            queue=ingest.arbitration.queue,
            delivery=delivery,
            templates=templates,
            unsubscribe_url=people.unsubscribe_url,
        )
        people.use_policy(arbiter.parameter, arbiter.read_policy())
        deferral = Deferral(
            self, "Deferral", config=config, layer=layer, ledger=ledger, arbitration_queue=ingest.arbitration.queue
        )
        feedback = Feedback(
            self,
            "Feedback",
            config=config,
            layer=layer,
            ledger=ledger,
            delivery=delivery,
            arbitration=arbiter,
            rule_target_dlq=ingest.rule_target_dlq,
        )
        preview = DecisionPreview(
            self, "DecisionPreview", config=config, layer=layer, ledger=ledger, arbitration=arbiter, templates=templates
        )
        self.functions = {
            FUNCTION_ARBITER: arbiter.function,
            FUNCTION_PROFILE: people.profile,
            FUNCTION_SWEEPER: deferral.sweeper,
            FUNCTION_UNSUBSCRIBE: people.unsubscribe,
            FUNCTION_PREFERENCES: people.preferences,
            FUNCTION_FEEDBACK: feedback.function,
            FUNCTION_PREVIEW: preview.function,
        }
        Monitoring(
            self,
            "Monitoring",
            config=config,
            functions=self.functions,
            dead_letter_queues={
                "Arbitration": ingest.arbitration.dlq,
                "Profile": ingest.profile.dlq,
                "Feedback": feedback.queue.dlq,
                "RuleTarget": ingest.rule_target_dlq,
                "Sweeper": deferral.dlq,
            },
            arbitration_queue=ingest.arbitration.queue,
        )


def build(app: App) -> BatonStack:
    """The stack from the app's context, with cdk-nag's AwsSolutions pack on the whole app.

    The stack is named for its stage in CloudFormation (``Baton``, ``Baton-<stage>``), but its construct id is
    ``Baton`` in every stage: the CDK derives logical ids from construct paths, so every stage's template has the
    same ids, and differs from the unstaged one in names only (cdk.out/Baton.template.json in every stage)."""
    stack = BatonStack(app, STACK_NAME, config=load_config(app.node.try_get_context))
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return stack
