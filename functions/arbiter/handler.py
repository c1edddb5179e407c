"""Arbiter: the arbitration queue (MessageRequested, ReleaseDue) in, decisions recorded and messages sent."""

from __future__ import annotations

from baton.entry import startup

startup.begin()  # the cycle collector off while the modules load, in Lambda

from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from baton.app.arbiter import Arbiter
from baton.entry.composition import arbiter_service
from baton.entry.ingress import arbitration_record, batch_processor
from baton.entry.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(
    event: dict[str, Any], context: LambdaContext, service: Arbiter | None = None
) -> PartialItemFailureResponse:
    arbiter = service or arbiter_service()

    def record_handler(record: SQSRecord) -> None:
        arbitration_record(arbiter, record.body)

    with arbiter.budget(lambda: context.get_remaining_time_in_millis() / 1000):
        return process_partial_response(
            event=event, record_handler=record_handler, processor=batch_processor(), context=context
        )


startup.end()
