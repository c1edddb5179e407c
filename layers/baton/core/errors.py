"""Baton's domain exceptions. Adapters raise these, never SDK errors; each maps to an outcome in one place."""

from __future__ import annotations

from dataclasses import dataclass


class BatonError(Exception):
    """Base of every Baton error."""


class ConfigurationError(BatonError):
    """The deployment is misconfigured (environment, parameter): fail fast, never guess."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a policy document, or worth a warning: the field as a reader finds it
    (``caps[email_daily].window``), what is wrong, and the line of the YAML text when there is one."""

    field: str  # "" when the text itself cannot be read as a document (not valid YAML or JSON)
    message: str
    line: int | None = None  # 1-based; None for JSON, or a document that came without text

    def __str__(self) -> str:
        return ": ".join(part for part in (f"line {self.line}" if self.line else "", self.field, self.message) if part)

    def located(self, source: str, label: str = "") -> str:
        """One line as the policy commands print it: ``policy.yaml:14: caps[email_daily].window: Field required``
        (``label``, such as ``warning``, comes after the place)."""
        place = f"{source}:{self.line}" if self.line else source
        return ": ".join(part for part in (place, label, self.field, self.message) if part)


class PolicyError(BatonError):
    """A policy document cannot be used. ``problems`` lists every problem found, each naming the field (and the
    line, for YAML) and what is wrong."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        super().__init__(f"policy {source}: " + "; ".join(str(problem) for problem in problems))


class InvalidRequest(BatonError):
    """An incoming event breaks the public contract. ``field`` names what is wrong."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"invalid {field}: {message}")

    @property
    def reason(self) -> str:
        return f"invalid:{self.field}"


class ConcurrentUpdate(BatonError):
    """Another invocation changed the customer's ledger between our read and our write: re-read and decide again."""


class TransientFailure(BatonError):
    """A dependency failed in a way that may succeed later (throttling, 5xx, timeout): retry, then redeliver."""


class PermanentDeliveryFailure(BatonError):
    """The channel refused the message for good; the request ends ``failed`` with ``reason``."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)
