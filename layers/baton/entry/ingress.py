"""From a queued EventBridge event to a service call: the one place detail types map to operations and
errors map to what the queue should do (poison input is reported and dropped; transient failures are retried)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

from baton.app.feedback import apply_feedback
from baton.app.ports import Ledger, PolicySource
from baton.contract import (
    ContactRecorded,
    CustomerEngaged,
    CustomerErased,
    CustomerUpdated,
    parse_detail,
    parse_envelope,
)
from baton.core.clock import Clock
from baton.core.errors import InvalidRequest
from baton.names import (
    DETAIL_CONTACT_RECORDED,
    DETAIL_CUSTOMER_ENGAGED,
    DETAIL_CUSTOMER_ERASED,
    DETAIL_CUSTOMER_UPDATED,
    DETAIL_MESSAGE_REQUESTED,
    DETAIL_RELEASE_DUE,
    SES_FEEDBACK_DETAIL_TYPES,
    SES_SOURCE,
)

if TYPE_CHECKING:  # the profile and feedback functions decide nothing and do not load the service
    from baton.app.arbiter import Arbiter, Report


def batch_processor() -> BatchProcessor:
    """A processor for one invocation's SQS batch; an all-failed batch is reported like any other (every record
    listed), not raised. Each invocation makes its own: a processor holds the batch it is working on, and local
    runs (``baton replay``, the reliability scenarios, the tests) call a handler from many threads at once. One
    shared processor handed a thread's records to another: a record went unprocessed and was acknowledged."""
    return BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def arbitration_record(arbiter: Arbiter, body: str | dict[str, Any]) -> list[Report]:
    """One record of the arbitration queue: a MessageRequested or a ReleaseDue. Never raises for bad input."""
    try:
        event = parse_envelope(body)
    except InvalidRequest as exc:
        return arbiter.refuse(exc)
    if event.detail_type == DETAIL_MESSAGE_REQUESTED:
        return arbiter.request(event.detail, event.id)
    if event.detail_type == DETAIL_RELEASE_DUE:
        customer_id = event.detail.get("customer_id")
        request_id = event.detail.get("request_id")
        if isinstance(customer_id, str) and (request_id is None or isinstance(request_id, str)):
            return arbiter.release(customer_id, request_id)
    return arbiter.refuse(InvalidRequest("detail-type", f"{event.detail_type!r} is not handled here"))


# A contact reported as made later than this after the moment it is recorded is refused (``at`` in the future).
CONTACT_CLOCK_SKEW = timedelta(minutes=5)


def profile_record(ledger: Ledger, clock: Clock, body: str | dict[str, Any], policies: PolicySource) -> tuple[str, str]:
    """One record of the profile queue: CustomerUpdated, CustomerErased, ContactRecorded or CustomerEngaged.
    Returns (what was done, customer id); raises InvalidRequest for bad input."""
    event = parse_envelope(body)
    if event.detail_type == DETAIL_CUSTOMER_ENGAGED:
        from baton.app.engagements import engagement_of

        engaged: CustomerEngaged = parse_detail(CustomerEngaged, event.detail)
        now = clock.now()
        if engaged.at > now + CONTACT_CLOCK_SKEW:
            raise InvalidRequest("at", "is in the future: an engagement is reported once it happened")
        stored = ledger.record_engagement(engagement_of(engaged), now, policies.current())
        return ("engagement_recorded" if stored else "engagement_duplicate"), engaged.customer_id
    if event.detail_type == DETAIL_CONTACT_RECORDED:
        contact: ContactRecorded = parse_detail(ContactRecorded, event.detail)
        now = clock.now()
        if contact.at > now + CONTACT_CLOCK_SKEW:
            raise InvalidRequest("at", "is in the future: a contact is recorded once it was made")
        counted = ledger.record_contact(contact, now, policies.current())
        return ("contact_recorded" if counted else "contact_ignored"), contact.customer_id
    if event.detail_type == DETAIL_CUSTOMER_UPDATED:
        update: CustomerUpdated = parse_detail(CustomerUpdated, event.detail)
        ledger.update_profile(update, clock.now())
        return "updated", update.customer_id
    if event.detail_type == DETAIL_CUSTOMER_ERASED:
        erased: CustomerErased = parse_detail(CustomerErased, event.detail)
        ledger.erase(erased.customer_id)
        return "erased", erased.customer_id
    raise InvalidRequest("detail-type", f"{event.detail_type!r} is not handled here")


def feedback_record(
    ledger: Ledger, policies: PolicySource, clock: Clock, body: str | dict[str, Any]
) -> list[tuple[str, str]]:
    """One record of the feedback queue: an SES bounce or complaint event. Raises InvalidRequest for bad input."""
    event = parse_envelope(body)
    if event.source != SES_SOURCE or event.detail_type not in SES_FEEDBACK_DETAIL_TYPES:
        raise InvalidRequest("detail-type", f"{event.source} {event.detail_type!r} is not SES feedback")
    return apply_feedback(ledger, policies, clock, event.detail)
