"""Deferral: the sweeper runs every minute on an EventBridge Scheduler schedule, reads the ``due`` index and puts
a ReleaseDue message on the arbitration queue for each deferred request (or stale send lease) that has come due.

EventBridge Scheduler rather than a scheduled EventBridge rule: it is AWS's successor for scheduled invocations,
with its own retry policy and event-age limit per target, time zones and a quota of millions of schedules, and
the same service the ranking work can use for one-off releases. Retries are off: a missed sweep is simply the
next minute's sweep, and overlapping sweeps are harmless (the arbiter claims each release conditionally).
"""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from baton.entry.settings import SweeperSettings
from baton.names import Env
from infra.config import Config
from infra.function import BatonFunction
from infra.ledger import LedgerTable
from infra.queues import dead_letter_queue
from infra.skips import skip_checks

TIMEOUT = Duration.seconds(50)  # shorter than the period, so sweeps rarely overlap
PERIOD = Duration.minutes(1)
SCHEDULE_GROUP = "default"


class Deferral(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        layer: lambda_.ILayerVersion,
        ledger: LedgerTable,
        arbitration_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.sweeper = BatonFunction(
            self,
            "Sweeper",
            settings=SweeperSettings,
            environment={
                Env.TABLE_NAME: ledger.table.table_name,
                Env.ARBITER_QUEUE_URL: arbitration_queue.queue_url,
            },
            layer=layer,
            config=config,
            description="Baton sweeper: every minute, releases deferred requests that have come due",
            timeout=TIMEOUT,
        )
        self.sweeper.allow(
            ledger.due_index_query(),
            # the fleet's engagement histogram: one segment of a Scan an hour, into its one item
            ledger.scan(),
            ledger.items("GetItem", "PutItem"),
            # SendMessageBatch is authorised by sqs:SendMessage
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[arbitration_queue.queue_arn]),
        )
        self.sweeper.function.configure_async_invoke(retry_attempts=0, max_event_age=PERIOD)
        # Its invocations are asynchronous (the schedule's): one that failed, or was too old to run, is kept here
        # (the event and the error) instead of vanishing; the monitoring alarms on any message in it.
        self.dlq = dead_letter_queue(self, "SweeperDeadLetterQueue", config.names.sweeper_dlq)
        self.sweeper.dead_letter_queue(self.dlq)
        NagSuppressions.add_resource_suppressions(
            self.dlq,
            [
                NagPackSuppression(
                    id="AwsSolutions-SQS3",
                    reason=(
                        "This queue is itself a dead-letter queue: the sweeper function's DeadLetterConfig (its"
                        " asynchronous invocations). cdk-nag recognises only SQS redrive policies as DLQ use. It has"
                        " an alarm on ApproximateNumberOfMessagesVisible > 0."
                    ),
                )
            ],
        )
        skip_checks(
            self.sweeper.function,
            (
                "CKV_AWS_115",
                "Started once a minute by its schedule, without retries, and done within 50 seconds: it runs one at"
                " a time (two if a sweep overlaps), so a reservation would only hold back concurrency it never uses",
            ),
        )
        # The L1 schedule with a role of our own: the L2 target grants InvokeFunction on the function's versions
        # too (``<arn>:*``), which the sweeper does not need.
        role = iam.Role(
            self,
            "ScheduleRole",
            description="Baton: EventBridge Scheduler invokes the sweeper",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {
                        "aws:SourceAccount": Aws.ACCOUNT_ID,
                        "aws:SourceArn": f"arn:{Aws.PARTITION}:scheduler:{Aws.REGION}:{Aws.ACCOUNT_ID}"
                        f":schedule-group/{SCHEDULE_GROUP}",
                    }
                },
            ),
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.sweeper.function.function_arn])
        )
        self.schedule = scheduler.CfnSchedule(
            self,
            "EveryMinute",
            description="Baton: sweep the due index",
            group_name=SCHEDULE_GROUP,
            schedule_expression=f"rate({int(PERIOD.to_minutes())} minute)",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.sweeper.function.function_arn,
                role_arn=role.role_arn,
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=0, maximum_event_age_in_seconds=int(PERIOD.to_seconds())
                ),
            ),
        )
