"""A Lambda function's cold start: its handler module calls ``begin()`` before its imports and ``end()`` after
its definitions; its composition root (``baton.entry.composition``) calls ``settled()`` once it has built what lives as
long as the container.

In between, the cycle collector is off. Loading the handler makes tens of thousands of objects that live as long
as the container (modules, classes, pydantic schemas), and the collector's passes over them took 60 to 75 ms of
the arbiter's start (README, Performance). ``end()`` freezes them (``gc.freeze()``), so later collections skip
them too, and turns the collector on again.

Only in Lambda (``LAMBDA_TASK_ROOT``, set by its runtime): tests and local tools import handlers into processes
of their own, and their objects are theirs to collect. A handler whose import fails in Lambda fails the
environment's init, and Lambda starts a new one, so nothing runs with the collector left off.
"""

from __future__ import annotations

import gc
import os

_paused = False


def begin() -> None:
    global _paused
    if "LAMBDA_TASK_ROOT" in os.environ and gc.isenabled():
        gc.disable()
        _paused = True


def end() -> None:
    global _paused
    if _paused:
        gc.freeze()
        gc.enable()
        _paused = False


def settled() -> None:
    """The composition root has built the container's settings, clients and adapters (on the first event):
    freeze them too, so that later collections do not walk them on every invocation. In Lambda only, and not
    where someone else turned the collector off."""
    if "LAMBDA_TASK_ROOT" in os.environ and gc.isenabled():
        gc.freeze()
