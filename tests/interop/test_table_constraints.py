"""CHECK constraints and generated columns on tables Spark created, written by nlk: nlk computes
generated values, refuses rows that break a constraint or supply a wrong generated value (the
table is left as it was), and Spark reads what nlk wrote with every rule holding and keeps
writing; a constraint nlk adds is enforced by Spark, one nlk drops is gone for Spark too.

CLI contract (tools/nlk):
  nlk table constraint add URI NAME "EXPR"
  nlk table constraint drop URI NAME [--if-exists]
  nlk table create URI --input F [--constraint NAME=EXPR] [--generated COL=EXPR]
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from producers import read_spark

UTC = dt.timezone.utc


def rows(ids, values, devices=None, days=None) -> pa.Table:
    ts = [dt.datetime(2024, 3, 1, 23, 30, tzinfo=UTC) + dt.timedelta(hours=7 * i) for i in ids]
    columns = {
        "id": pa.array(ids, pa.int64()),
        "device": pa.array(devices if devices is not None else [f"d-{i % 3}" for i in ids], pa.string()),
        "value": pa.array(values, pa.int64()),
        "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
    }
    if days is not None:
        columns["day"] = pa.array(days, pa.date32())
    return pa.table(columns)


def parquet(table: pa.Table, path: Path) -> str:
    pq.write_table(table, path)
    return str(path)


def latest_version(uri: str) -> int:
    return max(int(p.stem) for p in Path(uri, "_delta_log").glob("*.json"))


def protocol_and_configuration(uri: str) -> tuple[dict, dict]:
    protocol, configuration = {}, {}
    for path in sorted(Path(uri, "_delta_log").glob("*.json")):
        for line in path.read_text().splitlines():
            action = json.loads(line)
            protocol = action.get("protocol", protocol)
            if "metaData" in action:
                configuration = action["metaData"]["configuration"]
    return protocol, configuration


def assert_rules_hold(spark, uri: str) -> None:
    """Spark's own view: no row breaks a constraint, every day is its ts's date."""
    broken = spark.sql(
        f"SELECT count(*) AS n FROM delta.`{uri}` "
        "WHERE NOT coalesce(value > 0 AND device IS NOT NULL, false) "
        "OR NOT (day <=> CAST(ts AS DATE))").collect()[0]["n"]
    assert broken == 0


@pytest.mark.spark
def test_constraints_and_generated_columns_on_a_spark_table(run_nlk, tmp_path, spark):
    from delta.tables import DeltaTable
    uri = str(tmp_path / "readings")
    (DeltaTable.create(spark).location(uri)
     .addColumn("id", "BIGINT")
     .addColumn("device", "STRING")
     .addColumn("value", "BIGINT")
     .addColumn("ts", "TIMESTAMP")
     .addColumn("day", "DATE", generatedAlwaysAs="CAST(ts AS DATE)")
     .partitionedBy("day")
     .execute())
    spark.sql(f"ALTER TABLE delta.`{uri}` ADD CONSTRAINT positive "
              "CHECK (value > 0 AND device IS NOT NULL)")
    spark.sql(f"INSERT INTO delta.`{uri}` (id, device, value, ts) "
              "VALUES (0, 'd-0', 5, TIMESTAMP'2024-03-01 10:00:00')")

    # nlk appends rows without the generated column: it computes day (per partition).
    out = run_nlk("table", "append", uri, "--input",
                  parquet(rows([1, 2, 3, 4], [1, 2, 3, 4]), tmp_path / "a.parquet")).stdout
    assert "appended 4 rows" in out, out
    # ... and rows that supply it correctly.
    supplied = rows([5, 6], [6, 7], days=[dt.date(2024, 3, 3), dt.date(2024, 3, 3)])
    run_nlk("table", "append", uri, "--input", parquet(supplied, tmp_path / "b.parquet"))
    got = read_spark(spark, uri).sort_by("id")
    assert got["id"].to_pylist() == [0, 1, 2, 3, 4, 5, 6]
    assert got["day"].to_pylist()[1:5] == [dt.date(2024, 3, 2), dt.date(2024, 3, 2),
                                           dt.date(2024, 3, 2), dt.date(2024, 3, 3)]
    assert_rules_hold(spark, uri)

    # Rows breaking a rule: refused with the rule named, nothing committed.
    before = latest_version(uri)
    bad = run_nlk("table", "append", uri, "--input",
                  parquet(rows([7, 8], [3, -1]), tmp_path / "bad.parquet"), check=False)
    assert bad.returncode != 0
    assert "CHECK constraint positive (value > 0 AND device IS NOT NULL)" in bad.stderr, bad.stderr
    assert "value = -1" in bad.stderr, bad.stderr
    null_device = run_nlk("table", "append", uri, "--input",
                          parquet(rows([9], [3], devices=[None]), tmp_path / "null.parquet"),
                          check=False)
    assert null_device.returncode != 0 and "device = NULL" in null_device.stderr
    wrong_day = run_nlk("table", "append", uri, "--input",
                        parquet(rows([10], [3], days=[dt.date(2020, 1, 1)]), tmp_path / "w.parquet"),
                        check=False)
    assert wrong_day.returncode != 0
    assert "generated column day (CAST(ts AS DATE))" in wrong_day.stderr, wrong_day.stderr
    assert latest_version(uri) == before
    assert read_spark(spark, uri).num_rows == 7

    # Spark keeps writing the table, its rules intact.
    spark.sql(f"INSERT INTO delta.`{uri}` (id, device, value, ts) "
              "VALUES (11, 'd-2', 9, TIMESTAMP'2024-03-05 01:00:00')")
    assert_rules_hold(spark, uri)

    # A constraint nlk adds: refused while rows break it, then enforced by Spark.
    refused = run_nlk("table", "constraint", "add", uri, "small", "value < 7", check=False)
    assert refused.returncode != 0 and "existing rows" in refused.stderr, refused.stderr
    out = run_nlk("table", "constraint", "add", uri, "small", "value < 100").stdout
    assert "8 existing rows satisfy it" in out, out
    protocol, configuration = protocol_and_configuration(uri)
    assert configuration["delta.constraints.small"] == "value < 100"
    assert protocol["minWriterVersion"] >= 3
    with pytest.raises(Exception, match="small"):
        spark.sql(f"INSERT INTO delta.`{uri}` (id, device, value, ts) "
                  "VALUES (12, 'd-1', 500, TIMESTAMP'2024-03-05 02:00:00')")
    assert read_spark(spark, uri).num_rows == 8
    too_big = run_nlk("table", "append", uri, "--input",
                      parquet(rows([13], [100]), tmp_path / "big.parquet"), check=False)
    assert too_big.returncode != 0 and "CHECK constraint small" in too_big.stderr

    # Dropped by nlk: Spark no longer enforces it.
    run_nlk("table", "constraint", "drop", uri, "small")
    spark.sql(f"INSERT INTO delta.`{uri}` (id, device, value, ts) "
              "VALUES (12, 'd-1', 500, TIMESTAMP'2024-03-05 02:00:00')")
    assert read_spark(spark, uri).num_rows == 9
    missing = run_nlk("table", "constraint", "drop", uri, "small", check=False)
    assert missing.returncode != 0 and "no CHECK constraint small" in missing.stderr
    run_nlk("table", "constraint", "drop", uri, "small", "--if-exists")
    assert_rules_hold(spark, uri)


@pytest.mark.spark
def test_table_nlk_creates_with_rules_is_enforced_by_spark(run_nlk, tmp_path, spark):
    uri = str(tmp_path / "created")
    run_nlk("table", "create", uri, "--input", parquet(rows([1, 2], [1, 2]), tmp_path / "a.parquet"),
            "--constraint", "positive=value > 0 AND device IS NOT NULL",
            "--generated", "day=CAST(ts AS DATE)", "--partition-by", "day")
    got = read_spark(spark, uri).sort_by("id")
    assert got["day"].to_pylist() == [dt.date(2024, 3, 2), dt.date(2024, 3, 2)]
    with pytest.raises(Exception, match="positive"):
        spark.sql(f"INSERT INTO delta.`{uri}` (id, device, value, ts) "
                  "VALUES (3, 'd-0', -4, TIMESTAMP'2024-03-05 02:00:00')")
    # Spark computes the generated column for its own rows, and it agrees with nlk's formula.
    spark.sql(f"INSERT INTO delta.`{uri}` (id, device, value, ts) "
              "VALUES (3, 'd-0', 4, TIMESTAMP'2024-03-05 02:00:00')")
    with pytest.raises(Exception):
        spark.sql(f"INSERT INTO delta.`{uri}` VALUES (4, 'd-0', 4, "
                  "TIMESTAMP'2024-03-05 02:00:00', DATE'2000-01-01')")
    assert_rules_hold(spark, uri)
    run_nlk("table", "append", uri, "--input", parquet(rows([5], [8]), tmp_path / "b.parquet"))
    assert read_spark(spark, uri).num_rows == 4
    assert_rules_hold(spark, uri)
