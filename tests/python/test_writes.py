"""Writes through the package: tables other readers (delta-rs, Polars, nlk) read back."""

from __future__ import annotations

import deltalake
import polars as pl
import pyarrow as pa
import pytest

import neuralake
from conftest import read_arrow_stream, recordings, run_nlk


def sorted_rows(table: pa.Table) -> pa.Table:
    return table.sort_by([("session", "ascending"), ("channel", "ascending"),
                          ("sequence", "ascending")])


def test_write_append_overwrite_read_by_delta_rs_polars_and_nlk(tmp_path):
    uri = tmp_path / "written"
    first = recordings(1, range(0, 3))
    table = neuralake.write_table(uri, first, partition_by=["date"], name="written",
                                  description="test recordings")
    assert table.version == 0

    second = recordings(2, range(0, 3))
    result = table.append(pa.RecordBatchReader.from_batches(second.schema, second.to_batches()))
    assert result["version"] == 1 and result["rows_written"] == second.num_rows

    third = pl.from_arrow(recordings(3, range(0, 2)))
    assert table.append(third)["version"] == 2

    everything = pa.concat_tables([first, second, recordings(3, range(0, 2))])
    by_delta_rs = deltalake.DeltaTable(str(uri)).to_pyarrow_table()
    assert sorted_rows(by_delta_rs.select(everything.column_names)).equals(
        sorted_rows(everything))
    by_polars = pl.read_delta(str(uri))
    assert by_polars.height == everything.num_rows
    by_nlk = read_arrow_stream(run_nlk("table", "read", str(uri), "--format", "arrow").stdout)
    assert sorted_rows(by_nlk).equals(sorted_rows(neuralake.Table(uri).to_arrow()))

    # Replace one partition only.
    replacement = recordings(2, range(5, 6))
    table.overwrite(replacement, where="date = '2026-01-02'")
    rows = neuralake.Table(uri).to_arrow(filter="date = '2026-01-02'")
    assert sorted(set(rows.column("channel").to_pylist())) == [5]
    assert deltalake.DeltaTable(str(uri)).to_pyarrow_table().num_rows == (
        first.num_rows + replacement.num_rows + 2 * 50)

    operations = [entry["operation"] for entry in neuralake.Table(uri).history()]
    assert operations == ["WRITE", "WRITE", "WRITE", "CREATE TABLE AS SELECT"]
    assert deltalake.DeltaTable(str(uri)).version() == 3


def test_write_table_modes(tmp_path):
    uri = tmp_path / "modes"
    neuralake.write_table(uri, pa.table({"x": [1, 2]}))
    neuralake.write_table(uri, pa.table({"x": [3]}), mode="append")
    assert sorted(neuralake.Table(uri).to_arrow().column("x").to_pylist()) == [1, 2, 3]
    neuralake.write_table(uri, pa.table({"x": [9]}), mode="overwrite")
    assert neuralake.Table(uri).to_arrow().column("x").to_pylist() == [9]
    with pytest.raises(neuralake.InvalidArgumentError, match="mode 'replace'"):
        neuralake.write_table(uri, pa.table({"x": [9]}), mode="replace")


def test_optimize_and_vacuum(tmp_path):
    uri = tmp_path / "small-files"
    table = neuralake.write_table(uri, recordings(1, range(0, 1)))
    for channel in range(1, 5):
        table.append(recordings(1, range(channel, channel + 1)))
    before = table.to_arrow()

    metrics = table.optimize()
    assert metrics["files_removed"] == 5 and metrics["files_added"] == 1
    assert sorted_rows(table.to_arrow()).equals(sorted_rows(before))
    assert table.history(limit=1)[0]["operation"] == "OPTIMIZE"
    assert deltalake.DeltaTable(str(uri)).to_pyarrow_table().num_rows == before.num_rows

    # The five compacted files are tombstoned now; a zero retention may delete them.
    with pytest.raises(neuralake.InvalidArgumentError, match="retention"):
        table.vacuum(retention_hours=0, dry_run=True)
    dry = table.vacuum(retention_hours=0, dry_run=True, allow_short_retention=True)
    assert dry["dry_run"] and len(dry["deletable"]) == 5
    done = table.vacuum(retention_hours=0, allow_short_retention=True)
    assert done["files_deleted"] == 5
    assert sorted_rows(table.to_arrow()).equals(sorted_rows(before))
    assert deltalake.DeltaTable(str(uri)).to_pyarrow_table().num_rows == before.num_rows


def test_time_travel_reads_older_versions(tmp_path):
    uri = tmp_path / "travel"
    table = neuralake.write_table(uri, pa.table({"x": [1]}))
    table.append(pa.table({"x": [2]}))
    assert table.to_arrow(version=0).column("x").to_pylist() == [1]
    # As of the first commit's time: the same rows as `nlk table read --timestamp`.
    first_commit = table.history()[-1]["timestamp"]
    expected = read_arrow_stream(run_nlk(
        "table", "read", str(uri), "--format", "arrow", "--timestamp",
        first_commit.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z").stdout)
    assert table.to_arrow(timestamp=first_commit).equals(expected)
    assert table.to_arrow(timestamp=first_commit.isoformat()).equals(expected)
    assert sorted(table.to_arrow().column("x").to_pylist()) == [1, 2]
    with pytest.raises(neuralake.NotFoundError):
        table.to_arrow(version=9)
