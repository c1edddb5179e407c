"""Validated settings per function, read once from the environment.

Each function's settings model lists exactly the variables it reads; the infrastructure test checks that the
synthesized template sets those on that function and nothing else. A missing or malformed variable fails fast
with a message naming it: there are no silent defaults.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from email.utils import parseaddr
from typing import ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from baton.core.errors import ConfigurationError
from baton.names import Env

# Read by aws-lambda-powertools and pydantic themselves, set on every function.
LIBRARY_ENV: tuple[str, ...] = (
    Env.POWERTOOLS_SERVICE_NAME,
    Env.POWERTOOLS_METRICS_NAMESPACE,
    Env.POWERTOOLS_LOG_LEVEL,
    Env.PYDANTIC_DISABLE_PLUGINS,
)


class _Settings(BaseModel):
    # each function validates its own settings model at its start; the others' validators are never built there
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore", defer_build=True)
    function: ClassVar[str]

    @classmethod
    def env_names(cls) -> tuple[str, ...]:
        """Every environment variable this function reads (its own, powertools' and pydantic's)."""
        own = tuple(str(f.alias) for f in cls.model_fields.values())
        return own + LIBRARY_ENV


class _LedgerSettings(_Settings):
    """What every function that reads or writes customer data needs: the table, the address salt's secret and how
    long audit records live."""

    table_name: str = Field(alias=Env.TABLE_NAME, min_length=3)
    salt_secret: str = Field(alias=Env.SALT_SECRET, min_length=1)
    audit_retention_days: int = Field(alias=Env.AUDIT_RETENTION_DAYS, ge=1, le=3650)


class ArbiterSettings(_LedgerSettings):
    function = "arbiter"
    signing_secret: str = Field(alias=Env.SIGNING_SECRET, min_length=1)  # signs the unsubscribe links
    policy_parameter: str = Field(alias=Env.POLICY_PARAMETER, min_length=1)
    sender: str = Field(alias=Env.SENDER, min_length=3)
    ses_configuration_set: str = Field(alias=Env.SES_CONFIGURATION_SET, min_length=1)
    unsubscribe_url: str = Field(alias=Env.UNSUBSCRIBE_URL, pattern=r"^https://")
    # optional: with it, List-Unsubscribe also offers a mailto target
    unsubscribe_mailto: str | None = Field(default=None, alias=Env.UNSUBSCRIBE_MAILTO)
    # optional: the template store's bucket (the stack always sets it); without it, the set shipped in the layer
    templates_bucket: str | None = Field(default=None, alias=Env.TEMPLATES_BUCKET, min_length=3)

    @field_validator("sender")
    @classmethod
    def _ascii_address(cls, value: str) -> str:
        address = parseaddr(value)[1]
        if "@" not in address or not address.isascii():
            raise ValueError("must be an ASCII email address, optionally with a display name: Name <a@b.example>")
        return value


class ProfileSettings(_LedgerSettings):
    function = "profile"
    policy_parameter: str = Field(alias=Env.POLICY_PARAMETER, min_length=1)  # a recorded contact's category


class UnsubscribeSettings(_LedgerSettings):
    function = "unsubscribe"
    signing_secret: str = Field(alias=Env.SIGNING_SECRET, min_length=1)  # verifies the tokens


class PreferencesSettings(_LedgerSettings):
    function = "preferences"


class FeedbackSettings(_LedgerSettings):
    function = "feedback"
    policy_parameter: str = Field(alias=Env.POLICY_PARAMETER, min_length=1)


class PreviewSettings(_LedgerSettings):
    function = "preview"
    policy_parameter: str = Field(alias=Env.POLICY_PARAMETER, min_length=1)
    templates_bucket: str | None = Field(default=None, alias=Env.TEMPLATES_BUCKET, min_length=3)  # as the arbiter's


class SweeperSettings(_Settings):
    function = "sweeper"
    table_name: str = Field(alias=Env.TABLE_NAME, min_length=3)
    arbiter_queue_url: str = Field(alias=Env.ARBITER_QUEUE_URL, min_length=1)


ALL_SETTINGS: tuple[type[_Settings], ...] = (
    ArbiterSettings,
    ProfileSettings,
    SweeperSettings,
    UnsubscribeSettings,
    PreferencesSettings,
    FeedbackSettings,
    PreviewSettings,
)

S = TypeVar("S", bound=_Settings)


def load_settings(model: type[S], environ: Mapping[str, str] | None = None) -> S:
    """Build ``model`` from the environment or raise ConfigurationError naming every bad variable."""
    env = os.environ if environ is None else environ
    own = {str(f.alias) for f in model.model_fields.values()}
    required = {str(f.alias) for f in model.model_fields.values() if f.is_required()}
    missing = sorted(name for name in required if not env.get(name))
    if missing:
        raise ConfigurationError(f"{model.function}: missing environment variable(s): {', '.join(missing)}")
    try:
        return model.model_validate({name: env[name] for name in own if env.get(name)})
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"{model.function}: bad environment: {problems}") from exc
