"""``@valueclass``: the decision path's values compare and hash by their fields, and mypy holds them frozen."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mypy import api

from baton.core.domain import Contact

AT = datetime(2026, 12, 4, 12, tzinfo=UTC)


def _contact(**changes: object) -> Contact:
    contact = Contact(request_id="r1", at=AT, channel="email", category="sale", campaign_id=None, entity=None,
                      priority=50, transactional=False)  # fmt: skip
    return replace(contact, **changes)


def test_values_compare_and_hash_by_their_fields() -> None:
    assert _contact() == _contact()
    assert hash(_contact()) == hash(_contact())
    assert len({_contact(), _contact(), _contact(priority=60)}) == 2
    assert _contact(channel="sms") != _contact()


def test_mypy_refuses_an_assignment_to_a_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "assigns.py"
    source.write_text(
        "from baton.core.domain import Contact\n\n\ndef f(c: Contact) -> None:\n    c.priority = 1\n"
        "\n\ndef g(c: Contact) -> int:\n    return c.priority\n"
    )
    monkeypatch.setenv("MYPYPATH", str(Path(__file__).resolve().parents[2] / "layers"))
    out, _, status = api.run(
        [str(source), "--config-file=", "--follow-imports=silent", f"--cache-dir={tmp_path / 'cache'}"]
    )
    assert status == 1, out
    assert 'assigns.py:5: error: Property "priority" defined in "Contact" is read-only' in out
    assert "assigns.py:9" not in out  # reading a field is fine
