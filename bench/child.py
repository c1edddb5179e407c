"""What runs in a fresh interpreter, as Lambda would start one (``python -m bench.child MODE FUNCTION OUT``).

Only the standard library is imported before the clock starts; the result is written as JSON to OUT (stdout is
the function's log stream, which the parent counts).

- ``baton F``: import F's handler module, then initialise it: the composition root (settings, keys secret,
  clients, adapters) and the DynamoDB clients the ledger otherwise creates on its first call; then count the
  botocore sessions this made.
- ``bare F``: import boto3, create the clients F needs and, where F reads the keys secret, read it too.
- ``libraries F``: import the libraries F's handler loaded (every module outside the standard library and Baton
  that the ``baton`` child listed, in its order; ``BENCH_LIBRARIES`` names the file), with the cycle collector
  paused by ``baton.entry.startup`` as in Baton's handlers, then do what ``bare F`` does: the floor of Baton's
  library stack, with none of Baton's code.
- ``batch arbiter``: import the arbiter handler and handle one SQS batch (customers from BENCH_BATCH, one
  request each) through the real composition root; then report peak RSS (``ru_maxrss``).
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

# Which clients each function creates: (service names, reads the keys secret)
BARE = {
    "arbiter": (("sesv2", "sns", "dynamodb"), True),
    "profile": (("dynamodb",), True),
    "sweeper": (("dynamodb", "sqs"), False),
}


def _ledger_clients(ledger: Any, transactions: bool) -> None:
    """pynamodb builds its botocore clients on first use: one for the table's model, one for transactions."""
    ledger._m.item._get_connection().connection.client  # noqa: B018 - property access creates the client
    if transactions:
        ledger._m.connection.client  # noqa: B018


def baton(function: str) -> dict[str, Any]:
    import importlib

    began = time.perf_counter()
    importlib.import_module(f"functions.{function}.handler")
    imported = time.perf_counter()
    from baton.entry import composition as runtime

    frozen_by_start = gc.get_freeze_count()
    if function == "arbiter":
        _ledger_clients(runtime.arbiter_service().ledger, True)
    elif function == "profile":
        _ledger_clients(runtime.profile_parts().ledger, True)
    else:
        _ledger_clients(runtime.sweeper_parts().ledger, False)
    ready = time.perf_counter()
    frozen_by_root = gc.get_freeze_count() - frozen_by_start  # before the session count unfreezes
    return {
        "import_s": imported - began,
        "init_s": ready - imported,
        "sessions": _botocore_sessions(),
        "libraries": _libraries(),
        "models_built": _models_built(),
        "frozen_by_root": frozen_by_root,
    }


def _models_built() -> list[str]:
    """The contract and settings models whose validators the start built (each defers its build, and a function
    builds the ones it validates: a model missing here is built on the first event, one too many is a cost)."""
    from pydantic import BaseModel

    return sorted(
        name
        for module in ("baton.contract", "baton.entry.settings")
        if module in sys.modules
        for name, value in vars(sys.modules[module]).items()
        if isinstance(value, type)
        and issubclass(value, BaseModel)
        and value.__module__ == module
        and not name.startswith("_")
        and value.__pydantic_complete__
    )


OWN = {"baton", "functions", "bench", "__main__"}


def _libraries() -> list[str]:
    """The modules loaded outside the standard library and Baton, in the order they were first imported."""
    return [
        name
        for name, module in list(sys.modules.items())
        if module is not None
        and name.partition(".")[0] not in OWN
        and name.partition(".")[0] not in sys.stdlib_module_names
    ]


def libraries(function: str) -> dict[str, Any]:
    import importlib

    with open(os.environ["BENCH_LIBRARIES"], encoding="utf-8") as handle:
        names = json.load(handle)
    began = time.perf_counter()
    from baton.entry import startup  # the handlers' own collector pause (LAMBDA_TASK_ROOT is set here too)

    startup.begin()
    failed = 0
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:  # a name some library put in sys.modules that cannot be imported by itself
            failed += 1
    startup.end()
    imported = time.perf_counter()
    _bare_clients(function)
    ready = time.perf_counter()
    return {"import_s": imported - began, "init_s": ready - imported, "modules": len(names), "failed": failed}


def _botocore_sessions() -> int:
    """botocore sessions alive after the start (counted once the clock has stopped): each loads the SDK's
    endpoint data again, so Baton's functions should hold one."""
    from botocore.session import Session

    gc.unfreeze()  # the handler froze what it loaded (baton.entry.startup), and frozen objects are not listed
    return sum(isinstance(o, Session) for o in gc.get_objects())


def bare(function: str) -> dict[str, float]:
    began = time.perf_counter()
    import boto3  # noqa: F401 - the import is what is timed

    imported = time.perf_counter()
    _bare_clients(function)
    ready = time.perf_counter()
    return {"import_s": imported - began, "init_s": ready - imported}


def _bare_clients(function: str) -> None:
    import boto3

    services, secret = BARE[function]
    for service in services:
        boto3.client(service)  # type: ignore[call-overload]
    if secret:
        value = boto3.client("secretsmanager").get_secret_value(SecretId=os.environ["BATON_SALT_SECRET"])
        json.loads(value["SecretString"])


class _Context:
    function_name = "baton-arbiter"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:baton-arbiter"
    aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def batch() -> dict[str, Any]:
    customers = os.environ["BENCH_BATCH"].split(",")
    now = datetime.now(UTC).isoformat()
    records = []
    for n, customer in enumerate(customers):
        detail = {
            "request_id": f"rss-{n}",
            "customer_id": customer,
            "channel": "email",
            "category": "promo",
            "campaign_id": "bench",
            "template": "sale",
            "data": {"headline": "Winter sale: 30% off coats", "url": "https://shop.example/sale/winter"},
        }
        body = {"id": str(uuid.uuid4()), "time": now, "source": "shop.bench", "detail-type": "MessageRequested"}
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "bench",
                "body": json.dumps({**body, "detail": detail}),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:baton-arbitration",
                "awsRegion": "us-east-1",
            }
        )
    began = time.perf_counter()
    from functions.arbiter.handler import lambda_handler

    imported = time.perf_counter()
    response = lambda_handler({"Records": records}, _Context())
    handled = time.perf_counter()
    sys.stdout.flush()
    return {
        "import_s": imported - began,
        "batch_s": handled - imported,
        "failures": len(response.get("batchItemFailures", [])),
        "records": len(records),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


class _Absent:
    """A meta path finder for the modules Lambda would not have (``BENCH_ABSENT``, from the parent): a library
    that imports one if it is there (pynamodb imports blinker, botocore awscrt) takes the path it takes in
    Lambda, and its import time is not counted."""

    def __init__(self, names: set[str]):
        self._names = names

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] in self._names:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the Lambda layer or runtime)", name=name)
        return None


def main(argv: list[str]) -> None:
    mode, function, out = argv
    absent = {n for n in os.environ.get("BENCH_ABSENT", "").split(",") if n}
    if absent:
        sys.meta_path.insert(0, _Absent(absent))
    if mode == "baton":
        result: dict[str, Any] = baton(function)
    elif mode == "bare":
        result = bare(function)
    elif mode == "libraries":
        result = libraries(function)
    else:
        result = batch()
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main(sys.argv[1:])
