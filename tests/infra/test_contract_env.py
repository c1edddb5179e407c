"""The environment-variable contract: each function in the template is set exactly the variables its settings
model (baton.entry.settings) reads, its own, powertools' and pydantic's, and nothing else; with a stage or without."""

from __future__ import annotations

import pytest

from baton.entry.settings import ALL_SETTINGS
from baton.names import METRICS_NAMESPACE, SERVICE, Env

from .conftest import CONTEXT, Synthesized, references


@pytest.mark.parametrize("settings", ALL_SETTINGS, ids=lambda s: s.function)
def test_each_function_gets_exactly_the_variables_it_reads(each_synth: Synthesized, settings: type) -> None:
    variables = each_synth.function(settings.function)["Properties"]["Environment"]["Variables"]
    assert set(variables) == set(settings.env_names())


@pytest.mark.parametrize("settings", ALL_SETTINGS, ids=lambda s: s.function)
def test_values_point_at_the_stacks_own_resources(each_synth: Synthesized, settings: type) -> None:
    variables = each_synth.function(settings.function)["Properties"]["Environment"]["Variables"]
    assert variables[Env.POWERTOOLS_SERVICE_NAME] == SERVICE
    assert variables[Env.POWERTOOLS_METRICS_NAMESPACE] == METRICS_NAMESPACE
    assert variables[Env.POWERTOOLS_LOG_LEVEL] == CONTEXT["log_level"]
    assert variables[Env.PYDANTIC_DISABLE_PLUGINS] == "__all__"
    (table,) = each_synth.of_type("AWS::DynamoDB::Table")
    assert variables[Env.TABLE_NAME] == {"Ref": table}
    if Env.AUDIT_RETENTION_DAYS in variables:
        assert variables[Env.AUDIT_RETENTION_DAYS] == str(CONTEXT["audit_retention_days"])
        assert variables[Env.SALT_SECRET] == each_synth.names.salt_secret
    if Env.SIGNING_SECRET in variables:
        assert variables[Env.SIGNING_SECRET] == each_synth.names.signing_secret
    if Env.POLICY_PARAMETER in variables:
        (parameter,) = each_synth.of_type("AWS::SSM::Parameter")
        assert variables[Env.POLICY_PARAMETER] == {"Ref": parameter}
    if Env.ARBITER_QUEUE_URL in variables:
        assert references(variables[Env.ARBITER_QUEUE_URL]) == [each_synth.queue_id(each_synth.names.arbiter_queue)]
    if Env.SENDER in variables:
        assert variables[Env.SENDER] == CONTEXT["sender"]
        (config_set,) = each_synth.of_type("AWS::SES::ConfigurationSet")
        assert variables[Env.SES_CONFIGURATION_SET] == {"Ref": config_set}
        assert variables[Env.UNSUBSCRIBE_MAILTO] == CONTEXT["unsubscribe_mailto"]
