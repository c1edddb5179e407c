"""Profile: CustomerUpdated (profile, consent, preferences; in force at once), CustomerErased (erasure),
ContactRecorded (a contact made outside Baton, counted in the customer's caps) and CustomerEngaged (what the
customer did, stored beside the state)."""

from __future__ import annotations

from baton.entry import startup

startup.begin()  # the cycle collector off while the modules load, in Lambda

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from baton.app.ports import Ledger, PolicySource
from baton.core.clock import Clock, SystemClock
from baton.core.errors import InvalidRequest
from baton.entry.composition import profile_parts
from baton.entry.ingress import batch_processor, profile_record
from baton.entry.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(
    event: dict[str, Any],
    context: LambdaContext,
    ledger: Ledger | None = None,
    clock: Clock | None = None,
    policies: PolicySource | None = None,
) -> PartialItemFailureResponse:
    if ledger is None or policies is None:
        parts = profile_parts()
        ledger, policies = ledger or parts.ledger, policies or parts.policies
    store, now, source = ledger, clock or SystemClock(), policies

    def record_handler(record: SQSRecord) -> None:
        try:
            action, customer_id = profile_record(store, now, record.body, source)
            metrics.add_metric(name=f"Customer_{action}", unit=MetricUnit.Count, value=1)
            logger.info(f"customer {action}", customer_id=customer_id)
        except InvalidRequest as exc:  # poison input: reported, never retried
            metrics.add_metric(name="Customer_rejected", unit=MetricUnit.Count, value=1)
            logger.warning("customer event rejected", reason=exc.reason, problem=exc.message)

    return process_partial_response(
        event=event, record_handler=record_handler, processor=batch_processor(), context=context
    )


startup.end()
