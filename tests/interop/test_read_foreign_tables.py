"""nlk reads tables written by delta-rs and by Spark + delta-spark exactly as those tools do.

CLI contract (tools/nlk): nlk table read URI [--version N | --timestamp ISO8601] [--columns a,b,c]
[--filter "EXPR"] [--format table|csv|parquet|json] [--out FILE]; on error: non-zero exit and one
clear line on stderr.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from compare import assert_same_rows
from producers import DELTARS_TABLES, SPARK_TABLES

ALL_TABLES = [pytest.param(n, marks=pytest.mark.spark) if n in SPARK_TABLES else n
              for n in DELTARS_TABLES + SPARK_TABLES]


def nlk_read(run_nlk, uri: str, out: Path, *options) -> pa.Table:
    run_nlk("table", "read", uri, "--format", "parquet", "--out", out, *options)
    assert out.is_file(), f"nlk table read exited 0 but wrote no {out}"
    return pq.read_table(out)


def schema_names(t) -> list[str]:
    return [f["name"] for f in t.log.schema_fields]


@pytest.mark.parametrize("name", ALL_TABLES)
def test_read_latest(name, tables, run_nlk, tmp_path):
    t = tables.get(name)
    got = nlk_read(run_nlk, t.uri, tmp_path / "out.parquet")
    assert_same_rows(got, t.expected, what=f"nlk vs {t.reference} on {name} ({t.notes})")
    assert got.column_names == schema_names(t), "columns must come in the table schema's order"


# (table, version): before/at/after checkpoints, across overwrites, schema changes and DVs.
TIME_TRAVEL = [
    ("deltars_history", 0), ("deltars_history", 2), ("deltars_history", 3), ("deltars_history", 5),
    ("deltars_history", 6),
    pytest.param("spark_checkpointed", 0, marks=pytest.mark.spark),   # empty table
    pytest.param("spark_checkpointed", 3, marks=pytest.mark.spark),
    pytest.param("spark_checkpointed", 10, marks=pytest.mark.spark),  # the checkpoint version
    pytest.param("spark_checkpointed", 11, marks=pytest.mark.spark),
    pytest.param("spark_dv", 1, marks=pytest.mark.spark),             # before any DV
    pytest.param("spark_dv", 2, marks=pytest.mark.spark),
    pytest.param("spark_cm_name", 1, marks=pytest.mark.spark),        # before the renames
    pytest.param("spark_v2_checkpoint", 2, marks=pytest.mark.spark),  # before the V2 checkpoint
]


@pytest.mark.parametrize("name,version", TIME_TRAVEL)
def test_read_version(name, version, tables, run_nlk, tmp_path):
    t = tables.get(name)
    got = nlk_read(run_nlk, t.uri, tmp_path / "out.parquet", "--version", version)
    assert_same_rows(got, t.expected_at(version), what=f"nlk vs {t.reference} on {name}@v{version}")


def test_read_timestamp(tables, run_nlk, tmp_path):
    t = tables.get("deltars_history")
    assert t.timestamps
    for instant, version in t.timestamps.items():
        got = nlk_read(run_nlk, t.uri, tmp_path / f"v{version}.parquet", "--timestamp", instant)
        assert_same_rows(got, t.expected_at(version), what=f"nlk --timestamp {instant} (= v{version})")


def test_read_file_uri(tables, run_nlk, tmp_path):
    t = tables.get("deltars_history")
    got = nlk_read(run_nlk, t.path.as_uri(), tmp_path / "out.parquet")
    assert_same_rows(got, t.expected, what="nlk read of a file:// URI")


def test_columns(tables, run_nlk, tmp_path):
    t = tables.get("deltars_history")
    cols = ["extra", "id", "region"]  # not schema order; a partition column; the evolved column
    got = nlk_read(run_nlk, t.uri, tmp_path / "out.parquet", "--columns", ",".join(cols))
    assert got.column_names == cols, "--columns gives exactly those columns, in that order"
    assert_same_rows(got, t.expected.select(cols), what="--columns extra,id,region")


@pytest.mark.spark
def test_columns_column_mapping(tables, run_nlk, tmp_path):
    t = tables.get("spark_cm_name")
    cols = ["reading", "event_day"]  # both renamed; event_day is the partition column
    got = nlk_read(run_nlk, t.uri, tmp_path / "out.parquet", "--columns", ",".join(cols))
    assert got.column_names == cols
    assert_same_rows(got, t.expected.select(cols), what="--columns on renamed column-mapped columns")


# (table, filter expression, the same predicate in pyarrow)
FILTERS = [
    pytest.param("deltars_history", "region = 'eu'", lambda e: pc.equal(e["region"], "eu"),
                 id="partition-column"),
    pytest.param("deltars_history", "note = 'plain'", lambda e: pc.equal(e["note"], "plain"), id="data-column"),
    pytest.param("deltars_history", "id >= 4020", lambda e: pc.greater_equal(e["id"], 4020), id="numeric"),
    pytest.param("spark_partition_types", "p_str = 'a b/c:d'", lambda e: pc.equal(e["p_str"], "a b/c:d"),
                 marks=pytest.mark.spark, id="special-partition-string"),
    pytest.param("spark_dv", "region = 'us'", lambda e: pc.equal(e["region"], "us"), marks=pytest.mark.spark,
                 id="deletion-vectors"),
]


@pytest.mark.parametrize("name,expr,predicate", FILTERS)
def test_filter(name, expr, predicate, tables, run_nlk, tmp_path):
    t = tables.get(name)
    expected = t.expected.filter(predicate(t.expected))  # SQL: NULL = 'x' is not true -> dropped
    assert expected.num_rows > 0, "the filter must select something to be a test"
    got = nlk_read(run_nlk, t.uri, tmp_path / "out.parquet", "--filter", expr)
    assert_same_rows(got, expected, what=f"--filter {expr!r} on {name}")


def test_filter_with_columns_and_version(tables, run_nlk, tmp_path):
    t = tables.get("deltars_history")
    old = t.expected_at(2)
    expected = old.filter(pc.equal(old["region"], "us")).select(["id", "value"])
    got = nlk_read(run_nlk, t.uri, tmp_path / "out.parquet", "--version", 2, "--filter", "region = 'us'",
                   "--columns", "id,value")
    assert got.column_names == ["id", "value"]
    assert_same_rows(got, expected, what="--version 2 --filter region = 'us' --columns id,value")


@pytest.mark.spark
def test_csv_and_json_output(tables, run_nlk, tmp_path):
    """The text formats carry the same rows (strings hold commas, quotes and newlines)."""
    t = tables.get("spark_checkpointed")
    expected = t.expected.select(["id", "batch", "name"])
    csv_out = tmp_path / "out.csv"
    run_nlk("table", "read", t.uri, "--format", "csv", "--columns", "id,batch,name", "--out", csv_out)
    got = pacsv.read_csv(csv_out, parse_options=pacsv.ParseOptions(newlines_in_values=True),
                         convert_options=pacsv.ConvertOptions(
                             column_types={"id": pa.int64(), "batch": pa.int32(), "name": pa.string()},
                             strings_can_be_null=False))
    # CSV cannot tell NULL from an empty string: compare with nulls read as "".
    assert_same_rows(got, expected.set_column(2, "name", pc.fill_null(expected["name"], "")),
                     what="--format csv")

    json_out = tmp_path / "out.json"
    run_nlk("table", "read", t.uri, "--format", "json", "--columns", "id,batch,name", "--out", json_out)
    text = json_out.read_text()
    try:
        records = json.loads(text)  # one JSON array
    except json.JSONDecodeError:
        records = [json.loads(line) for line in text.splitlines() if line.strip()]  # JSON lines
    assert isinstance(records, list) and all(isinstance(r, dict) for r in records)
    got = pa.Table.from_pylist(records, schema=pa.schema([("id", pa.int64()), ("batch", pa.int32()),
                                                          ("name", pa.string())]))
    assert_same_rows(got, expected, what="--format json")


def test_table_format_to_stdout(tables, run_nlk):
    t = tables.get("deltars_plain")
    proc = run_nlk("table", "read", t.uri, "--format", "table", "--columns", "id,s", "--filter", "id = 17")
    assert proc.stdout.strip(), "the table format prints the rows"
    assert "17" in proc.stdout


def _one_error_line(proc) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected exactly one stderr line, got {len(lines)}: {proc.stderr!r}"
    assert len(lines[0]) < 500
    return lines[0]


def test_error_missing_table(run_nlk, tmp_path):
    proc = run_nlk("table", "read", tmp_path / "no_such_table", "--format", "parquet",
                   "--out", tmp_path / "o.parquet", check=False)
    _one_error_line(proc)
    assert not (tmp_path / "o.parquet").exists()


def test_error_version_past_latest(tables, run_nlk, tmp_path):
    t = tables.get("deltars_history")
    proc = run_nlk("table", "read", t.uri, "--version", t.log.latest + 5, "--format", "parquet",
                   "--out", tmp_path / "o.parquet", check=False)
    _one_error_line(proc)


def test_error_unknown_column(tables, run_nlk, tmp_path):
    t = tables.get("deltars_history")
    proc = run_nlk("table", "read", t.uri, "--columns", "id,no_such_column", "--format", "parquet",
                   "--out", tmp_path / "o.parquet", check=False)
    assert "no_such_column" in _one_error_line(proc)


def test_error_bad_filter(tables, run_nlk, tmp_path):
    t = tables.get("deltars_history")
    proc = run_nlk("table", "read", t.uri, "--filter", "region = = 'eu", "--format", "parquet",
                   "--out", tmp_path / "o.parquet", check=False)
    _one_error_line(proc)


def test_error_not_a_delta_table(run_nlk, tmp_path):
    (tmp_path / "plain").mkdir()
    pq.write_table(pa.table({"a": [1]}), tmp_path / "plain" / "x.parquet")
    proc = run_nlk("table", "read", tmp_path / "plain", "--format", "parquet",
                   "--out", tmp_path / "o.parquet", check=False)
    _one_error_line(proc)
