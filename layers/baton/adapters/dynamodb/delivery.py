"""The ledger's part of a send: the lease a delivery takes over or gives back, the due index entry that lets the
sweeper resume it, and the confirm that ends it (sent, failed, or suppressed since)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from baton.adapters.dynamodb.codec import (
    encode_candidates,
    iso,
    step,
)
from baton.adapters.dynamodb.items import (
    STATE_SK,
    _Models,
    customer_pk,
    due_shard,
    request_sk,
)
from baton.app.ports import SEND_LEASE, RequestRecord, failed_on
from baton.core.addresses import address_hash
from baton.core.errors import TransientFailure


class Delivery:
    """Send leases and confirms (part of ``DynamoLedger``)."""

    _m: _Models
    _retention: timedelta
    _salt: bytes

    def hash(self, address: str) -> str:
        return address_hash(address, self._salt)

    def claim(self, record: RequestRecord, now: datetime) -> RequestRecord | None:
        r = self._m.request
        item = r(customer_pk(record.customer_id), request_sk(record.request_id))
        try:
            # only a lease that ran out: a duplicate delivery can arrive while the holder is still sending, and
            # taking over a live lease would send the message twice
            item.update(
                # into the due index as well: the taker may be a copy of the very queue message another delivery,
                # finding the lease held, acknowledges (SQS can hand one message to two consumers)
                actions=[
                    r.lease_until.set(iso(now + SEND_LEASE)),
                    *self._due_at(record, now + SEND_LEASE),
                    r.attempts.add(1),
                    self._append(step(now, "taken_over", "the send lease ran out")),
                ],
                condition=(r.status == "sending") & (r.lease_until <= iso(now)),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return None
            raise TransientFailure(f"ledger write failed: {exc}") from exc
        return replace(record, lease_until=now + SEND_LEASE, attempts=int(item.attempts))

    def _due_at(self, record: RequestRecord, at: datetime) -> list[Action]:
        """The actions that put ``record`` into the due index at ``at`` (or move it there)."""
        r = self._m.request
        return [r.due_pk.set(due_shard(record.customer_id)), r.due_sk.set(f"{iso(at)}#{record.request_id}")]

    def index_lease(self, record: RequestRecord) -> bool:
        if record.lease_until is None:
            raise ValueError(f"request {record.request_id} holds no send lease to index")
        r = self._m.request
        item = r(customer_pk(record.customer_id), request_sk(record.request_id))
        try:
            item.update(
                actions=self._due_at(record, record.lease_until),
                condition=(r.status == "sending") & (r.lease_until == iso(record.lease_until)),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise TransientFailure(f"ledger write failed: {exc}") from exc
        return True

    def release_lease(self, record: RequestRecord, now: datetime) -> None:
        r = self._m.request
        item = r(customer_pk(record.customer_id), request_sk(record.request_id))
        try:
            item.update(
                actions=[
                    r.lease_until.set(iso(now)),
                    *self._due_at(record, now),
                    self._append(step(now, "retry", "delivery_retry")),
                ],
                condition=(r.status == "sending") & (r.attempts == record.attempts),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return  # taken over (or settled) since: the lease is no longer this holder's to give
            raise TransientFailure(f"ledger write failed: {exc}") from exc

    def _finish(self, record: RequestRecord, actions: list[Action]) -> None:
        r = self._m.request
        item = r(customer_pk(record.customer_id), request_sk(record.request_id))
        try:
            item.update(actions=actions, condition=r.status == "sending")
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return  # already confirmed by another delivery of the same request
            raise TransientFailure(f"ledger write failed: {exc}") from exc

    def confirm_sent(self, record: RequestRecord, now: datetime, message_id: str, rendered_with: str = "") -> None:
        r = self._m.request
        self._finish(
            record,
            [
                r.status.set("sent"),
                r.rendered_with.set(rendered_with) if rendered_with else r.rendered_with.remove(),
                r.sent_at.set(iso(now)),
                r.message_id.set(message_id),
                r.due_pk.remove(),
                r.due_sk.remove(),
                r.lease_until.remove(),
                r.expires_at.set(now + self._retention),
                self._append(step(now, "sent", record.reason)),
            ],
        )

    def _append(self, line: str) -> Action:
        """Append one delivery step to a request's history (after its decisions: see HISTORY_LIMIT)."""
        r = self._m.request
        return r.steps.set((r.steps | []).append([line]))

    def confirm_failed(
        self, record: RequestRecord, now: datetime, reason: str, status: str = "failed", detail: str | None = None
    ) -> None:
        """End a ``sending`` request as failed (or suppressed) and void its contact, so that a message that
        never went out does not count against the customer's caps. Voiding only loosens caps, so it needs no
        version check; the next decision's commit drops the voided contact for good. ``detail`` says why in
        words where the reason alone does not (what a template lacked)."""
        m = self._m
        pk = customer_pk(record.customer_id)
        actions = [
            m.request.status.set(status),
            m.request.reason.set(reason),
            *([m.request.detail.set(detail)] if detail else []),
            m.request.decided_at.set(iso(now)),
            m.request.due_pk.remove(),
            m.request.due_sk.remove(),
            m.request.lease_until.remove(),
            m.request.expires_at.set(now + self._retention),
            self._append(step(now, status, reason)),
        ]
        try:
            with TransactWrite(connection=m.connection) as tx:
                tx.update(
                    m.request(pk, request_sk(record.request_id)),
                    actions=actions,
                    condition=m.request.status == "sending",
                )
                tx.update(m.state(pk, STATE_SK), actions=[m.state.void.add({record.request_id})])
        except TransactWriteError as exc:
            reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or []) if r is not None]
            if "ConditionalCheckFailed" in reasons:
                return  # already ended by another delivery of the same request
            raise TransientFailure(f"ledger write failed: {exc.cause_response_code}") from exc

    def fall_back(self, record: RequestRecord, now: datetime, reason: str) -> bool:
        """As ``confirm_failed``, in one transaction that voids the contact, but the request is left ``pending``,
        due now, with the candidate it was sent by marked failed."""
        m = self._m
        pk = customer_pk(record.customer_id)
        r = m.request
        actions = [
            r.status.set("pending"),
            r.reason.set(reason),
            r.release_at.set(iso(now)),
            r.lease_until.remove(),
            r.channels.set(encode_candidates(failed_on(record, reason), record.not_after)),
            *self._due_at(record, now),
            self._append(step(now, "deferred", f"fallback:{reason}", now)),
        ]
        try:
            with TransactWrite(connection=m.connection) as tx:
                tx.update(
                    r(pk, request_sk(record.request_id)),
                    actions=actions,
                    condition=(r.status == "sending") & (r.attempts == record.attempts),
                )
                tx.update(m.state(pk, STATE_SK), actions=[m.state.void.add({record.request_id})])
        except TransactWriteError as exc:
            reasons = [getattr(c, "code", None) for c in (exc.cancellation_reasons or []) if c is not None]
            if "ConditionalCheckFailed" in reasons:
                return False  # settled, or taken over, since
            raise TransientFailure(f"ledger write failed: {exc.cause_response_code}") from exc
        return True

    def record_rejected(self, customer_id: str, request_id: str, reason: str, detail: str, now: datetime) -> bool:
        r = self._m.request
        item = r(
            customer_pk(customer_id),
            request_sk(request_id),
            status="rejected",
            reason=reason,
            detail=detail,
            requested_at=iso(now),
            decided_at=iso(now),
            expires_at=now + self._retention,
            steps=[step(now, "arrived"), step(now, "rejected", reason)],
        )
        try:
            item.save(condition=r.pk.does_not_exist())
        except PynamoDBException as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise TransientFailure(f"ledger write failed: {exc}") from exc
        return True
