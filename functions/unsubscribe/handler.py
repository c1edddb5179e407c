"""Unsubscribe: the one-click endpoint (public function URL). GET confirms, POST unsubscribes."""

from __future__ import annotations

from baton.entry import startup

startup.begin()  # the cycle collector off while the modules load, in Lambda

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from baton.core.clock import SystemClock
from baton.entry.api import unsubscribe_app
from baton.entry.composition import unsubscribe_keys, unsubscribe_ledger
from baton.entry.observability import logger, metrics, tracer


@cache
def _app() -> Any:
    return unsubscribe_app(unsubscribe_ledger, unsubscribe_keys, SystemClock())


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext, app: Any = None) -> dict[str, Any]:
    return (app or _app()).resolve(event, context)


startup.end()
