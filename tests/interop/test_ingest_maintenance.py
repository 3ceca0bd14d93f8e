"""Spark reads a table that `nlk ingest`, `nlk optimize --every` and `nlk vacuum --every` wrote at
the same time as separate processes: tests/service/ingest_maintenance.sh runs them (with readers
that must never fail) against a real Kafka broker, checks the table with delta-rs and leaves it
here; Spark must read exactly the rows the producers sent and see the OPTIMIZE commits.

The script starts a Kafka broker of its own unless scripts/kafka.sh runs one for the current
settings (as in scripts/run-integration-tests.sh)."""

from __future__ import annotations

import os
import subprocess

import pyarrow.parquet as pq
import pytest

from compare import assert_same_rows
from nlkcli import REPO_ROOT
from producers import read_spark

SCRIPT = REPO_ROOT / "tests" / "service" / "ingest_maintenance.sh"


@pytest.mark.slow
@pytest.mark.spark
def test_spark_reads_the_table_ingest_optimize_and_vacuum_wrote_concurrently(nlk, tmp_path,
                                                                             request):
    kept = tmp_path / "run"
    run = subprocess.run([str(SCRIPT), "e2e", "local"], capture_output=True, text=True,
                         timeout=600, env=dict(os.environ, NLK_BIN=str(nlk), NLK_MAINT_KEEP=str(kept)),
                         stdin=subprocess.DEVNULL)
    assert run.returncode == 0, f"{SCRIPT.name} failed:\n{run.stderr[-6000:]}"

    expected = pq.read_table(kept / "expected")
    spark = request.getfixturevalue("spark")
    table = kept / "samples"
    actual = read_spark(spark, table).select(expected.column_names)
    assert_same_rows(actual, expected, key=["device_id", "channel", "timestamp"],
                     what="Spark read of the ingested, compacted and vacuumed table")

    history = spark.sql(f"DESCRIBE HISTORY delta.`{table}`").collect()
    operations = [row["operation"] for row in history]
    for operation in ("STREAMING UPDATE", "OPTIMIZE", "VACUUM START", "VACUUM END"):
        assert operation in operations, operations
