"""``baton whatif --engine spark``: the same per-customer function as the local engine, on PySpark: lines keyed by
customer, grouped (``groupByKey``), each group decided on an executor, the rows sorted back into line order.

An events file is read by Spark itself (``textFile``: a local path, or ``s3://`` on EMR Serverless or Glue); an
export is read into events by the driver first (``baton.local.whatif_export``) and then spread. PySpark is an
optional extra (``pip install -e '.[spark]'``); ``BATON_SPARK_MASTER`` names the master when no cluster does
(default ``local[*]``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from baton.local.whatif import Tally, customer_key
from baton.local.whatif_engines import Numbered, Rows

_TALLY = -1  # the key of each partition's Tally among the rows


def session() -> Any:
    """The Spark session: the cluster's (spark-submit), else one local session shared by every run of a process."""
    import sys

    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # executors need this interpreter's packages
    builder = SparkSession.builder.appName("baton-whatif")
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # not under spark-submit, which sets it and names the master
        builder = builder.master(os.environ.get("BATON_SPARK_MASTER", "local[*]"))
    return builder.config("spark.ui.enabled", "false").getOrCreate()


def _decide_partition(policy_text: str, groups: Iterable[tuple[str, Iterable[tuple[int, str]]]]) -> Iterator[Any]:
    from baton.local.whatif_engines import decide_group, start_worker

    start_worker(policy_text)
    tally = Tally()
    for _, numbered in groups:
        yield from decide_group(sorted(numbered), tally)
    yield (_TALLY, tally)


def run_spark(path: str | None, numbered: Numbered, policy_text: str, on_row: Rows) -> Tally:
    """Decide every customer on Spark; each output row to ``on_row`` in line order. ``path``: an events file
    Spark reads itself; else ``numbered`` (an export's events, read by the driver) is spread."""
    spark = session()
    context = spark.sparkContext
    if path is not None:
        lines = context.textFile(path).zipWithIndex().map(lambda pair: (pair[1] + 1, pair[0]))
    else:
        lines = context.parallelize(list(numbered))
    keyed = lines.filter(lambda pair: pair[1].strip()).map(
        lambda pair: (customer_key(pair[1].strip()), (pair[0], pair[1].strip()))
    )
    decided = keyed.groupByKey().mapPartitions(lambda groups: _decide_partition(policy_text, groups)).persist()
    try:
        tally = Tally()
        for part in decided.filter(lambda row: row[0] == _TALLY).values().collect():
            tally.add(part)
        for row in decided.filter(lambda row: row[0] != _TALLY).sortByKey().values().toLocalIterator():
            on_row(row)
        return tally
    finally:
        decided.unpersist()
