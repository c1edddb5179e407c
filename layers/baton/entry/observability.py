"""The one place Baton's Logger, Tracer and Metrics are made. Never log an address: ids, outcomes, reasons only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit

from baton.names import METRICS_NAMESPACE, SERVICE, TEMPLATES_REJECTED_METRIC

if TYPE_CHECKING:  # the sweeper and the profile function log without loading the service
    from baton.app.arbiter import Report


class _Formatter(LambdaPowertoolsFormatter):
    """Powertools' JSON lines without two keys each line would repeat, at CloudWatch Logs' price per byte
    ingested: the function's ARN (the log group names the function, and ``function_name`` stays) and the code
    location (each line's message names what it records)."""

    def append_keys(self, **additional_keys: object) -> None:
        additional_keys.pop("function_arn", None)  # added by inject_lambda_context with the function's context
        super().append_keys(**additional_keys)


logger = Logger(service=SERVICE, logger_formatter=_Formatter(location=None))
# Only botocore needs patching: every AWS call (pynamodb's included) goes through it. The default patches every
# library X-Ray knows, importing each one at cold start.
tracer = Tracer(service=SERVICE, patch_modules=("botocore",))
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)


def record_outcome(report: Report) -> None:
    """Log and count one outcome: a metric per outcome, and per outcome, channel and reason kind. A request held
    out by the policy's holdout counts as ``HeldOut`` rather than ``Outcome_suppressed``: switching a holdout on
    is no jump in suppressions for the alarm that watches them."""
    reason_kind = report.reason.split(":", 1)[0]
    outcome = "HeldOut" if reason_kind == "holdout" else f"Outcome_{report.outcome.value}"
    metrics.add_metric(name=outcome, unit=MetricUnit.Count, value=1)
    metrics.add_metric(
        name=f"Reason_{report.outcome.value}_{report.channel or 'none'}_{reason_kind}", unit=MetricUnit.Count, value=1
    )
    logger.info(
        "decision",
        request_id=report.request_id,
        customer_id=report.customer_id,
        outcome=report.outcome.value,
        reason=report.reason,
        channel=report.channel,
        category=report.category,
        release_at=report.release_at.isoformat() if report.release_at else None,
    )


def record_templates_rejected(why: str) -> None:
    """Count and log a template set the store offered and the function refused (it keeps the last good set). ``why``
    names files and problems of the set, which holds templates and sample data, never a customer's."""
    metrics.add_metric(name=TEMPLATES_REJECTED_METRIC, unit=MetricUnit.Count, value=1)
    logger.warning("templates rejected", why=why)
