"""Shared fixtures. Tests live in one folder per kind, each with its make target (docs/testing.md):

unit/ (no AWS, sockets refused), contract/ (the ledger port's one suite over each implementation),
functional/ (the real handler entry points and the operator tools on moto, faults injected through botocore
hooks), scenarios/ (replay files with their expected outcomes written beside them), dynamodb/ (Amazon's DynamoDB
Local), infra/ (CDK synth, assertions, cdk-nag, cfn-lint), browser/ (the report in headless Chromium), runs/ (the
code of ``make bench`` and ``make reliability`` at tiny sizes).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from baton.core.policy import Policy, default_policy_path, load_policy_file
from baton.local.mocked_aws import mocked_aws
from baton.local.runtime import LocalRuntime

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # 06:00 in America/Chicago


@pytest.fixture(scope="session")
def default_policy() -> Policy:
    return load_policy_file(default_policy_path())


@pytest.fixture
def local_aws() -> Iterator[None]:
    """Embedded moto with Baton's table and sender identity created (the same definitions the CDK deploys)."""
    with mocked_aws():
        yield


def without_windows(policy: Policy) -> Policy:
    """The policy with every arbitration window at 0: requests are decided the moment they arrive."""
    categories = {k: v.model_copy(update={"arbitration_window": timedelta(0)}) for k, v in policy.categories.items()}
    return policy.model_copy(update={"categories": categories})


@pytest.fixture
def runtime_now(local_aws: None, default_policy: Policy) -> LocalRuntime:
    """Like ``runtime``, with decisions at once (no arbitration windows)."""
    return LocalRuntime(without_windows(default_policy), START)


@pytest.fixture
def runtime(local_aws: None, default_policy: Policy) -> LocalRuntime:
    """The real handlers and service on moto, on a simulated clock starting at START."""
    return LocalRuntime(default_policy, START)
