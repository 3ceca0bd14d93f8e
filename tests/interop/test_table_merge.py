"""`nlk table merge` against Spark's MERGE INTO: the same statement on copies of one table gives
the same rows and the same row counts, in copy-on-write and deletion-vector mode, flat and
partitioned; delta-spark and delta-rs read nlk's result and Spark keeps writing it.

CLI contract (tools/nlk):
  nlk table merge URI (--source FILE.parquet | --source-sql QUERY [--source-table NAME=URI ...])
      --on "t.id = s.id" [--target-alias t] [--source-alias s]
      [--when-matched "[AND cond] UPDATE SET col = expr, ... | UPDATE SET * | DELETE" ...]
      [--when-not-matched "[AND cond] INSERT * | INSERT (cols) VALUES (exprs)" ...]
      [--when-not-matched-by-source "[AND cond] UPDATE SET ... | DELETE" ...]
      [--mode auto|copy-on-write|deletion-vectors]
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from compare import assert_same_rows
from deltalog import read_log
from producers import read_deltars, read_spark


def base_rows(first: int, count: int) -> pa.Table:
    ids = list(range(first, first + count))
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "subject": pa.array([f"S-{i % 7}" for i in ids]),
        "session": pa.array([f"sess-{i // 100}" for i in ids]),
        "value": pa.array([i / 4 for i in ids], pa.float64()),
        "region": pa.array(["eu" if i % 2 else "us" for i in ids]),
    })


def source_rows() -> pa.Table:
    """ids 550..699: 550..599 exist in the target, the rest are new; every tenth value is
    negative (the DELETE clause's condition)."""
    rows = base_rows(550, 150)
    ids = rows["id"].to_pylist()
    values = [-(i / 4) if i % 10 == 0 else i * 10.0 for i in ids]
    rows = rows.set_column(rows.schema.get_field_index("value"), "value", pa.array(values))
    return rows.set_column(rows.schema.get_field_index("session"), "session",
                           pa.array(["sess-merged"] * len(ids)))


def parquet(table: pa.Table, path: Path) -> Path:
    pq.write_table(table, path)
    return path


def last_commit(uri: str) -> dict:
    path = sorted(Path(uri, "_delta_log").glob("*.json"))[-1]
    for line in path.read_text().splitlines():
        action = json.loads(line)
        if "commitInfo" in action:
            return action["commitInfo"]
    raise AssertionError(f"no commitInfo in {path}")


def make_table(run_nlk, tmp_path: Path, name: str, dv: bool, partitioned: bool) -> str:
    """ids 0..599 in three files (statistics can tell them apart)."""
    uri = str(tmp_path / name)
    args = ["table", "create", uri, "--input", parquet(base_rows(0, 200), tmp_path / "a.parquet")]
    if partitioned:
        args += ["--partition-by", "region"]
    if dv:
        args += ["--property", "delta.enableDeletionVectors=true"]
    run_nlk(*args)
    for first in (200, 400):
        run_nlk("table", "append", uri, "--input",
                parquet(base_rows(first, 200), tmp_path / f"a{first}.parquet"))
    return uri


SPARK_MERGE = """
MERGE INTO delta.`{uri}` AS t USING src AS s ON t.id = s.id
WHEN MATCHED AND s.value < 0 THEN DELETE
WHEN MATCHED THEN UPDATE SET value = s.value, session = s.session
WHEN NOT MATCHED AND s.id < 680 THEN INSERT *
WHEN NOT MATCHED BY SOURCE AND t.id < 20 THEN DELETE
WHEN NOT MATCHED BY SOURCE AND t.id >= 500 THEN UPDATE SET value = -1
"""

NLK_CLAUSES = [
    "--on", "t.id = s.id",
    "--when-matched", "AND s.value < 0 THEN DELETE",
    "--when-matched", "UPDATE SET value = s.value, session = s.session",
    "--when-not-matched", "AND s.id < 680 THEN INSERT *",
    "--when-not-matched-by-source", "AND t.id < 20 THEN DELETE",
    "--when-not-matched-by-source", "AND t.id >= 500 THEN UPDATE SET value = -1",
]

ROW_METRICS = ["numSourceRows", "numTargetRowsInserted", "numTargetRowsUpdated",
               "numTargetRowsDeleted", "numTargetRowsMatchedUpdated", "numTargetRowsMatchedDeleted",
               "numTargetRowsNotMatchedBySourceUpdated", "numTargetRowsNotMatchedBySourceDeleted"]


@pytest.mark.spark
@pytest.mark.parametrize("dv", [False, True], ids=["copy-on-write", "deletion-vectors"])
@pytest.mark.parametrize("partitioned", [False, True], ids=["flat", "partitioned"])
def test_merge_matches_spark(run_nlk, tmp_path, spark, dv, partitioned):
    nlk_uri = make_table(run_nlk, tmp_path, "nlk", dv, partitioned)
    spark_uri = str(tmp_path / "spark")
    shutil.copytree(nlk_uri, spark_uri)
    source = parquet(source_rows(), tmp_path / "source.parquet")

    out = run_nlk("table", "merge", nlk_uri, "--source", source, *NLK_CLAUSES).stdout
    assert re.search(r"merged as version 3 \((deletion vectors|copy-on-write)\)", out), out
    assert ("(deletion vectors)" in out) == dv, out

    spark.read.parquet(str(source)).createOrReplaceTempView("src")
    spark.sql(SPARK_MERGE.format(uri=spark_uri))

    expected = read_spark(spark, spark_uri)
    assert_same_rows(read_spark(spark, nlk_uri), expected, key=["id"], check_types=False,
                     what=f"Spark reads nlk's MERGE (dv={dv}, partitioned={partitioned})")
    assert_same_rows(read_deltars(nlk_uri), expected, key=["id"], check_types=False,
                     what="delta-rs reads nlk's MERGE")
    # Not a vacuous comparison: every clause acted.
    ids = set(expected["id"].to_pylist())
    assert 0 not in ids and 20 in ids and 690 not in ids and 650 in ids and 550 not in ids

    nlk_info, spark_info = last_commit(nlk_uri), last_commit(spark_uri)
    assert nlk_info["operation"] == spark_info["operation"] == "MERGE"
    for metric in ROW_METRICS:
        assert nlk_info["operationMetrics"][metric] == spark_info["operationMetrics"][metric], metric
    for key in ("predicate", "matchedPredicates", "notMatchedPredicates",
                "notMatchedBySourcePredicates"):
        assert key in nlk_info["operationParameters"], key
    assert [c["actionType"] for c in json.loads(nlk_info["operationParameters"]["matchedPredicates"])] \
        == ["delete", "update"]
    if dv:
        assert int(nlk_info["operationMetrics"]["numTargetDeletionVectorsAdded"]) > 0

    # Spark keeps writing nlk's table, and nlk reads what Spark wrote.
    spark.sql(f"MERGE INTO delta.`{nlk_uri}` t USING src s ON t.id = s.id "
              "WHEN MATCHED THEN UPDATE SET value = 7.0 WHEN NOT MATCHED THEN INSERT *")
    spark.sql(f"DELETE FROM delta.`{nlk_uri}` WHERE id % 9 = 0")
    expected = read_spark(spark, nlk_uri)
    run_nlk("table", "read", nlk_uri, "--format", "parquet", "--out", tmp_path / "o.parquet")
    assert_same_rows(pq.read_table(tmp_path / "o.parquet"), expected, key=["id"],
                     check_types=False, what="nlk reads after Spark's MERGE on nlk's table")


def test_insert_only_merge_from_a_query_appends_only(run_nlk, tmp_path):
    uri = make_table(run_nlk, tmp_path, "t", dv=False, partitioned=False)
    source = parquet(source_rows(), tmp_path / "source.parquet")
    files_before = {a["add"]["path"] for v in range(3)
                    for a in map(json.loads, Path(uri, "_delta_log", f"{v:020d}.json").read_text().splitlines())
                    if "add" in a}
    out = run_nlk("table", "merge", uri, "--source-sql",
                  "SELECT id, subject, session, value, region FROM src WHERE id >= 590",
                  "--source-table", f"src={source}", "--target-alias", "tgt", "--source-alias", "n",
                  "--on", "tgt.id = n.id",
                  "--when-not-matched", "INSERT (id, value, subject) VALUES (n.id, n.value + 1, 'new')"
                  ).stdout
    assert "rows inserted: 100" in out, out
    # The source's ids 590..699 rule out the files holding 0..399.
    assert "files opened: 1 of 3" in out, out
    info = last_commit(uri)
    assert info["operationMetrics"]["numTargetFilesRemoved"] == "0"
    merge_actions = [json.loads(line) for line in
                     Path(uri, "_delta_log", f"{3:020d}.json").read_text().splitlines()]
    assert not [a for a in merge_actions if "remove" in a]
    added = [a["add"]["path"] for a in merge_actions if "add" in a]
    assert len(added) == 1 and added[0] not in files_before
    rows = read_deltars(uri)
    rows = pa.table({name: column.cast(pa.string()) if pa.types.is_string_view(column.type)
                     else column for name, column in zip(rows.column_names, rows.columns)})
    new = rows.filter(pc.equal(rows["subject"], "new"))
    assert sorted(new["id"].to_pylist()) == list(range(600, 700))
    assert new.filter(pc.equal(new["id"], 601))["value"].to_pylist() == [6011.0]
    assert new["region"].null_count == 100
    assert rows.num_rows == 700


def test_bad_merges_leave_the_table_unchanged(run_nlk, tmp_path):
    uri = make_table(run_nlk, tmp_path, "t", dv=False, partitioned=False)
    source = str(parquet(source_rows(), tmp_path / "source.parquet"))
    dup = str(parquet(pa.concat_tables([source_rows(), source_rows().slice(0, 1)]),
                      tmp_path / "dup.parquet"))
    base = ["table", "merge", uri, "--source", source]
    cases = [
        (base + ["--on", "t.id < s.id", "--when-matched", "DELETE"], "no equality"),
        (base + ["--on", "t.id = s.nope", "--when-matched", "DELETE"], "nope"),
        (base + ["--on", "t.id = s.id", "--when-matched", "UPDATE SET nope = 1"],
         "unknown target column 'nope'"),
        (base + ["--on", "t.id = s.id", "--when-matched", "UPDATE SET id = s.subject"], "id"),
        (base + ["--on", "t.id = s.id", "--when-matched", "UPSERT"], "expected"),
        (base + ["--on", "t.id = s.id", "--when-not-matched", "DELETE"], "INSERT"),
        (base + ["--on", "t.id = s.id", "--when-matched", "AND s.id > THEN DELETE"], "SQL error"),
        (base + ["--on", "t.id = s.id"], "--when-matched"),
        (["table", "merge", uri, "--on", "t.id = s.id", "--when-matched", "DELETE"], "--source"),
        (["table", "merge", uri, "--source", dup, "--on", "t.id = s.id", "--when-matched",
          "UPDATE SET *"], "more than one source row"),
    ]
    for args, message in cases:
        proc = run_nlk(*args, check=False)
        assert proc.returncode != 0, args
        assert message in proc.stderr, (args, proc.stderr)
    assert read_log(Path(uri)).latest == 2
    assert read_deltars(uri).num_rows == 600
