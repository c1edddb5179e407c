"""The docs' examples (Operator tools) of ``baton policy validate``, ``diff`` and ``push`` are what the commands print:
each ``$ baton policy ...`` line of the section is run (on moto, with the parameter as a deploy of the default
policy leaves it) and its output, stdout and stderr as a terminal shows them, compared line by line with the page's.
The files: ``policy.yaml`` is the shipped default; ``policy-next.yaml`` is it with the changes the diff example
lists; a ```yaml block that begins ``# NAME`` is the file NAME."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from baton.core.policy import default_policy_path, load_policy_file, policy_json
from baton.local import cli
from baton.local.mocked_aws import mocked_aws
from baton.names import POLICY_PARAMETER

README = Path(__file__).resolve().parents[2] / "docs" / "operator-tools.md"
SECTION = "### Before shipping a policy"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    return text[start : text.index("\n### ", start + 1)]


def blocks(text: str) -> list[tuple[str, str]]:
    return re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def examples(text: str) -> list[tuple[str, list[str]]]:
    """Each ``$ command`` of the section's example blocks with the lines shown after it."""
    found: list[tuple[str, list[str]]] = []
    for language, body in blocks(text):
        if language:
            continue
        for line in body.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif found:
                found[-1][1].append(line)
    return [(command, _trimmed(lines)) for command, lines in found]


def _trimmed(lines: list[str]) -> list[str]:
    while lines and not lines[-1]:
        lines.pop()
    return lines


def write_files(folder: Path, text: str) -> None:
    shutil.copy(default_policy_path(), folder / "policy.yaml")
    with open(default_policy_path(), encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    caps = {cap["name"]: cap for cap in document["caps"]}
    document["version"] = "2026-12-01.1"
    caps["email_daily"]["limit"] = 3
    document["caps"].remove(caps["sms_weekly"])
    document["quiet_hours"]["sms"]["start"] = "22:00"
    del document["categories"]["price_drop"]["digest"]
    document["categories"]["newsletter"]["priority"] = 20
    (folder / "policy-next.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    for language, body in blocks(text):
        first = body.splitlines()[0]
        if language == "yaml" and first.startswith("# "):
            (folder / first[2:].strip()).write_text(body)


def run(command: str) -> tuple[int, list[str]]:
    words = shlex.split(command, comments=True)
    assert words[0] == "baton", command
    shown = io.StringIO()  # one stream for both, as a terminal shows them
    with contextlib.redirect_stdout(shown), contextlib.redirect_stderr(shown):
        code = cli.main(words[1:])
    return code, shown.getvalue().splitlines()


def test_the_section_shows_each_command() -> None:
    commands = [command.split()[2] for command, _ in examples(section())]
    assert {"validate", "diff", "push"} <= set(commands)
    assert any("--dry-run" in command for command, _ in examples(section()))


def test_every_example_prints_what_the_readme_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = section()
    write_files(tmp_path, text)
    monkeypatch.chdir(tmp_path)
    with mocked_aws():
        import boto3

        deployed = policy_json(load_policy_file("policy.yaml"))
        boto3.client("ssm").put_parameter(Name=POLICY_PARAMETER, Value=deployed, Type="String", Tier="Standard")
        for command, expected in examples(text):
            code, shown = run(command)
            assert shown == expected, command
            said = re.search(r"# exit (\d)", command)
            assert code == (int(said.group(1)) if said else 0), command
