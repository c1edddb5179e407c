"""Feedback: SES bounce and complaint events in, addresses on the suppression list; delivery, open and click
events in, the owners' engagement profiles updated."""

from __future__ import annotations

from baton.entry import startup

startup.begin()  # the cycle collector off while the modules load, in Lambda

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from baton.core.errors import InvalidRequest
from baton.entry.composition import FeedbackParts, feedback_parts
from baton.entry.ingress import batch_processor, feedback_record
from baton.entry.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext, parts: FeedbackParts | None = None
) -> PartialItemFailureResponse:
    ledger, policies, clock = parts or feedback_parts()

    def record_handler(record: SQSRecord) -> None:
        try:
            for kind, outcome in feedback_record(ledger, policies, clock, record.body):
                metrics.add_metric(name=f"Feedback_{kind}", unit=MetricUnit.Count, value=1)
                logger.info("feedback", kind=kind, outcome=outcome)  # a standing, or what became of an engagement
        except InvalidRequest as exc:  # poison input: reported, never retried
            logger.warning("feedback event rejected", reason=exc.reason, problem=exc.message)

    return process_partial_response(
        event=event, record_handler=record_handler, processor=batch_processor(), context=context
    )


startup.end()
