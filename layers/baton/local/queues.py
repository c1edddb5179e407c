"""A local stand-in for Lambda's SQS event source mapping, on real (moto) SQS queues.

The arbitration queue and its dead-letter queue are created with the deployed names (``baton.names``) and a
redrive policy, so SQS itself counts receives and moves a message to the DLQ after ``MAX_RECEIVE_COUNT``
receives. ``LocalQueue.drain`` plays the event source mapping: receive up to ten messages, invoke the handler
with the SQS event Lambda would build, delete what succeeded, and hand back the ``batchItemFailures`` (or, when
the invocation died, the whole batch) for redelivery. Redelivery is immediate here (the failed messages'
visibility is set to 0) where AWS waits for the visibility timeout.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from baton.local.mocked_aws import REGION
from baton.names import ARBITER_DLQ, ARBITER_QUEUE, MAX_RECEIVE_COUNT

BATCH_SIZE = 10  # the event source mapping's batch size
IN_FLIGHT_SECONDS = 300  # hides a message from other pollers while one invocation holds it

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class DrainStats:
    invocations: int = 0
    deleted: int = 0
    failed_records: int = 0  # reported in batchItemFailures: back to the queue
    died: int = 0  # invocations that ended without a response: the whole batch back to the queue
    errors: list[str] = field(default_factory=list)


class LocalQueue:
    """The arbitration queue and its DLQ on (moto) SQS, and a poller that delivers them like Lambda does."""

    def __init__(
        self,
        sqs: Any | None = None,
        *,
        name: str = ARBITER_QUEUE,
        dlq_name: str = ARBITER_DLQ,
        max_receive_count: int = MAX_RECEIVE_COUNT,
        batch_size: int = BATCH_SIZE,
    ):
        import boto3

        self.sqs: Any = sqs or boto3.client("sqs", region_name=REGION)
        self.batch_size = batch_size
        self.dlq_url = self.sqs.create_queue(QueueName=dlq_name)["QueueUrl"]
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
        self.url = self.sqs.create_queue(
            QueueName=name, Attributes={"VisibilityTimeout": "0", "RedrivePolicy": json.dumps(redrive)}
        )["QueueUrl"]
        self._arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self._lock = threading.Lock()
        # moto's in-process SQS is not thread-safe (concurrent receives race inside its message sets) where SQS is:
        # calls into it go one at a time; the handler invocations between them stay concurrent
        self._sqs_lock = threading.Lock()

    def _call(self, operation: str, **params: Any) -> Any:
        with self._sqs_lock:
            return getattr(self.sqs, operation)(**params)

    def send(self, bodies: list[str]) -> None:
        for start in range(0, len(bodies), 10):
            entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start : start + 10])]
            response = self._call("send_message_batch", QueueUrl=self.url, Entries=entries)
            if response.get("Failed"):
                raise RuntimeError(f"local queue refused {len(response['Failed'])} message(s)")

    def depth(self, url: str | None = None) -> int:
        """Messages in the queue, visible or in flight."""
        attrs = self._call(
            "get_queue_attributes",
            QueueUrl=url or self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def _event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": m.get("MessageAttributes", {}),
                    "md5OfBody": m.get("MD5OfBody", ""),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self._arn,
                    "awsRegion": REGION,
                }
                for m in messages
            ]
        }

    def poll(self, handler: Handler, context: Callable[[], Any], stats: DrainStats) -> int:
        """One receive and one invocation. Returns how many messages were received."""
        messages = self._call(
            "receive_message",
            QueueUrl=self.url,
            MaxNumberOfMessages=self.batch_size,
            VisibilityTimeout=IN_FLIGHT_SECONDS,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        failed: set[str] = set()
        try:
            response = handler(self._event(messages), context())
            failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
            with self._lock:
                stats.failed_records += len(failed)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # the invocation died (timeout, crash): Lambda returns the whole batch
            failed = {m["MessageId"] for m in messages}
            with self._lock:
                stats.died += 1
                stats.errors.append(f"{type(exc).__name__}: {exc}")
        with self._lock:
            stats.invocations += 1
        done = [m for m in messages if m["MessageId"] not in failed]
        again = [m for m in messages if m["MessageId"] in failed]
        if done:
            self._call(
                "delete_message_batch",
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
            with self._lock:
                stats.deleted += len(done)
        if again:
            self._call(
                "change_message_visibility_batch",
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(again)
                ],
            )
        return len(messages)

    def drain(
        self, handler: Handler, context: Callable[[], Any], *, workers: int = 1, max_polls: int = 1_000_000
    ) -> DrainStats:
        """Deliver until the queue is empty (every message deleted or moved to the DLQ)."""
        stats = DrainStats()
        budget = [max_polls]

        def work() -> None:
            idle = 0
            while True:
                with self._lock:
                    if budget[0] <= 0:
                        return
                    budget[0] -= 1
                if self.poll(handler, context, stats):
                    idle = 0
                    continue
                idle += 1
                if self.depth() == 0 or idle > 1000:
                    return
                time.sleep(0.005)  # others hold messages in flight: wait for them to finish or fail

        if workers <= 1:
            work()
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for future in [pool.submit(work) for _ in range(workers)]:
                    future.result()
        return stats
