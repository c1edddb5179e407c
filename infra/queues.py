"""A work queue with its dead-letter queue: SQS-managed encryption, TLS required, a redrive policy."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from baton.names import MAX_RECEIVE_COUNT

DLQ_RETENTION = Duration.days(14)  # the SQS maximum: time to look, fix and redrive


def dead_letter_queue(scope: Construct, construct_id: str, name: str) -> sqs.Queue:
    return sqs.Queue(
        scope,
        construct_id,
        queue_name=name,
        retention_period=DLQ_RETENTION,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
    )


class WorkQueue(Construct):
    """``queue`` redrives to ``dlq`` after MAX_RECEIVE_COUNT receives."""

    def __init__(
        self, scope: Construct, construct_id: str, *, name: str, dlq_name: str, visibility_timeout: Duration
    ) -> None:
        super().__init__(scope, construct_id)
        self.dlq = dead_letter_queue(self, "DeadLetterQueue", dlq_name)
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=name,
            visibility_timeout=visibility_timeout,
            retention_period=Duration.days(4),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=MAX_RECEIVE_COUNT),
        )
