"""How ``baton whatif`` spreads customers over processes: ``local`` (this machine's cores) or ``spark`` (PySpark).

Both run ``baton.local.whatif.decide_and_count`` on each customer's events and give back the output rows (JSON,
one per request line) in input order and one ``Tally``.

``local`` streams: the input is read once, in parts of ``PART_LINES`` lines; the worker processes spill each part
(and the main process too while they are all taken), each line appended to one of ``BUCKETS`` spill files by a
hash of its customer (so a bucket holds whole customers; a process appends to its own file of each bucket). Then
they decide a bucket at a time, customer by customer in input order, and write its rows sorted by line; the rows
are then merged from the bucket files in line order. Memory holds a few parts in flight and one bucket per
worker, not the input.
"""

from __future__ import annotations

import glob
import heapq
import os
import tempfile
import zlib
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from os import getpid
from pathlib import Path
from typing import Any

from baton.local.whatif import Tally, customer_key, row_json

BUCKETS = 64  # spill files: at a million requests, about 16,000 lines each
# A row file's line: the input line's number in this many digits, a tab, the row. Fixed width, so that the lines
# sort as their numbers do and the merge compares them as they are.
NUMBER_DIGITS = 12
PART_LINES = 20_000  # input lines a worker spills at a time
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


def decide_group(numbered: list[tuple[int, str]], tally: Tally) -> list[tuple[int, str]]:
    """One customer's lines, decided in this process: (line, output row) in line order."""
    from zoneinfo import ZoneInfo

    from baton.local.whatif import decide_and_count

    results = decide_and_count(_decider, numbered, ZoneInfo(_decider.policy.timezone), tally)
    return [(r.line, row_json(r)) for r in results]


def _decide_bucket(paths: tuple[str, str]) -> Tally:
    """Worker: the customers of one bucket (its spill files, ``<source>-*``), in the order of their first line;
    their rows, sorted by line, into the out file."""
    source, target = paths
    customers: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for path in sorted(glob.glob(f"{glob.escape(source)}-*")):
        with open(path, encoding="utf-8") as handle:
            for record in handle:
                number, key, raw = record.rstrip("\n").split("\t", 2)
                customers[key].append((int(number), raw))
    for numbered in customers.values():
        numbered.sort(key=_first)
    tally = Tally()
    rows: list[tuple[int, str]] = []
    for numbered in sorted(customers.values(), key=lambda lines: lines[0][0]):
        rows.extend(decide_group(numbered, tally))
    rows.sort(key=_first)
    with open(target, "w", encoding="utf-8") as out:
        out.writelines(f"{number:0{NUMBER_DIGITS}d}\t{row}\n" for number, row in rows)
    return tally


def _first(pair: tuple[int, str]) -> int:
    return pair[0]


def _spill_part(folder: str, part: list[tuple[int, str]]) -> None:
    """Each line of ``part`` appended to this process's spill file of its customer's bucket."""
    buckets: list[list[str]] = [[] for _ in range(BUCKETS)]
    for number, raw in part:
        text = raw.strip()
        if not text:
            continue
        key = customer_key(text)
        safe = key if "\t" not in key and "\n" not in key else ""
        buckets[zlib.crc32(safe.encode()) % BUCKETS].append(f"{number}\t{safe}\t{text}\n")
    for i, records in enumerate(buckets):
        if records:
            with open(os.path.join(folder, f"in-{i:03d}-{getpid()}"), "a", encoding="utf-8") as handle:
                handle.writelines(records)


def _spill(numbered: Numbered, folder: Path, pool: ProcessPoolExecutor | None, workers: int) -> list[tuple[str, str]]:
    """Every line to the spill files of its customer's bucket, in parts: spilled by ``pool``'s workers, a few in
    flight, and by this process while they are all taken (or without a pool); the (spill file prefix, rows file)
    pair of each bucket."""
    in_flight: deque[Future[None]] = deque()
    part: list[tuple[int, str]] = []

    def spill(lines: list[tuple[int, str]]) -> None:
        while in_flight and in_flight[0].done():
            in_flight.popleft().result()
        if pool is None or len(in_flight) >= 2 * workers:  # the workers are busy, or still starting: spilled here
            _spill_part(str(folder), lines)
        else:
            in_flight.append(pool.submit(_spill_part, str(folder), lines))

    for pair in numbered:
        part.append(pair)
        if len(part) == PART_LINES:
            spill(part)
            part = []
    spill(part)
    for future in in_flight:
        future.result()
    return [(str(folder / f"in-{i:03d}"), str(folder / f"out-{i:03d}")) for i in range(BUCKETS)]


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
            pairs = _spill(numbered, Path(tmp), None, 1)
            start_worker(policy_text)
            parts: Iterable[Tally] = map(_decide_bucket, pairs)
            tally = _added(parts, tally, on_bucket)
        else:
            context = get_context("spawn")  # no fork of a process that may hold threads (the progress bar)
            with ProcessPoolExecutor(
                workers, mp_context=context, initializer=start_worker, initargs=(policy_text,)
            ) as pool:
                pairs = _spill(numbered, Path(tmp), pool, workers)
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
