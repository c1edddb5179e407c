"""Where the running policy comes from: a fixed Policy (local runtime, tests) or the SSM parameter (Lambda),
read through powertools Parameters with caching so a policy change needs no redeploy."""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

from baton.core.errors import ConfigurationError, PolicyError
from baton.core.policy import Policy, policy_from_json


@cache
def _parameters() -> Any:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    from baton.adapters.aws import aws_client

    return SSMProvider(boto3_client=aws_client("ssm"))


class StaticPolicy:
    def __init__(self, policy: Policy):
        self._policy = policy

    def current(self) -> Policy:
        return self._policy


class ParameterPolicy:
    """The policy in an SSM parameter (JSON), cached for ``max_age`` seconds.

    A bad document is never applied: the last good policy stays in force (and the error is raised to the
    caller only when there is no good policy yet)."""

    def __init__(self, name: str, max_age: int = 60):
        self._name = name
        self._max_age = max_age
        self._last: tuple[str, Policy] | None = None
        self._rejected: str | None = None

    def current(self) -> Policy:
        raw = _parameters().get(self._name, max_age=self._max_age)
        if not isinstance(raw, str):
            raise ConfigurationError(f"parameter {self._name} holds no text")
        digest = hashlib.sha256(raw.encode()).hexdigest()
        if self._last and (self._last[0] == digest or self._rejected == digest):
            return self._last[1]
        try:
            policy = policy_from_json(raw, f"ssm:{self._name}")
        except PolicyError as exc:
            if self._last:
                self._rejected = digest
                return self._last[1]
            raise ConfigurationError(f"policy parameter {self._name} is unusable: {exc}") from exc
        self._last = (digest, policy)
        return policy
