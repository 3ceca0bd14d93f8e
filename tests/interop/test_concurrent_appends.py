"""Concurrent `nlk table append` processes on one table: every append commits exactly once, the
versions are contiguous, and other engines read the result.

N writer threads each run M `nlk table append` processes one after another, so up to N commits
race for the same next version all the time; the losers must retry (put-if-absent on the commit
file), never overwrite a commit nor fail. Each append carries a distinct `batch` id.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compare import assert_same_rows
from producers import read_deltars, read_spark

WRITERS = int(os.environ.get("NLK_TEST_CONCURRENT_WRITERS", "4"))
APPENDS_EACH = int(os.environ.get("NLK_TEST_CONCURRENT_APPENDS", "5"))
ROWS_PER_APPEND = 7


def batch_rows(batch: int) -> pa.Table:
    return pa.table({
        "batch": pa.array([batch] * ROWS_PER_APPEND, pa.int32()),
        "row": pa.array(range(ROWS_PER_APPEND), pa.int32()),
        "value": pa.array([batch * 1000.0 + r / 8 for r in range(ROWS_PER_APPEND)], pa.float64()),
        "writer": pa.array([f"w{batch // 100}"] * ROWS_PER_APPEND, pa.string()),
    })


def _copy_from_s3(loc, target):
    """Copies every object under the table's S3 prefix to a local directory, byte for byte."""
    from pyarrow import fs
    options = loc.storage_options
    endpoint = options["AWS_ENDPOINT_URL"]
    s3 = fs.S3FileSystem(access_key=options["AWS_ACCESS_KEY_ID"],
                         secret_key=options["AWS_SECRET_ACCESS_KEY"], region=options["AWS_REGION"],
                         endpoint_override=endpoint.split("://", 1)[1],
                         scheme=endpoint.split("://", 1)[0])
    prefix = loc.uri[len("s3://"):]
    for info in s3.get_file_info(fs.FileSelector(prefix, recursive=True)):
        if info.type != fs.FileType.File:
            continue
        local = target / info.path[len(prefix) + 1:]
        local.parent.mkdir(parents=True, exist_ok=True)
        with s3.open_input_stream(info.path) as source:
            local.write_bytes(source.read())
    return target


def _log_versions(loc) -> list[int]:
    if loc.kind == "local":
        return sorted(int(p.name[:20]) for p in (loc.local_path / "_delta_log").glob("*.json"))
    # S3: list through delta-rs's history (one entry per commit).
    from deltalake import DeltaTable
    return sorted(h["version"] for h in DeltaTable(loc.uri, storage_options=loc.storage_options).history())


@pytest.mark.slow
def test_concurrent_appends(table_location, run_nlk, tmp_path, request):
    loc = table_location
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    # Version 0: an empty-ish table with the schema (batch -1 marks the creating commit).
    pq.write_table(batch_rows(-1), inputs / "create.parquet")
    run_nlk("table", "create", loc.uri, "--input", inputs / "create.parquet", env=loc.nlk_env)

    batches = [w * 100 + i for w in range(WRITERS) for i in range(APPENDS_EACH)]
    for b in batches:
        pq.write_table(batch_rows(b), inputs / f"{b}.parquet")

    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(WRITERS)

    def writer(w: int) -> None:
        start.wait()
        for i in range(APPENDS_EACH):
            b = w * 100 + i
            try:
                run_nlk("table", "append", loc.uri, "--input", inputs / f"{b}.parquet", env=loc.nlk_env)
            except AssertionError as e:  # NlkError: non-zero exit or timeout
                with lock:
                    failures.append(f"batch {b}: {e}")

    t0 = time.monotonic()
    threads = [threading.Thread(target=writer, args=(w,), daemon=True) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        # run_nlk bounds each process, so this only guards against a stuck thread.
        t.join(timeout=APPENDS_EACH * 150)
    elapsed = time.monotonic() - t0
    assert not any(t.is_alive() for t in threads), "a writer thread is stuck"
    assert not failures, f"{len(failures)} appends failed:\n" + "\n".join(failures[:5])

    total = 1 + len(batches)
    versions = _log_versions(loc)
    assert versions == list(range(total)), f"versions must be contiguous 0..{total - 1}, got {versions}"

    got = read_deltars(loc.uri, storage_options=loc.storage_options)
    counts = Counter(got["batch"].to_pylist())
    assert set(counts) == {-1, *batches}, f"missing batches {set(batches) - set(counts)}"
    dup = {b: c for b, c in counts.items() if c != ROWS_PER_APPEND}
    assert not dup, f"batches not present exactly once (rows per batch): {dup}"
    expected = pa.concat_tables([batch_rows(-1)] + [batch_rows(b) for b in batches])
    assert_same_rows(got, expected, key=["batch", "row"], what="delta-rs read after concurrent appends")

    # Each commit after v0 added exactly one batch: no commit was lost, merged or written twice.
    for v in range(1, total):
        at_v = read_deltars(loc.uri, version=v, storage_options=loc.storage_options, sql="select count(*) n from t")
        assert at_v["n"][0].as_py() == (v + 1) * ROWS_PER_APPEND, f"version {v} has the wrong row count"

    # nlk itself reads the same.
    out = tmp_path / "out.parquet"
    run_nlk("table", "read", loc.uri, "--format", "parquet", "--out", out, env=loc.nlk_env)
    assert_same_rows(pq.read_table(out), expected, key=["batch", "row"], what="nlk read after concurrent appends")

    spark = request.getfixturevalue("spark")
    spark_uri = loc.uri
    if loc.kind == "s3":
        # The Spark here has no S3A jars (hadoop-aws + the AWS SDK bundle), so Spark reads a byte
        # copy of the table that was committed on MinIO: the same log and data files.
        spark_uri = str(_copy_from_s3(loc, tmp_path / "mirror"))
    sp = read_spark(spark, spark_uri)
    assert sp.num_rows == expected.num_rows
    assert_same_rows(sp, expected, key=["batch", "row"], what="Spark read after concurrent appends")
    print(f"{len(batches)} concurrent appends by {WRITERS} writers took {elapsed:.1f}s")
