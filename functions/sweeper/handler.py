"""Sweeper: every minute, queue a release for each request whose deferral or send lease has come due; at most once
an hour, read one segment of the customers' engagement profiles into the fleet's histogram."""

from __future__ import annotations

from baton.entry import startup

startup.begin()  # the cycle collector off while the modules load, in Lambda

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from baton.app.fleet import refresh_fleet
from baton.app.release import shards_of, sweep
from baton.entry.composition import SweeperParts, sweeper_parts
from baton.entry.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext, parts: SweeperParts | None = None) -> dict[str, int]:
    ledger, queue, clock, schedule = parts or sweeper_parts()
    released = sweep(ledger, queue, clock, shards=shards_of(event))
    metrics.add_metric(name="Released", unit=MetricUnit.Count, value=released)
    logger.info("sweep", released=released)
    fleet = refresh_fleet(ledger, clock.now(), schedule=schedule)
    if fleet is not None:
        logger.info("fleet histogram", next_segment=fleet.segment, profiles=fleet.profiles)
    return {"released": released}


startup.end()
