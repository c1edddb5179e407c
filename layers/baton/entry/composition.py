"""The composition root in Lambda: settings read once, clients and adapters built once per container."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import cache, wraps
from typing import Any, TypeVar

from baton.adapters.aws import aws_client, aws_region, botocore_session
from baton.adapters.dynamodb import DynamoLedger
from baton.adapters.secrets import keys_from_secret
from baton.app.release import release_event
from baton.core.clock import SystemClock
from baton.entry import startup
from baton.entry.settings import (
    ArbiterSettings,
    FeedbackSettings,
    PreferencesSettings,
    PreviewSettings,
    ProfileSettings,
    SweeperSettings,
    UnsubscribeSettings,
    load_settings,
)

R = TypeVar("R")


def _root(build: Callable[[], R]) -> Callable[[], R]:
    """A composition root: built once per container (on its first event), and then frozen out of the cycle
    collector's walks like the handler's own start (``baton.entry.startup``)."""

    @cache
    @wraps(build)
    def once() -> R:
        made = build()
        startup.settled()
        return made

    return once


def _region() -> str:
    region = aws_region()
    if not region:
        from baton.core.errors import ConfigurationError

        raise ConfigurationError("no AWS region (AWS_REGION is set by Lambda; set AWS_DEFAULT_REGION locally)")
    return region


def _ledger(table_name: str, retention_days: int, keys_secret: str) -> DynamoLedger:
    return DynamoLedger(
        table_name,
        retention=timedelta(days=retention_days),
        region=_region(),
        salt=keys_from_secret(keys_secret).address_salt,
        session=botocore_session(),
    )


@_root
def arbiter_service() -> Any:
    from baton.adapters.channels import AwsChannels
    from baton.adapters.policy_source import ParameterPolicy
    from baton.app.arbiter import Baton
    from baton.app.unsubscribe import Links
    from baton.contract import EventEnvelope, MessageRequested, build
    from baton.entry.observability import record_outcome

    settings = load_settings(ArbiterSettings)
    build(EventEnvelope, MessageRequested)
    keys = keys_from_secret(settings.keys_secret)
    return Baton(
        ledger=_ledger(settings.table_name, settings.audit_retention_days, settings.keys_secret),
        channels=AwsChannels(
            aws_client("sesv2"),
            aws_client("sns"),
            sender=settings.sender,
            configuration_set=settings.ses_configuration_set,
        ),
        policies=ParameterPolicy(settings.policy_parameter),
        clock=SystemClock(),
        observer=record_outcome,
        links=Links(url=settings.unsubscribe_url, key=keys.signing_key, mailto=settings.unsubscribe_mailto),
    )


@_root
def profile_ledger() -> DynamoLedger:
    from baton.contract import CustomerErased, CustomerUpdated, EventEnvelope, build

    settings = load_settings(ProfileSettings)
    build(EventEnvelope, CustomerUpdated, CustomerErased)
    return _ledger(settings.table_name, settings.audit_retention_days, settings.keys_secret)


@_root
def unsubscribe_parts() -> tuple[DynamoLedger, bytes]:
    settings = load_settings(UnsubscribeSettings)
    keys = keys_from_secret(settings.keys_secret)
    return _ledger(settings.table_name, settings.audit_retention_days, settings.keys_secret), keys.signing_key


@_root
def preferences_ledger() -> DynamoLedger:
    from baton.contract import CustomerUpdated, build

    settings = load_settings(PreferencesSettings)
    build(CustomerUpdated)
    return _ledger(settings.table_name, settings.audit_retention_days, settings.keys_secret)


@_root
def feedback_parts() -> tuple[DynamoLedger, Any]:
    from baton.adapters.policy_source import ParameterPolicy
    from baton.contract import EventEnvelope, build

    settings = load_settings(FeedbackSettings)
    build(EventEnvelope)
    ledger = _ledger(settings.table_name, settings.audit_retention_days, settings.keys_secret)
    return ledger, ParameterPolicy(settings.policy_parameter)


@_root
def preview_parts() -> tuple[DynamoLedger, Any]:
    from baton.adapters.policy_source import ParameterPolicy
    from baton.contract import MessageRequested, build

    settings = load_settings(PreviewSettings)
    build(MessageRequested)
    ledger = _ledger(settings.table_name, settings.audit_retention_days, settings.keys_secret)
    return ledger, ParameterPolicy(settings.policy_parameter)


class SqsReleaseQueue:
    """``baton.app.release.ReleaseQueue`` on the arbitration queue: ReleaseDue events, ten per call."""

    def __init__(self, sqs: Any, queue_url: str, clock: Any):
        self._sqs = sqs
        self._url = queue_url
        self._clock = clock

    def send(self, releases: list[tuple[str, str]]) -> None:
        now = self._clock.now().isoformat()
        for start in range(0, len(releases), 10):
            chunk = releases[start : start + 10]
            entries = [
                {"Id": str(i), "MessageBody": release_event(customer, request, now)}
                for i, (customer, request) in enumerate(chunk)
            ]
            response = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
            failed = response.get("Failed") or []
            if failed:
                from baton.core.errors import TransientFailure

                raise TransientFailure(f"{len(failed)} release message(s) not queued; the next sweep retries them")


@_root
def sweeper_parts() -> tuple[DynamoLedger, SqsReleaseQueue, SystemClock]:
    settings = load_settings(SweeperSettings)
    clock = SystemClock()
    ledger = DynamoLedger(
        settings.table_name, retention=timedelta(days=1), region=_region(), session=botocore_session()
    )
    return ledger, SqsReleaseQueue(aws_client("sqs"), settings.arbiter_queue_url, clock), clock
