"""Baton's domain exceptions. Adapters raise these, never SDK errors; each maps to an outcome in one place."""

from __future__ import annotations


class BatonError(Exception):
    """Base of every Baton error."""


class ConfigurationError(BatonError):
    """The deployment is misconfigured (environment, parameter): fail fast, never guess."""


class PolicyError(BatonError):
    """A policy document cannot be used. The message names the source, the field and what is wrong."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"policy {source}: " + "; ".join(problems))


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
