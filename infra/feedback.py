"""Delivery feedback: the SES configuration set publishes bounces, complaints, deliveries, opens and clicks to the
account's default EventBridge bus (the only bus SES can publish to); a rule there, matching this configuration set
only, routes them through a queue to the feedback function, which puts bounced and complaining addresses on the
suppression list and adds deliveries, opens and clicks to their owners' engagement profiles."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from baton.entry.settings import FeedbackSettings
from baton.names import SES_FEEDBACK_DETAIL_TYPES, SES_SOURCE, Env
from infra.arbitration import Arbitration
from infra.config import Config
from infra.delivery import Delivery
from infra.function import SQS_FED_NO_FUNCTION_DLQ, SQS_FED_NO_RESERVATION, BatonFunction
from infra.ingest import TARGET_MAX_AGE, TARGET_RETRIES
from infra.ledger import LedgerTable
from infra.queues import WorkQueue
from infra.skips import skip_checks

TIMEOUT = Duration.seconds(30)
VISIBILITY_TIMEOUT = Duration.seconds(6 * 30)


class Feedback(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        layer: lambda_.ILayerVersion,
        ledger: LedgerTable,
        delivery: Delivery,
        arbitration: Arbitration,
        rule_target_dlq: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.queue = WorkQueue(
            self,
            "Queue",
            name=config.names.feedback_queue,
            dlq_name=config.names.feedback_dlq,
            visibility_timeout=VISIBILITY_TIMEOUT,
        )
        default_bus = events.EventBus.from_event_bus_name(self, "DefaultBus", "default")
        delivery.configuration_set.add_event_destination(
            "BouncesAndComplaints",
            destination=ses.EventDestination.event_bus(default_bus),
            events=[
                ses.EmailSendingEvent.BOUNCE,
                ses.EmailSendingEvent.COMPLAINT,
                ses.EmailSendingEvent.DELIVERY,
                ses.EmailSendingEvent.OPEN,
                ses.EmailSendingEvent.CLICK,
            ],
        )
        rule = events.Rule(
            self,
            "SesFeedback",
            description="Baton: SES bounces, complaints, deliveries, opens and clicks of Baton's configuration set to"
            " the feedback queue",
            event_pattern=events.EventPattern(
                source=[SES_SOURCE],
                detail_type=list(SES_FEEDBACK_DETAIL_TYPES),
                detail={
                    "mail": {"tags": {"ses:configuration-set": [delivery.configuration_set.configuration_set_name]}}
                },
            ),
        )
        rule.add_target(
            targets.SqsQueue(
                self.queue.queue,
                dead_letter_queue=rule_target_dlq,
                retry_attempts=TARGET_RETRIES,
                max_event_age=TARGET_MAX_AGE,
            )
        )
        self.function = BatonFunction(
            self,
            "Function",
            settings=FeedbackSettings,
            environment={**ledger.environment(), Env.POLICY_PARAMETER: arbitration.parameter.parameter_name},
            layer=layer,
            config=config,
            description="Baton feedback: SES bounces and complaints in, addresses suppressed; deliveries, opens and"
            " clicks in, engagement profiles updated",
            timeout=TIMEOUT,
        )
        self.function.allow(
            # suppress_address: GetItem and PutItem the address item, UpdateItem each owner's state; an engagement:
            # GetItem the address item and each owner's state, then a TransactWriteItems of a conditional Put of
            # the engagement's own item and a conditional Update of the state's engagement profile
            ledger.items("GetItem", "PutItem", "UpdateItem"),
            ledger.read_salt(),
            arbitration.read_policy(),
        )
        self.function.function.add_event_source(
            sources.SqsEventSource(self.queue.queue, batch_size=10, report_batch_item_failures=True)
        )
        skip_checks(self.function.function, SQS_FED_NO_FUNCTION_DLQ, SQS_FED_NO_RESERVATION)
