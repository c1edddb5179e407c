"""bench.whatif at a tiny size: the figures ``make bench`` reports for ``baton whatif`` are measured, each a
number of the right kind, and the 1- and 2-worker runs decided the same requests the same way (the Spark
comparison is left to tests/spark, which shares one session)."""

from __future__ import annotations

from bench import whatif


def test_whatif_figures_at_a_tiny_size() -> None:
    got = whatif.measure({"requests": 120, "customers": 12, "days": 2}, sample=None)
    runs = got["runs"]
    assert runs["1_worker"]["requests"] == runs["2_workers"]["requests"] == 120
    assert runs["1_worker"]["rows_sha256"] == runs["2_workers"]["rows_sha256"]
    assert got["requests_per_second"] > 0 and got["scaling_2_workers"] > 0
    assert 0 < got["peak_rss_mb"] < 4_096
    assert got["spark_matches"] is None
