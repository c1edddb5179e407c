"""The public event contract (version 1): what storefront systems put on Baton's bus.

These pydantic models validate every incoming event and generate the JSON Schema files in ``contract/``
(``make schemas``), so the published schema and the validation cannot drift. Unknown fields are refused, so a
typo (``prority``) is an error that names the field rather than a silently ignored value.

Every model defers building its validator (``defer_build``): a function builds the ones it validates at its start
(``build``, called by its composition root in ``baton.entry.composition``) and no others, so the arbiter does not
pay for the customer models at cold start, nor the profile function for MessageRequested.
"""

from __future__ import annotations

import json
import re
from contextlib import suppress
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from baton.core.errors import InvalidRequest
from baton.core.values import CategoryName, Channel, ChannelName, TimeZoneName
from baton.names import (
    CONTRACT_VERSION,
    DETAIL_CONTACT_RECORDED,
    DETAIL_CUSTOMER_ENGAGED,
    DETAIL_CUSTOMER_ERASED,
    DETAIL_CUSTOMER_UPDATED,
    DETAIL_MESSAGE_REQUESTED,
)

MAX_DATA_BYTES = 8192  # rendered into one message; DynamoDB items stay far below 400 KB
_COMPACT = json.JSONEncoder(separators=(",", ":"), default=str)  # data as its size is measured
MAX_SUBJECT_CHARS = 998  # one header line (RFC 5322)
SMS_MAX = 480  # three segments

EMAIL_RE = re.compile(r"^[^@\s<>\",;]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")
PUSH_ARN_RE = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:endpoint/[A-Za-z_]+/[^/\s]+/[0-9a-f-]{36}$")


Identifier = Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=r"^[^\s#]+$")]


def _check_recipient(channel: Channel, recipient: str) -> None:
    ok = {
        Channel.EMAIL: EMAIL_RE.match(recipient),
        Channel.SMS: E164_RE.match(recipient),
        Channel.PUSH: PUSH_ARN_RE.match(recipient),
    }[channel]
    if not ok:
        expected = {
            Channel.EMAIL: "an email address",
            Channel.SMS: "an E.164 phone number such as +14155550100",
            Channel.PUSH: "an SNS platform endpoint ARN",
        }[channel]
        raise ValueError(f"recipient must be {expected} for channel {channel.value}")


class Content(BaseModel):
    """A message rendered by the sender: for email ``subject``, ``html`` and ``text`` (text required), for SMS and
    push ``text`` only. Sent as it is, with the same MIME, List-Unsubscribe and unsubscribe-token handling as a
    message rendered in Baton."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    subject: Annotated[StrictStr, Field(min_length=1, max_length=MAX_SUBJECT_CHARS)] | None = Field(
        default=None, description="Email only, required there; one line."
    )
    html: Annotated[StrictStr, Field(min_length=1)] | None = Field(default=None, description="Email only.")
    text: Annotated[StrictStr, Field(min_length=1)] = Field(description="The plain-text body (the SMS, the push).")

    @field_validator("subject")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and ("\n" in value or "\r" in value):
            raise ValueError("the subject must be one line")
        return value


def _check_content(channel: Channel, content: Content) -> None:
    """The parts ``content`` must and may have on ``channel``; raise InvalidRequest naming the part."""
    if channel is Channel.EMAIL and content.subject is None:
        raise InvalidRequest("content.subject", "field required for channel email")
    if channel is not Channel.EMAIL:
        for part in ("subject", "html"):
            if getattr(content, part) is not None:
                raise InvalidRequest(f"content.{part}", f"not allowed for channel {channel.value}: only text")
        if channel is Channel.SMS and len(content.text) > SMS_MAX:
            raise InvalidRequest("content.text", f"the SMS is {len(content.text)} characters, more than {SMS_MAX}")
    size = len(content.model_dump_json(exclude_none=True).encode())
    if size > MAX_DATA_BYTES:
        parts = {k: len(v.encode()) for k, v in content.model_dump(exclude_none=True).items()}
        largest = max(parts, key=lambda k: parts[k])
        raise InvalidRequest(
            f"content.{largest}",
            f"content is {size} bytes as JSON, more than {MAX_DATA_BYTES} ({largest}: {parts[largest]} bytes)",
        )


class MessageRequested(BaseModel):
    """``detail`` of a ``MessageRequested`` event."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="MessageRequested", defer_build=True)

    request_id: Identifier = Field(description="The sender's idempotency key: the same id again is the same request.")
    customer_id: Identifier
    channel: Channel | None = Field(default=None, description="The channel. Exactly one of channel and channels.")
    channels: list[Channel] | None = Field(
        default=None,
        description="Channels Baton may choose from, in order: it sends by the first the customer consented to, can"
        " be reached on and that has room in every cap now. Exactly one of channel and channels; each listed once,"
        " each a form of the template; the profile's addresses are used.",
        json_schema_extra={"minItems": 1, "uniqueItems": True},
    )
    category: CategoryName = Field(description="The kind of message, e.g. cart_abandoned, newsletter.")
    campaign_id: Identifier | None = None
    entity: Annotated[StrictStr, Field(min_length=1, max_length=256)] | None = Field(
        default=None, description="What the message is about, e.g. sku:1234 or cart:987."
    )
    priority: Annotated[StrictInt, Field(ge=0, le=100)] | None = Field(
        default=None, description="Overrides the policy's priority for the category."
    )
    transactional: StrictBool = Field(
        default=False, description="Receipts, password resets: never blocked by marketing caps or quiet hours."
    )
    recipient: Annotated[StrictStr, Field(min_length=3, max_length=2048)] | None = Field(
        default=None, description="Email address, E.164 phone number or push endpoint ARN; default: the profile's."
    )
    template: Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=r"^[a-z0-9_][a-z0-9_/-]*$")] | None = (
        Field(
            default=None,
            description="A template of the current set, rendered in Baton. Exactly one of template and content.",
        )
    )
    data: dict[str, Any] = Field(
        default_factory=dict, description=f"Template data, at most {MAX_DATA_BYTES} bytes as JSON."
    )
    content: Content | None = Field(
        default=None, description="The message as the sender rendered it. Exactly one of template and content."
    )
    not_after: AwareDatetime | None = Field(default=None, description="Not delivered by then: dropped as stale.")

    @field_validator("data")
    @classmethod
    def _data_size(cls, value: dict[str, Any]) -> dict[str, Any]:
        size = len(_COMPACT.encode(value).encode())
        if size > MAX_DATA_BYTES:
            raise ValueError(f"data is {size} bytes as JSON, more than {MAX_DATA_BYTES}")
        return value

    @property
    def listed(self) -> list[Channel]:
        """The channels the request may go by, in order: ``channels``, or ``channel`` alone."""
        return self.channels if self.channels is not None else [self.channel] if self.channel is not None else []

    @model_validator(mode="after")
    def _recipient_fits_channel(self) -> MessageRequested:
        if (self.template is None) == (self.content is None):
            raise InvalidRequest("template", "exactly one of template and content is required")
        if self.channel is not None and self.channels is not None:
            raise InvalidRequest("channels", "not allowed alongside channel: exactly one of channel and channels")
        if self.channel is None:
            _check_channels(self)
            return self
        if self.content is not None:
            if self.data:
                raise InvalidRequest("data", "data goes with a template, not with content")
            _check_content(self.channel, self.content)
        if self.recipient is not None:
            try:
                _check_recipient(self.channel, self.recipient)
            except ValueError as exc:
                raise InvalidRequest("recipient", str(exc)) from None
        return self


def _check_channels(message: MessageRequested) -> None:
    """A request without ``channel``: ``channels`` lists each channel once, with a template and no recipient."""
    listed = message.channels
    if listed is None:
        raise InvalidRequest("channel", "field required")  # or channels
    if not listed:
        raise InvalidRequest("channels", "must list at least one channel")
    repeated = sorted({c.value for c in listed if listed.count(c) > 1})
    if repeated:
        raise InvalidRequest("channels", f"each channel at most once: {', '.join(repeated)} is listed again")
    if message.content is not None:
        raise InvalidRequest("content", "not allowed with channels: a template with a form for each listed channel")
    if message.recipient is not None:
        raise InvalidRequest("recipient", "not allowed with channels: each channel goes to the profile's address")


class ClockWindow(BaseModel):
    """Local clock times; ``start`` later than ``end`` spans midnight."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    start: Annotated[StrictStr, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    end: Annotated[StrictStr, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]

    @model_validator(mode="after")
    def _not_empty(self) -> ClockWindow:
        if self.start == self.end:
            raise ValueError("start and end are equal")
        return self


class PersonalCap(BaseModel):
    """A customer's own frequency limit, e.g. one marketing email a week. It can only tighten the policy."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    channel: Channel | None = Field(default=None, description="None: all marketing channels together.")
    limit: Annotated[StrictInt, Field(ge=0, le=1000)]
    window_days: Annotated[StrictInt, Field(ge=1, le=90)]


class Preferences(BaseModel):
    """What a customer chose in the preference centre. Each field present replaces the stored one."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    opted_out_categories: list[CategoryName] | None = Field(default=None, max_length=100)
    frequency: list[PersonalCap] | None = Field(default=None, max_length=10)
    quiet_hours: dict[Channel, ClockWindow] | None = None


class CustomerUpdated(BaseModel):
    """``detail`` of a ``CustomerUpdated`` event: any field present replaces the stored value."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="CustomerUpdated", defer_build=True)

    customer_id: Identifier
    email: Annotated[StrictStr, Field(pattern=EMAIL_RE.pattern)] | None = None
    phone: Annotated[StrictStr, Field(pattern=E164_RE.pattern)] | None = None
    push_endpoint: Annotated[StrictStr, Field(pattern=PUSH_ARN_RE.pattern)] | None = None
    timezone: TimeZoneName | None = Field(default=None, description="IANA time zone name, e.g. Europe/Berlin.")
    locale: Annotated[StrictStr, Field(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")] | None = None
    consent: dict[Channel, StrictBool] | None = Field(default=None, description="Marketing consent per channel.")
    preferences: Preferences | None = None


class CustomerErased(BaseModel):
    """``detail`` of a ``CustomerErased`` event: delete everything Baton holds for the customer."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="CustomerErased", defer_build=True)

    customer_id: Identifier


class ContactRecorded(BaseModel):
    """``detail`` of a ``ContactRecorded`` event: a contact made outside Baton (direct mail, a call, a store visit,
    social, an email another system sent). It counts in the customer's caps from ``at``, as Baton's own sends do."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="ContactRecorded", defer_build=True)

    contact_id: Identifier = Field(description="The sender's idempotency key: the same id again counts once.")
    customer_id: Identifier
    channel: ChannelName = Field(description="Where it was made, e.g. direct_mail, call, store, social, email.")
    category: CategoryName = Field(description="The kind of contact, named as the policy names categories.")
    at: AwareDatetime = Field(description="When the contact was made (ISO-8601 with offset); caps count it from then.")
    campaign_id: Identifier | None = None


EngagementKind = Literal["open", "click", "session", "purchase"]
EngagementChannel = Literal["email", "sms", "push", "web", "app"]


class CustomerEngaged(BaseModel):
    """``detail`` of a ``CustomerEngaged`` event: something the customer did (an open, a click, a session, a
    purchase). Stored apart from what decisions read, never on the decision path; purchases are the conversions
    ``baton lift`` counts."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="CustomerEngaged", defer_build=True)

    customer_id: Identifier
    kind: EngagementKind
    at: AwareDatetime = Field(description="When the customer engaged (ISO-8601 with offset).")
    channel: EngagementChannel | None = Field(default=None, description="Where: email, sms, push, web or app.")
    request_id: Identifier | None = Field(default=None, description="The message it answers, when it answers one.")
    value: Annotated[float, Field(ge=0, allow_inf_nan=False, strict=False)] | None = Field(
        default=None, description="A purchase's value (in the shop's currency)."
    )
    engagement_id: Identifier | None = Field(
        default=None, description="The sender's idempotency key: the same id again counts once."
    )

    @field_validator("value", mode="before")
    @classmethod
    def _a_number(cls, value: Any) -> Any:
        if isinstance(value, bool) or (value is not None and not isinstance(value, int | float)):
            raise ValueError("must be a number")
        return value


class EventEnvelope(BaseModel):
    """The EventBridge event around a detail (as delivered to SQS and as written in replay files)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, defer_build=True)

    id: StrictStr = Field(min_length=1)
    time: AwareDatetime
    source: StrictStr = Field(min_length=1)
    detail_type: StrictStr = Field(alias="detail-type")
    detail: dict[str, Any]


DETAIL_MODELS: dict[str, type[BaseModel]] = {
    DETAIL_MESSAGE_REQUESTED: MessageRequested,
    DETAIL_CUSTOMER_UPDATED: CustomerUpdated,
    DETAIL_CUSTOMER_ERASED: CustomerErased,
    DETAIL_CONTACT_RECORDED: ContactRecorded,
    DETAIL_CUSTOMER_ENGAGED: CustomerEngaged,
}


def build(*models: type[BaseModel]) -> None:
    """Build these models' validators now, at a function's start, rather than on the first event they meet."""
    for model in models:
        model.model_rebuild()  # under pydantic's own lock: a model first met by several threads is built once


def invalid_from(exc: ValidationError | InvalidRequest, prefix: str = "") -> InvalidRequest:
    """The first problem of a validation error as an InvalidRequest naming the field."""
    if isinstance(exc, InvalidRequest):
        return exc
    first = exc.errors()[0]
    loc = [str(part) for part in first["loc"] if not isinstance(part, int)]
    field = ".".join(loc) if loc else "detail"
    field = field.split(".")[0] if field.startswith("data.") else field
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    if first["type"] == "missing":
        message = "field required"
    if first["type"] == "value_error" and isinstance(first.get("ctx", {}).get("error"), InvalidRequest):
        inner = first["ctx"]["error"]
        return InvalidRequest(prefix + inner.field, inner.message)
    return InvalidRequest(prefix + field, message)


def parse_detail(model: type[BaseModel], detail: Any) -> Any:
    """Validate ``detail`` against ``model``; raise InvalidRequest naming the first bad field."""
    if not isinstance(detail, dict):
        raise InvalidRequest("detail", "must be a JSON object")
    try:
        return model.model_validate(detail)
    except ValidationError as exc:
        raise invalid_from(exc) from None
    except InvalidRequest:
        raise


def parse_envelope(raw: str | bytes | dict[str, Any]) -> EventEnvelope:
    """Parse an EventBridge event from JSON text or a dict; raise InvalidRequest on any problem.

    Text is parsed by pydantic's own JSON parser in one step; text it refuses goes the long way (``json.loads``,
    then the model), which names the problem as it always has."""
    if isinstance(raw, str):
        with suppress(ValidationError):
            return EventEnvelope.model_validate_json(raw)
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidRequest("json", f"not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidRequest("event", "must be a JSON object")
    try:
        return EventEnvelope.model_validate(raw)
    except ValidationError as exc:
        raise invalid_from(exc) from None


def json_schemas() -> dict[str, dict[str, Any]]:
    """The contract's JSON Schemas, keyed by file name."""
    out: dict[str, dict[str, Any]] = {}
    for detail_type, model in DETAIL_MODELS.items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://baton.dev/contract/v{CONTRACT_VERSION}/{detail_type}.json"
        schema["description"] = (model.__doc__ or "").strip()
        out[f"{detail_type}.v{CONTRACT_VERSION}.json"] = schema
    return out


def sent_at_iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")
