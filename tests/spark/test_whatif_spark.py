"""``baton whatif --engine spark`` in Spark's local mode: the same rows as ``--engine local``, row for row, on a
generated corpus (one session for the module: it costs seconds to start)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from baton.core.policy import Policy, policy_json
from baton.local.whatif_engines import run_local
from tests.functional.whatif_corpus import write

pytest.importorskip("pyspark", reason="pip install -e '.[spark]'")


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    import os

    from baton.local.whatif_spark import session

    os.environ.setdefault("BATON_SPARK_MASTER", "local[2]")
    made = session()
    yield made
    made.stop()


def test_spark_gives_the_local_engines_rows(spark: object, tmp_path: Path, default_policy: Policy) -> None:
    from baton.local.whatif_spark import run_spark

    events = write(tmp_path / "events.jsonl", requests=600, customers=60, days=2)
    text = policy_json(default_policy)
    local: list[str] = []
    tally_local = run_local(enumerate(events.read_text().splitlines(), start=1), text, 1, local.append)
    on_spark: list[str] = []
    tally_spark = run_spark(str(events), iter(()), text, on_spark.append)
    assert len(local) >= 600
    assert on_spark == local
    assert tally_spark.summary() == tally_local.summary()
