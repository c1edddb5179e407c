"""``baton policy push`` on moto's SSM: it validates the file as ``validate`` does, shows the diff from the live
policy as ``diff`` does, and writes a new parameter version in the stack's form with a label from the policy's
version; a dry run, an invalid file and a push of what is live already write nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber

from baton.core.policy import Policy, default_policy_path, load_policy_file, policy_json
from baton.local import cli
from baton.local.mocked_aws import REGION
from baton.names import POLICY_PARAMETER

DEFAULT = default_policy_path()
ORDER_OF_CHANGES = [
    "version: 2026-11-23.1 -> 2026-12-01.1",
    "cap email_daily: limit 2 -> 3 (per rolling 24h)",
    "quiet hours for sms: 21:00-08:00 -> 22:00-08:00",
]


def ssm() -> Any:
    return boto3.client("ssm", region_name=REGION)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def next_policy(tmp_path: Path) -> str:
    """The default policy with a new version, email_daily's limit raised and later sms quiet hours."""
    with open(DEFAULT, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    document["version"] = "2026-12-01.1"
    document["caps"][1]["limit"] = 3
    document["quiet_hours"]["sms"]["start"] = "22:00"
    path = tmp_path / "policy-next.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return str(path)


def deployed(policy: Policy) -> None:
    """The parameter as ``cdk deploy`` leaves it: version 1, the policy's JSON form, no label."""
    ssm().put_parameter(Name=POLICY_PARAMETER, Value=policy_json(policy), Type="String", Tier="Standard")


def history() -> list[dict[str, Any]]:
    return list(ssm().get_parameter_history(Name=POLICY_PARAMETER)["Parameters"])


def tier() -> str:
    filters = [{"Key": "Name", "Option": "Equals", "Values": [POLICY_PARAMETER]}]
    return str(ssm().describe_parameters(ParameterFilters=filters)["Parameters"][0]["Tier"])


def test_a_push_creates_the_parameter_when_there_is_none(
    local_aws: None, capsys: pytest.CaptureFixture[str], default_policy: Policy
) -> None:
    code, out, err = run(capsys, "policy", "push", DEFAULT)
    assert code == 0 and err == ""
    assert out.splitlines() == [
        f"ssm:{POLICY_PARAMETER} (absent: the push creates it) -> {DEFAULT} ({default_policy.tag})",
        f"pushed {DEFAULT} to {POLICY_PARAMETER}: version 1, label v2026-11-23.1 (standard tier)",
    ]
    [version] = history()
    assert version["Value"] == policy_json(default_policy)  # the form the stack stores
    assert version["Labels"] == ["v2026-11-23.1"]
    assert version["Description"] == (
        f"Baton marketing policy {default_policy.tag} from default.yaml (JSON, baton policy push)"
    )
    assert tier() == "Standard"


def test_a_push_shows_the_diff_from_the_live_policy_and_labels_the_new_version(
    local_aws: None, capsys: pytest.CaptureFixture[str], default_policy: Policy, tmp_path: Path
) -> None:
    deployed(default_policy)
    after = next_policy(tmp_path)
    code, out, err = run(capsys, "policy", "push", after)
    assert code == 0 and err == ""
    new = load_policy_file(after)
    assert out.splitlines() == [
        f"ssm:{POLICY_PARAMETER} ({default_policy.tag}) -> {after} ({new.tag})",
        *ORDER_OF_CHANGES,
        f"pushed {after} to {POLICY_PARAMETER}: version 2, label v2026-12-01.1 (standard tier)",
    ]
    first, second = history()
    assert (first["Labels"], second["Labels"]) == ([], ["v2026-12-01.1"])
    assert second["Value"] == policy_json(new)
    live = ssm().get_parameter(Name=f"{POLICY_PARAMETER}:v2026-12-01.1")["Parameter"]  # found by its label
    assert live["Version"] == 2


def test_the_diff_is_the_one_policy_diff_prints(
    local_aws: None, capsys: pytest.CaptureFixture[str], default_policy: Policy, tmp_path: Path
) -> None:
    deployed(default_policy)
    after = next_policy(tmp_path)
    _, pushed, _ = run(capsys, "policy", "push", "--dry-run", after)
    _, diffed, _ = run(capsys, "policy", "diff", DEFAULT, after)
    assert pushed.splitlines()[1:-1] == diffed.splitlines()[1:] == ORDER_OF_CHANGES


def test_a_dry_run_changes_nothing(
    local_aws: None, capsys: pytest.CaptureFixture[str], default_policy: Policy, tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "policy", "push", "--dry-run", DEFAULT)
    assert code == 0
    assert out.splitlines()[-1] == (
        f"dry run: nothing pushed; the push would write {POLICY_PARAMETER} version 1, label v2026-11-23.1"
        " (standard tier)"
    )
    with pytest.raises(ssm().exceptions.ParameterNotFound):
        ssm().get_parameter(Name=POLICY_PARAMETER)

    deployed(default_policy)
    code, out, _ = run(capsys, "policy", "push", next_policy(tmp_path), "--dry-run")
    assert code == 0
    assert out.splitlines()[1:] == [
        *ORDER_OF_CHANGES,
        f"dry run: nothing pushed; the push would write {POLICY_PARAMETER} version 2, label v2026-12-01.1"
        " (standard tier)",
    ]
    [version] = history()
    assert version["Value"] == policy_json(default_policy) and version["Labels"] == []


def test_an_invalid_file_changes_nothing_and_exits_2(
    local_aws: None, capsys: pytest.CaptureFixture[str], default_policy: Policy, tmp_path: Path
) -> None:
    deployed(default_policy)
    bad = tmp_path / "bad.yaml"
    bad.write_text('version: "2026-12-01.1"\ntimezone: UTC\nquiet_hours:\n  sms: {start: "25:00", end: "08:00"}\n')
    code, out, err = run(capsys, "policy", "push", str(bad))
    assert code == 2 and out == ""
    assert err.splitlines() == [  # the lines validate prints, then why nothing was pushed
        f'{bad}:4: quiet_hours.sms.start: "25:00" is not a time of day: write HH:MM from 00:00 to 23:59',
        f"baton policy: {bad} is not a valid policy: nothing pushed",
    ]
    code, _, err = run(capsys, "policy", "push", str(tmp_path / "missing.yaml"))
    assert code == 2 and "cannot read" in err
    assert len(history()) == 1


def test_a_push_of_what_is_live_already_writes_no_version(
    local_aws: None, capsys: pytest.CaptureFixture[str], default_policy: Policy, tmp_path: Path
) -> None:
    deployed(default_policy)
    code, out, _ = run(capsys, "policy", "push", DEFAULT)
    assert code == 0
    assert out.splitlines()[1:] == [
        "no changes in what is decided",
        f"nothing pushed: {POLICY_PARAMETER} version 1 holds this policy already",
    ]
    assert len(history()) == 1

    # the same rules under a new version label decide alike, but audit records name the label: it is pushed
    relabelled = tmp_path / "relabelled.yaml"
    relabelled.write_text(Path(DEFAULT).read_text().replace('version: "2026-11-23.1"', 'version: "2026-11-23.2"'))
    code, out, _ = run(capsys, "policy", "push", str(relabelled))
    assert code == 0
    assert out.splitlines()[1:] == [
        "version: 2026-11-23.1 -> 2026-11-23.2",
        "no changes in what is decided",
        f"pushed {relabelled} to {POLICY_PARAMETER}: version 2, label v2026-11-23.2 (standard tier)",
    ]


def test_a_rollback_is_a_push_of_the_previous_file(
    local_aws: None, capsys: pytest.CaptureFixture[str], default_policy: Policy, tmp_path: Path
) -> None:
    run(capsys, "policy", "push", DEFAULT)
    run(capsys, "policy", "push", next_policy(tmp_path))
    code, out, _ = run(capsys, "policy", "push", DEFAULT)
    assert code == 0
    assert out.splitlines()[-1] == (
        f"pushed {DEFAULT} to {POLICY_PARAMETER}: version 3, label v2026-11-23.1 (standard tier)"
    )
    assert [version["Labels"] for version in history()] == [[], ["v2026-12-01.1"], ["v2026-11-23.1"]]  # moved
    assert ssm().get_parameter(Name=POLICY_PARAMETER)["Parameter"]["Value"] == policy_json(default_policy)


def test_an_invalid_live_value_is_reported_and_can_be_replaced(
    local_aws: None, capsys: pytest.CaptureFixture[str], default_policy: Policy
) -> None:
    ssm().put_parameter(Name=POLICY_PARAMETER, Value='{"version": "x", "caps": [{"name": "a"}]}', Type="String")
    code, out, err = run(capsys, "policy", "push", DEFAULT)
    assert code == 0
    assert err.splitlines() == [
        f"ssm:{POLICY_PARAMETER}: the live value is not a valid policy; the functions keep the last good policy "
        "they read, and one that has read none fails:",
        f"ssm:{POLICY_PARAMETER}: timezone: Field required",
        f"ssm:{POLICY_PARAMETER}: caps[a].limit: Field required",
        f"ssm:{POLICY_PARAMETER}: caps[a].window: Field required",
    ]
    assert out.splitlines() == [
        f"ssm:{POLICY_PARAMETER} (an invalid live value) -> {DEFAULT} ({default_policy.tag})",
        f"pushed {DEFAULT} to {POLICY_PARAMETER}: version 2, label v2026-11-23.1 (standard tier)",
    ]


def large_policy(tmp_path: Path, categories: int) -> str:
    listed = "".join(f"  category_number_{i:03d}_of_a_long_list: {{priority: {i % 100}}}\n" for i in range(categories))
    path = tmp_path / f"large-{categories}.yaml"
    path.write_text(f"version: large-{categories}\ntimezone: UTC\ncategories:\n{listed}")
    return str(path)


def test_a_policy_above_4_kb_makes_the_parameter_advanced_and_it_stays_so(
    local_aws: None, capsys: pytest.CaptureFixture[str], default_policy: Policy, tmp_path: Path
) -> None:
    deployed(default_policy)
    large = large_policy(tmp_path, 120)
    size = len(policy_json(load_policy_file(large)).encode())
    code, out, _ = run(capsys, "policy", "push", large)
    assert code == 0
    assert out.splitlines()[-2:] == [
        f"the policy is {size} bytes as JSON, more than a standard parameter holds: {POLICY_PARAMETER} becomes "
        "advanced (charged by AWS; SSM never makes it standard again)",
        f"pushed {large} to {POLICY_PARAMETER}: version 2, label large-120 (advanced tier)",
    ]
    assert tier() == "Advanced"

    code, out, _ = run(capsys, "policy", "push", DEFAULT)
    assert code == 0
    assert out.splitlines()[-1] == (
        f"pushed {DEFAULT} to {POLICY_PARAMETER}: version 3, label v2026-11-23.1 (advanced tier)"
    )


def test_a_policy_above_8_kb_is_refused(local_aws: None, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "policy", "push", large_policy(tmp_path, 250))
    assert code == 2 and out == ""
    assert "bytes as JSON; an SSM parameter holds 8192 at most" in err
    with pytest.raises(ssm().exceptions.ParameterNotFound):
        ssm().get_parameter(Name=POLICY_PARAMETER)


def test_a_parameter_that_cannot_be_read_exits_2_saying_why(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = boto3.client("ssm", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.add_client_error("get_parameter", "AccessDeniedException", "not authorized to perform ssm:GetParameter")
    monkeypatch.setattr("baton.ops.policy_push.ssm_client", lambda: client)
    with stubber:
        code, out, err = run(capsys, "policy", "push", DEFAULT)
    assert code == 2 and out == ""
    assert err.startswith(f"baton policy: cannot read parameter {POLICY_PARAMETER}: ")
    assert "AccessDeniedException" in err and "not authorized" in err


def test_another_parameter_can_be_named(local_aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", "push", DEFAULT, "--parameter", "/baton-staging/policy")
    assert code == 0
    assert out.splitlines()[-1].startswith(f"pushed {DEFAULT} to /baton-staging/policy: version 1")
    assert ssm().get_parameter(Name="/baton-staging/policy")["Parameter"]["Version"] == 1
