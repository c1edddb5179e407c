"""Fixtures shared by the functional tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


class Lines(logging.Handler):
    """Every log line the functions write, formatted as in Lambda (powertools' JSON), and any other library's."""

    def __init__(self) -> None:
        from baton.entry.observability import logger

        super().__init__(logging.DEBUG)
        self.setFormatter(logger.registered_formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def taken(self) -> str:
        text, self.lines = "\n".join(self.lines), []
        return text


@pytest.fixture
def logged() -> Iterator[Lines]:
    from baton.entry.observability import logger

    lines = Lines()
    targets = [logging.getLogger(logger.name), logging.getLogger()]
    level = targets[0].level
    targets[0].setLevel(logging.DEBUG)  # every line the functions could write (local runs log warnings only)
    for target in targets:
        target.addHandler(lines)
    yield lines
    for target in targets:
        target.removeHandler(lines)
    targets[0].setLevel(level)
