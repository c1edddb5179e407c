"""The composition root in Lambda: settings read once, clients and adapters built once per container."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import cache, wraps
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from baton.adapters.aws import aws_client, aws_region, botocore_session
from baton.adapters.dynamodb.ledger import DynamoLedger
from baton.adapters.secrets import address_salt_from_secret, signing_keys_from_secret
from baton.adapters.sqs import SqsReleaseQueue
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

if TYPE_CHECKING:  # annotations only: each root imports what its function uses, at its first event
    from baton.app.arbiter import Arbiter
    from baton.app.fleet import FleetSchedule
    from baton.app.keys import SigningKeys
    from baton.app.ports import Ledger, PolicySource
    from baton.app.release import ReleaseQueue
    from baton.app.render import Renderer
    from baton.app.templates import TemplateSet, TemplateSource
    from baton.core.clock import Clock
    from baton.core.policy import Policy

R = TypeVar("R")


# What a function's composition root builds, when it is more than one thing (NamedTuples: a class costs a tenth of a
# frozen dataclass at a cold start, and the handlers unpack them as before).
class FeedbackParts(NamedTuple):
    ledger: Ledger
    policies: PolicySource
    clock: Clock


class ProfileParts(NamedTuple):
    ledger: Ledger
    policies: PolicySource


class PreviewParts(NamedTuple):
    ledger: Ledger
    policies: PolicySource
    renderer: Renderer
    holdout_key: bytes | None  # the address salt, which assigns the holdout group (baton.app.holdout)


class SweeperParts(NamedTuple):
    ledger: Ledger
    queue: ReleaseQueue
    clock: Clock
    fleet: FleetSchedule


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


class TemplatesOnFirstUse:
    """The template store in ``bucket``, built at the first render: the composition root (part of the cold start)
    imports no store adapter, makes no S3 client and reads nothing. A refused set is counted as
    ``TemplatesRejected``."""

    def __init__(self, bucket: str):
        self.bucket = bucket
        self.store: TemplateSource | None = None

    def current(self) -> TemplateSet:
        if self.store is None:
            from baton.adapters.template_store import StoreTemplates
            from baton.entry.observability import record_templates_rejected

            self.store = StoreTemplates(None, self.bucket, on_rejected=record_templates_rejected)
        return self.store.current()


def renderer(bucket: str | None) -> Renderer:
    """What renders a function's messages: the template store in ``bucket`` (read at the first render, then through
    its 60 s cache), or without a bucket the set shipped in the layer."""
    from baton.app.render import Renderer

    return Renderer(TemplatesOnFirstUse(bucket)) if bucket else Renderer()


def _ledger(table_name: str, retention_days: int, salt_secret: str) -> DynamoLedger:
    return DynamoLedger(
        table_name,
        retention=timedelta(days=retention_days),
        region=_region(),
        salt=address_salt_from_secret(salt_secret),
        session=botocore_session(),
    )


@_root
def arbiter_service() -> Arbiter:
    from baton.adapters.channels import AwsChannels
    from baton.adapters.policy_source import ParameterPolicy
    from baton.app.arbiter import Arbiter
    from baton.app.unsubscribe import Links
    from baton.contract import EventEnvelope, MessageRequested, build
    from baton.entry.observability import record_outcome

    settings = load_settings(ArbiterSettings)
    build(EventEnvelope, MessageRequested)
    ledger = _ledger(settings.table_name, settings.audit_retention_days, settings.salt_secret)
    return Arbiter(
        ledger=ledger,
        channels=AwsChannels(
            aws_client("sesv2"),
            aws_client("sns"),
            sender=settings.sender,
            configuration_set=settings.ses_configuration_set,
        ),
        policies=ParameterPolicy(settings.policy_parameter),
        clock=SystemClock(),
        observer=record_outcome,
        renderer=renderer(settings.templates_bucket),
        # the signing keys are read at the first link made, not at the cold start (one secret read, as before)
        links=Links(
            url=settings.unsubscribe_url,
            keys=lambda: signing_keys_from_secret(settings.signing_secret),
            mailto=settings.unsubscribe_mailto,
        ),
        # the holdout group is keyed by the address salt, never rotated (the ledger's read cached it just now)
        holdout_key=address_salt_from_secret(settings.salt_secret),
    )


class PolicyOnFirstUse:
    """The policy parameter, read when an event first needs it: the profile function needs the policy only for a
    ContactRecorded, so its start loads no policy model and reads no parameter."""

    def __init__(self, name: str):
        self._name = name
        self._source: PolicySource | None = None

    def current(self) -> Policy:
        if self._source is None:
            from baton.adapters.policy_source import ParameterPolicy

            self._source = ParameterPolicy(self._name)
        return self._source.current()


@_root
def profile_parts() -> ProfileParts:
    from baton.contract import ContactRecorded, CustomerErased, CustomerUpdated, EventEnvelope, build

    settings = load_settings(ProfileSettings)
    # CustomerEngaged is built at its first event (defer_build), not at the start: the start stays as it was
    build(EventEnvelope, CustomerUpdated, CustomerErased, ContactRecorded)
    ledger = _ledger(settings.table_name, settings.audit_retention_days, settings.salt_secret)
    return ProfileParts(ledger, PolicyOnFirstUse(settings.policy_parameter))


@cache
def unsubscribe_settings() -> UnsubscribeSettings:
    return load_settings(UnsubscribeSettings)


def unsubscribe_keys() -> SigningKeys:
    """The keys that verify tokens, from their secret's cache: a token is checked before the ledger (and the salt)
    is read, so a forged one costs no salt read and no DynamoDB client."""
    return signing_keys_from_secret(unsubscribe_settings().signing_secret)


@_root
def unsubscribe_ledger() -> Ledger:
    settings = unsubscribe_settings()
    return _ledger(settings.table_name, settings.audit_retention_days, settings.salt_secret)


@_root
def preferences_ledger() -> Ledger:
    from baton.contract import CustomerUpdated, build

    settings = load_settings(PreferencesSettings)
    build(CustomerUpdated)
    return _ledger(settings.table_name, settings.audit_retention_days, settings.salt_secret)


@_root
def feedback_parts() -> FeedbackParts:
    from baton.adapters.policy_source import ParameterPolicy
    from baton.contract import EventEnvelope, build

    settings = load_settings(FeedbackSettings)
    build(EventEnvelope)
    ledger = _ledger(settings.table_name, settings.audit_retention_days, settings.salt_secret)
    return FeedbackParts(ledger, ParameterPolicy(settings.policy_parameter), SystemClock())


@_root
def preview_parts() -> PreviewParts:
    from baton.adapters.policy_source import ParameterPolicy
    from baton.contract import MessageRequested, build

    settings = load_settings(PreviewSettings)
    build(MessageRequested)
    ledger = _ledger(settings.table_name, settings.audit_retention_days, settings.salt_secret)
    # the salt's secret was read for the ledger just now: this is its cached value
    salt = address_salt_from_secret(settings.salt_secret)
    return PreviewParts(ledger, ParameterPolicy(settings.policy_parameter), renderer(settings.templates_bucket), salt)


@_root
def sweeper_parts() -> SweeperParts:
    from baton.app.fleet import FleetSchedule

    settings = load_settings(SweeperSettings)
    clock = SystemClock()
    ledger = DynamoLedger(
        settings.table_name, retention=timedelta(days=1), region=_region(), session=botocore_session()
    )
    queue = SqsReleaseQueue(aws_client("sqs"), settings.arbiter_queue_url, clock)
    return SweeperParts(ledger, queue, clock, FleetSchedule())
