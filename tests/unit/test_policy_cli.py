"""``baton policy validate`` and ``baton policy diff`` through the CLI entry point, with their errors: a file that
cannot be read (exit 2), a policy with mistakes (validate: exit 1, each problem naming file, line and field), a
category that is not listed (a warning; an error under --strict)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from baton.core.policy import Policy, default_policy_path
from baton.local import cli

DEFAULT = default_policy_path()
BAD = """\
version: "2026-12-01.1"
timezone: Mars/Olympus
caps:
  - {name: email_daily, limit: -1, window: 24h, colour: red}
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def edited_default(tmp_path: Path, name: str, **changes: object) -> str:
    with open(DEFAULT, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    document.update(changes)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return str(path)


def write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


# -- validate ------------------------------------------------------------------------------------------------


def test_validate_reports_each_valid_policy_with_its_tag(
    capsys: pytest.CaptureFixture[str], default_policy: Policy, tmp_path: Path
) -> None:
    other = edited_default(tmp_path, "next.yaml", version="2026-12-01.1")
    code, out, err = run(capsys, "policy", "validate", DEFAULT, other)
    assert code == 0 and err == ""
    first, second = out.splitlines()
    assert first == f"{DEFAULT}: ok, {default_policy.tag}, 7 caps, 8 categories"
    assert second.startswith(f"{other}: ok, 2026-12-01.1@") and second.endswith(", 7 caps, 8 categories")


def test_validate_names_file_and_field_of_every_problem_and_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = write(tmp_path, "bad.yaml", BAD)
    code, out, err = run(capsys, "policy", "validate", DEFAULT, bad)
    assert code == 1
    assert out.startswith(f"{DEFAULT}: ok, ")  # the valid file is still reported
    assert err.splitlines() == [
        f"{bad}:2: timezone: unknown IANA time zone 'Mars/Olympus'",
        f"{bad}:4: caps[email_daily].limit: Input should be greater than or equal to 0",
        f"{bad}:4: caps[email_daily].colour: unknown field",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: x\ntimezone: [unclosed\n", ":3: not valid YAML: "),
        ("- just\n- a list\n", ":1: (document): must be a mapping"),
        ('{"version": "x", "timezone": "UTC", "caps": 3}', ": caps: Input should be a valid"),
    ],
)
def test_validate_rejects_a_document_that_is_not_a_policy(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, "policy.yaml", text)
    code, out, err = run(capsys, "policy", "validate", path)
    assert code == 1 and out == ""
    assert err.startswith(f"{path}{expected}")


TYPOS = """\
version: "2026-12-01.1"
timezone: America/New_York
caps:
  - {name: flash_daily, limit: 1, window: 24h, match: {category: flash_sle}}
quiet_hours:
  sms: {start: "25:00", end: "08:00"}
categories:
  flash_sale: {priority: 60}
"""


def test_validate_reports_errors_and_warnings_in_the_order_of_the_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, "typos.yaml", TYPOS)
    code, out, err = run(capsys, "policy", "validate", path)
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"{path}:4: warning: caps[flash_daily].match.category:"
        " flash_sle is not a listed category: requests of it follow default_category",
        f'{path}:6: quiet_hours.sms.start: "25:00" is not a time of day: write HH:MM from 00:00 to 23:59',
    ]


def test_a_category_not_listed_is_a_warning_and_under_strict_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, "typo.yaml", TYPOS.replace('"25:00"', '"21:00"'))
    warning = (
        "caps[flash_daily].match.category: flash_sle is not a listed category: requests of it follow default_category"
    )

    code, out, err = run(capsys, "policy", "validate", path)
    assert code == 0
    assert out.startswith(f"{path}: ok, 2026-12-01.1@")
    assert err.splitlines() == [f"{path}:4: warning: {warning}"]

    code, out, err = run(capsys, "policy", "validate", "--strict", path)
    assert code == 1 and out == ""
    assert err.splitlines() == [f"{path}:4: {warning}"]

    code, out, err = run(capsys, "policy", "validate", "--strict", DEFAULT)
    assert code == 0 and err == "" and out.startswith(f"{DEFAULT}: ok, ")


def test_validate_exits_2_when_a_file_cannot_be_read(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.yaml")
    binary = write(tmp_path, "binary.yaml", b"\xff\xfe\x00version")
    bad = write(tmp_path, "bad.yaml", BAD)
    code, out, err = run(capsys, "policy", "validate", missing, bad, binary, DEFAULT)
    assert code == 2  # unreadable outranks invalid
    assert f"cannot read {missing}: No such file or directory" in err
    assert f"cannot read {binary}: not UTF-8 text" in err
    assert f"{bad}:2: timezone: " in err  # every file is still checked
    assert out.startswith(f"{DEFAULT}: ok")


def test_validate_a_directory_is_unreadable(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "policy", "validate", str(tmp_path))
    assert code == 2
    assert f"cannot read {tmp_path}" in err


def test_validate_needs_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["policy", "validate"])
    assert exited.value.code == 2
    assert "FILE" in capsys.readouterr().err


# -- diff ----------------------------------------------------------------------------------------------------


def test_diff_says_what_changes_in_plain_words(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with open(DEFAULT, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    document["caps"][1]["limit"] = 3
    document["quiet_hours"]["sms"] = {"start": "22:00", "end": "08:00"}
    document["timezone"] = "Europe/Berlin"
    after = write(tmp_path, "after.yaml", yaml.safe_dump(document, sort_keys=False))
    code, out, err = run(capsys, "policy", "diff", DEFAULT, after)
    assert code == 0 and err == ""
    head, *changes = out.splitlines()
    assert head.startswith(f"{DEFAULT} (2026-11-23.1@") and f"-> {after} (2026-11-23.1@" in head
    assert changes == [
        "default time zone: America/New_York -> Europe/Berlin",
        "cap email_daily: limit 2 -> 3 (per rolling 24h)",
        "quiet hours for sms: 21:00-08:00 -> 22:00-08:00",
    ]


def test_diff_of_policies_that_decide_alike_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "policy", "diff", DEFAULT, DEFAULT)
    assert code == 0
    assert out.splitlines()[1:] == ["no changes in what is decided"]

    relabelled = edited_default(tmp_path, "relabelled.yaml", version="2026-12-01.1")
    code, out, _ = run(capsys, "policy", "diff", DEFAULT, relabelled)
    assert code == 0
    assert out.splitlines()[1:] == ["version: 2026-11-23.1 -> 2026-12-01.1", "no changes in what is decided"]


def test_diff_json(capsys: pytest.CaptureFixture[str], default_policy: Policy, tmp_path: Path) -> None:
    after = edited_default(tmp_path, "after.yaml", unsubscribe_scope="channel")
    code, out, _ = run(capsys, "policy", "diff", DEFAULT, after, "--json")
    assert code == 0
    document = json.loads(out)
    assert document["before"] == {"file": DEFAULT, "policy": default_policy.tag}
    assert document["after"]["file"] == after
    assert document["decides_alike"] is False
    assert document["changes"] == [
        {
            "subject": "one-click unsubscribe scope",
            "kind": "changed",
            "field": None,
            "before": "category",
            "after": "channel",
            "text": "one-click unsubscribe scope: category -> channel",
        }
    ]


def test_diff_exits_2_naming_file_and_field_of_an_invalid_policy(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = write(tmp_path, "bad.yaml", BAD)
    code, out, err = run(capsys, "policy", "diff", DEFAULT, bad)
    assert code == 2 and out == ""
    assert err.startswith(f"baton policy: policy {bad}: ")
    assert "line 4: caps[email_daily].limit" in err and "line 2: timezone" in err


def test_diff_exits_2_when_a_file_cannot_be_read(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.yaml")
    code, out, err = run(capsys, "policy", "diff", missing, DEFAULT)
    assert code == 2 and out == ""
    assert f"cannot read {missing}: No such file or directory" in err


def test_diff_needs_two_files(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["policy", "diff", DEFAULT])
    assert exited.value.code == 2
    assert "B" in capsys.readouterr().err


def test_a_reader_that_goes_away_ends_the_command_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    """``baton ... | head``: when the pipe's reader has closed, the command stops with 141 and no traceback."""
    import os
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)
    # line-buffered: the first line hits the closed pipe
    with open(write_end, "w", buffering=1, encoding="utf-8") as stdout:
        monkeypatch.setattr(sys, "stdout", stdout)
        code = cli.main(["policy", "validate", default_policy_path()])
        monkeypatch.undo()
    assert code == cli.EXIT_BROKEN_PIPE
