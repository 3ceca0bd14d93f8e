"""Tables written by nlk read back identically in delta-rs, Spark, Polars and DuckDB.

CLI contract (tools/nlk):
  nlk table create URI --input FILE.parquet [--partition-by a,b]
  nlk table append URI --input FILE.parquet [--schema-evolution]
  nlk table overwrite URI --input FILE.parquet [--where "EXPR"]
  nlk table checkpoint URI
  nlk datagen --kind samples|spikes|band_power --devices N --channels N --duration S --seed N --out F
  nlk ingest URI --bootstrap HOST:PORT --topic T --group G --format arrow --schema-from-datagen samples
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from compare import assert_same_rows
from deltalog import read_log
from nlkcli import REPO_ROOT
from producers import PARTITION_STRINGS, UTC, read_deltars, read_spark, sample_rows


# --- the foreign readers ----------------------------------------------------------------------

def _dt(uri, version):
    from deltalake import DeltaTable
    return DeltaTable(uri, version=version)


def read_deltars_qb(uri: str, version: int | None) -> pa.Table:
    return read_deltars(uri, version=version)


def read_deltars_pyarrow(uri: str, version: int | None) -> pa.Table:
    # The plain (non-DataFusion) path; fine here: nlk writes neither DVs nor column mapping.
    return _dt(uri, version).to_pyarrow_table()


def read_polars(uri: str, version: int | None) -> pa.Table:
    import polars as pl
    return pl.read_delta(uri, version=version).to_arrow()


def read_polars_scan(uri: str, version: int | None) -> pa.Table:
    import polars as pl
    return pl.scan_delta(uri, version=version).collect().to_arrow()


def read_duckdb(uri: str, version: int | None) -> pa.Table:
    """DuckDB over the table's active files.

    DuckDB reads Delta only through its `delta` extension, which it downloads on first use; that
    download is impossible here (only package registries are reachable, and the PyPI
    `duckdb-ext-delta` build is for DuckDB 1.4, not the pinned 2.0). So the active file list and
    partition values come from delta-rs (`get_add_actions`), and DuckDB reads each data file with
    `read_parquet`; partition values are added from the log as the Delta protocol says (not
    parsed from paths). Valid only for tables without deletion vectors or column mapping, which is
    what nlk writes.
    """
    import duckdb
    table = _dt(uri, version)
    schema = pa.schema(table.schema().to_arrow())  # arro3 -> pyarrow via the C interface
    parts = table.metadata().partition_columns
    actions = pa.table(table.get_add_actions(flatten=True)).to_pylist()
    con = duckdb.connect()
    pieces = []
    for action in actions:
        path = urllib.parse.unquote(action["path"])
        full = path if "://" in path else str(Path(uri) / path)
        quoted = full.replace("'", "''")
        # hive_partitioning off: partition values come from the log, not from directory names.
        data = con.sql(f"select * from read_parquet('{quoted}', hive_partitioning = false)").to_arrow_table()
        for col in schema.names:
            if col in parts:
                value = action.get(f"partition.{col}")
                data = data.append_column(col, pa.array([value] * data.num_rows, schema.field(col).type))
            elif col not in data.column_names:  # a column added after this file was written
                data = data.append_column(col, pa.nulls(data.num_rows, schema.field(col).type))
        # No cast of the data columns: the types DuckDB finds in the files are part of the check.
        pieces.append(data.select(schema.names))
    if not pieces:
        return schema.empty_table()
    return pa.concat_tables(pieces)


READERS: dict[str, Callable[[str, int | None], pa.Table]] = {
    "deltars-querybuilder": read_deltars_qb,
    "deltars-pyarrow": read_deltars_pyarrow,
    "polars-read_delta": read_polars,
    "polars-scan_delta": read_polars_scan,
    "duckdb-read_parquet": read_duckdb,
    "spark": None,  # filled per test from the session fixture (local tables only)
}


@pytest.fixture(params=[pytest.param(n, marks=pytest.mark.spark) if n == "spark" else n for n in READERS])
def reader(request):
    """A function (uri, version) -> pyarrow Table, one per foreign reader."""
    if request.param == "spark":
        spark = request.getfixturevalue("spark")
        return lambda uri, version: read_spark(spark, uri, version=version)
    return READERS[request.param]


def check(reader, uri, expected: pa.Table, version: int | None = None, what: str = "") -> None:
    got = reader(uri, version)
    assert_same_rows(got, expected, what=f"{what or uri}{'' if version is None else f' @v{version}'}")


def write_parquet(table: pa.Table, path: Path) -> Path:
    pq.write_table(table, path)
    return path


# --- tests ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def datagen_files(tmp_path_factory, request) -> dict[str, Path]:
    """One small file per datagen kind, made by nlk itself (fails clearly if nlk is missing)."""
    run_nlk = request.getfixturevalue("run_nlk")
    base = tmp_path_factory.mktemp("datagen")
    out = {}
    for kind in ("samples", "spikes", "band_power"):
        f = base / f"{kind}.parquet"
        run_nlk("datagen", "--kind", kind, "--devices", 2, "--channels", 4, "--duration", 1, "--seed", 7,
                "--out", f)
        n = pq.read_metadata(f).num_rows
        assert 0 < n <= 1_000_000, f"datagen {kind} wrote {n} rows"
        out[kind] = f
    return out


@pytest.mark.parametrize("kind", ["samples", "spikes", "band_power"])
def test_datagen_table(kind, datagen_files, reader, run_nlk, tmp_path):
    uri = str(tmp_path / "t")
    run_nlk("table", "create", uri, "--input", datagen_files[kind])
    check(reader, uri, pq.read_table(datagen_files[kind]), what=f"nlk-created {kind} table")


def test_types_round_trip(reader, run_nlk, tmp_path):
    rows = sample_rows(300, seed=42)
    uri = str(tmp_path / "t")
    run_nlk("table", "create", uri, "--input", write_parquet(rows, tmp_path / "in.parquet"))
    check(reader, uri, rows, what="nlk-created table with mixed types, NaN, -0.0, nulls, unicode")


def test_partitioned_with_appends(reader, run_nlk, tmp_path):
    first = sample_rows(200, seed=1)
    second = sample_rows(100, seed=2, first_id=1000)
    uri = str(tmp_path / "t")
    run_nlk("table", "create", uri, "--input", write_parquet(first, tmp_path / "a.parquet"),
            "--partition-by", "region,day")
    run_nlk("table", "append", uri, "--input", write_parquet(second, tmp_path / "b.parquet"))
    log = read_log(uri)
    assert log.partition_columns == ["region", "day"]
    assert log.versions == [0, 1]
    check(reader, uri, pa.concat_tables([first, second]), what="partitioned nlk table (null partition values)")
    check(reader, uri, first, version=0, what="partitioned nlk table")


@pytest.mark.s3
def test_s3_partitioned_with_appends(s3_location, run_nlk, tmp_path):
    """The same on MinIO, read back by delta-rs (Spark has no S3 filesystem jars here)."""
    loc = s3_location
    first = sample_rows(200, seed=1)
    second = sample_rows(100, seed=2, first_id=1000)
    run_nlk("table", "create", loc.uri, "--input", write_parquet(first, tmp_path / "a.parquet"),
            "--partition-by", "region,day", env=loc.nlk_env)
    run_nlk("table", "append", loc.uri, "--input", write_parquet(second, tmp_path / "b.parquet"),
            env=loc.nlk_env)
    got = read_deltars(loc.uri, storage_options=loc.storage_options)
    assert_same_rows(got, pa.concat_tables([first, second]), what="partitioned nlk table on S3 (delta-rs)")
    got = read_deltars(loc.uri, version=0, storage_options=loc.storage_options)
    assert_same_rows(got, first, what="partitioned nlk table on S3 (delta-rs) @v0")


def test_special_partition_values(reader, run_nlk, tmp_path):
    rnd = random.Random(9)
    n = 120
    rows = pa.table({
        "id": pa.array(range(n), pa.int64()),
        "p_int": pa.array([rnd.choice([0, -7, 2147483647, None]) for _ in range(n)], pa.int32()),
        "p_date": pa.array([rnd.choice([dt.date(2024, 2, 29), dt.date(1970, 1, 1), None]) for _ in range(n)],
                           pa.date32()),
        "p_ts": pa.array([rnd.choice([dt.datetime(2024, 3, 1, 12, 34, 56, 789012, tzinfo=UTC),
                                      dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC), None]) for _ in range(n)],
                         pa.timestamp("us", tz="UTC")),
        "p_str": pa.array([rnd.choice(PARTITION_STRINGS) for _ in range(n)], pa.string()),
        "value": pa.array([rnd.uniform(0, 1) for _ in range(n)], pa.float64()),
    })
    uri = str(tmp_path / "t")
    run_nlk("table", "create", uri, "--input", write_parquet(rows, tmp_path / "in.parquet"),
            "--partition-by", "p_int,p_date,p_ts,p_str")
    check(reader, uri, rows, what="nlk table partitioned by int/date/timestamp/string with special chars")


def test_time_travel(reader, run_nlk, tmp_path):
    uri = str(tmp_path / "t")
    v = [sample_rows(50, seed=s, first_id=s * 100) for s in range(3)]
    run_nlk("table", "create", uri, "--input", write_parquet(v[0], tmp_path / "0.parquet"))
    run_nlk("table", "append", uri, "--input", write_parquet(v[1], tmp_path / "1.parquet"))
    run_nlk("table", "overwrite", uri, "--input", write_parquet(v[2], tmp_path / "2.parquet"))
    check(reader, uri, v[0], version=0)
    check(reader, uri, pa.concat_tables(v[:2]), version=1)
    check(reader, uri, v[2], version=2)
    check(reader, uri, v[2])


def test_schema_evolution(reader, run_nlk, tmp_path):
    uri = str(tmp_path / "t")
    old = sample_rows(60, seed=1)
    new = sample_rows(40, seed=2, first_id=1000, extra=True)
    run_nlk("table", "create", uri, "--input", write_parquet(old, tmp_path / "old.parquet"))
    new_file = write_parquet(new, tmp_path / "new.parquet")
    refused = run_nlk("table", "append", uri, "--input", new_file, check=False)
    assert refused.stderr.strip(), "a schema mismatch must be explained on stderr"
    assert read_log(uri).versions == [0], "a refused append must not commit"
    run_nlk("table", "append", uri, "--input", new_file, "--schema-evolution")
    expected = pa.concat_tables([old.append_column("extra", pa.nulls(old.num_rows, pa.string())), new])
    check(reader, uri, expected, what="nlk table after --schema-evolution append")
    check(reader, uri, old, version=0)


def test_overwrite_where(reader, run_nlk, tmp_path):
    uri = str(tmp_path / "t")
    rows = sample_rows(200, seed=3)
    run_nlk("table", "create", uri, "--input", write_parquet(rows, tmp_path / "a.parquet"),
            "--partition-by", "region")
    eu = sample_rows(30, seed=4, first_id=5000, regions=("eu",))
    run_nlk("table", "overwrite", uri, "--input", write_parquet(eu, tmp_path / "eu.parquet"),
            "--where", "region = 'eu'")
    keep = rows.filter(pc.invert(pc.fill_null(pc.equal(rows["region"], "eu"), False)))
    check(reader, uri, pa.concat_tables([keep, eu]), what="after overwrite --where region = 'eu'")
    check(reader, uri, rows, version=0)


def test_checkpoint(reader, run_nlk, tmp_path):
    uri = str(tmp_path / "t")
    parts = [sample_rows(30, seed=s, first_id=s * 100) for s in range(4)]
    run_nlk("table", "create", uri, "--input", write_parquet(parts[0], tmp_path / "0.parquet"),
            "--partition-by", "region")
    for i in (1, 2):
        run_nlk("table", "append", uri, "--input", write_parquet(parts[i], tmp_path / f"{i}.parquet"))
    run_nlk("table", "checkpoint", uri)
    log = read_log(uri)
    assert 2 in log.checkpoints, f"expected a checkpoint at v2: {log.describe()}"
    assert log.last_checkpoint and log.last_checkpoint.get("version") == 2
    run_nlk("table", "append", uri, "--input", write_parquet(parts[3], tmp_path / "3.parquet"))
    check(reader, uri, pa.concat_tables(parts), what="after nlk checkpoint + append")
    # Make the reader depend on our checkpoint: a copy whose commits before it are gone.
    copy = tmp_path / "from_checkpoint"
    shutil.copytree(uri, copy)
    for v in (0, 1, 2):
        (copy / "_delta_log" / f"{v:020d}.json").unlink()
    check(reader, str(copy), pa.concat_tables(parts), what="read through nlk's checkpoint only")


@pytest.mark.spark
def test_spark_appends_to_nlk_table(spark, run_nlk, tmp_path):
    """Mixed writers: nlk creates and checkpoints, Spark appends and deletes, nlk reads."""
    uri = str(tmp_path / "t")
    first = sample_rows(100, seed=5)
    run_nlk("table", "create", uri, "--input", write_parquet(first, tmp_path / "a.parquet"),
            "--partition-by", "region")
    run_nlk("table", "checkpoint", uri)
    more = sample_rows(50, seed=6, first_id=1000)
    spark.createDataFrame(more).write.format("delta").mode("append").save(uri)
    spark.sql(f"DELETE FROM delta.`{uri}` WHERE id % 3 = 0")
    expected = read_spark(spark, uri)
    assert expected.num_rows == sum(1 for i in pa.concat_tables([first, more])["id"].to_pylist() if i % 3)
    run_nlk("table", "read", uri, "--format", "parquet", "--out", tmp_path / "o.parquet")
    assert_same_rows(pq.read_table(tmp_path / "o.parquet"), expected, what="nlk reads nlk+Spark table")
    # and nlk can append after Spark
    run_nlk("table", "append", uri, "--input", write_parquet(sample_rows(10, seed=7, first_id=2000),
                                                             tmp_path / "c.parquet"))
    assert read_spark(spark, uri).num_rows == expected.num_rows + 10


@pytest.fixture(scope="module")
def ingested_table(tmp_path_factory, run_nlk, nlk) -> tuple[str, pa.Table]:
    """A table `nlk ingest` wrote from Kafka, left as the writer wrote it (no compaction): its
    files have the writer's layout (LZ4_RAW, plain integers, strings without Parquet
    statistics). Needs the broker of scripts/kafka.sh (NLK_KAFKA_BOOTSTRAP), which
    scripts/run-integration-tests.sh starts."""
    bootstrap = os.environ.get("NLK_KAFKA_BOOTSTRAP")
    if not bootstrap:
        pytest.skip("no Kafka broker: run `scripts/kafka.sh start` and `eval \"$(scripts/kafka.sh env)\"`")
    base = tmp_path_factory.mktemp("ingested")
    topic = f"nlk-interop-ingest-{os.getpid()}-{time.time_ns()}"
    subprocess.run([str(REPO_ROOT / "scripts" / "kafka.sh"), "create-topic", topic, "2"], check=True,
                   capture_output=True, timeout=120)
    datagen = ["datagen", "--kind", "samples", "--devices", 3, "--channels", 4, "--rate", 500,
               "--duration", 2, "--batch-rows", 200, "--seed", 11]
    run_nlk(*datagen, "--out", base / "expected.parquet")
    run_nlk(*datagen, "--kafka", bootstrap, "--topic", topic, "--format", "arrow")
    expected = pq.read_table(base / "expected.parquet")
    uri = str(base / "samples")
    writer = subprocess.Popen(
        [str(nlk), "ingest", uri, "--bootstrap", bootstrap, "--topic", topic, "--group", topic,
         "--format", "arrow", "--schema-from-datagen", "samples", "--partition-by", "date",
         "--max-rows", "3000", "--max-latency-ms", "200"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while read_deltars_pyarrow(uri, None).num_rows < expected.num_rows if \
                (Path(uri) / "_delta_log").exists() else True:
            assert writer.poll() is None, f"nlk ingest exited {writer.returncode}: {writer.stderr.read()}"
            assert time.monotonic() < deadline, "nlk ingest did not write every sample in 60 s"
            time.sleep(0.2)
    finally:
        writer.send_signal(signal.SIGTERM)
        _, errors = writer.communicate(timeout=60)
    assert writer.returncode == 0, errors
    return uri, expected


def test_ingested_table(reader, ingested_table):
    uri, expected = ingested_table
    data_files = sorted(Path(uri).glob("date=*/*.parquet"))
    assert data_files
    for path in data_files:
        # The writer's layout, so that every reader here is shown to read it.
        assert path.name.endswith(".c000.lz4raw.parquet"), path
        footer = pq.read_metadata(path)
        for column in range(footer.num_columns):
            chunk = footer.row_group(0).column(column)
            assert chunk.compression == "LZ4", (path, chunk)
            assert chunk.is_stats_set == (chunk.physical_type != "BYTE_ARRAY"), (path, chunk)
    for commit in sorted((Path(uri) / "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            add = json.loads(line).get("add")
            if add:  # the strings' bounds are in the log instead
                stats = json.loads(add["stats"])
                assert {"device_id", "session_id"} <= stats["minValues"].keys(), stats
    check(reader, uri, expected, what="a table nlk ingest wrote from Kafka")
