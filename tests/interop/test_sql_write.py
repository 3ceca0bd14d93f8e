"""`nlk sql --write`: DELETE, UPDATE and INSERT statements on Delta tables, in copy-on-write and
deletion-vector mode. The rows are checked against a model and read back by delta-rs and (one
case) by Spark with delta-spark, which must also keep writing the table. Without --write the
statements are refused, and bad statements fail without committing anything.

CLI contract (tools/nlk):
  nlk sql --write --table NAME=URI... "DELETE FROM t WHERE ..." [--format table|json]
    [--mode auto|copy-on-write|deletion-vectors]
  prints psql's command tag ("DELETE 3", "UPDATE 2", "INSERT 0 5") then
  "committed version N of URI ..."; --format json prints one object with command, rows,
  version, committed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from compare import assert_same_rows
from deltalog import read_log
from producers import read_deltars, read_spark


def base_rows(n: int = 300) -> pa.Table:
    ids = list(range(n))
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "subject": pa.array([f"S-{i % 7}" for i in ids]),
        "value": pa.array([i / 4 for i in ids], pa.float64()),
        "level": pa.array([i % 100 for i in ids], pa.int16()),
    })


def create_table(run_nlk, tmp_path: Path, dv: bool, rows: pa.Table | None = None) -> str:
    uri = str(tmp_path / "t")
    source = tmp_path / "base.parquet"
    pq.write_table(base_rows() if rows is None else rows, source)
    args = ["table", "create", uri, "--input", str(source)]
    if dv:
        args += ["--property", "delta.enableDeletionVectors=true"]
    run_nlk(*args)
    return uri


def sql(run_nlk, uri: str, statement: str, *extra: str, check: bool = True):
    return run_nlk("sql", "--write", "--table", f"t={uri}", *extra, statement, check=check)


def commit_info(uri: str, version: int) -> dict:
    text = Path(uri, "_delta_log", f"{version:020d}.json").read_text()
    for line in text.splitlines():
        action = json.loads(line)
        if "commitInfo" in action:
            return action["commitInfo"]
    raise AssertionError(f"no commitInfo in version {version}")


def run_statements(run_nlk, tmp_path: Path, uri: str, model: pa.Table, dv: bool) -> pa.Table:
    """DELETE, UPDATE and both INSERTs; returns the model of the rows after them."""
    version = read_log(Path(uri)).latest

    out = sql(run_nlk, uri, "DELETE FROM t WHERE subject = 'S-3' AND id < 200").stdout
    gone = pc.and_(pc.equal(model["subject"], "S-3"), pc.less(model["id"], 200))
    deleted = pc.sum(gone).as_py()
    assert out.splitlines()[0] == f"DELETE {deleted}", out
    assert f"committed version {version + 1} of" in out, out
    assert ("(deletion vectors)" in out) == dv, out
    model = model.filter(pc.invert(gone))
    info = commit_info(uri, version + 1)
    assert info["operation"] == "DELETE", info
    assert "subject = 'S-3' AND id < 200" in json.dumps(info["operationParameters"]), info

    # SET values computed from the row before the update, cast to the column's type.
    out = sql(run_nlk, uri, "UPDATE t AS x SET value = x.value * 2, level = level + 1000, "
                            "subject = lower(subject) WHERE x.id % 10 = 0", "--format", "json").stdout
    result = json.loads(out)
    hit = pa.array([i % 10 == 0 for i in model["id"].to_pylist()])
    assert result == {**result, "command": "UPDATE", "rows": pc.sum(hit).as_py(),
                      "version": version + 2, "committed": True}, result
    assert result["mode"] == ("deletion-vectors" if dv else "copy-on-write"), result
    model = pa.table({
        "id": model["id"],
        "subject": pc.if_else(hit, pc.utf8_lower(model["subject"]), model["subject"]),
        "value": pc.if_else(hit, pc.multiply(model["value"], 2.0), model["value"]),
        "level": pc.if_else(hit, pc.cast(pc.add(pc.cast(model["level"], pa.int32()), 1000), pa.int16()),
                            model["level"]),
    })
    assert commit_info(uri, version + 2)["operation"] == "UPDATE"

    # VALUES, naming some columns in another order; the others are NULL.
    out = sql(run_nlk, uri, "INSERT INTO t (level, id, subject) VALUES (7, 1000, 'S-new'), "
                            "(8, 1001, NULL)").stdout
    assert out.splitlines()[0] == "INSERT 0 2", out
    model = pa.concat_tables([model, pa.table({
        "id": pa.array([1000, 1001], pa.int64()), "subject": pa.array(["S-new", None]),
        "value": pa.array([None, None], pa.float64()), "level": pa.array([7, 8], pa.int16())})])

    # A query over another table (a Parquet file) and the target itself.
    extra = pa.table({"n": pa.array([5, 6, 7], pa.int32()), "name": ["a", "b", "c"]})
    pq.write_table(extra, tmp_path / "extra.parquet")
    out = run_nlk("sql", "--write", "--table", f"t={uri}", "--table",
                  f"e={tmp_path / 'extra.parquet'}",
                  "INSERT INTO t SELECT n + 2000, name, n / 2.0, n FROM e WHERE n > 5").stdout
    assert out.splitlines()[0] == "INSERT 0 2", out
    model = pa.concat_tables([model, pa.table({
        "id": pa.array([2006, 2007], pa.int64()), "subject": pa.array(["b", "c"]),
        "value": pa.array([3.0, 3.5], pa.float64()), "level": pa.array([6, 7], pa.int16())})])
    assert commit_info(uri, version + 4)["operation"] == "WRITE"
    return model


@pytest.mark.parametrize("dv", [False, True], ids=["copy-on-write", "deletion-vectors"])
def test_statements_change_exactly_their_rows(run_nlk, tmp_path, dv):
    uri = create_table(run_nlk, tmp_path, dv)
    model = run_statements(run_nlk, tmp_path, uri, base_rows(), dv)
    assert_same_rows(read_deltars(uri), model, key=["id"], what=f"delta-rs, dv={dv}")
    # nlk's own reader agrees.
    out = run_nlk("sql", "--table", f"t={uri}", "SELECT count(*) AS n FROM t", "--format",
                  "json").stdout
    assert json.loads(out)[0]["n"] == model.num_rows, out


@pytest.mark.spark
def test_spark_reads_and_keeps_writing(run_nlk, tmp_path, spark):
    uri = create_table(run_nlk, tmp_path, dv=True)
    model = run_statements(run_nlk, tmp_path, uri, base_rows(), dv=True)
    assert_same_rows(read_spark(spark, uri), model, key=["id"], check_types=False,
                     what="Spark after nlk sql --write")
    spark.sql(f"DELETE FROM delta.`{uri}` WHERE id < 50")
    spark.sql(f"UPDATE delta.`{uri}` SET value = -1 WHERE id = 2006")
    expected = read_spark(spark, uri)
    # And nlk keeps writing after Spark.
    out = sql(run_nlk, uri, "DELETE FROM t WHERE id = 2007").stdout
    assert out.splitlines()[0] == "DELETE 1", out
    expected = expected.filter(pc.not_equal(expected["id"], 2007))
    assert_same_rows(read_deltars(uri), expected, key=["id"], check_types=False,
                     what="delta-rs after Spark's and nlk's writes")


def test_write_statements_need_write(run_nlk, tmp_path):
    uri = create_table(run_nlk, tmp_path, dv=False)
    for statement in ["DELETE FROM t WHERE id = 1", "UPDATE t SET value = 0",
                      "INSERT INTO t (id) VALUES (1)"]:
        proc = run_nlk("sql", "--table", f"t={uri}", statement, check=False)
        assert proc.returncode != 0, statement
        verb = statement.split()[0]
        assert f"read-only: {verb} statements are not allowed" in proc.stderr, proc.stderr
        assert "nlk sql --write" in proc.stderr, proc.stderr
    # Queries still run with --write.
    out = run_nlk("sql", "--write", "--table", f"t={uri}", "SELECT count(*) AS n FROM t").stdout
    assert "300" in out, out
    assert read_log(Path(uri)).latest == 0


def test_bad_statements_leave_the_table_unchanged(run_nlk, tmp_path):
    uri = create_table(run_nlk, tmp_path, dv=False)
    pq.write_table(pa.table({"a": [1]}), tmp_path / "p.parquet")
    cases = [
        ("DELETE FROM t WHERE nope = 1", 'column "nope" does not exist'),
        ("DELETE FROM t WHERE id", "must be boolean"),
        ("DELETE FROM t WHERE id IN (SELECT 1)", "subqueries are not allowed in WHERE"),
        ("DELETE FROM missing WHERE id = 1", 'table "missing" does not exist'),
        ("DELETE FROM p WHERE a = 1", "not a Delta table"),
        ("DELETE FROM t WHERE id = 1 RETURNING id", "RETURNING is not supported"),
        ("UPDATE t SET nope = 1", 'column "nope" of table "t" does not exist'),
        ("UPDATE t SET level = 40000", "out of range for int16"),
        ("UPDATE t SET level = level * 1000 WHERE id = 99", "not in range"),
        ("UPDATE t SET id = 'abc'", "abc"),
        ("INSERT INTO t (id, level) VALUES (1, 70000)", "out of range for int16"),
        ("INSERT INTO t (id) VALUES (1, 2)", "more expressions than target columns"),
        ("INSERT INTO t SELECT 1", "fewer expressions than target columns"),
        ("INSERT INTO t (level) SELECT id * 1000 FROM t", "not in range"),
        ("DELETE FROM t WHERE id = 1; DELETE FROM t", "only one statement"),
        ("DELET FROM t", "syntax error"),
    ]
    for statement, message in cases:
        proc = run_nlk("sql", "--write", "--table", f"t={uri}", "--table",
                       f"p={tmp_path / 'p.parquet'}", statement, check=False)
        assert proc.returncode != 0, statement
        assert message in proc.stderr, (statement, proc.stderr)
    # Formats that cannot carry a statement's result are refused before anything is written.
    proc = sql(run_nlk, uri, "DELETE FROM t WHERE id = 1", "--format", "csv", check=False)
    assert proc.returncode != 0 and "table or json" in proc.stderr, proc.stderr
    proc = sql(run_nlk, uri, "DELETE FROM t WHERE id = 1", "--mode", "sideways", check=False)
    assert proc.returncode != 0 and "--mode" in proc.stderr, proc.stderr
    proc = sql(run_nlk, uri, "DELETE FROM t WHERE id = 1", "--mode", "deletion-vectors",
               check=False)
    assert proc.returncode != 0 and "deletionVectors" in proc.stderr, proc.stderr

    assert read_log(Path(uri)).latest == 0
    assert_same_rows(read_deltars(uri), base_rows(), key=["id"], what="table after bad statements")
    data_files = [p for p in Path(uri).rglob("*.parquet")]
    assert len(data_files) == 1, data_files


def test_no_matching_rows_commit_nothing(run_nlk, tmp_path):
    uri = create_table(run_nlk, tmp_path, dv=False)
    out = sql(run_nlk, uri, "DELETE FROM t WHERE id > 100000").stdout
    assert out.splitlines()[0] == "DELETE 0", out
    assert "unchanged at version 0" in out, out
    out = sql(run_nlk, uri, "INSERT INTO t SELECT * FROM t WHERE id < 0", "--format", "json").stdout
    assert json.loads(out) == {**json.loads(out), "command": "INSERT", "rows": 0, "version": 0,
                               "committed": False}, out
    assert read_log(Path(uri)).latest == 0
