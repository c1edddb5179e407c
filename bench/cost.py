"""All AWS cost per million message requests, from this run's measured counts and published on-demand prices
(us-east-1), SES and SNS delivery fees excluded.

Every price names its page and the date it was read. Where a figure is not measured here it is an assumption,
named as one in the output (``assumptions``), so a reader can redo the sum with their own numbers.
"""

from __future__ import annotations

from typing import Any

LOOKED_UP = "2026-11-23"
PRICES: dict[str, dict[str, Any]] = {
    "dynamodb_write_request_unit": {
        "usd": 0.625 / 1e6,
        "unit": "write request unit, on-demand, Standard table class",
        "source": "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    },
    "dynamodb_read_request_unit": {
        "usd": 0.125 / 1e6,
        "unit": "read request unit, on-demand, Standard table class",
        "source": "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    },
    "lambda_arm64_gb_second": {
        "usd": 0.0000133334,
        "unit": "GB-second, Arm (first 7.5 billion GB-s a month)",
        "source": "https://aws.amazon.com/lambda/pricing/",
    },
    "lambda_request": {"usd": 0.20 / 1e6, "unit": "invocation", "source": "https://aws.amazon.com/lambda/pricing/"},
    "sqs_standard_request": {
        "usd": 0.40 / 1e6,
        "unit": "standard queue API request (each 64 KB chunk), first 100 billion a month",
        "source": "https://aws.amazon.com/sqs/pricing/",
    },
    "eventbridge_custom_event": {
        "usd": 1.00 / 1e6,
        "unit": "custom event published to an event bus (each 64 KB chunk)",
        "source": "https://aws.amazon.com/eventbridge/pricing/",
    },
    "cloudwatch_logs_ingestion_gb": {
        "usd": 0.50,
        "unit": "GB of Lambda logs ingested, Standard log class (first 10 TB a month)",
        "source": "https://aws.amazon.com/cloudwatch/pricing/",
    },
    "xray_trace_recorded": {
        "usd": 5.00 / 1e6,
        "unit": "trace recorded",
        "source": "https://aws.amazon.com/xray/pricing/",
    },
    "secrets_manager_api_call": {
        "usd": 0.05 / 10_000,
        "unit": "API call",
        "source": "https://aws.amazon.com/secrets-manager/pricing/",
    },
    "ssm_parameter_standard_get": {
        "usd": 0.0,
        "unit": "GetParameter on a standard parameter, standard throughput: no charge",
        "source": "https://aws.amazon.com/systems-manager/pricing/",
    },
}

# Not measured here: stated so the sum can be redone.
ASSUMPTIONS: dict[str, Any] = {
    "requests_per_hour": 1_000_000,  # a sale day (the issue: millions an hour)
    "sqs_batch": 10,  # the arbiter's event source batch size (infra/arbitration.py)
    "sqs_requests_per_message": 1.2,  # SendMessage by the rule target + ReceiveMessage and DeleteMessage per 10
    "arbiter_memory_mb": 512,  # infra/arbitration.py
    "lambda_full_vcpu_mb": 1769,  # Lambda gives one full vCPU at 1,769 MB, proportionally less below
    "ses_send_ms": 30,  # time the arbiter waits on SES SendEmail in AWS (moto's here is meaningless)
    "xray_sampling": "default rule: 1 trace a second, then 5% of invocations",
    "secret_cache_seconds": 300,  # baton.adapters.secrets.MAX_AGE
    "arbiter_secrets": 2,  # the address salt and the signing keys, each read once per cache period
    "arbiter_containers": 5,  # cdk.json max_concurrency
    "mix": "every request sent (the most expensive path); the suppress path is shown beside it",
    "capacity": "consumed capacity as DynamoDB Local reports it, raised where it is below what DynamoDB bills at"
    " the least (0.5 read unit per key read eventually consistent, 2 write units per item in a transaction)",
}


def lambda_seconds(own_cpu_ms: float, own_wall_ms: float, sends: bool) -> float:
    """Billed seconds per decision: this run's CPU time stretched to the arbiter's CPU share, plus the time
    spent waiting on DynamoDB (as measured here), plus the assumed SES wait when the decision sends."""
    share = min(1.0, ASSUMPTIONS["arbiter_memory_mb"] / ASSUMPTIONS["lambda_full_vcpu_mb"])
    waiting = max(0.0, own_wall_ms - own_cpu_ms)
    return (own_cpu_ms / share + waiting + (ASSUMPTIONS["ses_send_ms"] if sends else 0)) / 1000


def per_million(path: dict[str, Any], log_bytes: float, send: bool) -> dict[str, Any]:
    """USD per million message requests, by service, for one decision path."""
    n = 1_000_000
    p = {k: v["usd"] for k, v in PRICES.items()}
    a = ASSUMPTIONS
    invocations = n / a["sqs_batch"]
    seconds = lambda_seconds(path["baton_cpu_ms"], path["baton_ms"], sends=send)
    hours = n / a["requests_per_hour"]
    traces = hours * 3600 * 1 + max(0.0, invocations - hours * 3600) * 0.05
    secret_calls = hours * 3600 / a["secret_cache_seconds"] * a["arbiter_containers"] * a["arbiter_secrets"]
    by_service = {
        "dynamodb": n * path["billed_wcu"] * p["dynamodb_write_request_unit"]
        + n * path["billed_rcu"] * p["dynamodb_read_request_unit"],
        "lambda": invocations * p["lambda_request"]
        + n * seconds * a["arbiter_memory_mb"] / 1024 * p["lambda_arm64_gb_second"],
        "eventbridge": n * p["eventbridge_custom_event"],
        "sqs": n * a["sqs_requests_per_message"] * p["sqs_standard_request"],
        "cloudwatch_logs": n * log_bytes / 2**30 * p["cloudwatch_logs_ingestion_gb"],
        "xray": traces * p["xray_trace_recorded"],
        "secrets_manager": secret_calls * p["secrets_manager_api_call"],
        "ssm": 0.0,
    }
    return {
        "total": round(sum(by_service.values()), 4),
        "by_service": {k: round(v, 4) for k, v in by_service.items()},
        "lambda_billed_ms_per_decision": round(seconds * 1000, 2),
        "billed_wcu_per_decision": path["billed_wcu"],
        "billed_rcu_per_decision": path["billed_rcu"],
        "log_bytes_per_decision": log_bytes,
    }


def cost(paths: dict[str, Any], log_bytes: float) -> dict[str, Any]:
    send = per_million(paths["send"], log_bytes, send=True)
    suppress = per_million(paths["suppress"], log_bytes, send=False)
    return {
        "total": send["total"],
        "by_service": send["by_service"],
        "send_path": send,
        "suppress_path": suppress,
        "excluded": [
            "SES and SNS delivery fees",
            "CloudWatch custom metrics (billed per metric per month, not per request)",
            "the sweeper's due-index queries (a fixed rate a minute, not per request)",
            "storage (request items expire with the audit retention)",
            "KMS requests for the table's AWS-managed key (DynamoDB caches the data key)",
        ],
        "prices": {k: {**v, "looked_up": LOOKED_UP} for k, v in PRICES.items()},
        "assumptions": ASSUMPTIONS,
    }
