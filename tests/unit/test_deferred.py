"""baton.deferred: a model that defers its validator is built once, even when many threads meet it first at
once (pydantic's own build on first use is not thread-safe)."""

from __future__ import annotations

import threading
import time
from typing import Any

from pydantic import BaseModel, ConfigDict

from baton.deferred import ready


def test_a_deferred_model_is_built_once_by_threads_that_meet_it_at_once() -> None:
    class Late(BaseModel):
        model_config = ConfigDict(defer_build=True)
        n: int

    builds: list[int] = []
    rebuild = Late.model_rebuild

    def slow_rebuild(**kwargs: Any) -> bool | None:
        builds.append(1)
        time.sleep(0.05)  # a wide window for a second thread to come in
        return rebuild(**kwargs)

    Late.model_rebuild = slow_rebuild  # type: ignore[method-assign]
    gate = threading.Barrier(8)
    seen: list[int] = []

    def validate() -> None:
        gate.wait()
        seen.append(ready(Late).model_validate({"n": 1}).n)

    threads = [threading.Thread(target=validate) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builds == [1] and seen == [1] * 8
    assert Late.__pydantic_complete__
    assert ready(Late) is Late and builds == [1]  # built: nothing more to do
