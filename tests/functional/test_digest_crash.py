"""A digest with a member its template cannot show (README, Delivery), with the function dying before or
after each call of the invocation that sends it: the member it cannot show ends failed and is never listed;
the others are sent in one message, twice only when the crash falls between the provider accepting it and
the carrier's confirm (the one window of a double send). The unfit member fails before the send, so a resumed
carrier never lists it, and the carrier is confirmed first, so a member left sending follows it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from baton.core.policy import default_policy_path, load_policy_file
from baton.local.mocked_aws import sent_messages
from baton.local.runtime import LocalContext
from reliability.world import World, local_world
from tests.functional.harness import CRASH_AFTER, CRASH_BEFORE, THROTTLE, At, FaultPlan, inject

SCENARIO = Path(__file__).parents[1] / "scenarios" / "digest_of_three_price_drops.jsonl"
UNFIT = {"template": "sale", "data": {"headline": "Lamp", "url": "https://shop.example/p/2"}}


class Recorded(FaultPlan):
    """A plan that also keeps the order of the armed calls it saw."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.order: list[tuple[str, str, int]] = []

    def choose(self, service: str, operation: str) -> str | None:
        kind = super().choose(service, operation)
        if self.scoped and getattr(self._local, "armed", False):
            self.order.append((service, operation, self.calls[(service, operation)]))
        return kind


@contextmanager
def scenario(unfit: str, plan: FaultPlan) -> Iterator[World]:
    """The scenario's events, each at its time (what is due before it released, as the sweeper would), with
    ``unfit`` unfit for the digest; the plan armed only from the last event on (the digest is sent by the
    sweeper's release, the next day)."""
    events = [json.loads(line) for line in SCENARIO.read_text().splitlines()]
    for event in events:
        if event["detail"].get("request_id") == unfit:
            event["detail"].update(UNFIT)
    with local_world(load_policy_file(default_policy_path())) as world, inject(plan):
        for event in events:
            at = datetime.fromisoformat(event["time"]) + timedelta(days=1)  # the world starts later
            world.settle(world.arbiter(), until=at)
            if event["detail-type"] == "CustomerUpdated":
                world.runtime.invoke_profile([json.dumps(event)])
            else:
                world.queue.send([json.dumps(event)])
                world.queue.drain(world.arbiter(), LocalContext)
        world.settle(world.arbiter(plan.armed), armed=plan.armed)
        yield world


def digest_mails() -> list[str]:
    return [str(m.raw_data) for m in sent_messages()["email"] if "Prices dropped on" in str(m.raw_data)]


def statuses(world: World) -> dict[str, str]:
    return {r.request_id: r.status for r in world.runtime.ledger.timeline("c1") if r.request_id.startswith("drop")}


def digest_calls(unfit: str) -> list[tuple[str, str, int]]:
    """The calls of the invocation that sends the digest (from the release the sweeper queued for it), and
    any after it, as a run without faults makes them."""
    plan = Recorded(scoped=True)
    with scenario(unfit, plan) as world:
        assert statuses(world)[unfit] == "failed"
    order = plan.order
    send = order.index(("sesv2", "SendEmail", 1))
    release = max(i for i in range(send) if order[i][0] == "sqs")
    return order[release + 1 :]


def cases(unfit: str) -> list[Any]:
    """Each call of the digest's invocation, crashed before and after; ``twice``: the crash falls between the
    provider accepting the message and the carrier's confirm."""
    calls = digest_calls(unfit)
    send = calls.index(("sesv2", "SendEmail", 1))
    confirm = next(c for c in calls[send:] if c[1] == "UpdateItem")
    window = {(calls[send], CRASH_AFTER), (confirm, CRASH_BEFORE)}
    return [
        pytest.param(point, kind, (point, kind) in window, id=f"{point[1]}{point[2]}-{kind}")
        for point in calls
        for kind in (CRASH_BEFORE, CRASH_AFTER)
    ]


@pytest.mark.parametrize(("point", "kind", "twice"), cases("drop-2"))
def test_a_member_the_digest_cannot_show_is_never_listed_whatever_the_crash(
    point: tuple[str, str, int], kind: str, twice: bool
) -> None:
    plan = FaultPlan(points=[At(*point, kind)], scoped=True)
    with scenario("drop-2", plan) as world:
        assert plan.count() == 1  # the crash did happen
        final = statuses(world)
        mails = digest_mails()
    assert final == {"drop-1": "sent", "drop-2": "failed", "drop-3": "sent"}
    assert mails and all("Prices dropped on 2 items" in mail for mail in mails)
    assert len(mails) == (2 if twice else 1), point


def test_a_member_failed_before_the_send_is_reported_when_the_send_cannot_be_confirmed() -> None:
    """The unfit member is settled before the send; if what follows raises (here the carrier's confirm,
    throttled past every retry), its outcome is reported on the way out: its redelivery would find it settled
    and say nothing of it."""
    calls = digest_calls("drop-2")
    send = calls.index(("sesv2", "SendEmail", 1))
    confirm = next(c for c in calls[send:] if c[1] == "UpdateItem")
    plan = FaultPlan(points=[At("dynamodb", "UpdateItem", confirm[2] + n, THROTTLE) for n in range(10)], scoped=True)
    with scenario("drop-2", plan) as world:
        assert plan.count(THROTTLE) == 10
        said = [(r.outcome.value, r.reason) for r in world.reports if r.request_id == "drop-2"]
        final = statuses(world)
    assert said[-1] == ("failed", "render:data") and said.count(said[-1]) == 1
    assert final == {"drop-1": "sent", "drop-2": "failed", "drop-3": "sent"}
