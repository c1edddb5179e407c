"""baton.entry.startup: the cycle collector off while a handler loads, in Lambda only, and on again after; what the
start and the composition root built is frozen out of later collections."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from baton.entry import startup


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


def test_in_lambda_what_the_composition_root_built_is_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    built = [object() for _ in range(100)]
    startup.settled()
    assert gc.get_freeze_count() > 0 and built


def test_the_composition_root_freezes_nothing_elsewhere_or_with_the_collector_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    startup.settled()
    assert gc.get_freeze_count() == 0
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    gc.disable()
    startup.settled()
    assert gc.get_freeze_count() == 0
