"""`make demo` (``baton.local.demo``): its table uses the outcome words the rest of Baton uses and shows every
request id its reasons name, and the README shows lines the demo really prints."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from baton.core.domain import Outcome
from baton.local import demo

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def printed() -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert demo.main([str(ROOT / "examples" / "shopper_day.jsonl")]) == 0
    return out.getvalue()


def _rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if re.match(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d:\d\d  ", line)]


def test_the_table_speaks_the_outcomes_and_shows_the_ids_its_reasons_name(printed: str) -> None:
    rows = _rows(printed)
    assert len(rows) == 26
    ids = {row[2] for row in rows}
    outcomes = {row[5] for row in rows}
    assert outcomes <= {o.value for o in Outcome} and {"sent", "suppressed"} <= outcomes
    named = set(re.findall(r"\b(req-\d{3})\b", "\n".join(" ".join(row[8:]) for row in rows)))
    assert named and named <= ids
    assert "held back" not in printed


def test_the_readme_shows_what_the_demo_prints(printed: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = _rows(readme)
    assert len(shown) >= 5
    printed_lines = {" ".join(row) for row in _rows(printed)}
    for row in shown:
        line = " ".join(row)
        cut = line.removesuffix(" ...")  # a long reason is cut short in the README
        assert line in printed_lines or any(p.startswith(cut) for p in printed_lines), line


def test_the_evening_shopper_waits_for_their_hour_as_the_readme_shows(printed: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(line for line in printed.splitlines() if line.strip().startswith("req-701"))
    assert "deferred send_time until Fri 19:00" in line and line.endswith("sent Fri 19:00")
    assert line in readme
