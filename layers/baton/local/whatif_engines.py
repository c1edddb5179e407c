"""How ``baton whatif`` spreads customers over processes: ``local`` (this machine's cores) or ``spark`` (PySpark).

Both run ``baton.local.whatif.decide_and_count`` on each customer's events and give back the output rows (JSON,
one per request line) in input order and one ``Tally``.

``local`` streams: the input is read once and each line appended to one of ``BUCKETS`` spill files by a hash of
its customer (so a file holds whole customers); worker processes decide a bucket at a time, customer by customer,
and write its rows sorted by line; the rows are then merged from the bucket files in line order. Memory holds one
bucket per worker, not the input.
"""

from __future__ import annotations

import heapq
import os
import tempfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from baton.local.whatif import Tally, customer_key, row_json

BUCKETS = 64  # spill files: at a million requests, about 16,000 lines each
# A row file's line: the input line's number in this many digits, a tab, the row. Fixed width, so that the lines
# sort as their numbers do and the merge compares them as they are.
NUMBER_DIGITS = 12
Numbered = Iterable[tuple[int, str]]  # (line number, raw line)
Rows = Callable[[str], None]

_decider: Any = None  # each worker process's Decider, built once


def start_worker(policy_text: str) -> None:
    """Build this process's Decider from the policy as JSON (``baton.core.policy.policy_json``)."""
    global _decider
    from baton.core.policy import policy_from_json
    from baton.local.whatif import Decider

    if _decider is None or _decider.text != policy_text:
        _decider = Decider(policy_from_json(policy_text, "whatif"), text=policy_text)


def _started() -> None:
    """A task that does nothing: one per worker, submitted before the input is spilled, starts every worker
    process (its imports and Decider) while the main process spills."""


def decide_group(numbered: list[tuple[int, str]], tally: Tally) -> list[tuple[int, str]]:
    """One customer's lines, decided in this process: (line, output row) in line order."""
    from zoneinfo import ZoneInfo

    from baton.local.whatif import decide_and_count

    results = decide_and_count(_decider, numbered, ZoneInfo(_decider.policy.timezone), tally)
    return [(r.line, row_json(r)) for r in results]


def _decide_bucket(paths: tuple[str, str]) -> Tally:
    """Worker: the customers of one spill file; their rows, sorted by line, into the out file."""
    source, target = paths
    customers: dict[str, list[tuple[int, str]]] = defaultdict(list)
    with open(source, encoding="utf-8") as handle:
        for record in handle:
            number, key, raw = record.rstrip("\n").split("\t", 2)
            customers[key].append((int(number), raw))
    tally = Tally()
    rows: list[tuple[int, str]] = []
    for numbered in customers.values():
        rows.extend(decide_group(numbered, tally))
    rows.sort(key=lambda row: row[0])
    with open(target, "w", encoding="utf-8") as out:
        out.writelines(f"{number:0{NUMBER_DIGITS}d}\t{row}\n" for number, row in rows)
    return tally


def _spill(numbered: Numbered, folder: Path) -> list[tuple[str, str]]:
    """Each line to the spill file of its customer; the (spill, rows) file pairs."""
    pairs = [(str(folder / f"in-{i:03d}"), str(folder / f"out-{i:03d}")) for i in range(BUCKETS)]
    files = [open(source, "w", encoding="utf-8") for source, _ in pairs]  # noqa: SIM115 - closed below
    try:
        for number, raw in numbered:
            text = raw.strip()
            if not text:
                continue
            key = customer_key(text)
            safe = key if "\t" not in key and "\n" not in key else ""
            files[zlib.crc32(safe.encode()) % BUCKETS].write(f"{number}\t{safe}\t{text}\n")
    finally:
        for handle in files:
            handle.close()
    return pairs


def _merged(pairs: list[tuple[str, str]]) -> Iterator[str]:
    handles = [open(target, encoding="utf-8") for _, target in pairs]  # noqa: SIM115 - closed below
    try:
        for line in heapq.merge(*handles):
            yield line[NUMBER_DIGITS + 1 : -1]
    finally:
        for handle in handles:
            handle.close()


def run_local(
    numbered: Numbered,
    policy_text: str,
    workers: int,
    on_row: Rows,
    on_bucket: Callable[[int, int], None] | None = None,
) -> Tally:
    """Decide every customer over ``workers`` processes (1: in this process); each output row to ``on_row`` in
    line order; ``on_bucket(done, total)`` as spill files are decided."""
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="baton-whatif-") as tmp:
        if workers == 1:
            pairs = _spill(numbered, Path(tmp))
            start_worker(policy_text)
            parts: Iterable[Tally] = map(_decide_bucket, pairs)
            tally = _added(parts, tally, on_bucket)
        else:
            context = get_context("spawn")  # no fork of a process that may hold threads (the progress bar)
            with ProcessPoolExecutor(
                workers, mp_context=context, initializer=start_worker, initargs=(policy_text,)
            ) as pool:
                for _ in range(workers):
                    pool.submit(_started)
                pairs = _spill(numbered, Path(tmp))
                tally = _added(pool.map(_decide_bucket, pairs), tally, on_bucket)
        for row in _merged(pairs):
            on_row(row)
    return tally


def _added(parts: Iterable[Tally], tally: Tally, on_bucket: Callable[[int, int], None] | None) -> Tally:
    for done, part in enumerate(parts, start=1):
        tally.add(part)
        if on_bucket is not None:
            on_bucket(done, BUCKETS)
    return tally


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
