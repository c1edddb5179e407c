"""Monitoring: an alarm when any dead-letter queue holds a message, when any function errs, when the
arbitration queue backs up; and one small dashboard. Alarms notify the SNS topic named in context, if any."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from baton.domain import Outcome
from baton.names import METRICS_NAMESPACE, SERVICE
from infra.config import Config
from infra.function import BatonFunction

QUEUE_AGE_LIMIT = Duration.minutes(5)  # deferred requests wait in DynamoDB, never in the queue


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        functions: Mapping[str, BatonFunction],
        dead_letter_queues: Mapping[str, sqs.IQueue],
        arbitration_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        topic = sns.Topic.from_topic_arn(self, "AlarmTopic", config.alarm_topic_arn) if config.alarm_topic_arn else None
        self.alarms: list[cloudwatch.Alarm] = []

        def alarm(
            construct_id: str, metric: cloudwatch.Metric, threshold: float, description: str, periods: int = 1
        ) -> None:
            created = metric.create_alarm(
                self,
                construct_id,
                threshold=threshold,
                evaluation_periods=periods,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            if topic is not None:
                created.add_alarm_action(actions.SnsAction(topic))
            self.alarms.append(created)

        for name, dlq in dead_letter_queues.items():
            alarm(
                f"{name}DeadLetters",
                dlq.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
                ),
                0,
                f"Baton: messages in {name} dead-letter queue; inspect with `baton dlq`, fix, redrive",
            )
        for name, function in functions.items():
            alarm(
                f"{name}Errors",
                function.function.metric_errors(period=Duration.minutes(5), statistic=cloudwatch.Stats.SUM),
                0,
                f"Baton: the {name} function failed (see its log group)",
            )
        alarm(
            "ArbitrationBacklog",
            arbitration_queue.metric_approximate_age_of_oldest_message(
                period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
            ),
            QUEUE_AGE_LIMIT.to_seconds(),
            "Baton: message requests wait more than 5 minutes for arbitration (max_concurrency or SES rate?)",
            periods=3,
        )

        outcomes = {
            o: cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=f"Outcome_{o}",
                dimensions_map={"service": SERVICE},
                statistic=cloudwatch.Stats.SUM,
                period=Duration.minutes(5),
            )
            for o in (outcome.value for outcome in Outcome)
        }
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            default_interval=Duration.hours(24),
            widgets=[
                [
                    cloudwatch.GraphWidget(title="Decisions", left=list(outcomes.values()), width=12),
                    cloudwatch.GraphWidget(
                        title="Arbitration queue",
                        left=[arbitration_queue.metric_approximate_number_of_messages_visible()],
                        right=[arbitration_queue.metric_approximate_age_of_oldest_message()],
                        width=12,
                    ),
                ],
                [
                    cloudwatch.GraphWidget(
                        title="Function errors",
                        left=[f.function.metric_errors(label=n) for n, f in functions.items()],
                        width=12,
                    ),
                    cloudwatch.GraphWidget(
                        title="Function duration (p95)",
                        left=[
                            f.function.metric_duration(label=n, statistic=cloudwatch.Stats.percentile(95))
                            for n, f in functions.items()
                        ],
                        width=12,
                    ),
                ],
                [cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24)],
            ],
        )
