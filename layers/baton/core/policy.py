"""The marketing policy: what marketers write (YAML), validated into immutable models.

A policy is parsed whole or not at all: ``load_policy`` returns a new Policy or raises PolicyError listing every
problem of the document at once (the field, what is wrong, and the line when the text is YAML), so a bad document
can never be half-applied. ``check_policy`` also returns the warnings: what a policy may say but most often says
by mistake (a category that is not listed).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from baton.core.errors import PolicyError, Problem
from baton.core.values import CategoryName, Channel, ChannelName, TimeZoneName

_DURATION_RE = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_CLOCK_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
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


def _shown(value: Any) -> str:
    """A value as the document wrote it, quoted when it is text: ``"25:00"``, ``1260``."""
    return json.dumps(value, default=str)


def parse_clock_time(value: Any) -> str:
    """A local time of day, ``HH:MM`` from 00:00 to 23:59; what is wrong said in words, never as a pattern."""
    if isinstance(value, str) and _CLOCK_RE.match(value):
        return value
    if isinstance(value, int) and not isinstance(value, bool):  # YAML 1.1 reads an unquoted 21:00 in base 60
        quoted = 'write "HH:MM" in quotes (YAML reads an unquoted 21:00 as the number 1260)'
        raise ValueError(f"{value} is a number, not a time of day: {quoted}")
    raise ValueError(f"{_shown(value)} is not a time of day: write HH:MM from 00:00 to 23:59")


def _in_words(rule: str) -> WrapValidator:
    """Validate as the annotated type does, but say what is wrong in ``rule`` rather than as its pattern."""

    def check(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise ValueError(f"{_shown(value)} is not {rule}") from None

    return WrapValidator(check)


Duration = Annotated[timedelta, BeforeValidator(parse_duration), PlainSerializer(_format_duration, return_type=str)]
ClockTime = Annotated[str, BeforeValidator(parse_clock_time)]

# Names: lower case, digits, underscore, starting with a letter. Personal caps use a "personal:" prefix.
_NAME_PATTERN = r"^[a-z][a-z0-9_:]*$"
Name = Annotated[
    str,
    Field(pattern=_NAME_PATTERN, max_length=64),
    _in_words("a name: lower-case letters, digits, _ and :, starting with a letter, at most 64"),
]
# the contract's rule for a category name, in words
Category = Annotated[
    CategoryName, _in_words("a category name: lower-case letters, digits and _, starting with a letter, at most 64")
]
# the contract's rule for a channel name (email, sms, push, or one outside Baton such as direct_mail), in words
ChannelMatch = Annotated[
    ChannelName, _in_words("a channel name: lower-case letters, digits and _, starting with a letter, 2 to 32")
]
_REPEATED_NAMES = "cap_names_repeated"  # the model's own error for repeated cap names (see check_document)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CapMatch(_Model):
    """Which requests and contacts a cap counts. Empty: all marketing ones. ``channel`` may name a channel outside
    Baton (``direct_mail``): the cap then counts the contacts recorded on it (ContactRecorded)."""

    channel: ChannelMatch | None = None
    category: Category | None = None
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

    # Field validators rather than one check of the whole cap: pydantic runs a model's own check only when every
    # field is valid, and each of these is reported with the cap's other mistakes.
    @field_validator("window")
    @classmethod
    def _window_in_range(cls, window: timedelta) -> timedelta:
        if not timedelta(minutes=1) <= window <= MAX_WINDOW:
            raise ValueError(f"must be between 1m and {MAX_WINDOW.days}d")
        return window

    @field_validator("per")
    @classmethod
    def _per_once(cls, per: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(per)) != len(per):
            raise ValueError("lists a dimension twice")
        return per

    @field_validator("reserve")
    @classmethod
    def _reserve_below_limit(cls, reserve: Reserve | None, info: ValidationInfo) -> Reserve | None:
        limit = info.data.get("limit")  # absent when the limit is wrong itself, and reported as such
        if reserve and limit is not None and reserve.count >= limit:
            raise ValueError(f"count ({reserve.count}) must be less than the cap's limit ({limit})")
        return reserve


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

    categories: tuple[Category, ...]
    window: Duration
    same_entity: bool = False

    @field_validator("categories")
    @classmethod
    def _names_one(cls, categories: tuple[str, ...]) -> tuple[str, ...]:
        # not min_length: pydantic counts only the valid items, so one misspelt category would read "not 0"
        if not categories:
            raise ValueError("must name at least one category")
        return categories


class Digest(_Model):
    """Gather this category's capped, outranked or repeated requests into one message."""

    template: Annotated[
        str,
        Field(pattern=r"^[a-z0-9_][a-z0-9_/-]*$"),
        _in_words("a template name: lower-case letters, digits, _, / and -"),
    ]
    max_items: int = Field(default=10, ge=2, le=50)


# How a request that lists channels orders them. ``engagement`` orders by the shopper's engagement rate per channel
# (engagements per send, from the engagement profile), highest first; ties and channels with no data keep the list
# order.
ChannelChoice = Literal["order", "engagement"]


def _unset_choice(dump: dict[str, Any]) -> dict[str, Any]:
    """A policy dump without ``channel_choice`` where it is not set, so that a policy digests as it did before
    the option existed (both settings decide alike for now)."""
    if dump.get("channel_choice") == "order":
        del dump["channel_choice"]
    for category in [*dump.get("categories", {}).values(), dump.get("default_category", {})]:
        for option in ("channel_choice", "send_time"):
            if category.get(option) is None:
                category.pop(option, None)
    return dump


class SendTime(_Model):
    """Send-time optimisation: a marketing request of the category that would be sent now is sent instead at the
    hour in the next ``within`` when the shopper engages most (``baton.core.engine``). A shopper with fewer than
    ``min_engagements`` engagements gets the fleet's histogram; with none either, ``default_hour`` (local)."""

    optimize: bool = Field(default=False, description="Whether requests of the category wait for the best hour.")
    within: Duration = Field(default=timedelta(hours=24), description="How far ahead the best hour is looked for.")
    default_hour: int = Field(
        default=10,
        ge=0,
        le=23,
        description="The local hour (0-23) used when neither the shopper nor the fleet has any engagement.",
    )
    min_engagements: int = Field(
        default=10, ge=1, le=10_000, description="Engagements a shopper needs before their own histogram is used."
    )

    @field_validator("within")
    @classmethod
    def _within_a_week(cls, within: timedelta) -> timedelta:
        if not timedelta(hours=1) <= within <= timedelta(days=7):
            raise ValueError("must be between 1h and 7d")
        return within


class CategoryPolicy(_Model):
    priority: int = Field(default=50, ge=0, le=100)
    over_cap: Literal["suppress", "defer"] = "suppress"
    max_delay: Duration = timedelta(hours=24)
    max_age: Duration | None = None
    arbitration_window: Duration = timedelta(0)
    repeat_window: Duration | None = None
    excludes: tuple[Exclusion, ...] = ()
    digest: Digest | None = None
    channel_choice: ChannelChoice | None = Field(
        default=None, description="How a request listing channels orders them; default: the policy's."
    )
    send_time: SendTime | None = Field(default=None, description="Send-time optimisation; none by default.")
    transactional: bool = Field(
        default=False,
        description="A contact of this category recorded outside Baton (ContactRecorded) is transactional: no cap"
        " counts it. A MessageRequested says for itself whether it is transactional.",
    )

    @field_validator("arbitration_window")
    @classmethod
    def _window_at_most_6h(cls, window: timedelta) -> timedelta:
        if window > timedelta(hours=6):
            raise ValueError("must be at most 6h")
        return window

    @field_validator("send_time")
    @classmethod
    def _within_max_delay(cls, send_time: SendTime | None, info: ValidationInfo) -> SendTime | None:
        delay = info.data.get("max_delay")  # absent when max_delay is wrong itself, and reported as such
        if send_time is not None and delay is not None and send_time.within > delay:
            within = _format_duration(send_time.within)
            raise ValueError(f"within ({within}) is beyond the category's max_delay ({_format_duration(delay)})")
        return send_time


class Feedback(_Model):
    """How delivery feedback turns into suppression. Hard bounces and complaints suppress at once, for good."""

    soft_bounce_limit: int = Field(default=3, ge=1, le=100)
    soft_bounce_window: Duration = timedelta(days=7)
    soft_bounce_suppression: Duration = timedelta(days=30)


class EngagementTerms(_Model):
    """How the engagement profile (``baton.core.engagement``) weighs the past: an engagement or a send counts half
    as much ``half_life`` later."""

    half_life: Duration = Field(default=timedelta(days=30), description="How fast past engagement fades.")

    @field_validator("half_life")
    @classmethod
    def _half_life_positive(cls, half_life: timedelta) -> timedelta:
        if half_life < timedelta(hours=1):
            raise ValueError("must be at least 1h")
        return half_life


class Holdout(_Model):
    """The global holdout: ``percent`` of customers (chosen by a keyed hash of the customer id, see
    ``baton.app.holdout``) get no marketing message, so that ``baton lift`` can measure what the messages earn.
    Transactional requests and the ``exempt_categories`` are never held out."""

    percent: float = Field(ge=0, le=50, description="The share of customers held out, 0 to 50.")
    exempt_categories: tuple[Category, ...] = ()


class Policy(_Model):
    """A whole policy. A category named by a cap or an exclusion need not be listed: requests of a category that
    is not listed follow ``default_category`` (``check_policy`` warns of it, as it is most often a typo)."""

    version: str = Field(min_length=1, max_length=64)
    timezone: TimeZoneName = Field(description="For customers whose time zone is unknown.")
    caps: tuple[Cap, ...] = ()
    quiet_hours: dict[Channel, QuietHours] = Field(default_factory=dict)
    categories: dict[Category, CategoryPolicy] = Field(default_factory=dict)
    default_category: CategoryPolicy = CategoryPolicy()
    unsubscribe_scope: Literal["category", "channel"] = Field(
        default="category", description="What a one-click unsubscribe removes: the email's category, or all email."
    )
    feedback: Feedback = Feedback()
    holdout: Holdout | None = Field(default=None, description="A global holdout group; none by default.")
    engagement: EngagementTerms = EngagementTerms()
    channel_choice: ChannelChoice = Field(
        default="order",
        description="How a request listing channels orders them: as listed, or by the shopper's engagement rate per"
        " channel (engagements per send; ties and channels with no data in the listed order).",
    )

    @field_validator("caps")
    @classmethod
    def _names_unique(cls, caps: tuple[Cap, ...]) -> tuple[Cap, ...]:
        names = [cap.name for cap in caps]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            context = {"names": ", ".join(repeated)}
            raise PydanticCustomError(_REPEATED_NAMES, "cap names must be unique: {names}", context)
        return caps

    def category(self, name: str) -> CategoryPolicy:
        return self.categories.get(name, self.default_category)

    def holdout_covers(self, category: str, transactional: bool) -> bool:
        """Whether a request is one a holdout compares: marketing (neither it nor its category transactional) of a
        category the holdout does not exempt."""
        exempt = self.holdout.exempt_categories if self.holdout else ()
        return not transactional and category not in exempt and not self.category(category).transactional

    def holds_out(self, category: str, transactional: bool) -> bool:
        """Whether the holdout applies to a request: one is set (above 0 %) and covers the request."""
        return self.holdout is not None and self.holdout.percent > 0 and self.holdout_covers(category, transactional)

    @cached_property
    def digest_id(self) -> str:
        """A short content hash: two policies with the same digest decide alike. A policy that sets neither a
        holdout, a channel choice nor an engagement half-life hashes as it did before those options existed."""
        unset = {"holdout"} if self.holdout is None else set()
        if self.engagement == EngagementTerms():  # the default: digested as before the setting existed
            unset.add("engagement")
        dump = _unset_choice(self.model_dump(mode="json", exclude=unset))
        canonical = json.dumps(dump, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    @property
    def tag(self) -> str:
        """What every audit record names: the author's version and the content hash."""
        return f"{self.version}@{self.digest_id}"

    @cached_property
    def optimises_send_time(self) -> bool:
        """Whether any category (the default one too) optimises its send time."""
        return any(
            category.send_time is not None and category.send_time.optimize
            for category in [*self.categories.values(), self.default_category]
        )

    @cached_property
    def longest_window(self) -> timedelta:
        """How far back any rule looks: contacts older than this can be forgotten."""
        spans = [cap.window for cap in self.caps] + [timedelta(days=1)]
        for category in [*self.categories.values(), self.default_category]:
            spans += [rule.window for rule in category.excludes]
            if category.repeat_window:
                spans.append(category.repeat_window)
        return max(spans)


# -- checking a document ---------------------------------------------------------------------------------------

DocumentPath = tuple[str | int, ...]  # keys and list indexes from the document's root: ("caps", 1, "window")
Lines = Callable[[DocumentPath], int | None]  # the YAML line of a path, when the document came from YAML text


@dataclass(frozen=True)
class PolicyCheck:
    """What checking a policy document found: the Policy (None when there is any error), every error and every
    warning, each list in document order."""

    policy: Policy | None
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class _Found:
    path: DocumentPath
    message: str


def check_document(document: Any, lines: Lines | None = None) -> PolicyCheck:
    """Every problem of a parsed document in one pass: the fields' errors, what only the whole document shows
    (repeated cap names), and the warnings, each named as a reader finds it and with its line from ``lines``.

    Pydantic checks a model as a whole (the Policy's unique cap names) only when all its fields are valid; so
    what needs the whole document is looked for here on the document as written, however wrong its other parts,
    and the model's own check (kept for a Policy made any other way) is left out of what is reported."""
    if not isinstance(document, dict):
        where = lines(()) if lines else None
        return PolicyCheck(None, (Problem("(document)", "must be a mapping with version, timezone, caps, ...", where),))
    errors = _repeated_cap_names(document)
    policy: Policy | None = None
    try:
        policy = Policy.model_validate(document)
    except ValidationError as exc:
        errors += [_found(error) for error in exc.errors() if error["type"] != _REPEATED_NAMES]
    return PolicyCheck(
        policy if not errors else None,
        _problems(document, errors, lines),
        _problems(document, _unlisted_categories(document) + _outside_channels(document), lines),
    )


def _found(error: Any) -> _Found:
    path = tuple(part for part in error["loc"] if part != "[key]")  # pydantic's mark for a mapping key: the entry
    message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"].removeprefix("Value error, ")
    return _Found(path, message)


def _caps(document: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    caps = document.get("caps")
    return [(i, cap) for i, cap in enumerate(caps) if isinstance(cap, dict)] if isinstance(caps, list) else []


def _repeated_cap_names(document: dict[str, Any]) -> list[_Found]:
    """A cap whose name an earlier cap has already: a decision names the cap that was full, so names are unique."""
    first: dict[str, int] = {}
    found = []
    for i, cap in _caps(document):
        name = cap.get("name")
        if isinstance(name, str) and name in first:
            message = f"caps[{first[name]}] is named {name} too: cap names must be unique"
            found.append(_Found(("caps", i, "name"), message))
        elif isinstance(name, str):
            first[name] = i
    return found


def _unlisted_categories(document: dict[str, Any]) -> list[_Found]:
    """Categories that a cap's match or an exclusion names but ``categories`` does not list. Allowed (requests of
    any category not listed follow default_category, and a rule naming one still applies to them), but most
    often a typo, which would otherwise validate silently."""
    listed = document.get("categories")
    categories: dict[Any, Any] = listed if isinstance(listed, dict) else {}
    found = []
    for i, cap in _caps(document):
        match = cap.get("match")
        named = match.get("category") if isinstance(match, dict) else None
        if isinstance(named, str) and named not in categories:
            found.append(_Found(("caps", i, "match", "category"), _not_listed(named)))
    for key, category in categories.items():
        rules = category.get("excludes") if isinstance(category, dict) else None
        for j, rule in enumerate(rules if isinstance(rules, list) else []):
            named_list = rule.get("categories") if isinstance(rule, dict) else None
            for k, named in enumerate(named_list if isinstance(named_list, list) else []):
                if isinstance(named, str) and named not in categories:
                    found.append(_Found(("categories", key, "excludes", j, "categories", k), _not_listed(named)))
    return found


def _outside_channels(document: dict[str, Any]) -> list[_Found]:
    """Caps whose match names a channel Baton does not send on. Allowed (such a cap counts the contacts recorded
    on it, ContactRecorded), but it holds back no message of Baton's, and a misspelt ``emial`` would otherwise
    validate silently."""
    found = []
    ours = ", ".join(channel.value for channel in Channel)
    for i, cap in _caps(document):
        match = cap.get("match")
        named = match.get("channel") if isinstance(match, dict) else None
        if isinstance(named, str) and named not in {channel.value for channel in Channel}:
            message = (
                f"{named} is not a channel Baton sends on ({ours}): the cap counts only contacts recorded on it"
                " and holds back no message"
            )
            found.append(_Found(("caps", i, "match", "channel"), message))
    return found


def _not_listed(category: str) -> str:
    return f"{category} is not a listed category: requests of it follow default_category"


def _problems(document: dict[str, Any], found: list[_Found], lines: Lines | None) -> tuple[Problem, ...]:
    ordered = sorted(found, key=lambda item: _position(document, item.path))
    return tuple(
        Problem(_field(document, item.path), item.message, lines(item.path) if lines else None) for item in ordered
    )


def _position(document: Any, path: DocumentPath) -> tuple[int, ...]:
    """Where ``path`` is in the document, for sorting problems in the order they are written. A field left out
    sorts first within the mapping that lacks it, as its line is that mapping's."""
    position: list[int] = []
    node = document
    for part in path:
        there, child = _child(node, part)
        if not there:
            return (*position, -1)
        position.append(list(node).index(part) if isinstance(node, dict) else int(part))
        node = child
    return tuple(position)


def _field(document: Any, path: DocumentPath) -> str:
    """``path`` as a reader finds it: ``caps[email_daily].window``, ``categories.sale.excludes[0]``."""
    text = ""
    node = document
    for part in path:
        text += f"[{_member(node, part)}]" if isinstance(part, int) else f".{part}" if text else part
        node = _child(node, part)[1]
    return text or "(document)"


def _child(node: Any, part: str | int) -> tuple[bool, Any]:
    """Whether the document has ``node[part]``, and what it holds there."""
    if isinstance(node, dict) and part in node:
        return True, node[part]
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return True, node[part]
    return False, None


def _member(items: Any, index: int) -> str:
    """A list member by its name when it has one of its own (a cap), else by its index."""
    if not isinstance(items, list) or not 0 <= index < len(items) or not isinstance(items[index], dict):
        return str(index)
    name = items[index].get("name")
    names = [item.get("name") for item in items if isinstance(item, dict)]
    usable = isinstance(name, str) and re.match(_NAME_PATTERN, name) and names.count(name) == 1
    return name if usable else str(index)


def policy_from_mapping(document: Any, source: str) -> Policy:
    return _loaded(check_document(document), source)


def _loaded(check: PolicyCheck, source: str) -> Policy:
    if check.policy is None:
        raise PolicyError(source, list(check.errors))
    return check.policy


def check_json(text: str) -> PolicyCheck:
    """Check the JSON form (the run-time parameter's): no YAML, so nothing Lambda does not load already."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return PolicyCheck(None, (Problem("", f"not valid JSON: {exc.msg} (column {exc.colno})", exc.lineno),))
    return check_document(document)


def check_policy(text: str, source: str) -> PolicyCheck:
    """Check YAML (or JSON, a subset of YAML) text: every error and warning, with the YAML line of each."""
    if text.lstrip().startswith("{"):
        return check_json(text)
    from baton.core.policy_lines import read_yaml  # only the CLI and the local runtime read YAML; Lambda reads JSON

    try:
        document, lines = read_yaml(text, source)
    except PolicyError as exc:
        return PolicyCheck(None, tuple(exc.problems))
    return check_document(document, lines)


def load_policy(text: str, source: str) -> Policy:
    """Parse YAML (or JSON) text into a Policy, or raise PolicyError with every problem."""
    return _loaded(check_policy(text, source), source)


def policy_from_json(text: str, source: str) -> Policy:
    """The Policy in its JSON form (the run-time parameter), or PolicyError with every problem."""
    return _loaded(check_json(text), source)


def load_policy_file(path: str) -> Policy:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise PolicyError(path, [Problem("", f"cannot read: {exc.strerror}")]) from None
    except UnicodeDecodeError as exc:
        problem = Problem("", f"not UTF-8 text (byte {exc.start}): a policy is a YAML or JSON document")
        raise PolicyError(path, [problem]) from None
    return load_policy(text, path)


def default_policy_path() -> str:
    from importlib.resources import files

    return str(files("baton") / "policies" / "default.yaml")


def policy_json(policy: Policy) -> str:
    """The compact JSON form stored in the run-time parameter."""
    return json.dumps(policy.model_dump(mode="json", exclude_defaults=True), separators=(",", ":"), sort_keys=True)
