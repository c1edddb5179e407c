"""``@valueclass``: how the decision path's value types (requests, contacts, decisions, records, reports) are
declared.

A value class is a dataclass with slots that the type checker holds immutable (``frozen``: mypy refuses an
assignment to a field, and ``make lint`` runs mypy) and that hashes and compares by its fields as a frozen
dataclass does. What it leaves out is frozen's runtime guard, which sets each field at construction through
``object.__setattr__``: a decision builds dozens of these, and the guard alone cost about a sixth of
``baton whatif``'s time and a share of the arbiter's overhead (``make bench``). Change a value with
``dataclasses.replace``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar, dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True)
def valueclass(cls: type[T]) -> type[T]:
    return dataclass(slots=True, unsafe_hash=True)(cls)
