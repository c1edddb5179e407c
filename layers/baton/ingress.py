"""From a queued EventBridge event to a service call: the one place detail types map to operations and
errors map to what the queue should do (poison input is reported and dropped; transient failures are retried)."""

from __future__ import annotations

from typing import Any

from baton.clock import Clock
from baton.contract import parse_envelope
from baton.domain import Outcome
from baton.errors import InvalidRequest
from baton.names import DETAIL_CUSTOMER_UPDATED, DETAIL_MESSAGE_REQUESTED, DETAIL_RELEASE_DUE
from baton.ports import Ledger
from baton.service import Baton, Report, update_customer


def arbitration_record(baton: Baton, body: str | dict[str, Any]) -> list[Report]:
    """One record of the arbitration queue: a MessageRequested or a ReleaseDue. Never raises for bad input."""
    try:
        event = parse_envelope(body)
    except InvalidRequest as exc:
        return baton.emit([Report("", None, Outcome.REJECTED, exc.reason, baton.clock.now(), detail=exc.message)])
    if event.detail_type == DETAIL_MESSAGE_REQUESTED:
        return baton.request(event.detail, event.id)
    if event.detail_type == DETAIL_RELEASE_DUE:
        customer_id = event.detail.get("customer_id")
        request_id = event.detail.get("request_id")
        if isinstance(customer_id, str) and (request_id is None or isinstance(request_id, str)):
            return baton.release(customer_id, request_id)
    reason = InvalidRequest("detail-type", f"{event.detail_type!r} is not handled here")
    return baton.emit([Report("", None, Outcome.REJECTED, reason.reason, baton.clock.now(), detail=reason.message)])


def profile_record(ledger: Ledger, clock: Clock, body: str | dict[str, Any]) -> str:
    """One record of the profile queue. Returns the customer id; raises InvalidRequest for bad input."""
    event = parse_envelope(body)
    if event.detail_type != DETAIL_CUSTOMER_UPDATED:
        raise InvalidRequest("detail-type", f"{event.detail_type!r} is not handled here")
    return update_customer(ledger, clock, event.detail).customer_id
