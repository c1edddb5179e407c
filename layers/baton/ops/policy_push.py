"""Putting a policy into its run-time parameter (``baton policy push``): what the parameter holds now, the form
and tier the stack stores it in, and a version label from the policy's own ``version``.

The rules (label, tier, what a push would do) are pure; the SSM calls are here too, behind domain exceptions, so
the command only reads files and prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from baton.core.errors import ConfigurationError, PolicyError, Problem
from baton.core.policy import Policy, PolicyCheck, check_json, policy_json

Tier = Literal["Standard", "Advanced"]
STANDARD_TIER_BYTES = 4096  # the most a standard SSM parameter holds; the stack's template uses the same rule
ADVANCED_TIER_BYTES = 8192  # the most any SSM parameter holds

_NOT_IN_LABEL = re.compile(r"[^A-Za-z0-9._-]")


def version_label(version: str) -> str:
    """The label a pushed parameter version carries, made from the policy's ``version``.

    SSM labels hold letters, digits, ``.``, ``-`` and ``_``, at most 100 characters, and must not begin with a
    digit or with ``aws`` or ``ssm`` (in any case). So: every other character becomes ``_``, and a label that
    would begin with a digit, ``aws`` or ``ssm`` gets a ``v`` in front. ``2026-11-23.1`` is labelled
    ``v2026-11-23.1``, ``spring sale`` ``spring_sale``, ``ssm-test`` ``vssm-test``. A version is at most 64
    characters, so a label is at most 65."""
    label = _NOT_IN_LABEL.sub("_", version)
    if label[:1].isdigit() or label[:3].lower() in ("aws", "ssm"):
        label = "v" + label
    return label


@dataclass(frozen=True)
class LiveParameter:
    """What the parameter holds now."""

    version: int
    text: str
    tier: str


@dataclass(frozen=True)
class PushPlan:
    """What a push of ``policy`` does to the parameter, decided before anything is written."""

    parameter: str
    policy: Policy
    document: str  # the stored form: policy_json, as the stack writes it
    label: str
    tier: Tier
    live: LiveParameter | None  # None: the parameter does not exist, and the push creates it
    live_check: PolicyCheck | None  # the live value judged as the functions judge it (None: nothing live)

    @property
    def live_policy(self) -> Policy | None:
        return self.live_check.policy if self.live_check else None

    @property
    def changes_nothing(self) -> bool:
        """The live value is this policy already (same version label, same rules): a push writes no version."""
        return self.live_policy == self.policy

    @property
    def next_version(self) -> int:
        return self.live.version + 1 if self.live else 1

    @property
    def tier_grows(self) -> bool:
        """The policy is too large for a standard parameter, and the parameter is not advanced yet."""
        return self.tier == "Advanced" and (self.live is None or self.live.tier != "Advanced")


def plan_push(parameter: str, policy: Policy, live: LiveParameter | None, source: str) -> PushPlan:
    """Pure: the push of ``policy`` (read from ``source``) onto what ``parameter`` holds now.

    The tier is the one the stack's template would give the policy (standard up to 4 KB as JSON, advanced up to
    8 KB), except that a parameter already advanced stays advanced: SSM cannot make it standard again. A policy
    larger than 8 KB is a PolicyError: no parameter holds it."""
    document = policy_json(policy)
    size = len(document.encode())
    if size > ADVANCED_TIER_BYTES:
        problem = f"the policy is {size} bytes as JSON; an SSM parameter holds {ADVANCED_TIER_BYTES} at most"
        raise PolicyError(source, [Problem("", problem)])
    advanced = size > STANDARD_TIER_BYTES or (live is not None and live.tier == "Advanced")
    return PushPlan(
        parameter=parameter,
        policy=policy,
        document=document,
        label=version_label(policy.version),
        tier="Advanced" if advanced else "Standard",
        live=live,
        live_check=check_json(live.text) if live else None,
    )


# -- SSM ---------------------------------------------------------------------------------------------------------


def ssm_client() -> Any:
    """An SSM client with the caller's credentials and region (ConfigurationError when there is no region)."""
    from botocore.exceptions import BotoCoreError

    from baton.adapters.aws import aws_client

    try:
        return aws_client("ssm")
    except BotoCoreError as exc:
        raise ConfigurationError(f"no SSM client: {exc}") from None


def read_live(ssm: Any, parameter: str) -> LiveParameter | None:
    """What ``parameter`` holds now, or None when it does not exist."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        found = ssm.get_parameter(Name=parameter)["Parameter"]
        described = ssm.describe_parameters(
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [parameter]}]
        )["Parameters"]
    except ssm.exceptions.ParameterNotFound:
        return None
    except (BotoCoreError, ClientError) as exc:
        raise ConfigurationError(f"cannot read parameter {parameter}: {exc}") from None
    tier = described[0].get("Tier", "Standard") if described else "Standard"
    return LiveParameter(version=int(found["Version"]), text=str(found["Value"]), tier=str(tier))


def push(ssm: Any, plan: PushPlan, description: str) -> int:
    """Write the plan's policy as a new parameter version and label it; the version written.

    The parameter is created only if it still does not exist (two pushes at once: the second is refused rather
    than written over a value it has not shown); an existing one is overwritten, with no lock."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        written = ssm.put_parameter(
            Name=plan.parameter,
            Value=plan.document,
            Type="String",
            Overwrite=plan.live is not None,
            Tier=plan.tier,
            Description=description,
        )
    except ssm.exceptions.ParameterAlreadyExists:
        raise ConfigurationError(f"{plan.parameter} was created while pushing: push again to see the diff") from None
    except ssm.exceptions.ParameterMaxVersionLimitExceeded:
        raise ConfigurationError(
            f"{plan.parameter} has 100 versions and its oldest is labelled, so SSM keeps it: remove that label "
            "(aws ssm unlabel-parameter-version) and push again"
        ) from None
    except (BotoCoreError, ClientError) as exc:
        raise ConfigurationError(f"cannot write parameter {plan.parameter}: {exc}") from None
    version = int(written["Version"])
    try:
        refused = ssm.label_parameter_version(Name=plan.parameter, ParameterVersion=version, Labels=[plan.label])
    except (BotoCoreError, ClientError) as exc:
        raise ConfigurationError(f"pushed {plan.parameter} version {version}, but could not label it: {exc}") from None
    if refused.get("InvalidLabels"):
        raise ConfigurationError(f"pushed {plan.parameter} version {version}, but SSM refused the label {plan.label}")
    return version
