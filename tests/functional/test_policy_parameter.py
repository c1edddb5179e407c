"""The policy in force at run time (SSM parameter on moto): a bad document is never applied, not even in part;
the last good policy stays in force."""

from __future__ import annotations

import json

import boto3
import pytest

from baton.adapters.policy_source import ParameterPolicy
from baton.core.errors import ConfigurationError
from baton.core.policy import Policy, policy_json
from baton.local.mocked_aws import REGION

NAME = "/baton/policy-under-test"


def put(text: str) -> None:
    boto3.client("ssm", region_name=REGION).put_parameter(Name=NAME, Value=text, Type="String", Overwrite=True)


def test_a_bad_policy_leaves_the_last_good_one_in_force(local_aws: None, default_policy: Policy) -> None:
    source = ParameterPolicy(NAME, max_age=0)
    put(policy_json(default_policy))
    assert source.current() == default_policy

    document = default_policy.model_dump(mode="json")
    document["caps"] = [{"name": "looser", "limit": 50, "window": "24h"}, {"name": "broken", "limit": 1}]
    put(json.dumps(document))  # the first cap is fine, the second lacks its window: nothing of it applies
    assert source.current() == default_policy
    put("{not json")
    assert source.current() == default_policy

    fixed = document.copy()
    fixed["caps"] = [{"name": "looser", "limit": 50, "window": "24h"}]
    fixed["version"] = "next"
    put(json.dumps(fixed))
    assert [c.name for c in source.current().caps] == ["looser"]


def test_no_good_policy_yet_is_a_configuration_error(local_aws: None) -> None:
    put(json.dumps({"version": "x", "timezone": "Mars/Base"}))
    with pytest.raises(ConfigurationError, match="timezone"):
        ParameterPolicy(NAME, max_age=0).current()
