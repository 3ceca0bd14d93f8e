"""Delta tables written by the real third-party writers (delta-rs, Spark + delta-spark) at test
time, each with the rows a reference reader sees in it, for the tests that read them with nlk.

Reference readers (ENGINEERING.md §4): Spark for Spark's tables; for delta-rs's tables, delta-rs's
DataFusion path (`QueryBuilder`). `DeltaTable.to_pyarrow_table()` is not a reference: it refuses
deletion vectors and V2 checkpoints and returns nulls for renamed column-mapped columns.

Each producer checks in the table's _delta_log that the feature it claims is really there
(checkpoint, deletion vectors, column mapping, ...), so a test cannot pass on a plain table.

Run directly to produce every table and print a summary of each log:
    .venv/bin/python tests/interop/producers.py [--keep DIR] [NAME ...]
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import normalise  # noqa: E402
from deltalog import LogSummary, read_log  # noqa: E402

UTC = dt.timezone.utc


@dataclass
class ProducedTable:
    name: str
    path: Path
    writer: str                                  # "delta-rs" or "spark"
    reference: str                               # which reader produced `expected`
    expected: pa.Table                           # latest version
    versions: dict[int, pa.Table] = field(default_factory=dict)  # older versions, same reader
    # ISO-8601 instants between commits and the version each must resolve to (timestamp travel).
    timestamps: dict[str, int] = field(default_factory=dict)
    log: LogSummary | None = None
    notes: str = ""

    def __post_init__(self):
        # Plain Arrow types (string, not string_view; no dictionaries) so tests can filter/select
        # the expected rows with pyarrow.compute.
        self.expected = normalise(self.expected)
        self.versions = {v: normalise(t) for v, t in self.versions.items()}

    @property
    def uri(self) -> str:
        return str(self.path)

    def expected_at(self, version: int | None) -> pa.Table:
        if version is None or version == self.log.latest:
            return self.expected
        return self.versions[version]


# --- reference readers -------------------------------------------------------------------------

def read_deltars(path: str | os.PathLike, version: int | None = None, sql: str = "select * from t",
                 storage_options: dict | None = None) -> pa.Table:
    """delta-rs's DataFusion read path (handles DVs, column mapping, V2 checkpoints)."""
    from deltalake import DeltaTable, QueryBuilder
    table = DeltaTable(str(path), version=version, storage_options=storage_options)
    reader = QueryBuilder().register("t", table).execute(sql)
    return pa.RecordBatchReader.from_stream(reader).read_all()


def read_spark(spark, path: str | os.PathLike, version: int | None = None,
               timestamp: str | None = None) -> pa.Table:
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    if timestamp is not None:
        reader = reader.option("timestampAsOf", timestamp)
    return reader.load(str(path)).toArrow()


# --- deterministic data -----------------------------------------------------------------------

def sample_rows(n: int, seed: int, first_id: int = 0, *, regions=("eu", "us", None),
                days=(dt.date(2024, 1, 1), dt.date(2024, 2, 29), None), extra: bool = False) -> pa.Table:
    """n rows of mixed types with nulls, negative zero, NaN, unicode and extreme values."""
    rnd = random.Random(seed)
    ids = list(range(first_id, first_id + n))
    specials = [0.0, -0.0, float("nan"), 1e308, -1e-308, 5e-324, float("inf")]
    values = [specials[i % len(specials)] if i % 17 == 0 else round(rnd.uniform(-1e3, 1e3), 6)
              for i in range(n)]
    values = [None if i % 23 == 5 else v for i, v in enumerate(values)]
    ts_base = dt.datetime(2024, 1, 1, tzinfo=UTC)
    cols = {
        "id": pa.array(ids, pa.int64()),
        "region": pa.array([regions[rnd.randrange(len(regions))] for _ in ids], pa.string()),
        "day": pa.array([days[rnd.randrange(len(days))] for _ in ids], pa.date32()),
        "channel": pa.array([rnd.randrange(-5, 64) for _ in ids], pa.int32()),
        "value": pa.array(values, pa.float64()),
        "ts": pa.array([None if i % 31 == 7 else ts_base + dt.timedelta(microseconds=rnd.randrange(10**13))
                        for i in range(n)], pa.timestamp("us", tz="UTC")),
        "flag": pa.array([None if i % 11 == 3 else rnd.random() < 0.5 for i in range(n)], pa.bool_()),
        "note": pa.array([None if i % 13 == 1 else rnd.choice(["", "plain", "ünïcødé ✓", "a,b\"c\nd", "x" * 40])
                          for i in range(n)], pa.string()),
    }
    if extra:
        cols["extra"] = pa.array([f"e{i}" if i % 3 else None for i in ids], pa.string())
    return pa.table(cols)


def wide_types_rows(n: int, seed: int) -> pa.Table:
    """One column per Delta primitive type that delta-rs writes."""
    rnd = random.Random(seed)
    def maybe(i, v):
        return None if i % 19 == 4 else v
    return pa.table({
        "id": pa.array(range(n), pa.int64()),
        "i8": pa.array([maybe(i, rnd.randrange(-128, 128)) for i in range(n)], pa.int8()),
        "i16": pa.array([maybe(i, rnd.randrange(-2**15, 2**15)) for i in range(n)], pa.int16()),
        "i32": pa.array([maybe(i, rnd.randrange(-2**31, 2**31)) for i in range(n)], pa.int32()),
        "i64": pa.array([maybe(i, rnd.randrange(-2**63, 2**63)) for i in range(n)], pa.int64()),
        "f32": pa.array([maybe(i, rnd.uniform(-1, 1)) for i in range(n)], pa.float32()),
        "f64": pa.array([maybe(i, rnd.uniform(-1e6, 1e6)) for i in range(n)], pa.float64()),
        "dec": pa.array([maybe(i, decimal.Decimal(rnd.randrange(-10**11, 10**11)).scaleb(-3)) for i in range(n)],
                        pa.decimal128(14, 3)),
        "s": pa.array([maybe(i, "".join(rnd.choice("abcxyzé ✓\t") for _ in range(rnd.randrange(0, 12))))
                       for i in range(n)], pa.string()),
        "b": pa.array([maybe(i, bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 9)))) for i in range(n)],
                      pa.binary()),
        "ok": pa.array([maybe(i, rnd.random() < 0.5) for i in range(n)], pa.bool_()),
        "d": pa.array([maybe(i, dt.date(1900, 1, 1) + dt.timedelta(days=rnd.randrange(0, 80000))) for i in range(n)],
                      pa.date32()),
        "ts": pa.array([maybe(i, dt.datetime(1960, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=rnd.randrange(2**50)))
                        for i in range(n)], pa.timestamp("us", tz="UTC")),
    })


# --- delta-rs producers -----------------------------------------------------------------------

def _check(cond: bool, what: str, log: LogSummary) -> None:
    if not cond:
        raise AssertionError(f"producer did not produce {what}: {log.describe()}")


def produce_deltars_plain(base: Path, spark=None) -> ProducedTable:
    from deltalake import write_deltalake
    path = base / "deltars_plain"
    write_deltalake(str(path), wide_types_rows(300, seed=1))
    log = read_log(path)
    _check(log.versions == [0], "a single commit", log)
    return ProducedTable("deltars_plain", path, "delta-rs", "delta-rs QueryBuilder",
                         read_deltars(path), log=log, notes="one commit, every primitive type, nulls")


def produce_deltars_history(base: Path, spark=None) -> ProducedTable:
    """Partitioned by a string and a date (both with nulls); appends, a predicate overwrite, a full
    overwrite, a schema-evolving append, a checkpoint and a commit after it."""
    from deltalake import DeltaTable, write_deltalake
    path = base / "deltars_history"
    uri = str(path)
    parts = ["region", "day"]
    write_deltalake(uri, sample_rows(200, seed=10), partition_by=parts)                     # v0
    write_deltalake(uri, sample_rows(100, seed=11, first_id=1000), mode="append")           # v1
    write_deltalake(uri, sample_rows(100, seed=12, first_id=2000), mode="append")           # v2
    # Commit timestamps are the commit files' modification times: leave a clear gap so an instant
    # between v2 and v3 resolves to v2 in every reader.
    time.sleep(1.2)
    eu = sample_rows(60, seed=13, first_id=3000, regions=("eu",))
    write_deltalake(uri, eu, mode="overwrite", predicate="region = 'eu'")                   # v3
    write_deltalake(uri, sample_rows(150, seed=14, first_id=4000), mode="overwrite")        # v4
    write_deltalake(uri, sample_rows(50, seed=15, first_id=5000), mode="append")            # v5
    write_deltalake(uri, sample_rows(40, seed=16, first_id=6000, extra=True), mode="append",
                    schema_mode="merge")                                                    # v6
    DeltaTable(uri).create_checkpoint()
    write_deltalake(uri, sample_rows(30, seed=17, first_id=7000, extra=True), mode="append")  # v7
    log = read_log(path)
    _check(log.versions == list(range(8)), "versions 0..7", log)
    _check(6 in log.checkpoints, "a checkpoint at version 6", log)
    _check(log.partition_columns == parts, "partition columns region, day", log)
    _check(any(f["name"] == "extra" for f in log.schema_fields), "the evolved column", log)
    v2_mtime = (path / "_delta_log" / f"{2:020d}.json").stat().st_mtime
    v3_mtime = (path / "_delta_log" / f"{3:020d}.json").stat().st_mtime
    between = dt.datetime.fromtimestamp((v2_mtime + v3_mtime) / 2, UTC)
    return ProducedTable(
        "deltars_history", path, "delta-rs", "delta-rs QueryBuilder", read_deltars(path),
        versions={v: read_deltars(path, version=v) for v in range(7)},
        timestamps={between.isoformat(timespec="milliseconds").replace("+00:00", "Z"): 2},
        log=log, notes="partitioned (string, date; nulls), appends, predicate + full overwrite, "
                       "schema_mode=merge append, checkpoint at v6, commit after it")


# --- Spark producers --------------------------------------------------------------------------

def _spark_sql(spark, *statements: str) -> None:
    for s in statements:
        spark.sql(s)


def _spark_append(spark, table: pa.Table, path: Path, **options) -> None:
    writer = spark.createDataFrame(table).coalesce(1).write.format("delta").mode("append")
    for k, v in options.items():
        writer = writer.option(k, v)
    writer.save(str(path))


def _spark_table(name: str, path: Path, spark, notes: str, versions=()) -> ProducedTable:
    log = read_log(path)
    return ProducedTable(name, path, "spark", "spark", read_spark(spark, path),
                         versions={v: read_spark(spark, path, version=v) for v in versions},
                         log=log, notes=notes)


def produce_spark_checkpointed(base: Path, spark) -> ProducedTable:
    """More than 10 commits, so Spark writes a classic checkpoint at v10 (and .crc files); one
    DELETE without deletion vectors (file rewrite, remove actions)."""
    path = base / "spark_checkpointed"
    t = f"delta.`{path}`"
    _spark_sql(spark, f"CREATE TABLE {t} (id BIGINT, batch INT, value DOUBLE, name STRING) USING delta "
                      "TBLPROPERTIES ('delta.enableDeletionVectors' = 'false')")          # v0
    for b in range(11):                                                                   # v1..v11
        rows = sample_rows(20, seed=100 + b, first_id=b * 100)
        tb = pa.table({"id": rows["id"], "batch": pa.array([b] * 20, pa.int32()),
                       "value": rows["value"], "name": rows["note"]})
        _spark_append(spark, tb, path)
    _spark_sql(spark, f"DELETE FROM {t} WHERE batch = 3 AND id % 2 = 0")                  # v12
    table = _spark_table("spark_checkpointed", path, spark,
                         "13 commits, classic checkpoint at v10, .crc files, DELETE by rewrite",
                         versions=(0, 3, 10, 11))
    _check(10 in table.log.checkpoints, "a checkpoint at version 10", table.log)
    _check(bool(table.log.crc_versions), ".crc files", table.log)
    _check(table.log.removes > 0, "remove actions", table.log)
    return table


def produce_spark_deletion_vectors(base: Path, spark) -> ProducedTable:
    path = base / "spark_dv"
    t = f"delta.`{path}`"
    _spark_sql(spark, f"CREATE TABLE {t} (id BIGINT, region STRING, value DOUBLE, ts TIMESTAMP) USING delta "
                      "TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')")           # v0
    rows = sample_rows(400, seed=200)
    tb = rows.select(["id", "region", "value", "ts"])
    spark.createDataFrame(tb).repartition(3).write.format("delta").mode("append").save(str(path))  # v1
    _spark_sql(spark,
               f"DELETE FROM {t} WHERE id % 7 = 0",                                         # v2: DVs
               f"DELETE FROM {t} WHERE id % 5 = 0",                                         # v3: DV update
               f"UPDATE {t} SET value = -1.5 WHERE id % 11 = 0")                            # v4
    table = _spark_table("spark_dv", path, spark,
                         "deletion vectors (two DELETEs, one UPDATE) on 3 files", versions=(1, 2))
    _check(table.log.dv_adds > 0, "an add with a deletionVector", table.log)
    _check("deletionVectors" in (table.log.protocol.get("readerFeatures") or []),
           "the deletionVectors reader feature", table.log)
    return table


def _column_mapping_table(name: str, base: Path, spark, mode: str) -> ProducedTable:
    path = base / name
    t = f"delta.`{path}`"
    _spark_sql(spark, f"CREATE TABLE {t} (id BIGINT, value DOUBLE, note STRING, day DATE) USING delta "
                      f"PARTITIONED BY (day) TBLPROPERTIES ('delta.columnMapping.mode' = '{mode}')")  # v0
    rows = sample_rows(150, seed=300)
    _spark_append(spark, rows.select(["id", "value", "note", "day"]), path)                 # v1
    _spark_sql(spark,
               f"ALTER TABLE {t} RENAME COLUMN value TO reading",                            # v2
               f"ALTER TABLE {t} RENAME COLUMN day TO event_day",                            # v3 partition col
               f"ALTER TABLE {t} DROP COLUMN note",                                          # v4
               f"ALTER TABLE {t} ADD COLUMNS (note STRING)")                                 # v5 same name, new id
    more = sample_rows(50, seed=301, first_id=1000)
    _spark_append(spark, pa.table({"id": more["id"], "reading": more["value"], "event_day": more["day"],
                                   "note": more["note"]}), path)                            # v6
    table = _spark_table(name, path, spark,
                         f"column mapping {mode}: renamed data + partition column, dropped and re-added "
                         "'note' (old files still hold the old physical column)", versions=(1,))
    _check(table.log.column_mapping == mode, f"column mapping mode {mode}", table.log)
    physical = [f["metadata"].get("delta.columnMapping.physicalName") for f in table.log.schema_fields]
    _check(all(physical) and physical[0] != "id", "physical column names", table.log)
    return table


def produce_spark_column_mapping_name(base: Path, spark) -> ProducedTable:
    return _column_mapping_table("spark_cm_name", base, spark, "name")


def produce_spark_column_mapping_id(base: Path, spark) -> ProducedTable:
    return _column_mapping_table("spark_cm_id", base, spark, "id")


def produce_spark_timestamp_ntz(base: Path, spark) -> ProducedTable:
    path = base / "spark_ts_ntz"
    t = f"delta.`{path}`"
    _spark_sql(spark, f"CREATE TABLE {t} (id INT, ts TIMESTAMP, ntz TIMESTAMP_NTZ, d DATE) USING delta")
    _spark_sql(spark, f"""INSERT INTO {t} VALUES
        (1, TIMESTAMP'2024-03-10 02:30:00.123456', TIMESTAMP_NTZ'2024-03-10 02:30:00.123456', DATE'2024-03-10'),
        (2, TIMESTAMP'1969-12-31 23:59:59.999999', TIMESTAMP_NTZ'1969-12-31 23:59:59.999999', DATE'1969-12-31'),
        (3, TIMESTAMP'1900-01-01 00:00:00', TIMESTAMP_NTZ'1900-01-01 00:00:00', DATE'1900-01-01'),
        (4, TIMESTAMP'9999-12-31 23:59:59.999999', TIMESTAMP_NTZ'9999-12-31 23:59:59.999999', DATE'9999-12-31'),
        (5, NULL, NULL, NULL),
        (6, TIMESTAMP'2000-02-29 12:00:00', TIMESTAMP_NTZ'2000-02-29 12:00:00', DATE'2000-02-29')""")
    table = _spark_table("spark_ts_ntz", path, spark, "timestamp and timestamp_ntz (extremes, pre-1970, null)")
    _check("timestampNtz" in (table.log.protocol.get("readerFeatures") or []), "the timestampNtz feature",
           table.log)
    return table


def _checkpoint_table(name: str, base: Path, spark, props: str, confs: dict[str, str], expect: str,
                      notes: str) -> ProducedTable:
    path = base / name
    t = f"delta.`{path}`"
    old = {k: spark.conf.get(k, None) for k in confs}
    for k, v in confs.items():
        spark.conf.set(k, v)
    try:
        _spark_sql(spark, f"CREATE TABLE {t} (id BIGINT, s STRING, value DOUBLE) USING delta "
                          f"TBLPROPERTIES ('delta.checkpointInterval' = '3'{props})")       # v0
        for i in range(4):                                                                # v1..v4
            rows = sample_rows(25, seed=400 + i, first_id=i * 100)
            _spark_append(spark, pa.table({"id": rows["id"], "s": rows["note"], "value": rows["value"]}), path)
        _spark_sql(spark, f"DELETE FROM {t} WHERE id % 4 = 0")                             # v5
    finally:
        for k, v in old.items():
            if v is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, v)
    table = _spark_table(name, path, spark, notes, versions=(2, 3))
    _check(table.log.checkpoints.get(3, "").startswith(expect), f"a {expect} checkpoint at version 3", table.log)
    return table


def produce_spark_v2_checkpoint(base: Path, spark) -> ProducedTable:
    t = _checkpoint_table("spark_v2_checkpoint", base, spark,
                          ", 'delta.checkpointPolicy' = 'v2', 'delta.enableDeletionVectors' = 'false'",
                          {"spark.databricks.delta.checkpointV2.topLevelFileFormat": "json",
                           "spark.databricks.delta.checkpoint.partSize": "2"},
                          "v2-json", "V2 checkpoint (JSON top level + parquet sidecars) at v3")
    _check(t.log.sidecars > 0, "sidecar files", t.log)
    return t


def produce_spark_v2_checkpoint_parquet(base: Path, spark) -> ProducedTable:
    return _checkpoint_table("spark_v2_checkpoint_parquet", base, spark,
                             ", 'delta.checkpointPolicy' = 'v2', 'delta.enableDeletionVectors' = 'false'",
                             {"spark.databricks.delta.checkpointV2.topLevelFileFormat": "parquet"},
                             "v2-parquet", "V2 checkpoint (parquet top level) at v3")


def produce_spark_multipart_checkpoint(base: Path, spark) -> ProducedTable:
    return _checkpoint_table("spark_multipart_checkpoint", base, spark,
                             ", 'delta.enableDeletionVectors' = 'false'",
                             {"spark.databricks.delta.checkpoint.partSize": "2"},
                             "multipart", "classic multi-part checkpoint at v3")


PARTITION_STRINGS = ["a b/c:d", "100%", "x=y", "ünï", "#?&", "plain", None]


def produce_spark_partition_types(base: Path, spark) -> ProducedTable:
    path = base / "spark_partition_types"
    rnd = random.Random(500)
    n = 160
    ts_vals = [dt.datetime(2024, 3, 1, 12, 34, 56, 789012, tzinfo=UTC), dt.datetime(1970, 1, 1, tzinfo=UTC),
               dt.datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC), None]
    tb = pa.table({
        "id": pa.array(range(n), pa.int64()),
        "p_int": pa.array([rnd.choice([0, -7, 2147483647, None]) for _ in range(n)], pa.int32()),
        "p_date": pa.array([rnd.choice([dt.date(2024, 2, 29), dt.date(1970, 1, 1), None]) for _ in range(n)],
                           pa.date32()),
        "p_ts": pa.array([rnd.choice(ts_vals) for _ in range(n)], pa.timestamp("us", tz="UTC")),
        "p_str": pa.array([rnd.choice(PARTITION_STRINGS) for _ in range(n)], pa.string()),
        "value": pa.array([rnd.uniform(0, 1) for _ in range(n)], pa.float64()),
    })
    (spark.createDataFrame(tb).write.format("delta").partitionBy("p_int", "p_date", "p_ts", "p_str")
     .save(str(path)))
    table = _spark_table("spark_partition_types", path, spark,
                         "partitioned by int, date, timestamp, string (spaces, '/', ':', '%', '=', unicode) "
                         "with nulls")
    _check(len(table.log.partition_columns) == 4, "4 partition columns", table.log)
    return table


# name -> (writer, producer)
PRODUCERS: dict[str, tuple[str, Callable[..., ProducedTable]]] = {
    "deltars_plain": ("delta-rs", produce_deltars_plain),
    "deltars_history": ("delta-rs", produce_deltars_history),
    "spark_checkpointed": ("spark", produce_spark_checkpointed),
    "spark_dv": ("spark", produce_spark_deletion_vectors),
    "spark_cm_name": ("spark", produce_spark_column_mapping_name),
    "spark_cm_id": ("spark", produce_spark_column_mapping_id),
    "spark_ts_ntz": ("spark", produce_spark_timestamp_ntz),
    "spark_v2_checkpoint": ("spark", produce_spark_v2_checkpoint),
    "spark_v2_checkpoint_parquet": ("spark", produce_spark_v2_checkpoint_parquet),
    "spark_multipart_checkpoint": ("spark", produce_spark_multipart_checkpoint),
    "spark_partition_types": ("spark", produce_spark_partition_types),
}
DELTARS_TABLES = [n for n, (w, _) in PRODUCERS.items() if w == "delta-rs"]
SPARK_TABLES = [n for n, (w, _) in PRODUCERS.items() if w == "spark"]


class TableFactory:
    """Produces each table once per test session, on first use."""

    def __init__(self, base: Path, spark_getter: Callable[[], object]):
        self.base = Path(base)
        self.spark_getter = spark_getter
        self._tables: dict[str, ProducedTable] = {}
        self._errors: dict[str, BaseException] = {}
        self.timings: dict[str, float] = {}

    def get(self, name: str) -> ProducedTable:
        if name in self._tables:
            return self._tables[name]
        if name in self._errors:  # do not retry (and re-pay) a producer that already failed
            raise RuntimeError(f"producer {name} failed earlier: {self._errors[name]!r}")
        writer, producer = PRODUCERS[name]
        spark = self.spark_getter() if writer == "spark" else None
        self.base.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        try:
            table = producer(self.base, spark)
        except BaseException as e:
            self._errors[name] = e
            raise
        self.timings[name] = time.monotonic() - t0
        self._tables[name] = table
        return table


def _main(argv: list[str]) -> int:
    import argparse
    import tempfile
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", help="produce the tables in this directory and keep them")
    parser.add_argument("names", nargs="*", help=f"tables to produce (default all: {', '.join(PRODUCERS)})")
    args = parser.parse_args(argv)
    names = args.names or list(PRODUCERS)
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="nlk-producers-"))
    spark_holder: list = []

    def spark_getter():
        if not spark_holder:
            from spark_session import make_spark_session
            t0 = time.monotonic()
            spark_holder.append(make_spark_session(base / "_spark"))
            print(f"spark session started in {time.monotonic() - t0:.1f}s", flush=True)
        return spark_holder[0]

    factory = TableFactory(base, spark_getter)
    failed = 0
    for name in names:
        try:
            t = factory.get(name)
        except Exception as e:  # report every producer, then fail
            failed += 1
            print(f"FAILED {name}: {type(e).__name__}: {e}", flush=True)
            continue
        print(f"{name} [{t.writer}, {factory.timings[name]:.1f}s] {t.expected.num_rows} rows "
              f"(reference: {t.reference}); {t.notes}\n    {t.log.describe()}", flush=True)
    if spark_holder:
        spark_holder[0].stop()
    print(f"tables in {base}" + ("" if args.keep else " (temporary)"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
