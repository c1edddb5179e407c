"""A digest member whose data the digest template cannot show (a request's own template is checked when it
arrives; a category's digest template is only met when the digest is sent) ends ``failed`` with
``render:<field>`` alone, and the digest goes out listing the others. The ledger keeps what the template lacked,
so ``baton explain`` says it in words. When the carrier, or no member, fits, the whole digest fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from baton.core.policy import default_policy_path, load_policy_file
from baton.local.mocked_aws import sent_messages
from baton.local.replay import read_lines, replay
from baton.ops.explain import timeline

SCENARIO = Path(__file__).parents[1] / "scenarios" / "digest_of_three_price_drops.jsonl"
# fits its own template (sale) but not an item of the price-drop digest, which needs a product and a price
UNFIT = {"template": "sale", "data": {"headline": "Lamp", "url": "https://shop.example/p/2"}}


def run_with_unfit(*request_ids: str) -> tuple[dict[str, tuple[str, str]], list[Any], list[str]]:
    """The scenario with ``request_ids`` made unfit for the digest: outcomes, c1's ledger records, and the
    text of every price-drop email sent."""
    raw = [json.loads(line) for line in SCENARIO.read_text().splitlines()]
    for event in raw:
        if event["detail"].get("request_id") in request_ids:
            event["detail"].update(UNFIT)
    records: list[Any] = []
    mails: list[str] = []

    def inspect(runtime: Any) -> None:
        records.extend(runtime.ledger.timeline("c1"))
        mails.extend(
            str(m.raw_data) for m in sent_messages()["email"] if "price drop" in str(m.raw_data).lower()
        )

    run = replay(read_lines([json.dumps(e) for e in raw]), load_policy_file(default_policy_path()), inspect=inspect)
    return {r.request_id: (r.outcome, r.reason) for r in run.results}, records, mails


def test_a_member_the_digest_cannot_show_fails_alone_and_the_digest_lists_the_others() -> None:
    outcomes, records, mails = run_with_unfit("drop-2")
    assert outcomes["drop-2"] == ("failed", "render:data")
    assert outcomes["drop-1"] == ("sent", "digest")
    assert outcomes["drop-3"] == ("sent", "digest:drop-1")
    assert outcomes["news"] == outcomes["bis"] == ("sent", "within_policy")
    [mail] = mails  # one digest, of the two that fit
    assert "Prices dropped on 2 items" in mail

    [failed] = [r for r in records if r.status == "failed"]
    assert failed.request_id == "drop-2"
    assert "'price_drop_digest' needs" in failed.detail and "price" in failed.detail
    told = "\n".join(timeline("c1", records))
    assert told.count("the message could not be made from its template and data") == 1
    assert f"why: {failed.detail}" in told


def test_a_carrier_the_digest_cannot_show_fails_the_digest_whole() -> None:
    """The carrier holds the digest's one contact in the caps and its members end as it ends: it cannot drop
    out of its own message."""
    outcomes, records, mails = run_with_unfit("drop-1")
    assert outcomes["drop-1"] == outcomes["drop-2"] == outcomes["drop-3"] == ("failed", "render:data")
    assert mails == []
    assert {r.request_id: r.status for r in records if r.request_id.startswith("drop")} == {
        "drop-1": "failed",
        "drop-2": "failed",
        "drop-3": "failed",
    }


def test_a_digest_none_of_whose_members_it_can_show_fails_them_all() -> None:
    outcomes, records, mails = run_with_unfit("drop-1", "drop-2", "drop-3")
    assert outcomes["drop-1"] == outcomes["drop-2"] == outcomes["drop-3"] == ("failed", "render:data")
    assert mails == []
    failed = [r for r in records if r.status == "failed"]
    assert len(failed) == 3
    assert all("'price_drop_digest' needs" in r.detail for r in failed)
