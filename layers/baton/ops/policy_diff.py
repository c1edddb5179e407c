"""What changes between two policies, in words a marketer reads (``baton policy diff``).

Pure: two Policy objects in, a PolicyDiff out; no I/O. The comparison walks the two policies' models option by
option, so a new policy option is compared without a line of code here. What is
written out by hand is only wording: the plain-words name of a few top-level options, and how a composite value
(a cap, a quiet-hours window, an exclusion, a digest) reads as a phrase.

Durations read the way policies are written (``24h``, ``36h``, ``7d``), not in the canonical form the content
hash is computed over (``1d``, ``1w``): changing that form would change every policy's hash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel

from baton.core.policy import Policy

Kind = Literal["added", "removed", "changed"]
JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Change:
    """One difference. ``before``/``after`` are JSON values as the policy writes them (None: absent)."""

    subject: str  # what changed: "cap email_daily", "quiet hours for sms", "default time zone"
    kind: Kind
    field: str | None  # the option within the subject ("limit", "digest.max_items"); None: the subject itself
    before: Any
    after: Any
    text: str  # the whole change as one line of plain words

    def as_json(self) -> JsonDict:
        return {
            "subject": self.subject,
            "kind": self.kind,
            "field": self.field,
            "before": self.before,
            "after": self.after,
            "text": self.text,
        }


@dataclass(frozen=True)
class PolicyDiff:
    before_tag: str
    after_tag: str
    changes: tuple[Change, ...]
    decides_alike: bool  # only the version label (or nothing) differs: every request is decided the same way

    def as_json(self) -> JsonDict:
        return {
            "before": self.before_tag,
            "after": self.after_tag,
            "decides_alike": self.decides_alike,
            "changes": [change.as_json() for change in self.changes],
        }


def compare(before: Policy, after: Policy) -> PolicyDiff:
    return PolicyDiff(before.tag, after.tag, tuple(diff_policies(before, after)), decides_alike(before, after))


def decides_alike(before: Policy, after: Policy) -> bool:
    """True when the two differ at most in their version label (same rules, so the same decisions).

    Equal ``digest_id`` implies this; the label is excluded because audit records carry it, decisions do not."""
    return _rules(before) == _rules(after)


def _rules(policy: Policy) -> JsonDict:
    return policy.model_dump(mode="json", exclude={"version"})


def readable_duration(value: timedelta) -> str:
    """``24h``, ``48h``, ``7d``, ``30d``, ``15m``, ``90s``: days beyond two days, else the largest whole unit."""
    seconds = int(value.total_seconds())
    if seconds and seconds % 86400 == 0 and seconds > 2 * 86400:
        return f"{seconds // 86400}d"
    for size, unit in ((3600, "h"), (60, "m")):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def plain(value: Any) -> Any:
    """A policy (or any value in it) as JSON: models as objects by field, durations as people write them.

    Walks the models itself rather than through ``model_dump``, whose serializer writes the canonical form."""
    if isinstance(value, BaseModel):
        return {name: plain(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, timedelta):
        return readable_duration(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(plain(key)): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


# -- wording ---------------------------------------------------------------------------------------------------

# top-level options whose YAML name is not plain enough
SUBJECTS = {
    "timezone": "default time zone",
    "unsubscribe_scope": "one-click unsubscribe scope",
    "default_category": "default category",
}
# collections: how one member is named ("cap email_daily", "quiet hours for sms")
MEMBERS = {"caps": "cap", "quiet_hours": "quiet hours for", "categories": "category"}
# collections whose members read as one value ("21:00-08:00 -> 22:00-08:00") rather than option by option
WHOLE_MEMBERS = {"quiet_hours"}
# what a removed member's requests fall back to
REMOVED_NOTES = {"categories": "its requests now follow the default category"}


def _cap(cap: JsonDict) -> str:
    scope = [f"{key} {value}" for key, value in cap["match"].items() if value is not None]
    text = f"{cap['limit']} per rolling {cap['window']}"
    text += f" for {' and '.join(scope)}" if scope else " across all marketing"
    if cap["per"]:
        text += f", counted per {' and '.join(cap['per'])}"
    if cap["reserve"]:
        text += f", {_reserve(cap['reserve'])}"
    return text


def _reserve(reserve: JsonDict) -> str:
    return f"{reserve['count']} kept for priority >= {reserve['min_priority']}"


def _exclusion(rule: JsonDict) -> str:
    text = f"{', '.join(rule['categories'])} within {rule['window']}"
    return text + (" for the same entity" if rule["same_entity"] else "")


def _match(match: JsonDict) -> str:
    scope = [f"{key} {value}" for key, value in match.items() if value is not None]
    return " and ".join(scope) or "all marketing"


# how a composite value reads, by the option (or collection) that holds it
PHRASES: dict[str, Callable[[JsonDict], str]] = {
    "caps": _cap,
    "quiet_hours": lambda hours: f"{hours['start']}-{hours['end']}",
    "excludes": _exclusion,
    "reserve": _reserve,
    "match": _match,
    "digest": lambda digest: f"template {digest['template']}, up to {digest['max_items']} items",
}
# context worth repeating on a changed option, from the member it belongs to (after the change)
NOTES: dict[tuple[str, str], Callable[[JsonDict], str]] = {
    ("caps", "limit"): lambda cap: f"per rolling {cap['window']}",
}


def words(value: Any, option: str = "") -> str:
    """A JSON value of the policy as a phrase: ``24h``, ``yes``, ``2 per rolling 24h for channel email``."""
    if value is None or value == [] or value == {}:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        separator = "; " if any(isinstance(item, dict) for item in value) else ", "
        return separator.join(words(item, option) for item in value)
    if isinstance(value, dict):
        phrase = PHRASES.get(option)
        if phrase:
            return phrase(value)
        parts = [f"{key} {words(item, key)}" for key, item in value.items() if not _absent(item)]
        return ", ".join(parts) or "none"
    return str(value)


def _absent(value: Any) -> bool:
    return value is None or value == [] or value == {}


def _line(subject: str, kind: Kind, field: str | None, before: Any, after: Any, option: str, note: str = "") -> Change:
    name = f"{field} " if field else ""
    if kind == "added":
        text = f"{subject}: {name}added ({words(after, option)})"
    elif kind == "removed":
        text = f"{subject}: {name}removed (was {words(before, option)})"
    else:
        text = f"{subject}: {name}{words(before, option)} -> {words(after, option)}"
    if note:
        text += f" ({note})" if kind == "changed" else f"; {note}"
    return Change(subject, kind, field, before, after, text)


# -- comparison ------------------------------------------------------------------------------------------------


def diff_policies(before: Policy, after: Policy) -> list[Change]:
    """Every difference between two policies, in the order the options appear in a policy."""
    old, new = plain(before), plain(after)
    changes: list[Change] = []
    for name in type(before).model_fields:
        if old[name] == new[name]:
            continue
        held = getattr(before, name)
        if _is_collection(held):
            changes += _collection(name, _members(old[name]), _members(new[name]), ordered=isinstance(held, tuple))
        elif isinstance(held, BaseModel):
            subject = SUBJECTS.get(name, name)
            changes += _options(subject, old[name], new[name], collection=name, member=new[name])
        else:
            changes.append(_line(SUBJECTS.get(name, name), "changed", None, old[name], new[name], name))
    return changes


def _is_collection(value: Any) -> bool:
    """A mapping of members (quiet_hours, categories), or a tuple of named models (caps)."""
    if isinstance(value, dict):
        return True
    return isinstance(value, tuple) and all(isinstance(item, BaseModel) and hasattr(item, "name") for item in value)


def _members(dumped: JsonDict | list[JsonDict]) -> JsonDict:
    return dumped if isinstance(dumped, dict) else {item["name"]: item for item in dumped}


def _collection(name: str, old: JsonDict, new: JsonDict, *, ordered: bool) -> list[Change]:
    label = MEMBERS.get(name, name)
    changes: list[Change] = []
    for key in [*old, *(k for k in new if k not in old)]:
        subject = f"{label} {key}"
        if key not in new:
            changes.append(_line(subject, "removed", None, old[key], None, name, REMOVED_NOTES.get(name, "")))
        elif key not in old:
            changes.append(_line(subject, "added", None, None, new[key], name))
        elif old[key] != new[key]:
            if name in WHOLE_MEMBERS:
                changes.append(_line(subject, "changed", None, old[key], new[key], name))
            else:
                changes += _options(subject, old[key], new[key], collection=name, member=new[key])
    order = _reordered(list(old), list(new)) if ordered else None
    if order:
        note = "when several are full, a decision names the first in this order"
        changes.append(_line(name, "changed", "order", order[0], order[1], "", note))
    return changes


def _reordered(old: list[str], new: list[str]) -> tuple[str, str] | None:
    """The two orders, when members present in both appear in a different order (caps: the first full one is
    the one a decision names, and the one checked for outranking)."""
    kept_old = [key for key in old if key in new]
    kept_new = [key for key in new if key in old]
    return None if kept_old == kept_new else (", ".join(old), ", ".join(new))


def _options(
    subject: str, old: JsonDict, new: JsonDict, *, collection: str, member: JsonDict, prefix: str = ""
) -> list[Change]:
    """Option-by-option differences of one model (a cap, a category, feedback), nested models by dotted path."""
    changes: list[Change] = []
    for key in [*old, *(k for k in new if k not in old)]:
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        path = prefix + key
        if _absent(before):
            changes.append(_line(subject, "added", path, None, after, key))
        elif _absent(after):
            changes.append(_line(subject, "removed", path, before, None, key))
        elif isinstance(before, dict) and isinstance(after, dict):
            changes += _options(subject, before, after, collection=collection, member=member, prefix=f"{path}.")
        else:
            note = NOTES.get((collection, path))
            changes.append(_line(subject, "changed", path, before, after, key, note(member) if note else ""))
    return changes
