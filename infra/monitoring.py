"""Monitoring: alarms when any dead-letter queue holds a message, when any function errs, when the arbitration
queue backs up, when sends fail, when a function refuses the template store's set, when the account's bounce or
complaint rate nears the level at which SES reviews it, and when suppressions jump; and one dashboard. Alarms
notify the SNS topic named in context, if any."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from baton.core.domain import Outcome
from baton.names import METRICS_NAMESPACE, SERVICE, TEMPLATES_REJECTED_METRIC
from infra.config import Config
from infra.function import BatonFunction

QUEUE_AGE_LIMIT = Duration.minutes(5)  # deferred requests wait in DynamoDB, never in the queue
# SES puts an account under review at a 5 % bounce rate or a 0.1 % complaint rate (and may pause its sending at
# 10 % or 0.5 %): warn before the review, with room to act.
BOUNCE_RATE_WARNING = 0.04
COMPLAINT_RATE_WARNING = 0.0008
FAILURE_RATE_LIMIT = 0.05  # of messages Baton tried to send, the share the provider refused for good
SUPPRESSION_STD_DEVS = 4  # a jump in suppressions: a broken policy, a lost consent feed, a bounce wave


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
        self.alarms: list[cloudwatch.IAlarm] = []

        def alarm(
            construct_id: str, metric: cloudwatch.IMetric, threshold: float, description: str, periods: int = 1
        ) -> None:
            created = cloudwatch.Alarm(
                self,
                construct_id,
                metric=metric,
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
        failure_rate = cloudwatch.MathExpression(
            # a period with failures and no sends (every send refused: the outage this alarm is for) has no
            # Outcome_sent data point, and arithmetic on a missing point is missing, which an alarm reads as OK:
            # FILL counts it as 0 sent, a rate of 100 %
            expression="IF(FILL(sent, 0) + failed > 0, failed / (FILL(sent, 0) + failed), 0)",
            using_metrics={"sent": outcomes["sent"], "failed": outcomes["failed"]},
            label="failure rate",
            period=Duration.minutes(5),
        )
        alarm(
            "SendFailureRate",
            failure_rate,
            FAILURE_RATE_LIMIT,
            "Baton: more than 5% of sends failed for good (a suspended sender, a bad template, a provider outage?)",
            periods=3,
        )
        alarm(
            "TemplatesRejected",
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=TEMPLATES_REJECTED_METRIC,
                dimensions_map={"service": SERVICE},
                statistic=cloudwatch.Stats.SUM,
                period=Duration.minutes(5),
            ),
            0,
            "Baton: the template store's set was refused (unreadable or broken); the functions keep the last good"
            " set. See their logs (templates rejected), fix the set, push it again",
        )
        reputation = {
            name: cloudwatch.Metric(
                namespace="AWS/SES",
                metric_name=f"Reputation.{name}",
                statistic=cloudwatch.Stats.MAXIMUM,
                period=Duration.hours(1),
            )
            for name in ("BounceRate", "ComplaintRate")
        }
        alarm(
            "BounceRate",
            reputation["BounceRate"],
            BOUNCE_RATE_WARNING,
            "Baton: the SES bounce rate is above 4%; SES reviews the account at 5%. Check the address sources",
        )
        alarm(
            "ComplaintRate",
            reputation["ComplaintRate"],
            COMPLAINT_RATE_WARNING,
            "Baton: the SES complaint rate is above 0.08%; SES reviews the account at 0.1%. Tighten the caps?",
        )
        jump = cloudwatch.AnomalyDetectionAlarm(
            self,
            "SuppressionJump",
            metric=outcomes["suppressed"],
            evaluation_periods=3,
            std_devs=SUPPRESSION_STD_DEVS,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="Baton: suppressions far above their usual band (policy change, lost consent, bounces?)",
        )
        if topic is not None:
            jump.add_alarm_action(actions.SnsAction(topic))
        self.alarms.append(jump)
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
                [
                    cloudwatch.GraphWidget(
                        title="Suppressions and send failures",
                        left=[outcomes["suppressed"], outcomes["failed"]],
                        right=[failure_rate],
                        width=12,
                    ),
                    cloudwatch.GraphWidget(
                        title="SES reputation (SES reviews at 5% bounces, 0.1% complaints)",
                        left=[reputation["BounceRate"]],
                        right=[reputation["ComplaintRate"]],
                        width=12,
                    ),
                ],
                [cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24)],
            ],
        )
