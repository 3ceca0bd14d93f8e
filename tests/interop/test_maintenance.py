"""`nlk optimize` and `nlk vacuum` on a table of many small appends: afterwards Spark and delta-rs
read exactly the rows they read before, the log records OPTIMIZE commits with dataChange=false,
only live files remain on disk, and the daemon mode exits cleanly on SIGTERM."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import nlkcli
from compare import assert_same_rows
from producers import read_deltars, read_spark

APPENDS = 8
ROWS_PER_APPEND = 25


def append_rows(batch: int) -> pa.Table:
    ids = range(batch * ROWS_PER_APPEND, (batch + 1) * ROWS_PER_APPEND)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        # Out of order within a file, so --sort-by has something to do.
        "ts": pa.array([start + dt.timedelta(milliseconds=(i * 7919) % 10007) for i in ids],
                       pa.timestamp("us", tz="UTC")),
        "device": pa.array([f"dev-{batch % 2}"] * ROWS_PER_APPEND),
        "value": pa.array([i / 8 for i in ids], pa.float64()),
    })


def data_files(table: Path) -> set[str]:
    return {str(p.relative_to(table)) for p in table.rglob("*.parquet") if "_delta_log" not in p.parts}


def live_files(run_nlk, table: Path) -> set[str]:
    return {entry["path"] for entry in json.loads(run_nlk("table", "files", table, "--json").stdout)}


@pytest.fixture
def small_files_table(run_nlk, tmp_path) -> Path:
    table = tmp_path / "t"
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for batch in range(APPENDS):
        pq.write_table(append_rows(batch), inputs / f"{batch}.parquet")
    run_nlk("table", "create", table, "--input", inputs / "0.parquet", "--partition-by", "device")
    for batch in range(1, APPENDS):
        run_nlk("table", "append", table, "--input", inputs / f"{batch}.parquet")
    return table


def test_optimize_and_vacuum_keep_every_row_for_spark_and_deltars(run_nlk, small_files_table,
                                                                   request):
    table = small_files_table
    expected = pa.concat_tables([append_rows(batch) for batch in range(APPENDS)])
    before = read_deltars(table)
    assert_same_rows(before, expected, key=["id"], what="delta-rs read before optimize")
    assert len(data_files(table)) == APPENDS

    optimized = json.loads(run_nlk("optimize", table, "--sort-by", "ts", "--json").stdout)
    assert optimized["filesRemoved"] == APPENDS
    assert optimized["filesAdded"] == 2  # one per device partition
    assert optimized["rowsRewritten"] == APPENDS * ROWS_PER_APPEND
    assert optimized["abandonedBins"] == []

    # The commits rearrange data only, and carry statistics for data skipping.
    for version in optimized["committedVersions"]:
        commit = table / "_delta_log" / f"{version:020d}.json"
        actions = [json.loads(line) for line in commit.read_text().splitlines()]
        info = next(a["commitInfo"] for a in actions if "commitInfo" in a)
        assert info["operation"] == "OPTIMIZE"
        assert info["operationParameters"]["predicate"] == "[]"
        for action in actions:
            for kind in ("add", "remove"):
                if kind in action:
                    assert action[kind]["dataChange"] is False
            if "add" in action:
                assert json.loads(action["add"]["stats"])["numRecords"] > 0

    # Without the override a zero retention is refused, in one line, and nothing is deleted.
    refused = run_nlk("vacuum", table, "--retention-hours", "0", check=False)
    assert refused.returncode == 1
    assert "--allow-short-retention" in refused.stderr
    assert len(data_files(table)) == APPENDS + 2

    dry = run_nlk("vacuum", table, "--retention-hours", "0", "--allow-short-retention", "--dry-run")
    assert f"would delete {APPENDS} files" in dry.stdout
    assert len(data_files(table)) == APPENDS + 2

    vacuumed = json.loads(run_nlk("vacuum", table, "--retention-hours", "0",
                                  "--allow-short-retention", "--json").stdout)
    assert vacuumed["filesDeleted"] == APPENDS
    assert data_files(table) == live_files(run_nlk, table)
    assert len(data_files(table)) == 2

    after = read_deltars(table)
    assert_same_rows(after, expected, key=["id"], what="delta-rs read after optimize + vacuum")
    spark = request.getfixturevalue("spark")
    assert_same_rows(read_spark(spark, table), expected, key=["id"],
                     what="Spark read after optimize + vacuum")
    history = spark.sql(f"DESCRIBE HISTORY delta.`{table}`").collect()
    assert "OPTIMIZE" in {row["operation"] for row in history}


def test_daemons_exit_cleanly_on_sigterm(run_nlk, small_files_table):
    table = small_files_table
    processes = [
        subprocess.Popen([str(nlkcli.nlk_path()), "optimize", str(table), "--every", "0.2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
        subprocess.Popen([str(nlkcli.nlk_path()), "vacuum", str(table), "--every", "0.2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
    ]
    time.sleep(1.5)
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        stdout, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr
        assert stdout.count("\n") >= 2, f"expected several passes, got {stdout!r}"
    expected = pa.concat_tables([append_rows(batch) for batch in range(APPENDS)])
    assert_same_rows(read_deltars(table), expected, key=["id"], what="read after the daemons")
