"""What differs per deployment, read once from the CDK context and validated: a bad value fails synth with a
message naming the context key, never a silent default. Defaults that are good practice are written here and in
cdk.json; everything that names the deployer's own things (sender, accounts) comes from cdk.json or ``-c``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baton.core.errors import PolicyError
from baton.core.policy import Policy, default_policy_path, load_policy_file
from baton.names import StageNames, check_stage, stage_names

EMAIL = re.compile(r"^[^@\s<>]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$")
DOMAIN = re.compile(r"^([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$")
ACCOUNT = re.compile(r"^\d{12}$")
IAM_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(root|role/.+|user/.+)$")
SNS_TOPIC = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$")
LOG_LEVELS = ("DEBUG", "INFO", "WARN", "ERROR")
# the retention periods CloudWatch Logs accepts
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


class ConfigError(ValueError):
    """A context value that cannot be used; the message names the key."""


@dataclass(frozen=True)
class Config:
    stage: str | None
    names: StageNames  # of the stack and everything it names (``baton.names.stage_names``)
    sender: str
    domain: str | None
    producer_account_ids: tuple[str, ...]
    preferences_principals: tuple[str, ...]
    operator_principals: tuple[str, ...]
    policy_path: str
    policy: Policy
    max_concurrency: int
    audit_retention_days: int
    log_retention_days: int
    log_level: str
    deletion_protection: bool
    retain_data: bool
    signing_secret: str  # the unsubscribe signing keys (made by infra.keys, outside the stack)
    salt_secret: str  # the address salt (likewise)
    keys_secret: str  # the combined secret of before: infra.keys carries its keys over, the stack never reads it
    kms: bool  # a customer-managed KMS key for the table, queues, logs and secrets
    unsubscribe_concurrency: int  # reserved concurrency of the public unsubscribe function; 0: none reserved
    unsubscribe_mailto: str | None
    alarm_topic_arn: str | None


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"context {key}: expected a non-empty string, got {value!r}")
    return value.strip()


def _optional_text(value: Any, key: str) -> str | None:
    return None if value in (None, "") else _text(value, key)


def _given(value: Any, default: Any) -> Any:
    """``default`` when the key is absent (or empty on the command line), else the value as given."""
    return default if value is None or value == "" else value


def _int(value: Any, key: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"context {key}: expected an integer, got {value!r}") from None
    if isinstance(value, bool) or not low <= number <= high:
        raise ConfigError(f"context {key}: expected an integer from {low} to {high}, got {value!r}")
    return number


def _bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ConfigError(f"context {key}: expected true or false, got {value!r}")


def _list(value: Any, key: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    """A list from cdk.json, or from ``-c key=a,b`` / ``-c key='["a","b"]'`` on the command line."""
    if value in (None, ""):
        return ()
    if isinstance(value, str):
        text = value.strip()
        value = json.loads(text) if text.startswith("[") else [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"context {key}: expected a list of {what}, got {value!r}")
    bad = [v for v in value if not pattern.match(v)]
    if bad:
        raise ConfigError(f"context {key}: not {what}: {', '.join(bad)}")
    return tuple(dict.fromkeys(value))


def _stage(value: Any) -> str | None:
    """``-c stage=NAME``, put into every name so that several stacks can share an account and region; absent or
    empty: no stage, and the names are Baton's unstaged ones."""
    stage = _optional_text(value, "stage")
    if stage is None:
        return None
    try:
        return check_stage(stage)
    except ValueError as exc:
        raise ConfigError(f"context stage: {exc}") from None


def _policy(path: str) -> Policy:
    if not Path(path).is_file():
        raise ConfigError(f"context policy: no policy file at {path}")
    try:
        return load_policy_file(path)
    except PolicyError as exc:
        raise ConfigError(f"context policy: {exc}") from None


def _lookup(get: Callable[[str], Any] | Mapping[str, Any]) -> Callable[[str], Any]:
    return get.get if isinstance(get, Mapping) else get


def secret_name(get: Callable[[str], Any] | Mapping[str, Any], key: str) -> str:
    """A key secret's name (``signing_secret``, ``salt_secret``, or ``keys_secret``, the combined secret of before):
    the context value if given, else the stage's (``baton/signing-keys``, ``baton/<stage>/signing-keys`` ...).
    ``infra.keys`` creates the secrets under these names before the deploy, so they must be the names the stack
    reads."""
    lookup = _lookup(get)
    default = getattr(stage_names(_stage(lookup("stage"))), key)
    return _text(_given(lookup(key), default), key)


def keys_secret(get: Callable[[str], Any] | Mapping[str, Any]) -> str:
    return secret_name(get, "keys_secret")


def kms_enabled(get: Callable[[str], Any] | Mapping[str, Any]) -> bool:
    """``-c kms=true``: a customer-managed KMS key for the table, queues, log groups and key secrets."""
    return _bool(_given(_lookup(get)("kms"), False), "kms")


def deployment_names(get: Callable[[str], Any] | Mapping[str, Any]) -> StageNames:
    return stage_names(_stage(_lookup(get)("stage")))


def load_config(get: Callable[[str], Any] | Mapping[str, Any]) -> Config:
    """The deployment's configuration from a context getter (``node.try_get_context``) or a plain mapping."""
    lookup = _lookup(get)

    stage = _stage(lookup("stage"))
    sender = _text(lookup("sender"), "sender")
    if not EMAIL.match(sender) or not sender.isascii():  # an SES identity, written as is in the From header
        raise ConfigError(f"context sender: expected an ASCII email address, got {sender!r}")
    domain = _optional_text(lookup("domain"), "domain")
    if domain is not None:
        if not DOMAIN.match(domain):
            raise ConfigError(f"context domain: expected a domain name, got {domain!r}")
        if not sender.lower().endswith("@" + domain.lower()):
            raise ConfigError(f"context sender: {sender} is not an address at the domain {domain}")
    mailto = _optional_text(lookup("unsubscribe_mailto"), "unsubscribe_mailto")
    if mailto is not None and not EMAIL.match(mailto):
        raise ConfigError(f"context unsubscribe_mailto: expected an email address, got {mailto!r}")
    alarm_topic = _optional_text(lookup("alarm_topic_arn"), "alarm_topic_arn")
    if alarm_topic is not None and not SNS_TOPIC.match(alarm_topic):
        raise ConfigError(f"context alarm_topic_arn: expected an SNS topic ARN, got {alarm_topic!r}")
    log_level = _text(_given(lookup("log_level"), "INFO"), "log_level").upper()
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"context log_level: expected one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    retention = _int(_given(lookup("log_retention_days"), 30), "log_retention_days", 1, 3653)
    if retention not in LOG_RETENTION_DAYS:
        raise ConfigError(
            f"context log_retention_days: CloudWatch Logs accepts {', '.join(map(str, LOG_RETENTION_DAYS))};"
            f" got {retention}"
        )
    removal = _text(_given(lookup("removal_policy"), "retain"), "removal_policy").lower()
    if removal not in ("retain", "destroy"):
        raise ConfigError(f"context removal_policy: expected retain or destroy, got {removal!r}")
    deletion_protection = lookup("deletion_protection")
    policy_path = _text(_given(lookup("policy"), default_policy_path()), "policy")

    return Config(
        stage=stage,
        names=stage_names(stage),
        sender=sender,
        domain=domain,
        producer_account_ids=_list(lookup("producer_account_ids"), "producer_account_ids", ACCOUNT, "account ids"),
        preferences_principals=_list(
            lookup("preferences_principals"), "preferences_principals", IAM_PRINCIPAL, "IAM role, user or root ARNs"
        ),
        operator_principals=_list(
            lookup("operator_principals"), "operator_principals", IAM_PRINCIPAL, "IAM role, user or root ARNs"
        ),
        policy_path=policy_path,
        policy=_policy(policy_path),
        max_concurrency=_int(_given(lookup("max_concurrency"), 5), "max_concurrency", 2, 1000),
        audit_retention_days=_int(_given(lookup("audit_retention_days"), 90), "audit_retention_days", 1, 3650),
        log_retention_days=retention,
        log_level=log_level,
        deletion_protection=True if deletion_protection is None else _bool(deletion_protection, "deletion_protection"),
        retain_data=removal == "retain",
        signing_secret=secret_name(lookup, "signing_secret"),
        salt_secret=secret_name(lookup, "salt_secret"),
        keys_secret=secret_name(lookup, "keys_secret"),
        kms=kms_enabled(lookup),
        # a cap on the public endpoint, taken from the account's pool: see docs/security.md for accounts whose
        # concurrency quota is too small to reserve any (set 0)
        unsubscribe_concurrency=_int(_given(lookup("unsubscribe_concurrency"), 10), "unsubscribe_concurrency", 0, 1000),
        unsubscribe_mailto=mailto,
        alarm_topic_arn=alarm_topic,
    )
