"""baton.startup: the cycle collector off while a handler loads, in Lambda only, and on again after."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from baton import startup


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    yield
    gc.unfreeze()
    gc.enable()


def test_in_lambda_the_collector_is_off_between_begin_and_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    startup.begin()
    assert not gc.isenabled()
    startup.end()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # what was loaded is out of later collections


def test_elsewhere_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    startup.begin()
    assert gc.isenabled()
    startup.end()
    assert gc.get_freeze_count() == 0


def test_a_collector_turned_off_by_someone_else_stays_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    gc.disable()
    startup.begin()
    startup.end()
    assert not gc.isenabled() and gc.get_freeze_count() == 0
