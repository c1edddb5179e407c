"""The arbitration dead-letter queue, for operators: what failed and why, and redrive after a fix.

SQS lets no consumer annotate a message, so a dead letter carries only its body and receive count; the *why*
comes from the ledger. Each dead letter names a request (MessageRequested or ReleaseDue), and the request's
record says how far it got: no record (every attempt failed before the decision was committed), ``sending``
(decided and counted, the provider call not confirmed: the sweeper resumes it when its lease ends if the lease
is in the due index, a redrive otherwise), ``pending``
(waiting for its release), or a final status (already settled; a redrive reports it as a duplicate).

Redrive is safe against double sends because Baton is idempotent by request id: a request redriven twice, or
redriven while the sweeper resumes it, is decided once and sent once (the conditional claim on ``sending``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from baton.app.ports import Ledger
from baton.names import DETAIL_MESSAGE_REQUESTED, DETAIL_RELEASE_DUE

FINAL = frozenset({"sent", "suppressed", "expired", "cancelled", "rejected", "failed"})
READ_HOLD_SECONDS = 30  # inspect hides what it has read for at least this long while it pages, then shows it again
MAX_HOLD_SECONDS = 43_200  # SQS's longest visibility timeout


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    receive_count: int
    detail_type: str | None
    customer_id: str | None
    request_id: str | None
    status: str | None  # the ledger's, or None when the request was never recorded
    reason: str  # what failed and why, in one line
    attempts: int = 0
    body: str = ""

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("body")
        return out


def _ids(body: str) -> tuple[str | None, str | None, str | None]:
    try:
        event = json.loads(body)
    except ValueError:
        return None, None, None
    if not isinstance(event, dict):
        return None, None, None
    detail = event.get("detail")
    detail_type = event.get("detail-type")
    if not isinstance(detail, dict):
        return (detail_type if isinstance(detail_type, str) else None), None, None
    cid, rid = detail.get("customer_id"), detail.get("request_id")
    return (
        detail_type if isinstance(detail_type, str) else None,
        cid if isinstance(cid, str) else None,
        rid if isinstance(rid, str) else None,
    )


def explain(body: str, receive_count: int, ledger: Ledger | None, message_id: str = "") -> DeadLetter:
    """One dead letter: which request, and why it is here, from the ledger's record of that request."""
    detail_type, cid, rid = _ids(body)
    base: dict[str, Any] = {
        "message_id": message_id,
        "receive_count": receive_count,
        "detail_type": detail_type,
        "body": body,
    }
    if detail_type not in (DETAIL_MESSAGE_REQUESTED, DETAIL_RELEASE_DUE) or cid is None:
        reason = "unreadable: not an event the arbiter takes (it should have been rejected, not retried: a bug)"
        return DeadLetter(customer_id=cid, request_id=rid, status=None, reason=reason, **base)
    if rid is None:
        return DeadLetter(
            customer_id=cid, request_id=None, status=None, reason="release of a customer: redrive to retry", **base
        )
    record = ledger.records(cid, [rid]).get(rid) if ledger is not None else None
    if ledger is None:
        reason = "ledger not read"
    elif record is None:
        reason = (
            "not recorded: every delivery failed before the decision was committed "
            "(ledger unavailable or throttled, or the function timed out; see the arbiter's logs): redrive once fixed"
        )
    elif record.status == "sending":
        lease = record.lease_until.isoformat() if record.lease_until else "?"
        # an arrival's lease is in no due index unless one of its own deliveries (all failed) put it there
        resumed = (
            f"; the sweeper resumes it after its lease ({lease}), or redrive"
            if record.in_due_index
            else f", its lease ({lease}) in no due index: redrive to resume it"
        )
        reason = (
            f"sending: decided ({record.reason}) and counted, the provider call not confirmed after "
            f"{record.attempts + 1} attempt(s){resumed}"
        )
    elif record.status == "pending":
        when = record.release_at.isoformat() if record.release_at else "?"
        reason = f"pending: {record.reason}, released at {when} by the sweeper; nothing to redrive"
    else:
        reason = f"{record.status}: {record.reason}: settled already; a redrive reports it as a duplicate"
    return DeadLetter(
        customer_id=cid,
        request_id=rid,
        status=record.status if record else None,
        reason=reason,
        attempts=record.attempts if record else 0,
        **base,
    )


def _depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def _receive(sqs: Any, url: str, hold: int) -> list[dict[str, Any]]:
    return list(
        sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=hold,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
    )


def _show_again(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
    for start in range(0, len(messages), 10):
        chunk = messages[start : start + 10]
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for i, m in enumerate(chunk)
            ],
        )


def inspect(sqs: Any, dlq_url: str, ledger: Ledger | None, limit: int = 1000) -> list[DeadLetter]:
    """Read up to ``limit`` dead letters without consuming them (each is hidden while the pages are read, then
    made visible again) and explain each.

    The read ends when SQS has nothing visible left to give. Each page is held for at least twice what reading
    the whole queue takes at the pace so far: a hold shorter than the read would show the first messages again
    before the last were read, and the read would go round in circles (or, stopping at a page of messages
    already seen, miss the rest). A message read again keeps its newest receipt handle."""
    seen: dict[str, dict[str, Any]] = {}
    waiting = _depth(sqs, dlq_url)
    hold, pages, began = READ_HOLD_SECONDS, 0, time.monotonic()
    try:
        while len(seen) < limit and pages <= 3 * (max(waiting, limit) // 10 + 1):
            page = _receive(sqs, dlq_url, hold)
            if not page:
                break
            pages += 1
            for message in page:
                seen[message["MessageId"]] = message
            pace = (time.monotonic() - began) / pages
            whole = pace * (max(waiting, len(seen)) / 10 + 1)
            hold = min(MAX_HOLD_SECONDS, max(READ_HOLD_SECONDS, math.ceil(2 * whole)))
    finally:
        _show_again(sqs, dlq_url, list(seen.values()))
    # receive_count: SQS's count, which keeps the source queue's receives and adds every read of the DLQ
    return [
        explain(m["Body"], int(m.get("Attributes", {}).get("ApproximateReceiveCount", "0")), ledger, m["MessageId"])
        for m in list(seen.values())[:limit]
    ]


def _queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def redrive(sqs: Any, dlq_url: str, source_url: str, *, limit: int | None = None, native: bool = False) -> int:
    """Move dead letters back to the source queue. ``native`` asks SQS to do it (StartMessageMoveTask, on AWS)
    and returns -1 (the task runs on); otherwise receive, send, then delete, ten at a time, and return how many
    moved. A crash between the send and the delete leaves a message in both queues: the second delivery is
    answered as a duplicate by request id, so nothing is sent twice."""
    if native:
        sqs.start_message_move_task(SourceArn=_queue_arn(sqs, dlq_url), DestinationArn=_queue_arn(sqs, source_url))
        return -1
    moved = 0
    for batch in _batches(sqs, dlq_url, limit):
        entries = [{"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(batch)]
        for i, m in enumerate(batch):
            if m.get("MessageAttributes"):
                entries[i]["MessageAttributes"] = m["MessageAttributes"]
        response = sqs.send_message_batch(QueueUrl=source_url, Entries=entries)
        sent = {int(s["Id"]) for s in response.get("Successful", [])}
        done = [m for i, m in enumerate(batch) if i in sent]
        if done:
            sqs.delete_message_batch(
                QueueUrl=dlq_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        failed = [m for i, m in enumerate(batch) if i not in sent]
        if failed:
            _show_again(sqs, dlq_url, failed)
        moved += len(done)
    return moved


def _batches(sqs: Any, url: str, limit: int | None) -> Iterator[list[dict[str, Any]]]:
    left = limit
    while left is None or left > 0:
        page = _receive(sqs, url, READ_HOLD_SECONDS)
        if not page:
            return
        if left is not None:
            if len(page) > left:
                _show_again(sqs, url, page[left:])
            page = page[:left]
            left -= len(page)
        yield page
