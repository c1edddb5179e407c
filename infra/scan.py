"""checkov, the outside scanner the synthesized template is held to: where make installs it (its own venv, from
pyproject's ``scan`` extra) and how the tests run it.

``python -m infra.scan --requirements`` prints the pinned requirement for make; ``python -m infra.scan TEMPLATE``
scans a template as the test does and prints every failed check.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CHECKOV = REPO / ".venv-scan" / "bin" / "checkov"
MIN_COMMENT = 20  # characters: a skip must say why


def requirements() -> list[str]:
    with (REPO / "pyproject.toml").open("rb") as handle:
        return list(tomllib.load(handle)["project"]["optional-dependencies"]["scan"])


def scan(template: Path) -> dict[str, Any]:
    """checkov's CloudFormation checks on ``template``: its JSON report (``summary``, ``results.failed_checks``).
    ``--quiet`` leaves passed and skipped checks out of the results (checkov's JSON writer fails on some skipped
    checks without it); the summary still counts them."""
    if not CHECKOV.exists():
        raise FileNotFoundError(f"{CHECKOV} is missing: `make scan` installs checkov ({', '.join(requirements())})")
    result = subprocess.run(
        [str(CHECKOV), "-f", str(template), "--framework", "cloudformation", "--quiet", "--compact", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 1):  # 1: checks failed
        raise RuntimeError(f"checkov exited {result.returncode}: {result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    # one framework: an object; checkov writes a list when it runs several
    return report[0] if isinstance(report, list) else report


def failures(report: dict[str, Any]) -> list[str]:
    results = report.get("results", {})
    return [f"{f['check_id']} {f['resource']}: {f['check_name']}" for f in results.get("failed_checks", [])]


def skips(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every (logical id, check id, comment) skipped in the template's metadata."""
    return [
        (logical_id, str(entry.get("id", "")), str(entry.get("comment", "")))
        for logical_id, resource in document.get("Resources", {}).items()
        for entry in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]


def main(argv: list[str]) -> int:
    if argv == ["--requirements"]:
        print(" ".join(requirements()))
        return 0
    if len(argv) != 1:
        print("usage: python -m infra.scan --requirements | TEMPLATE", file=sys.stderr)
        return 2
    report = scan(Path(argv[0]))
    print(json.dumps(report.get("summary", {})))
    found = failures(report)
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
