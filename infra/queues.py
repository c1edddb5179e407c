"""A work queue with its dead-letter queue: encrypted at rest (SQS-managed keys, or the deployment's KMS key with
``-c kms=true``), TLS required, a redrive policy."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from baton.names import MAX_RECEIVE_COUNT
from infra.encryption import encryption_key
from infra.skips import skip_checks

DLQ_RETENTION = Duration.days(14)  # the SQS maximum: time to look, fix and redrive
# With the KMS key: SQS reuses a data key this long before asking KMS again (the most it allows, the fewest calls)
DATA_KEY_REUSE = Duration.hours(24)


def encrypted(scope: Construct) -> dict[str, Any]:
    """A queue's encryption properties: SQS-managed SSE, or the deployment's KMS key."""
    key = encryption_key(scope)
    if key is None:
        return {"encryption": sqs.QueueEncryption.SQS_MANAGED}
    return {"encryption": sqs.QueueEncryption.KMS, "encryption_master_key": key, "data_key_reuse": DATA_KEY_REUSE}


def _answer_checks(queue: sqs.Queue) -> sqs.Queue:
    if queue.encryption_master_key is None:
        skip_checks(
            queue,
            (
                "CKV_AWS_27",
                "Encrypted at rest with SQS-managed SSE (SqsManagedSseEnabled: true), which this check does not"
                " read: it looks for KmsMasterKeyId only. The AWS managed key aws/sqs is no alternative, since"
                " EventBridge cannot send to a queue under it; -c kms=true uses the deployment's own key",
            ),
        )
    return queue


def dead_letter_queue(scope: Construct, construct_id: str, name: str) -> sqs.Queue:
    return _answer_checks(
        sqs.Queue(
            scope,
            construct_id,
            queue_name=name,
            retention_period=DLQ_RETENTION,
            enforce_ssl=True,
            **encrypted(scope),
        )
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
            enforce_ssl=True,
            **encrypted(self),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=MAX_RECEIVE_COUNT),
        )
        _answer_checks(self.queue)
