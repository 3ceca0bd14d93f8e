"""Writing tables with column mapping (PROTOCOL.md "Column Mapping"), checked by Spark and delta-rs.

  nlk table create URI --input F --property delta.columnMapping.mode=name|id
  nlk table rename-column URI OLD NEW
  nlk table drop-column URI COLUMN...

nlk creates mapped tables, writes physical column names into data files, statistics and partition
values, renames and drops columns without rewriting a file, appends (with new columns), deletes
and updates; Spark and delta-rs read the same rows, and Spark keeps writing the table. nlk also
writes to a mapped table Spark created and renamed columns of. Without column mapping, a rename
or drop is refused and the table is unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from compare import assert_same_rows
from producers import read_deltars, read_spark


def rows(first: int, count: int) -> pa.Table:
    ids = list(range(first, first + count))
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "session": pa.array([f"sess-{i // 50}" for i in ids]),
        "value": pa.array([i / 2 for i in ids], pa.float64()),
        "region": pa.array(["eu" if i % 3 else "us" for i in ids]),
    })


def write(table: pa.Table, path: Path) -> Path:
    pq.write_table(table, path)
    return path


def latest_metadata(uri: str) -> dict:
    metadata = None
    for path in sorted(Path(uri, "_delta_log").glob("*.json")):
        for line in path.read_text().splitlines():
            action = json.loads(line)
            if "metaData" in action:
                metadata = action["metaData"]
    assert metadata is not None
    return metadata


def versions(uri: str) -> int:
    return len(list(Path(uri, "_delta_log").glob("*.json")))


def nlk_rows(run_nlk, uri: str, out: Path) -> pa.Table:
    run_nlk("table", "read", uri, "--format", "parquet", "--out", out)
    return pq.read_table(out)


@pytest.mark.spark
@pytest.mark.parametrize("mode", ["name", "id"])
@pytest.mark.parametrize("dv", [False, True], ids=["copy-on-write", "deletion-vectors"])
def test_nlk_writes_a_mapped_table_spark_and_deltars_read(run_nlk, tmp_path, spark, mode, dv):
    uri = str(tmp_path / "t")
    args = ["table", "create", uri, "--input", write(rows(0, 300), tmp_path / "a.parquet"),
            "--partition-by", "region", "--property", f"delta.columnMapping.mode={mode}"]
    if dv:
        args += ["--property", "delta.enableDeletionVectors=true"]
    run_nlk(*args)
    metadata = latest_metadata(uri)
    fields = json.loads(metadata["schemaString"])["fields"]
    physical = {f["name"]: f["metadata"]["delta.columnMapping.physicalName"] for f in fields}
    assert all(name != physical[name] for name in physical), physical
    assert metadata["configuration"]["delta.columnMapping.maxColumnId"] == "4"
    # Data files hold physical names only; partition directories too.
    data_file = next(Path(uri).rglob("*.parquet"))
    assert set(pq.read_schema(data_file).names) == {physical[c] for c in ("id", "session", "value")}
    assert data_file.parent.name.startswith(physical["region"] + "=")

    run_nlk("table", "append", uri, "--input", write(rows(300, 300), tmp_path / "b.parquet"))
    model = rows(0, 600)

    files_before = sorted(p.name for p in Path(uri).rglob("*.parquet"))
    out = run_nlk("table", "rename-column", uri, "value", "reading").stdout
    assert "metadata only" in out, out
    out = run_nlk("table", "drop-column", uri, "session").stdout
    assert "dropped column session" in out, out
    assert sorted(p.name for p in Path(uri).rglob("*.parquet")) == files_before
    model = model.drop_columns(["session"]).rename_columns(["id", "reading", "region"])

    # A column added later under the dropped name starts empty: the old values stay dropped.
    later = rows(600, 100).rename_columns(["id", "session", "reading", "region"])
    run_nlk("table", "append", uri, "--input", write(later, tmp_path / "c.parquet"),
            "--schema-evolution")
    model = pa.concat_tables([
        model.append_column("session", pa.nulls(model.num_rows, pa.string())),
        later.select(["id", "reading", "region", "session"]),
    ])
    assert latest_metadata(uri)["configuration"]["delta.columnMapping.maxColumnId"] == "5"

    # Row-level changes by logical names; a partition-only delete drops files unread.
    run_nlk("table", "delete", uri, "--where", "reading > 100 AND reading < 120")
    model = model.filter(pc.invert(pc.and_(pc.greater(model["reading"], 100),
                                           pc.less(model["reading"], 120))))
    run_nlk("table", "update", uri, "--set", "reading = reading * 10", "--where", "id < 20")
    model = model.set_column(1, "reading", pc.if_else(pc.less(model["id"], 20),
                                                      pc.multiply(model["reading"], 10),
                                                      model["reading"]))
    out = run_nlk("table", "delete", uri, "--where", "region = 'us'").stdout
    assert "files opened: 0 of" in out, out
    model = model.filter(pc.not_equal(model["region"], "us"))
    # Replacing a partition finds its files by the partition column's physical name.
    run_nlk("table", "overwrite", uri, "--input", write(
        pa.table({"id": pa.array([9000], pa.int64()), "reading": [1.5], "region": ["eu"],
                  "session": ["s-new"]}), tmp_path / "d.parquet"), "--where", "region = 'eu'")
    model = pa.table({"id": pa.array([9000], pa.int64()), "reading": [1.5], "region": ["eu"],
                      "session": ["s-new"]})

    assert_same_rows(nlk_rows(run_nlk, uri, tmp_path / "o1.parquet"), model, key=["id"],
                     check_types=False, what="nlk")
    assert_same_rows(read_spark(spark, uri), model, key=["id"], check_types=False,
                     what=f"Spark reads nlk's mapped table ({mode})")
    if not dv:
        assert_same_rows(read_deltars(uri), model, key=["id"], check_types=False,
                         what=f"delta-rs reads nlk's mapped table ({mode})")

    # Spark keeps writing it, and nlk reads what Spark wrote.
    spark.sql(f"INSERT INTO delta.`{uri}` (id, reading, region, session) "
              f"VALUES (9001, 2.5, 'us', 'spark')")
    spark.sql(f"UPDATE delta.`{uri}` SET reading = 3.5 WHERE id = 9000")
    expected = read_spark(spark, uri)
    assert expected.num_rows == 2
    assert_same_rows(nlk_rows(run_nlk, uri, tmp_path / "o2.parquet"), expected, key=["id"],
                     check_types=False, what="nlk reads Spark's writes")


@pytest.mark.spark
def test_nlk_writes_a_mapped_table_spark_created_and_renamed(run_nlk, tmp_path, spark):
    uri = str(tmp_path / "s")
    spark.sql(f"CREATE TABLE delta.`{uri}` (id BIGINT, v DOUBLE, tag STRING) USING delta "
              "TBLPROPERTIES ('delta.columnMapping.mode' = 'name')")
    spark.sql(f"INSERT INTO delta.`{uri}` VALUES (1, 1.0, 'a'), (2, 2.0, 'b'), (3, 3.0, 'c')")
    spark.sql(f"ALTER TABLE delta.`{uri}` RENAME COLUMN v TO reading")
    spark.sql(f"ALTER TABLE delta.`{uri}` DROP COLUMN tag")
    spark.sql(f"ALTER TABLE delta.`{uri}` ADD COLUMNS (tag STRING)")

    extra = pa.table({"id": pa.array([4, 5], pa.int64()), "reading": [4.0, 5.0],
                      "tag": ["d", "e"]})
    run_nlk("table", "append", uri, "--input", write(extra, tmp_path / "e.parquet"))
    run_nlk("table", "delete", uri, "--where", "id = 2")
    run_nlk("table", "rename-column", uri, "reading", "value")
    model = pa.table({"id": pa.array([1, 3, 4, 5], pa.int64()), "value": [1.0, 3.0, 4.0, 5.0],
                      "tag": [None, None, "d", "e"]})
    assert_same_rows(read_spark(spark, uri), model, key=["id"], check_types=False,
                     what="Spark reads nlk's writes to its mapped table")
    spark.sql(f"INSERT INTO delta.`{uri}` VALUES (6, 6.0, 'f')")
    assert_same_rows(nlk_rows(run_nlk, uri, tmp_path / "o.parquet"), read_spark(spark, uri),
                     key=["id"], check_types=False, what="nlk reads Spark's append after")


def test_renames_and_drops_are_refused_clearly(run_nlk, tmp_path):
    plain = str(tmp_path / "plain")
    run_nlk("table", "create", plain, "--input", write(rows(0, 10), tmp_path / "a.parquet"))
    before = versions(plain)
    result = run_nlk("table", "rename-column", plain, "value", "reading", check=False)
    assert result.returncode != 0
    assert "column mapping" in result.stderr and "delta.columnMapping.mode=name" in result.stderr
    assert versions(plain) == before

    mapped = str(tmp_path / "mapped")
    run_nlk("table", "create", mapped, "--input", write(rows(0, 10), tmp_path / "b.parquet"),
            "--partition-by", "region", "--property", "delta.columnMapping.mode=name")
    before = versions(mapped)
    for args, message in [
        (["rename-column", mapped, "value", "ID"], "already has a column 'id'"),
        (["rename-column", mapped, "nope", "x"], "no column 'nope'"),
        (["drop-column", mapped, "region"], "partition column"),
        (["drop-column", mapped, "id", "session", "value"], "every data column"),
        (["drop-column", mapped, "value", "value"], "listed twice"),
    ]:
        result = run_nlk("table", *args, check=False)
        assert result.returncode != 0, args
        assert message in result.stderr, (args, result.stderr)
    assert versions(mapped) == before
    # A column a CHECK constraint reads can be neither renamed nor dropped while it stands.
    run_nlk("table", "constraint", "add", mapped, "positive", "value >= 0")
    before = versions(mapped)
    for args in (["rename-column", mapped, "value", "reading"], ["drop-column", mapped, "value"]):
        result = run_nlk("table", *args, check=False)
        assert result.returncode != 0, args
        assert "CHECK constraint positive" in result.stderr, result.stderr
    assert versions(mapped) == before
    run_nlk("table", "constraint", "drop", mapped, "positive")
    run_nlk("table", "rename-column", mapped, "value", "reading")
    # A partition column can be renamed: files keep their physical directory names.
    run_nlk("table", "rename-column", mapped, "region", "area")
    assert latest_metadata(mapped)["partitionColumns"] == ["area"]
    out = run_nlk("table", "read", mapped, "--filter", "area = 'us'", "--format", "count").stdout
    assert int(out.strip()) == sum(1 for i in range(10) if i % 3 == 0)
