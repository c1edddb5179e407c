"""A digest that cannot be made from its members' data ends them ``failed`` with ``render:<field>``; the ledger
keeps what the template lacked, so ``baton explain`` says it in words. (A request's own template is checked
when it arrives; a category's digest template is only met when the digest is sent.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from baton.explain import timeline
from baton.local.replay import read_lines, replay
from baton.policy import default_policy_path, load_policy_file

SCENARIO = Path(__file__).parents[1] / "scenarios" / "digest_of_three_price_drops.jsonl"


def test_a_digest_missing_an_items_data_fails_and_explain_says_what_it_lacked() -> None:
    raw = [json.loads(line) for line in SCENARIO.read_text().splitlines()]
    for event in raw:  # drop-2 fits its own template (sale) but not an item of the price-drop digest
        if event["detail"].get("request_id") == "drop-2":
            event["detail"]["template"] = "sale"
            event["detail"]["data"] = {"headline": "Lamp", "url": "https://shop.example/p/2"}
    records: list[Any] = []
    run = replay(
        read_lines([json.dumps(e) for e in raw]),
        load_policy_file(default_policy_path()),
        inspect=lambda runtime: records.extend(runtime.ledger.timeline("c1")),
    )
    outcomes = {r.request_id: (r.outcome, r.reason) for r in run.results}
    assert outcomes["drop-1"] == outcomes["drop-2"] == outcomes["drop-3"] == ("failed", "render:data")
    assert outcomes["news"] == outcomes["bis"] == ("sent", "within_policy")

    failed = [r for r in records if r.status == "failed"]
    assert len(failed) == 3
    for record in failed:
        assert "'price_drop_digest' needs" in record.detail and "price" in record.detail
    told = "\n".join(timeline("c1", records))
    assert told.count("the message could not be made from its template and data") == 3
    assert f"why: {failed[0].detail}" in told
