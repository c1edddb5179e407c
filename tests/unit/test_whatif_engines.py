"""``baton whatif --engine local``: however the input is cut into parts and whichever worker spills a part (each
appends to its own file of each bucket), each customer is decided whole, on its lines in input order, and the
rows and figures are those of one part."""

from __future__ import annotations

import itertools
import json
import zlib

import pytest

from baton.core.policy import default_policy_path, load_policy_file, policy_json
from baton.local import whatif_engines
from baton.local.whatif import Tally
from bench import traffic

CUSTOMERS = 20


def _run(lines: list[str], workers: int) -> tuple[list[str], Tally]:
    rows: list[str] = []
    text = policy_json(load_policy_file(default_policy_path()))
    tally = whatif_engines.run_local(enumerate(lines, start=1), text, workers, rows.append)
    return rows, tally


def _bad(customer: str) -> str:
    detail = {"request_id": f"bad-{customer}", "customer_id": customer, "channel": "fax"}
    return json.dumps({"id": f"bad-{customer}", "time": "2026-11-02T06:00:00Z", "source": "shop",
                       "detail-type": "MessageRequested", "detail": detail})  # fmt: skip


def _bucket_mates() -> tuple[str, str]:
    """Two customers whose lines go to the same bucket."""
    seen: dict[int, str] = {}
    for n in range(10_000):
        customer = f"cust-{n:06d}"
        bucket = zlib.crc32(customer.encode()) % whatif_engines.BUCKETS
        if bucket in seen:
            return seen[bucket], customer
        seen[bucket] = customer
    raise AssertionError("no two customers share a bucket")


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    events = traffic.write(tmp_path_factory.mktemp("whatif") / "events.jsonl", 300, CUSTOMERS, 3)
    read = events.read_text().splitlines()
    first_request = next(line for line in read if '"MessageRequested"' in line)
    again = json.loads(first_request)
    again["id"] = "again"
    first, second = _bucket_mates()
    # problems of two customers of one bucket at either end, a blank line, one that is not JSON, a repeated
    # request_id
    return [_bad(first), *read, "", "{not json", json.dumps(again), _bad(second)]


@pytest.mark.parametrize("workers", [1, 2])
def test_small_parts_decide_as_one_part_does(lines: list[str], workers: int, monkeypatch: pytest.MonkeyPatch) -> None:
    whole, whole_tally = _run(lines, 1)
    assert len(lines) < whatif_engines.PART_LINES
    monkeypatch.setattr(whatif_engines, "PART_LINES", 7)
    if workers == 1:  # as if each part had been spilled by another worker, the later ones read first
        spillers = itertools.count(999_999, -1)
        monkeypatch.setattr(whatif_engines, "getpid", lambda: next(spillers))
    parts, parts_tally = _run(lines, workers)
    assert parts == whole
    assert parts_tally.summary() == whole_tally.summary()
    assert parts_tally.problem_lines == whole_tally.problem_lines
    outcomes = [json.loads(row)["outcome"] for row in whole]
    assert outcomes[0] == "rejected" and outcomes[-3:] == ["rejected", "duplicate", "rejected"]
    assert outcomes.count("sent") > 100
