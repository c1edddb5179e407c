"""The demo day's report, and a compare report, made once per session through ``baton replay --report``."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.local import cli
from baton.local.browser import BrowserError, chromium

ROOT = Path(__file__).resolve().parents[2]
DAY = str(ROOT / "examples" / "shopper_day.jsonl")
# a second policy for --compare: no caps and no windows, so more goes out, and at once
OPEN_POLICY = "version: open\ntimezone: America/Chicago\n"


@pytest.fixture(scope="session")
def browser() -> str:
    try:
        return chromium()
    except BrowserError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    page = tmp_path_factory.mktemp("report") / "report.html"
    assert cli.main(["replay", DAY, "--report", str(page), "--customer", "shopper-42", "--quiet"]) == 0
    return page


@pytest.fixture(scope="session")
def compare_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("compare")
    other = folder / "open.yaml"
    other.write_text(OPEN_POLICY, "utf-8")
    page = folder / "compare.html"
    assert cli.main(["replay", DAY, "--report", str(page), "--compare", str(other), "--quiet"]) == 0
    return page
