"""Reading the change data feed: `nlk table changes URI --from-version A [--to-version B]` gives
the same rows as Spark's table_changes() on tables whose changes Spark recorded (inserts, DELETE,
UPDATE and MERGE with change data files, with and without deletion vectors and column mapping),
and on appends nlk wrote (no change data files: the added rows are inserts). Bad ranges and
tables without the feed are refused with a clear error.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from compare import assert_same_rows

KEY = ["id", "_change_type", "_commit_version"]


def nlk_changes(run_nlk, uri: str, out: Path, first: int, last: int | None = None) -> pa.Table:
    args = ["table", "changes", uri, "--from-version", str(first), "--format", "parquet",
            "--out", out]
    if last is not None:
        args += ["--to-version", str(last)]
    run_nlk(*args)
    return pq.read_table(out)


def spark_changes(spark, uri: str, first: int, last: int | None = None) -> pa.Table:
    end = "" if last is None else f", {last}"
    return spark.sql(f"SELECT * FROM table_changes_by_path('{uri}', {first}{end})").toArrow()


def comparable(table: pa.Table) -> pa.Table:
    """Timestamps as microseconds since the epoch, so zone annotations do not differ."""
    columns = {}
    for name in table.column_names:
        column = table[name]
        if pa.types.is_timestamp(column.type):
            column = pc.cast(pc.cast(column, pa.timestamp("us", tz="UTC")), pa.int64())
        columns[name] = column
    return pa.table(columns)


@pytest.mark.spark
@pytest.mark.parametrize("features", ["plain", "deletion-vectors", "column-mapping", "partitioned"])
def test_changes_match_spark_table_changes(run_nlk, tmp_path, spark, features):
    uri = str(tmp_path / "t")
    properties = ["'delta.enableChangeDataFeed' = 'true'"]
    if features == "deletion-vectors":
        properties.append("'delta.enableDeletionVectors' = 'true'")
    if features == "column-mapping":
        properties.append("'delta.columnMapping.mode' = 'name'")
    partitioning = "PARTITIONED BY (region)" if features == "partitioned" else ""
    spark.sql(f"CREATE TABLE delta.`{uri}` (id BIGINT, region STRING, value DOUBLE) USING delta "
              f"{partitioning} TBLPROPERTIES ({', '.join(properties)})")
    values = ", ".join(f"({i}, '{'eu' if i % 2 else 'us'}', {i * 1.5})" for i in range(40))
    spark.sql(f"INSERT INTO delta.`{uri}` VALUES {values}")                       # v1
    spark.sql(f"DELETE FROM delta.`{uri}` WHERE id % 7 = 0")                      # v2
    spark.sql(f"UPDATE delta.`{uri}` SET value = -value WHERE id BETWEEN 10 AND 14")  # v3
    spark.sql(f"""MERGE INTO delta.`{uri}` t
                  USING (SELECT id, 'eu' AS region, 100.0 + id AS value FROM range(35, 45)) s
                  ON t.id = s.id
                  WHEN MATCHED THEN UPDATE SET value = s.value
                  WHEN NOT MATCHED THEN INSERT *""")                                # v4
    if features == "column-mapping":
        spark.sql(f"ALTER TABLE delta.`{uri}` RENAME COLUMN value TO reading")     # v5
    spark.sql(f"OPTIMIZE delta.`{uri}`")

    if features == "column-mapping":
        # Spark refuses a range across the rename unless told to read it with the end version's
        # schema; nlk always does that. The renamed column holds the same values.
        expected = spark_changes(spark, uri, 1, 4).rename_columns(
            ["id", "region", "reading", "_change_type", "_commit_version", "_commit_timestamp"])
    else:
        expected = spark_changes(spark, uri, 1)
    actual = nlk_changes(run_nlk, uri, tmp_path / "all.parquet", 1)
    assert actual.column_names == expected.column_names
    assert {"insert", "delete", "update_preimage", "update_postimage"} <= set(
        actual["_change_type"].to_pylist())
    assert_same_rows(comparable(actual), comparable(expected), key=KEY,
                     what=f"nlk table changes vs Spark table_changes ({features})")

    # A sub-range.
    expected = spark_changes(spark, uri, 2, 3)
    actual = nlk_changes(run_nlk, uri, tmp_path / "some.parquet", 2, 3)
    assert set(actual["_commit_version"].to_pylist()) == {2, 3}
    assert_same_rows(comparable(actual), comparable(expected), key=KEY,
                     what=f"versions 2..3 ({features})")


@pytest.mark.spark
def test_appends_without_change_data_files_read_as_inserts(run_nlk, tmp_path, spark):
    uri = str(tmp_path / "n")
    first = pa.table({"id": pa.array(range(5), pa.int64()), "v": [0.5] * 5})
    pq.write_table(first, tmp_path / "a.parquet")
    run_nlk("table", "create", uri, "--input", tmp_path / "a.parquet",
            "--property", "delta.enableChangeDataFeed=true")
    second = pa.table({"id": pa.array(range(5, 8), pa.int64()), "v": [1.5] * 3})
    pq.write_table(second, tmp_path / "b.parquet")
    run_nlk("table", "append", uri, "--input", tmp_path / "b.parquet")
    spark.sql(f"DELETE FROM delta.`{uri}` WHERE id = 1")  # Spark records it in change data files

    actual = nlk_changes(run_nlk, uri, tmp_path / "c.parquet", 0)
    assert sorted(zip(actual["id"].to_pylist(), actual["_change_type"].to_pylist(),
                      actual["_commit_version"].to_pylist())) == sorted(
        [(i, "insert", 0) for i in range(5)] + [(i, "insert", 1) for i in range(5, 8)] +
        [(1, "delete", 2)])
    assert_same_rows(comparable(actual), comparable(spark_changes(spark, uri, 0)), key=KEY,
                     what="Spark reads the feed of nlk's appends alike")


def test_bad_ranges_and_tables_without_the_feed_are_refused(run_nlk, tmp_path):
    plain = str(tmp_path / "plain")
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int64())}), tmp_path / "a.parquet")
    run_nlk("table", "create", plain, "--input", tmp_path / "a.parquet")
    result = run_nlk("table", "changes", plain, "--from-version", "0", check=False)
    assert result.returncode == 1
    assert "delta.enableChangeDataFeed" in result.stderr, result.stderr

    feed = str(tmp_path / "feed")
    run_nlk("table", "create", feed, "--input", tmp_path / "a.parquet",
            "--property", "delta.enableChangeDataFeed=true")
    for args, message in [
        (["--from-version", "3"], "after the table's latest version"),
        (["--from-version", "0", "--to-version", "5"], "after the table's latest version"),
        (["--from-version", "-1"], "cannot be negative"),
    ]:
        result = run_nlk("table", "changes", feed, *args, check=False)
        assert result.returncode == 1, args
        assert message in result.stderr, (args, result.stderr)
    out = run_nlk("table", "changes", feed, "--from-version", "0", "--format", "count").stdout
    assert out.strip() == "2"


@pytest.mark.spark
@pytest.mark.parametrize("dv", [False, True], ids=["copy-on-write", "deletion-vectors"])
def test_nlk_dml_records_the_feed_spark_reads(run_nlk, tmp_path, spark, dv):
    """nlk's DELETE, UPDATE and MERGE on a table with the feed write change data files: Spark's
    table_changes and nlk's read the same rows, and they are the changes that were made."""
    uri = str(tmp_path / "w")
    rows = pa.table({"id": pa.array(range(30), pa.int64()),
                     "region": ["eu" if i % 2 else "us" for i in range(30)],
                     "value": [float(i) for i in range(30)]})
    pq.write_table(rows, tmp_path / "a.parquet")
    args = ["table", "create", uri, "--input", tmp_path / "a.parquet", "--partition-by", "region",
            "--property", "delta.enableChangeDataFeed=true"]
    if dv:
        args += ["--property", "delta.enableDeletionVectors=true"]
    run_nlk(*args)                                                                   # v0
    run_nlk("table", "delete", uri, "--where", "id < 3")                             # v1
    run_nlk("table", "delete", uri, "--where", "region = 'eu' AND id > 25")          # v2
    run_nlk("table", "update", uri, "--set", "value = value * 10", "--where", "id = 10")  # v3
    source = pa.table({"id": pa.array([11, 12, 40], pa.int64()), "region": ["eu", "us", "us"],
                       "value": [-1.0, -2.0, -3.0]})
    pq.write_table(source, tmp_path / "s.parquet")
    run_nlk("table", "merge", uri, "--source", tmp_path / "s.parquet", "--on", "t.id = s.id",
            "--when-matched", "AND s.id = 12 DELETE", "--when-matched", "UPDATE SET *",
            "--when-not-matched", "INSERT *")                                       # v4
    assert list(Path(uri, "_change_data").rglob("cdc-*.parquet")), "no change data file"

    actual = nlk_changes(run_nlk, uri, tmp_path / "c.parquet", 1)
    changes = sorted(zip(actual["_commit_version"].to_pylist(), actual["_change_type"].to_pylist(),
                         actual["id"].to_pylist(), actual["value"].to_pylist()))
    assert changes == sorted(
        [(1, "delete", i, float(i)) for i in range(3)] +
        [(2, "delete", i, float(i)) for i in (27, 29)] +
        [(3, "update_preimage", 10, 10.0), (3, "update_postimage", 10, 100.0),
         (4, "update_preimage", 11, 11.0), (4, "update_postimage", 11, -1.0),
         (4, "delete", 12, 12.0), (4, "insert", 40, -3.0)])
    assert_same_rows(comparable(actual), comparable(spark_changes(spark, uri, 1)), key=KEY,
                     what=f"Spark reads nlk's change data files (dv={dv})")
    # Spark keeps writing the table and its feed.
    spark.sql(f"DELETE FROM delta.`{uri}` WHERE id = 13")
    assert_same_rows(comparable(nlk_changes(run_nlk, uri, tmp_path / "d.parquet", 5)),
                     comparable(spark_changes(spark, uri, 5)), key=KEY,
                     what="nlk reads Spark's next change")
