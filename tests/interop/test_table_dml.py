"""`nlk table delete` and `nlk table update` on tables nlk and delta-rs wrote, in copy-on-write
and deletion-vector mode; the results are checked against a model of the rows and read back by
delta-rs (its DataFusion path, which applies deletion vectors) and by Spark with delta-spark,
which must also be able to keep writing the tables.

CLI contract (tools/nlk):
  nlk table delete URI (--where "PRED" | --all) [--mode auto|copy-on-write|deletion-vectors]
  nlk table update URI --set "col = expr" [--set ...] (--where "PRED" | --all) [--mode ...]
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


def base_rows(n: int = 600) -> pa.Table:
    ids = list(range(n))
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "subject": pa.array([f"S-{i % 7}" for i in ids]),
        "session": pa.array([f"sess-{i // 100}" for i in ids]),
        "value": pa.array([i / 4 for i in ids], pa.float64()),
        "region": pa.array(["eu" if i % 2 else "us" for i in ids]),
    })


def parquet(table: pa.Table, path: Path) -> Path:
    pq.write_table(table, path)
    return path


def commits(uri: str) -> list[dict]:
    """commitInfo of every commit, by version."""
    infos = []
    for path in sorted(Path(uri, "_delta_log").glob("*.json")):
        for line in path.read_text().splitlines():
            action = json.loads(line)
            if "commitInfo" in action:
                infos.append(action["commitInfo"])
    return infos


def log_actions(uri: str, version: int) -> list[dict]:
    text = Path(uri, "_delta_log", f"{version:020d}.json").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def version_of(output: str) -> int:
    match = re.search(r"as version (\d+)", output)
    assert match, output
    return int(match.group(1))


def check_readers(spark, uri: str, expected: pa.Table, what: str) -> None:
    assert_same_rows(read_deltars(uri), expected, key=["id"], what=f"delta-rs: {what}")
    if spark is not None:
        assert_same_rows(read_spark(spark, uri), expected, key=["id"], check_types=False,
                         what=f"Spark: {what}")


def run_dml_sequence(run_nlk, uri: str, model: pa.Table, dv: bool) -> pa.Table:
    """The same deletes and updates on any table holding base_rows(); returns the new model."""
    # A subject's rows (consent withdrawn).
    out = run_nlk("table", "delete", uri, "--where", "subject = 'S-3'").stdout
    deleted = pc.sum(pc.equal(model["subject"], "S-3")).as_py()
    assert f"deleted {deleted} rows" in out, out
    model = model.filter(pc.not_equal(model["subject"], "S-3"))
    assert ("(deletion vectors)" in out) == dv, out

    # A range, touching files again (their deletion vectors are merged).
    out = run_nlk("table", "delete", uri, "--where", "id >= 100 AND id < 130").stdout
    model = model.filter(pc.invert(pc.and_(pc.greater_equal(model["id"], 100), pc.less(model["id"], 130))))

    # Fix a bad session.
    out = run_nlk("table", "update", uri, "--set", "value = value * 2 - 1", "--set",
                  "session = 'sess-fixed'", "--where", "session = 'sess-2'").stdout
    hit = pc.equal(model["session"], "sess-2")
    assert f"updated {pc.sum(hit).as_py()} rows" in out, out
    model = model.set_column(model.schema.get_field_index("value"), "value",
                             pc.if_else(hit, pc.subtract(pc.multiply(model["value"], 2.0), 1.0), model["value"]))
    model = model.set_column(model.schema.get_field_index("session"), "session",
                             pc.if_else(hit, pa.scalar("sess-fixed"), model["session"]))

    # Touch the updated rows again: they now live in a new file.
    run_nlk("table", "delete", uri, "--where", "id = 205 OR id = 7")
    model = model.filter(pc.invert(pc.is_in(model["id"], pa.array([205, 7], pa.int64()))))
    return model


@pytest.mark.spark
@pytest.mark.parametrize("dv", [False, True], ids=["copy-on-write", "deletion-vectors"])
@pytest.mark.parametrize("partitioned", [False, True], ids=["flat", "partitioned"])
def test_dml_on_nlk_tables(run_nlk, tmp_path, spark, dv, partitioned):
    uri = str(tmp_path / "t")
    rows = base_rows()
    args = ["table", "create", uri, "--input", parquet(rows, tmp_path / "a.parquet")]
    if partitioned:
        args += ["--partition-by", "region"]
    if dv:
        args += ["--property", "delta.enableDeletionVectors=true"]
    run_nlk(*args)
    # Several files, so statistics can skip some.
    for part in range(3):
        extra = base_rows(100).set_column(0, "id", pa.array(range(1000 + part * 100, 1100 + part * 100), pa.int64()))
        run_nlk("table", "append", uri, "--input", parquet(extra, tmp_path / f"x{part}.parquet"))
        rows = pa.concat_tables([rows, extra])
    # Statistics (and partition values) keep files closed: only the file holding id 1150 opens.
    out = run_nlk("table", "delete", uri, "--where", "id = 1150 AND region = 'us'").stdout
    assert re.search(r"files opened: 1 of \d+", out), out
    rows = rows.filter(pc.not_equal(rows["id"], 1150))
    model = run_dml_sequence(run_nlk, uri, rows, dv)
    check_readers(spark, uri, model, f"nlk table, dv={dv}, partitioned={partitioned}")

    infos = commits(uri)
    assert [i["operation"] for i in infos[-4:]] == ["DELETE", "DELETE", "UPDATE", "DELETE"]
    assert int(infos[-5]["operationMetrics"]["numDeletedRows"]) == 1
    assert infos[-4]["operationParameters"]["predicate"] == '["subject = \'S-3\'"]'
    assert infos[-2]["operationParameters"]["predicate"] == "session = 'sess-2'"
    metrics = infos[-4]["operationMetrics"]
    assert int(metrics["numDeletedRows"]) == pc.sum(pc.equal(rows["subject"], "S-3")).as_py()
    if dv:
        assert int(metrics["numDeletionVectorsAdded"]) > 0
        assert int(metrics["numRemovedFiles"]) == 0
        # The second delete merged into existing vectors.
        assert int(infos[-3]["operationMetrics"]["numDeletionVectorsUpdated"]) > 0
    else:
        assert int(metrics["numDeletionVectorsAdded"]) == 0
        assert not list(Path(uri).rglob("deletion_vector_*.bin"))

    if partitioned:
        # A partition-only predicate removes files without opening any.
        out = run_nlk("table", "delete", uri, "--where", "region = 'eu'").stdout
        assert "files opened: 0 of" in out, out
        version = version_of(out)
        assert all("remove" in a or "commitInfo" in a for a in log_actions(uri, version))
        model = model.filter(pc.not_equal(model["region"], "eu"))

    check_readers(spark, uri, model, "after skipping deletes")
    # Spark keeps writing the table nlk changed, and nlk reads what Spark wrote.
    spark.sql(f"DELETE FROM delta.`{uri}` WHERE id % 5 = 0")
    spark.sql(f"UPDATE delta.`{uri}` SET value = 0.5 WHERE id = 1")
    expected = read_spark(spark, uri)
    run_nlk("table", "read", uri, "--format", "parquet", "--out", tmp_path / "o.parquet")
    assert_same_rows(pq.read_table(tmp_path / "o.parquet"), expected, key=["id"], check_types=False,
                     what="nlk reads after Spark's DELETE/UPDATE")
    assert not any(i % 5 == 0 for i in expected["id"].to_pylist())


@pytest.mark.spark
def test_dml_on_delta_rs_tables(run_nlk, tmp_path, spark):
    """A table delta-rs wrote: copy-on-write as written; deletion vectors once Spark enables
    them on it."""
    from deltalake import write_deltalake
    uri = str(tmp_path / "drs")
    rows = base_rows()
    write_deltalake(uri, rows.slice(0, 300), partition_by=["region"])
    write_deltalake(uri, rows.slice(300), mode="append", partition_by=["region"])
    model = run_dml_sequence(run_nlk, uri, rows, dv=False)
    check_readers(spark, uri, model, "delta-rs table, copy-on-write")
    # delta-rs keeps writing it.
    from deltalake import DeltaTable
    DeltaTable(uri).delete("id = 10")
    model = model.filter(pc.not_equal(model["id"], 10))
    check_readers(spark, uri, model, "delta-rs table after delta-rs's delete")

    spark.sql(f"ALTER TABLE delta.`{uri}` SET TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')")
    out = run_nlk("table", "delete", uri, "--where", "id >= 400 AND id < 420").stdout
    assert "(deletion vectors)" in out, out
    out = run_nlk("table", "delete", uri, "--where", "id >= 420 AND id < 425").stdout
    model = model.filter(pc.invert(pc.and_(pc.greater_equal(model["id"], 400), pc.less(model["id"], 425))))
    check_readers(spark, uri, model, "delta-rs table with nlk's deletion vectors")


@pytest.mark.spark
def test_deletion_vector_files_spark_reads_and_keeps_writing(run_nlk, tmp_path, spark):
    """Large vectors go to deletion_vector_<uuid>.bin files, small ones inline; a file touched
    twice gets a merged vector; Spark reads all of it, deletes more, and nlk reads Spark's."""
    uri = str(tmp_path / "t")
    rows = base_rows(5000)
    run_nlk("table", "create", uri, "--input", parquet(rows, tmp_path / "a.parquet"),
            "--property", "delta.enableDeletionVectors=true")
    run_nlk("table", "delete", uri, "--where", "id = 17")  # one row: inline
    v1 = log_actions(uri, 1)
    inline = [a["add"]["deletionVector"] for a in v1 if "add" in a]
    assert inline and inline[0]["storageType"] == "i" and inline[0]["cardinality"] == 1
    # Scattered rows: too big to inline.
    run_nlk("table", "delete", uri, "--where", "subject = 'S-2'")
    v2 = log_actions(uri, 2)
    stored = [a["add"]["deletionVector"] for a in v2 if "add" in a][0]
    assert stored["storageType"] == "u"
    assert stored["cardinality"] == 1 + sum(1 for i in range(5000) if i % 7 == 2 and i != 17)
    assert len(list(Path(uri).glob("deletion_vector_*.bin"))) == 1
    add = [a["add"] for a in v2 if "add" in a][0]
    stats = json.loads(add["stats"])
    assert stats["tightBounds"] is False and stats["numRecords"] == 5000
    model = rows.filter(pc.and_(pc.not_equal(rows["id"], 17), pc.not_equal(rows["subject"], "S-2")))
    check_readers(spark, uri, model, "inline and stored deletion vectors")

    spark.sql(f"DELETE FROM delta.`{uri}` WHERE id < 100")
    run_nlk("table", "update", uri, "--set", "value = -1", "--where", "id >= 4990")
    expected = read_spark(spark, uri)
    assert expected.num_rows == model.filter(pc.greater_equal(model["id"], 100)).num_rows
    run_nlk("table", "read", uri, "--format", "parquet", "--out", tmp_path / "o.parquet")
    assert_same_rows(pq.read_table(tmp_path / "o.parquet"), expected, key=["id"], check_types=False,
                     what="nlk after Spark's DV delete and nlk's DV update")
    assert_same_rows(read_deltars(uri), expected, key=["id"], check_types=False, what="delta-rs")


def test_bad_requests_leave_the_table_unchanged(run_nlk, tmp_path):
    uri = str(tmp_path / "t")
    run_nlk("table", "create", uri, "--input", parquet(base_rows(50), tmp_path / "a.parquet"))
    cases = [
        (["delete", uri, "--where", "nope = 1"], "unknown column 'nope'"),
        (["delete", uri, "--where", "id = "], "predicate"),
        (["delete", uri], "--where"),
        (["update", uri, "--set", "nope = 1", "--all"], "unknown column 'nope'"),
        (["update", uri, "--set", "id = 'abc'", "--all"], "abc"),
        (["update", uri, "--set", "id", "--all"], "column = value"),
        (["update", uri, "--set", "id = id +", "--where", "id = 1"], "expression"),
        (["delete", uri, "--where", "id = 1", "--mode", "deletion-vectors"], "deletionVectors"),
        (["delete", uri, "--where", "id = 1", "--mode", "sideways"], "--mode"),
    ]
    for args, message in cases:
        proc = run_nlk("table", *args, check=False)
        assert proc.returncode != 0
        assert message in proc.stderr, (args, proc.stderr)
    assert read_log(Path(uri)).latest == 0
    assert read_deltars(uri).num_rows == 50
