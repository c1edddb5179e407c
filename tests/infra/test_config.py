"""The deployment's context, the environment contract check and the schema dialect: plain Python, no synth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from baton.contract import json_schemas
from baton.core.policy import default_policy_path, load_policy_file, policy_json
from baton.entry.settings import ArbiterSettings, SweeperSettings
from baton.names import stage_names
from infra.config import ConfigError, keys_secret, load_config
from infra.function import ContractError, check_environment
from infra.ingest import draft4
from infra.stack import cdk_json_context

from .conftest import CONTEXT


def context(**changes: Any) -> dict[str, Any]:
    return {**CONTEXT, **changes}


def test_cdk_json_as_shipped_is_a_valid_configuration() -> None:
    config = load_config(cdk_json_context())
    assert config.deletion_protection is True
    assert config.retain_data is True
    assert config.audit_retention_days == 90
    assert config.policy_path == default_policy_path()


def test_values_from_the_command_line_arrive_as_strings_and_are_parsed() -> None:
    config = load_config(
        context(
            producer_account_ids="111111111111,333333333333",
            max_concurrency="12",
            deletion_protection="false",
            preferences_principals='["arn:aws:iam::111111111111:role/a"]',
        )
    )
    assert config.producer_account_ids == ("111111111111", "333333333333")
    assert config.max_concurrency == 12
    assert config.deletion_protection is False
    assert config.preferences_principals == ("arn:aws:iam::111111111111:role/a",)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sender": None}, "context sender"),
        ({"sender": "not-an-address"}, "context sender"),
        ({"sender": "schöne@shop.example"}, "context sender: expected an ASCII email address"),
        ({"domain": "other.example"}, "not an address at the domain other.example"),
        ({"producer_account_ids": ["1234"]}, "context producer_account_ids: not account ids: 1234"),
        ({"producer_account_ids": ["*"]}, "context producer_account_ids"),
        ({"preferences_principals": ["*"]}, "context preferences_principals"),
        ({"max_concurrency": 1}, "context max_concurrency"),
        ({"max_concurrency": "many"}, "context max_concurrency"),
        ({"log_retention_days": 42}, "context log_retention_days"),
        ({"deletion_protection": "maybe"}, "context deletion_protection"),
        ({"removal_policy": "snapshot"}, "context removal_policy"),
        ({"policy": "/nonexistent/policy.yaml"}, "context policy: no policy file"),
    ],
)
def test_a_bad_context_value_fails_naming_the_key(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(context(**changes))


def test_a_policy_with_a_mistake_fails_synth_with_the_policy_error(tmp_path: Path) -> None:
    text = Path(default_policy_path()).read_text().replace("timezone:", "timezone: Mars/Olympus_Mons\nx_timezone:", 1)
    bad = tmp_path / "policy.yaml"
    bad.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(context(policy=str(bad)))
    assert str(bad) in str(caught.value)
    assert "timezone" in str(caught.value)


def test_the_policy_file_becomes_the_parameter_json() -> None:
    config = load_config(context())
    assert policy_json(config.policy) == policy_json(load_policy_file(default_policy_path()))


def test_the_environment_check_refuses_a_missing_or_an_unread_variable() -> None:
    good = {name: "x" for name in SweeperSettings.env_names()}
    check_environment(SweeperSettings, good)
    with pytest.raises(ContractError, match="missing: BATON_ARBITER_QUEUE_URL"):
        check_environment(SweeperSettings, {k: v for k, v in good.items() if k != "BATON_ARBITER_QUEUE_URL"})
    with pytest.raises(ContractError, match="not read: BATON_SENDER"):
        check_environment(SweeperSettings, {**good, "BATON_SENDER": "x"})
    optional = {name: "x" for name in ArbiterSettings.env_names() if name != "BATON_UNSUBSCRIBE_MAILTO"}
    check_environment(ArbiterSettings, optional)  # an optional variable may be left out


def test_the_arbiter_refuses_a_sender_address_it_could_not_write_in_a_from_header() -> None:
    from baton.core.errors import ConfigurationError
    from baton.entry.settings import load_settings
    from baton.names import Env

    env = {
        Env.TABLE_NAME: "baton", Env.SALT_SECRET: "salt", Env.SIGNING_SECRET: "sign", Env.AUDIT_RETENTION_DAYS: "90",
        Env.POLICY_PARAMETER: "/baton/policy", Env.SES_CONFIGURATION_SET: "baton",
        Env.UNSUBSCRIBE_URL: "https://u.example/unsubscribe",
    }  # fmt: skip
    for sender in ("orders@shop.example", "Schöne Schuhe <news@shop.example>"):
        assert load_settings(ArbiterSettings, {**env, Env.SENDER: sender}).sender == sender
    for sender in ("schöne@shop.example", "Shop <no-address>"):
        with pytest.raises(ConfigurationError, match=f"{Env.SENDER}: Value error, must be an ASCII email address"):
            load_settings(ArbiterSettings, {**env, Env.SENDER: sender})


def test_draft4_rewrites_2020_12_keywords() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "x",
        "$defs": {"A": {"const": 1}},
        "properties": {"const": {"$ref": "#/$defs/A"}, "n": {"exclusiveMinimum": 0}},
    }
    assert draft4(schema) == {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "id": "x",
        "definitions": {"A": {"enum": [1]}},
        "properties": {"const": {"$ref": "#/definitions/A"}, "n": {"minimum": 0, "exclusiveMinimum": True}},
    }


@pytest.mark.parametrize("name", sorted(json_schemas()))
def test_every_contract_schema_is_valid_draft4(name: str) -> None:
    Draft4Validator.check_schema(draft4(json_schemas()[name]))


def test_the_secret_names_follow_the_cdk_arguments_then_cdk_json_then_the_stage() -> None:
    """``make deploy CDK_ARGS='-c salt_secret=...'`` or ``STAGE=...``: the secrets created first are the ones the
    stack will read (and the combined secret of before, which they are made from, is looked for by its name)."""
    from infra.keys import configured, configured_name

    assert [cdk_json_context()[k] for k in ("signing_secret", "salt_secret", "keys_secret")] == ["", "", ""]
    assert configured("") == configured("-c kms=false")
    names = configured("")
    assert (names.signing, names.salt, names.combined, names.kms_alias) == (
        "baton/signing-keys",
        "baton/address-salt",
        "baton/keys",
        None,
    )
    assert configured("-c kms=true -c stage=staging").kms_alias == "alias/baton-staging"
    assert configured_name("-c sender=a@b.example -c salt_secret=shop/baton-salt") == "shop/baton-salt"
    assert configured_name("--context salt_secret=first --context salt_secret=second") == "second"
    assert configured_name("-c salt_secrets=not-this-key") == "baton/address-salt"
    assert configured_name("--context=salt_secret=shop/equals-form") == "shop/equals-form"
    assert configured_name("-c stage=staging") == "baton/staging/address-salt"
    assert configured_name("-c stage=qa --context=stage=staging") == "baton/staging/address-salt"
    assert configured("-c stage=staging -c signing_secret=shop/sign").signing == "shop/sign"
    assert configured("-c stage=staging -c keys_secret=").combined == "baton/staging/keys"
    for cdk_args, stage in (("", ""), ("-c stage=staging", "staging")):  # as the stack will see them
        names, config = configured(cdk_args), load_config(context(keys_secret="", stage=stage))
        assert (names.signing, names.salt, names.combined) == (
            config.signing_secret,
            config.salt_secret,
            config.keys_secret,
        )


def test_kms_and_the_unsubscribe_reservation_are_checked() -> None:
    assert (load_config(CONTEXT).kms, load_config(CONTEXT).unsubscribe_concurrency) == (False, 10)
    assert load_config(context(kms="true", unsubscribe_concurrency="0")).kms is True
    assert load_config(context(unsubscribe_concurrency="0")).unsubscribe_concurrency == 0
    with pytest.raises(ConfigError, match="context kms: expected true or false"):
        load_config(context(kms="yes"))
    with pytest.raises(ConfigError, match="context unsubscribe_concurrency: expected an integer from 0 to 1000"):
        load_config(context(unsubscribe_concurrency=-1))


def test_the_stage_is_optional_and_checked() -> None:
    assert load_config({k: v for k, v in CONTEXT.items() if k != "stage"}).names == stage_names(None)
    assert load_config(context(stage="")).stage is None
    config = load_config(context(stage="staging"))
    assert (config.stage, config.names, config.keys_secret) == ("staging", stage_names("staging"), "baton/staging/keys")
    # keys_secret given: used as given, stage or not
    assert load_config(context(stage="staging", keys_secret="shop/keys")).keys_secret == "shop/keys"
    with pytest.raises(ConfigError, match="context stage: expected a lowercase letter"):
        load_config(context(stage="Staging"))
    with pytest.raises(ConfigError, match="context stage: expected a lowercase letter"):
        keys_secret(context(stage="qa_1"))
