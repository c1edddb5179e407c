"""Pydantic models that defer building their validators (``defer_build``) are built here, once, under a lock:
pydantic's own build on first use is not thread-safe (pydantic/pydantic#11849: a model first validated in
several threads at once can be checked against its parent's validator), and local runs (``baton replay``, the
reliability scenarios, the tests) validate from many threads."""

from __future__ import annotations

import threading
from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=type[BaseModel])
_building = threading.Lock()


def ready(model: M) -> M:
    """``model``, its validator built (now, if it was not yet)."""
    if not model.__pydantic_complete__:
        with _building:
            if not model.__pydantic_complete__:
                model.model_rebuild()
    return model
