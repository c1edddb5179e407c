"""Fault injection over the real AWS clients: test code only, nothing in Baton knows it is there.

Every botocore client (boto3's for SES, SNS and SQS, and the one pynamodb builds for itself) sends its requests
through ``botocore.client.BaseClient._make_api_call``. ``inject(plan)`` wraps that method for the duration of a
``with`` block; on each call the plan may answer with a fault:

- ``throttle``: the service's throttling error (a ``ClientError`` with its code, as after botocore's retries);
- ``server_error``: a 500 ``InternalFailure`` / ``InternalServerError``;
- ``timeout``: ``botocore.exceptions.ReadTimeoutError`` after the real call was applied: the request reached
  the service and the answer was lost (the harder case: a write happened that the caller does not know of);
- ``crash_before`` / ``crash_after``: the function dies (timeout, out of memory, host lost) just before the
  call, or just after the real call has been applied. ``Crash`` is a ``BaseException``, so neither Baton nor
  the batch processor (which catches ``Exception``) can swallow it: the whole invocation ends, as it would.

A plan picks its faults at chosen points (service, operation, nth call of that operation) and/or at random with
probability ``p`` from a seed. Calls count only on threads that are *armed* (``plan.armed()``) when the plan
is scoped, so the machinery that plays SQS's part (receive, delete) is not the function's and is not faulted.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError, ReadTimeoutError

THROTTLE = "throttle"
SERVER_ERROR = "server_error"
TIMEOUT = "timeout"
CRASH_BEFORE = "crash_before"
CRASH_AFTER = "crash_after"
KINDS = (THROTTLE, SERVER_ERROR, TIMEOUT, CRASH_BEFORE, CRASH_AFTER)
ERRORS = (THROTTLE, SERVER_ERROR, TIMEOUT)

# What each service answers when it throttles (code, HTTP status)
THROTTLE_CODES = {
    "dynamodb": ("ProvisionedThroughputExceededException", 400),
    "sesv2": ("TooManyRequestsException", 429),
    "sns": ("Throttling", 400),
    "sqs": ("ThrottlingException", 400),
}
SERVER_CODES = {
    "dynamodb": ("InternalServerError", 500),
    "sesv2": ("InternalFailure", 500),
    "sns": ("InternalError", 500),
    "sqs": ("InternalFailure", 500),
}


class Crash(BaseException):
    """The function died at this point (Lambda timeout, out of memory, host failure)."""


@dataclass(frozen=True)
class At:
    """A chosen point: the ``nth`` call (1-based) of ``service``'s ``operation`` fails with ``kind``."""

    service: str
    operation: str
    nth: int
    kind: str


@dataclass(frozen=True)
class Injected:
    service: str
    operation: str
    kind: str


class FaultPlan:
    """Which calls fail, and how. ``probability`` with ``seed`` fails calls at random (kinds drawn uniformly
    from ``kinds``); ``points`` fail chosen calls; ``services`` limits both to those services."""

    def __init__(
        self,
        *,
        points: Iterable[At] = (),
        probability: float = 0.0,
        seed: int = 0,
        kinds: Iterable[str] = KINDS,
        services: Iterable[str] | None = None,
        scoped: bool = False,
    ):
        self.points = {(p.service, p.operation, p.nth): p.kind for p in points}
        self.probability = probability
        self.kinds = tuple(kinds)
        unknown = set(self.kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}")
        self.services = None if services is None else frozenset(services)
        self.scoped = scoped
        self.enabled = True
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._local = threading.local()
        self.calls: Counter[tuple[str, str]] = Counter()
        self.injected: list[Injected] = []

    @contextmanager
    def armed(self) -> Iterator[None]:
        """Calls on this thread inside the block are the function's: they count and may fail."""
        before = getattr(self._local, "armed", False)
        self._local.armed = True
        try:
            yield
        finally:
            self._local.armed = before

    def choose(self, service: str, operation: str) -> str | None:
        if not self.enabled or (self.scoped and not getattr(self._local, "armed", False)):
            return None
        if self.services is not None and service not in self.services:
            return None
        with self._lock:
            self.calls[(service, operation)] += 1
            kind = self.points.get((service, operation, self.calls[(service, operation)]))
            if kind is None and self.probability > 0 and self._random.random() < self.probability:
                kind = self._random.choice(self.kinds)
            if kind is not None:
                self.injected.append(Injected(service, operation, kind))
            return kind

    def count(self, kind: str | None = None) -> int:
        return sum(1 for i in self.injected if kind is None or i.kind == kind)


def client_error(service: str, operation: str, kind: str) -> ClientError:
    code, status = (THROTTLE_CODES if kind == THROTTLE else SERVER_CODES).get(service, ("InternalFailure", 500))
    response: Any = {
        "Error": {"Code": code, "Message": f"injected {kind}"},
        "ResponseMetadata": {"HTTPStatusCode": status, "RetryAttempts": 0},
    }
    return ClientError(response, operation)


_install_lock = threading.Lock()
_CLIENT: Any = BaseClient  # every botocore client's class: its _make_api_call is what the plan wraps


@contextmanager
def inject(plan: FaultPlan) -> Iterator[FaultPlan]:
    """Wrap every botocore client's API call with ``plan`` for the duration of the block (not re-entrant)."""
    real = _CLIENT._make_api_call

    def faulty(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        kind = plan.choose(service, operation_name)
        if kind is None:
            return real(self, operation_name, api_params)
        if kind == CRASH_BEFORE:
            raise Crash(f"crash before {service}.{operation_name}")
        if kind == CRASH_AFTER:
            real(self, operation_name, api_params)
            raise Crash(f"crash after {service}.{operation_name}")
        if kind == TIMEOUT:
            real(self, operation_name, api_params)
            raise ReadTimeoutError(endpoint_url=f"https://{service}.injected")
        raise client_error(service, operation_name, kind)

    with _install_lock:
        if getattr(_CLIENT._make_api_call, "_fault_plan", None) is not None:
            raise RuntimeError("a fault plan is already injected")
        faulty._fault_plan = plan  # type: ignore[attr-defined]
        _CLIENT._make_api_call = faulty
    try:
        yield plan
    finally:
        with _install_lock:
            _CLIENT._make_api_call = real
