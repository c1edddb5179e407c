"""Values the policy and the event contract share: channels, category names, time zone names.

In the core, so that the policy model does not depend on the public event contract (which imports these)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, StrictStr


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc
    return name


# Any channel a contact can be made on: Baton's own (email, sms, push) and those outside it (direct_mail, call,
# store, social, ...): what a recorded contact names and a cap's match may name.
ChannelName = Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")]
CategoryName = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
TimeZoneName = Annotated[StrictStr, AfterValidator(_zone)]
