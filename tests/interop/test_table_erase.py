"""`nlk table erase`: after erasing a subject, no file under the table directory (data files,
checkpoints, JSON commits, deletion vector files, anything else) holds the subject's value, not
even in min/max statistics or in rows a deletion vector had hidden; every other row is intact and
delta-rs still reads the table.

CLI contract (tools/nlk):
  nlk table erase URI --where "PRED" [--retention-hours N | --now]
  prints "erased N rows as version V (copy-on-write)", the files rewritten or removed, "files
  physically deleted: N", and "log: checkpoint at version C; N log files deleted; ...".
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

SUBJECT = "S-17"


def rows(first: int, subjects: list[str]) -> pa.Table:
    ids = list(range(first, first + len(subjects)))
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "subject_id": pa.array(subjects),
        "value": pa.array([i * 0.5 for i in ids], pa.float64()),
    })


def build_table(run_nlk, tmp_path: Path) -> tuple[str, pa.Table]:
    """A deletion-vector table whose files hold the subject in every way erasure must handle."""
    uri = str(tmp_path / "t")
    parts = [
        # The subject's rows mixed with others; S-17 is the max of this file's subject_id.
        rows(0, ["S-10", SUBJECT, "S-11", SUBJECT, "S-12"] * 4),
        # Only the subject: min and max are its value.
        rows(100, [SUBJECT] * 6),
        # No subject at all: must stay untouched.
        rows(200, ["S-20", "S-21", "S-22"] * 5),
        # The subject's rows here are hidden by a deletion vector below, before the erasure;
        # scattered enough that the vector goes to a deletion_vector_*.bin file.
        rows(300, [SUBJECT, "S-30", "S-31"] * 40),
    ]
    for index, part in enumerate(parts):
        source = tmp_path / f"part{index}.parquet"
        pq.write_table(part, source)
        if index == 0:
            run_nlk("table", "create", uri, "--input", str(source), "--property",
                    "delta.enableDeletionVectors=true")
        else:
            run_nlk("table", "append", uri, "--input", str(source))
    # An older checkpoint whose statistics name the subject.
    run_nlk("table", "checkpoint", uri)
    # Hide the subject's rows of the last file with a deletion vector (still in the file).
    out = run_nlk("table", "delete", uri, "--where", f"subject_id = '{SUBJECT}' AND id >= 300").stdout
    assert "(deletion vectors)" in out, out
    model = pa.concat_tables(parts)
    return uri, model.filter(pc.not_equal(model["subject_id"], SUBJECT))


def files_naming(root: Path, value: str) -> list[str]:
    """Every file under `root` that holds `value`: as raw bytes (JSON, footers, statistics,
    anything stored uncompressed), in any Parquet file's decoded rows, and in any Parquet row
    group's column statistics."""
    needle = value.encode()
    found = [f"{path} (name)" for path in sorted(root.rglob("*"))
             if value in str(path.relative_to(root))]
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if needle in data:
            found.append(f"{path} (bytes)")
            continue
        if path.suffix == ".parquet":
            parquet = pq.ParquetFile(path)
            if value in json.dumps(parquet.read().to_pylist(), default=str):
                found.append(f"{path} (rows)")
                continue
            meta = parquet.metadata
            for group in range(meta.num_row_groups):
                for column in range(meta.num_columns):
                    stats = meta.row_group(group).column(column).statistics
                    if stats is not None and stats.has_min_max and value in (
                            str(stats.min), str(stats.max)):
                        found.append(f"{path} (statistics)")
    return found


def test_erase_now_leaves_no_trace(run_nlk, tmp_path):
    uri, expected = build_table(run_nlk, tmp_path)
    # Before: the subject is all over the table directory.
    before = files_naming(Path(uri), SUBJECT)
    assert any("checkpoint" in f for f in before), before
    assert any(f.endswith("(rows)") or "part-" in f for f in before), before
    vectors = list(Path(uri).glob("deletion_vector_*.bin"))
    assert vectors, "the hidden rows' deletion vector should be stored in a file"

    out = run_nlk("table", "erase", uri, "--where", f"subject_id = '{SUBJECT}'", "--now").stdout
    # 8 live rows in the first file and 6 in the second; the last file's were hidden already.
    assert re.search(r"^erased 14 rows as version \d+ \(copy-on-write\)$", out, re.M), out
    # Three files go: two held live rows, one only rows its deletion vector hid.
    assert "files rewritten or removed: 3 (1 only for rows a deletion vector hid" in out, out
    deleted = int(re.search(r"files physically deleted: (\d+)", out).group(1))
    assert deleted >= 3, out
    checkpoint = int(re.search(r"checkpoint at version (\d+)", out).group(1))
    assert "time travel to versions before" in out, out

    assert files_naming(Path(uri), SUBJECT) == []
    assert not any(path.exists() for path in vectors)
    # The history before the checkpoint is gone; the table starts there.
    log = Path(uri, "_delta_log")
    versions = sorted(int(p.name.split(".")[0]) for p in log.iterdir() if p.name[0].isdigit())
    assert versions and min(versions) == checkpoint, versions
    assert read_log(Path(uri)).latest >= checkpoint

    assert_same_rows(read_deltars(uri), expected, key=["id"], what="delta-rs after erase")
    out = run_nlk("sql", "--table", f"t={uri}", "SELECT count(*) AS n FROM t", "--format",
                  "json").stdout
    assert json.loads(out)[0]["n"] == expected.num_rows, out
    # The table keeps working: append, delete with deletion vectors.
    run_nlk("table", "delete", uri, "--where", "id = 200")
    assert read_deltars(uri).num_rows == expected.num_rows - 1


@pytest.mark.spark
def test_spark_reads_and_keeps_writing_after_erase(run_nlk, tmp_path, spark):
    uri, expected = build_table(run_nlk, tmp_path)
    run_nlk("table", "erase", uri, "--where", f"subject_id = '{SUBJECT}'", "--now")
    assert_same_rows(read_spark(spark, uri), expected, key=["id"], check_types=False,
                     what="Spark after erase")
    spark.sql(f"DELETE FROM delta.`{uri}` WHERE id = 200")
    assert read_deltars(uri).num_rows == expected.num_rows - 1


def test_erase_of_a_partition_leaves_no_directory_named_after_it(run_nlk, tmp_path):
    uri = str(tmp_path / "p")
    table = rows(0, [SUBJECT, "S-1", "S-2"] * 4)
    pq.write_table(table, tmp_path / "p.parquet")
    run_nlk("table", "create", uri, "--input", str(tmp_path / "p.parquet"), "--partition-by",
            "subject_id")
    assert files_naming(Path(uri), SUBJECT)
    out = run_nlk("table", "erase", uri, "--where", f"subject_id = '{SUBJECT}'", "--now").stdout
    assert "erased 4 rows" in out and "empty directories removed: 1" in out, out
    assert files_naming(Path(uri), SUBJECT) == []
    assert_same_rows(read_deltars(uri), table.filter(pc.not_equal(table["subject_id"], SUBJECT)),
                     key=["id"], check_types=False, what="delta-rs after erasing a partition")


def test_erase_with_retention_removes_rows_and_history_and_says_when_files_go(run_nlk, tmp_path):
    uri, expected = build_table(run_nlk, tmp_path)
    out = run_nlk("table", "erase", uri, "--where", f"subject_id = '{SUBJECT}'").stdout
    assert "erased 14 rows" in out, out
    assert "files physically deleted: 0" in out, out
    assert re.search(r"files still waiting for the retention: \d+; run nlk vacuum .* after "
                     r"\d{4}-\d\d-\d\dT", out), out
    assert_same_rows(read_deltars(uri), expected, key=["id"], what="delta-rs after erase")
    # The log names the subject nowhere (stats of removed files left with the old commits);
    # the old data files still hold it until the retention passes.
    remaining = files_naming(Path(uri), SUBJECT)
    assert remaining and all("_delta_log" not in f for f in remaining), remaining
    assert all(Path(f.split(" ")[0]).name.startswith(("part-", "deletion_vector_"))
               for f in remaining), remaining


def test_bad_requests_change_nothing(run_nlk, tmp_path):
    uri, _ = build_table(run_nlk, tmp_path)
    version = read_log(Path(uri)).latest
    before = read_deltars(uri)
    files_before = sorted(p.name for p in Path(uri).rglob("*") if p.is_file())
    cases = [
        (["--where", "nope = 1", "--now"], "nope"),
        (["--now"], "--where"),
        (["--where", "id = 1", "--retention-hours", "1"], "shorter than the table's"),
        (["--where", "id = 1", "--retention-hours", "-5"], "negative"),
        (["--where", "id = 1", "--retention-hours", "200", "--now"], "excludes"),
    ]
    for args, message in cases:
        proc = run_nlk("table", "erase", uri, *args, check=False)
        assert proc.returncode != 0, args
        assert message in proc.stderr, (args, proc.stderr)
    assert read_log(Path(uri)).latest == version
    assert sorted(p.name for p in Path(uri).rglob("*") if p.is_file()) == files_before
    assert_same_rows(read_deltars(uri), before, key=["id"], what="table after refused erasures")
