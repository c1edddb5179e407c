"""The marketing policy: what marketers write (YAML), validated into immutable models.

A policy is parsed whole or not at all: ``load_policy`` returns a new Policy or raises PolicyError naming the
source, the field and what is wrong, so a bad document can never be half-applied.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationError, model_validator

from baton.contract import CategoryName, Channel, TimeZoneName
from baton.errors import PolicyError

_DURATION_RE = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_WINDOW = timedelta(days=400)


def parse_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("a duration is a string such as 15m, 24h or 7d")
    if isinstance(value, int):
        return timedelta(seconds=value)
    match = _DURATION_RE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a duration such as 90s, 15m, 24h, 7d or 2w")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def _format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


Duration = Annotated[timedelta, BeforeValidator(parse_duration), PlainSerializer(_format_duration, return_type=str)]
ClockTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]

# Names: lower case, digits, underscore, starting with a letter. Personal caps use a "personal:" prefix.
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_:]*$", max_length=64)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CapMatch(_Model):
    """Which requests a cap counts. Empty: all marketing requests."""

    channel: Channel | None = None
    category: CategoryName | None = None
    campaign_id: str | None = None


class Reserve(_Model):
    """Keep ``count`` of the cap's room for requests with priority >= ``min_priority``."""

    count: int = Field(ge=1)
    min_priority: int = Field(ge=0, le=100)


class Cap(_Model):
    name: Name
    limit: int = Field(ge=0, le=10_000)
    window: Duration
    match: CapMatch = CapMatch()
    per: tuple[Literal["channel", "category", "campaign_id"], ...] = ()
    reserve: Reserve | None = None

    @model_validator(mode="after")
    def _check(self) -> Cap:
        if not timedelta(minutes=1) <= self.window <= MAX_WINDOW:
            raise ValueError(f"window must be between 1m and {MAX_WINDOW.days}d")
        if self.reserve and self.reserve.count >= self.limit:
            raise ValueError(f"reserve.count ({self.reserve.count}) must be less than limit ({self.limit})")
        if len(set(self.per)) != len(self.per):
            raise ValueError("per lists a dimension twice")
        return self


class QuietHours(_Model):
    """Local clock times; ``start`` later than ``end`` spans midnight (21:00 to 08:00)."""

    start: ClockTime
    end: ClockTime

    @model_validator(mode="after")
    def _check(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("start and end are equal: quiet hours would be empty")
        return self


class Exclusion(_Model):
    """A request of this category cancels pending, and suppresses later, requests of ``categories``."""

    categories: tuple[CategoryName, ...] = Field(min_length=1)
    window: Duration
    same_entity: bool = False


class Digest(_Model):
    """Gather this category's capped, outranked or repeated requests into one message."""

    template: str = Field(pattern=r"^[a-z0-9_][a-z0-9_/-]*$")
    max_items: int = Field(default=10, ge=2, le=50)


class CategoryPolicy(_Model):
    priority: int = Field(default=50, ge=0, le=100)
    over_cap: Literal["suppress", "defer"] = "suppress"
    max_delay: Duration = timedelta(hours=24)
    max_age: Duration | None = None
    arbitration_window: Duration = timedelta(0)
    repeat_window: Duration | None = None
    excludes: tuple[Exclusion, ...] = ()
    digest: Digest | None = None

    @model_validator(mode="after")
    def _check(self) -> CategoryPolicy:
        if self.arbitration_window > timedelta(hours=6):
            raise ValueError("arbitration_window must be at most 6h")
        return self


class Feedback(_Model):
    """How delivery feedback turns into suppression. Hard bounces and complaints suppress at once, for good."""

    soft_bounce_limit: int = Field(default=3, ge=1, le=100)
    soft_bounce_window: Duration = timedelta(days=7)
    soft_bounce_suppression: Duration = timedelta(days=30)


class Policy(_Model):
    version: str = Field(min_length=1, max_length=64)
    timezone: TimeZoneName = Field(description="For customers whose time zone is unknown.")
    caps: tuple[Cap, ...] = ()
    quiet_hours: dict[Channel, QuietHours] = Field(default_factory=dict)
    categories: dict[CategoryName, CategoryPolicy] = Field(default_factory=dict)
    default_category: CategoryPolicy = CategoryPolicy()
    unsubscribe_scope: Literal["category", "channel"] = Field(
        default="category", description="What a one-click unsubscribe removes: the email's category, or all email."
    )
    feedback: Feedback = Feedback()

    @model_validator(mode="after")
    def _check(self) -> Policy:
        names = [cap.name for cap in self.caps]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"cap names must be unique: {', '.join(dupes)} repeated")
        for name, category in self.categories.items():
            for i, rule in enumerate(category.excludes):
                unknown = [c for c in rule.categories if c not in self.categories]
                if unknown:
                    raise ValueError(
                        f"categories.{name}.excludes[{i}].categories names unknown categor"
                        f"{'y' if len(unknown) == 1 else 'ies'}: {', '.join(unknown)}"
                    )
        return self

    def category(self, name: str) -> CategoryPolicy:
        return self.categories.get(name, self.default_category)

    @cached_property
    def digest_id(self) -> str:
        """A short content hash: two policies with the same digest decide alike."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    @property
    def tag(self) -> str:
        """What every audit record names: the author's version and the content hash."""
        return f"{self.version}@{self.digest_id}"

    @cached_property
    def longest_window(self) -> timedelta:
        """How far back any rule looks: contacts older than this can be forgotten."""
        spans = [cap.window for cap in self.caps] + [timedelta(days=1)]
        for category in [*self.categories.values(), self.default_category]:
            spans += [rule.window for rule in category.excludes]
            if category.repeat_window:
                spans.append(category.repeat_window)
        return max(spans)


def _problems(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in err["loc"]).replace(".[", "[")
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        msg = msg.removeprefix("Value error, ")
        out.append(f"{loc or '(document)'}: {msg}")
    return out


def policy_from_mapping(document: Any, source: str) -> Policy:
    if not isinstance(document, dict):
        raise PolicyError(source, ["(document): must be a mapping with version, timezone, caps, ..."])
    try:
        return Policy.model_validate(document)
    except ValidationError as exc:
        raise PolicyError(source, _problems(exc)) from None


def load_policy(text: str, source: str) -> Policy:
    """Parse YAML (or JSON, a subset of YAML) text into a Policy, or raise PolicyError."""
    if text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise PolicyError(source, [f"not valid JSON: {exc}"]) from None
        return policy_from_mapping(document, source)
    import yaml  # only the CLI and the local runtime read YAML; Lambda reads the JSON form

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise PolicyError(source, [f"{where}not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    return policy_from_mapping(document, source)


def load_policy_file(path: str) -> Policy:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise PolicyError(path, [f"cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError as exc:
        raise PolicyError(path, [f"not UTF-8 text (byte {exc.start}): a policy is a YAML or JSON document"]) from None
    return load_policy(text, path)


def default_policy_path() -> str:
    from importlib.resources import files

    return str(files("baton") / "policies" / "default.yaml")


def policy_json(policy: Policy) -> str:
    """The compact JSON form stored in the run-time parameter."""
    return json.dumps(policy.model_dump(mode="json", exclude_defaults=True), separators=(",", ":"), sort_keys=True)
