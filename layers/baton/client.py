"""``baton.client``: how a storefront system in Python puts events on Baton's bus.

    from baton.client import BatonClient

    baton = BatonClient(source="shop.automation")
    entry = baton.message_requested(request_id="cart-987-r1", customer_id="shopper-42", channel="email",
                                    category="cart_abandoned", template="cart_abandoned", data={...})
    baton.put([entry]).raise_for_failures()

The builders validate with the same contract models Baton validates with, and raise InvalidRequest naming the
field before anything is sent. ``put`` sends in PutEvents calls of at most 10 entries and under 256 KB, retries
only the entries that failed with a retryable error (per entry: InternalFailure, ThrottlingException; per call:
throttling, 5xx, connection errors) with exponential backoff and full jitter, for a bounded number of attempts,
and returns every entry's outcome: put with its event id, or failed with its error code. None is lost silently.

A retried entry can arrive twice (a timeout after EventBridge accepted the call); that is safe because Baton
treats the same ``request_id`` as the same request.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError

from baton.contract import CustomerUpdated, MessageRequested, parse_detail
from baton.core.errors import BatonError, InvalidRequest
from baton.names import BUS_NAME, DETAIL_CUSTOMER_UPDATED, DETAIL_MESSAGE_REQUESTED

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

MAX_BATCH_ENTRIES = 10  # PutEvents takes at most 10 entries per call
MAX_BATCH_BYTES = 256 * 1024  # and their total size must be less than 256 KB (sized as EventBridge sizes them)
MAX_SOURCE_LENGTH = 256

# Per-entry error codes EventBridge documents as retryable; every other code is final (AccessDeniedException,
# InvalidArgument, MalformedDetail, NotAuthorizedForSourceException, ...).
RETRYABLE_ENTRY_CODES = frozenset({"InternalFailure", "ThrottlingException"})
# Whole-call errors worth another attempt (besides any HTTP 5xx), after botocore's own retries gave up.
RETRYABLE_CALL_CODES = frozenset(
    {"ThrottlingException", "Throttling", "InternalException", "InternalFailure", "ServiceUnavailable"}
)
ENTRY_TOO_LARGE = "EntryTooLarge"  # Baton's code for an entry that alone exceeds a call's size: never sent


@dataclass(frozen=True)
class Entry:
    """One validated event, ready for PutEvents. ``key`` names it in reports (request_id or customer_id)."""

    detail_type: str
    detail: str  # JSON
    source: str
    bus_name: str
    key: str

    @property
    def size(self) -> int:
        """The entry's size as EventBridge counts it: Source, DetailType and Detail as UTF-8 (no Time, no
        Resources)."""
        return sum(len(part.encode()) for part in (self.source, self.detail_type, self.detail))

    def request(self) -> PutEventsRequestEntryTypeDef:
        return {
            "Source": self.source,
            "DetailType": self.detail_type,
            "Detail": self.detail,
            "EventBusName": self.bus_name,
        }

    def __str__(self) -> str:
        return f"{self.detail_type} {self.key}"


@dataclass(frozen=True)
class EntryResult:
    entry: Entry
    event_id: str | None  # set when put
    error_code: str | None  # set when not put: EventBridge's code (or the SDK's, or EntryTooLarge)
    error_message: str | None
    attempts: int

    @property
    def ok(self) -> bool:
        return self.event_id is not None


@dataclass(frozen=True)
class PutResult:
    """Every entry's outcome, in the order the entries were given."""

    results: tuple[EntryResult, ...]
    calls: int  # PutEvents calls made

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)

    @property
    def failed(self) -> tuple[EntryResult, ...]:
        return tuple(result for result in self.results if not result.ok)

    @property
    def event_ids(self) -> list[str | None]:
        return [result.event_id for result in self.results]

    def raise_for_failures(self) -> None:
        if self.failed:
            raise EntriesNotPut(self.failed)


class EntriesNotPut(BatonError):
    """Some entries could not be put; ``failed`` holds each with its error code."""

    def __init__(self, failed: Sequence[EntryResult]):
        self.failed = tuple(failed)
        shown = "; ".join(f"{r.entry}: {r.error_code} ({r.error_message})" for r in self.failed[:10])
        more = f"; and {len(self.failed) - 10} more" if len(self.failed) > 10 else ""
        super().__init__(f"{len(self.failed)} entr{'y' if len(self.failed) == 1 else 'ies'} not put: {shown}{more}")


def batches(entries: Sequence[Entry], indices: Iterable[int]) -> Iterator[list[int]]:
    """The entries at ``indices``, in order, grouped into calls of at most 10 entries and under 256 KB."""
    batch: list[int] = []
    size = 0
    for index in indices:
        entry_size = entries[index].size
        if batch and (len(batch) == MAX_BATCH_ENTRIES or size + entry_size >= MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(index)
        size += entry_size
    if batch:
        yield batch


@dataclass(frozen=True)
class _Attempt:
    event_id: str | None
    code: str | None
    message: str | None
    retryable: bool


class BatonClient:
    """Builds contract-valid events and puts them on Baton's bus.

    ``events_client``: a boto3 EventBridge client (default: one created on first use, with botocore's standard
    retries). ``sleep`` and ``jitter`` (a random number in [0, 1)) are the backoff's clock and dice.
    """

    def __init__(
        self,
        source: str,
        *,
        bus_name: str = BUS_NAME,
        events_client: EventBridgeClient | None = None,
        max_attempts: int = 5,
        base_delay: float = 0.1,
        max_delay: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ):
        if not source or len(source) > MAX_SOURCE_LENGTH:
            raise InvalidRequest("source", f"must be 1 to {MAX_SOURCE_LENGTH} characters")
        if source.startswith("aws."):
            raise InvalidRequest("source", "sources starting with 'aws.' are reserved for AWS services")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.source = source
        self.bus_name = bus_name
        self._events = events_client
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._sleep = sleep
        self._jitter = jitter

    # -- building ----------------------------------------------------------------------------------------------

    def message_requested(self, **fields: Any) -> Entry:
        """A MessageRequested entry (fields as in the README's event contract). InvalidRequest names a bad field."""
        detail = parse_detail(MessageRequested, fields)
        return self._entry(DETAIL_MESSAGE_REQUESTED, detail, detail.request_id)

    def customer_updated(self, **fields: Any) -> Entry:
        """A CustomerUpdated entry: ``customer_id`` and the fields to replace. InvalidRequest names a bad field."""
        detail = parse_detail(CustomerUpdated, fields)
        return self._entry(DETAIL_CUSTOMER_UPDATED, detail, detail.customer_id)

    def _entry(self, detail_type: str, detail: BaseModel, key: str) -> Entry:
        # only what the caller set: Baton applies the contract's defaults itself, so they are never forced here
        try:
            body = detail.model_dump_json(exclude_unset=True, exclude_none=True)
        except PydanticSerializationError as exc:  # only ``data`` holds arbitrary values
            raise InvalidRequest("data", f"not JSON-serialisable: {exc}") from None
        return Entry(detail_type=detail_type, detail=body, source=self.source, bus_name=self.bus_name, key=key)

    # -- sending -----------------------------------------------------------------------------------------------

    @property
    def events(self) -> EventBridgeClient:
        if self._events is None:
            import boto3

            from baton.adapters.aws import client_config

            self._events = boto3.client("events", config=client_config())  # the storefront's default session
        return self._events

    def put(self, entries: Iterable[Entry]) -> PutResult:
        """Put the entries; retry those that failed retryably. Never raises for an entry: see the result."""
        items = list(entries)
        final: dict[int, tuple[_Attempt, int]] = {}
        pending: list[int] = []
        for index, entry in enumerate(items):
            if entry.size >= MAX_BATCH_BYTES:
                message = f"{entry.size} bytes: a PutEvents call takes less than {MAX_BATCH_BYTES}"
                final[index] = (_Attempt(None, ENTRY_TOO_LARGE, message, retryable=False), 0)
            else:
                pending.append(index)
        calls = 0
        for attempt in range(1, self.max_attempts + 1):
            if not pending:
                break
            if attempt > 1:
                self._sleep(self.backoff(attempt - 1))
            retry: list[int] = []
            for batch in batches(items, pending):
                calls += 1
                for index, outcome in zip(batch, self._send([items[i] for i in batch]), strict=True):
                    if outcome.retryable and attempt < self.max_attempts:
                        retry.append(index)
                    else:
                        final[index] = (outcome, attempt)
            pending = retry
        results = tuple(
            EntryResult(items[i], final[i][0].event_id, final[i][0].code, final[i][0].message, final[i][1])
            for i in range(len(items))
        )
        return PutResult(results, calls)

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1, 2, ...): full jitter over an exponential ceiling."""
        return self._jitter() * min(self.max_delay, self.base_delay * 2 ** (retry - 1))

    def _send(self, batch: list[Entry]) -> list[_Attempt]:
        from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

        try:
            response = self.events.put_events(Entries=[entry.request() for entry in batch])
        except ClientError as exc:
            error = exc.response.get("Error", {})
            call_code = error.get("Code", "Unknown")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            retryable = call_code in RETRYABLE_CALL_CODES or status >= 500
            return [_Attempt(None, call_code, error.get("Message", str(exc)), retryable)] * len(batch)
        except (ConnectionError, HTTPClientError) as exc:  # connection refused or reset, timeouts
            return [_Attempt(None, type(exc).__name__, str(exc), retryable=True)] * len(batch)
        except BotoCoreError as exc:  # no credentials, no region, invalid parameters: another try cannot help
            return [_Attempt(None, type(exc).__name__, str(exc), retryable=False)] * len(batch)
        answers = list(response.get("Entries", []))
        out: list[_Attempt] = []
        for position in range(len(batch)):
            answer = answers[position] if position < len(answers) else {}
            event_id, code = answer.get("EventId"), answer.get("ErrorCode")
            if event_id and not code:
                out.append(_Attempt(event_id, None, None, retryable=False))
            elif code:
                out.append(_Attempt(None, code, answer.get("ErrorMessage"), code in RETRYABLE_ENTRY_CODES))
            else:  # the API answers every entry; should it not, say so rather than assume
                out.append(_Attempt(None, "NoResult", "PutEvents returned no result for this entry", True))
        return out
