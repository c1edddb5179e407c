"""``baton whatif`` against ``baton replay``: the same outcome and reason for every request, on the demo day and
on a generated corpus (caps, quiet hours, deferrals, digests, exclusions, consent and preference changes).

What cannot agree by nature, and is left out of the comparison (only that): a send the provider refused. Replay
sends through moto's SES and SNS, which refuse some (a push endpoint never registered, say), and whatif's channel
accepts every send; such a request ends ``failed`` in replay with the provider's reason. A failed send is also not
counted by the caps afterwards, so the customer's later requests could differ too; on this corpus they do not
(3 of 3,060 requests are refused, to phone numbers ending in 99, and nothing else differs), so only the refused
requests themselves are left out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from baton.core.policy import Policy, policy_json
from baton.local.replay import Result, read_lines, replay
from baton.local.whatif_engines import run_local
from tests.functional.whatif_corpus import corpus

DEMO_DAY = Path(__file__).parents[2] / "examples" / "shopper_day.jsonl"


def whatif_rows(lines: list[str], policy: Policy, workers: int = 1) -> list[dict[str, Any]]:
    rows: list[str] = []
    run_local(enumerate(lines, start=1), policy_json(policy), workers, rows.append)
    return [json.loads(row) for row in rows]


def provider_refused(result: Result) -> bool:
    """A send the provider refused: ends failed with a reason that is not Baton's own (a template it could not
    render is Baton's code, and must agree)."""
    return result.outcome == "failed" and not result.reason.startswith("render:")


def differences(replayed: list[Result], rows: list[dict[str, Any]]) -> list[str]:
    """Each request whose outcome or reason differs between replay and whatif, in words."""
    mine = {row["line"]: row for row in rows}
    assert sorted(mine) == [r.line for r in replayed], "one row per request line, in line order"
    return [
        f"line {r.line} {r.request_id}: replay {r.outcome} {r.reason}, whatif {mine[r.line]['outcome']}"
        f" {mine[r.line]['reason']}"
        for r in replayed
        if not provider_refused(r)  # excluded: moto's SNS refuses numbers ending in 99 (sms_opted_out)
        and (r.outcome, r.reason) != (mine[r.line]["outcome"], mine[r.line]["reason"])
    ]


def test_the_demo_day_decides_as_replay_does(default_policy: Policy) -> None:
    lines = DEMO_DAY.read_text(encoding="utf-8").splitlines()
    replayed = replay(read_lines(lines), default_policy).results
    assert len(replayed) == 26
    assert differences(replayed, whatif_rows(lines, default_policy)) == []


@pytest.fixture(scope="module")
def generated(default_policy: Policy) -> tuple[list[Result], list[dict[str, Any]]]:
    """The corpus (3,000 requests over 300 customers), replayed and decided by whatif on 2 processes."""
    lines = corpus(requests=3_000, customers=300, days=3)
    return replay(read_lines(lines), default_policy).results, whatif_rows(lines, default_policy, workers=2)


def test_a_generated_corpus_decides_as_replay_does(generated: tuple[list[Result], list[dict[str, Any]]]) -> None:
    replayed, rows = generated
    assert len(replayed) >= 3_000
    found = differences(replayed, rows)
    assert found == [], found[:10]


def test_the_corpus_exercises_what_the_policy_does(generated: tuple[list[Result], list[dict[str, Any]]]) -> None:
    """The comparison means something only if the corpus reaches caps, quiet hours, deferrals, digests,
    exclusions and consent changes: their reasons are among whatif's."""
    reasons = {f"{row['outcome']}:{row['reason']}" for row in generated[1]}
    joined = " ".join(sorted(reasons))
    for needed in ("suppressed:cap", "digest:", "excluded", "opted_out", "no_consent", "duplicate:"):
        assert needed in joined, f"no {needed} in {sorted(reasons)[:40]}"
