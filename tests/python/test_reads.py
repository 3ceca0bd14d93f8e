"""Reads through the package give what the nlk CLI gives for the same table and options, and
prune exactly as it does (same engine, same code path)."""

from __future__ import annotations

import json

import polars as pl
import pyarrow as pa
import pytest

import neuralake
from conftest import parse_metrics, read_arrow_stream, run_nlk


def cli_read(uri, *options: str) -> tuple[pa.Table, dict[str, int]]:
    result = run_nlk("table", "read", str(uri), "--format", "arrow", "--metrics", *options)
    return read_arrow_stream(result.stdout), parse_metrics(result.stderr)


def cli_sql(query: str, *bindings: str) -> tuple[pa.Table, dict[str, int]]:
    arguments = ["sql", "--format", "arrow", "--metrics"]
    for binding in bindings:
        arguments += ["--table", binding]
    result = run_nlk(*arguments, query)
    return read_arrow_stream(result.stdout), parse_metrics(result.stderr)


def comparable(figures: dict[str, int]) -> dict[str, int]:
    return {key: figures[key] for key in
            ("files_total", "files_pruned_by_partition", "files_skipped_by_stats", "files_read",
             "row_groups_total", "row_groups_pruned", "rows_scanned", "bytes_scanned")}


@pytest.mark.parametrize(
    "options, cli_options",
    [
        ({}, []),
        ({"columns": ["channel", "voltage_uv"]}, ["--columns", "channel,voltage_uv"]),
        ({"filter": "channel = 5"}, ["--filter", "channel = 5"]),
        ({"filter": "date = '2026-01-02' AND channel >= 6"},
         ["--filter", "date = '2026-01-02' AND channel >= 6"]),
        ({"version": 1, "filter": "channel < 2"}, ["--version", "1", "--filter", "channel < 2"]),
        ({"limit": 7}, ["--limit", "7"]),
    ],
)
def test_to_arrow_matches_nlk_table_read(cli_table, options, cli_options):
    expected, expected_metrics = cli_read(cli_table, *cli_options)
    table, metrics = neuralake.Table(cli_table).to_arrow(with_metrics=True, **options)
    assert table.equals(expected), (table, expected)
    assert comparable(metrics) == comparable(expected_metrics)


def test_filter_prunes_files_as_the_cli_does(cli_table):
    _, metrics = neuralake.Table(cli_table).to_arrow(filter="channel = 5", with_metrics=True)
    # Two of the four files hold channels 0-3 only; their statistics rule them out.
    assert metrics["files_total"] == 4
    assert metrics["files_skipped_by_stats"] == 2
    assert metrics["files_read"] == 2


def test_scan_is_a_record_batch_reader_over_the_c_stream(cli_table):
    reader = neuralake.Table(cli_table).scan(columns=["channel"], filter="channel = 1")
    assert isinstance(reader, pa.RecordBatchReader)
    assert reader.schema == pa.schema([("channel", pa.int32())])
    rows = reader.read_all()
    assert rows.num_rows == 100
    assert set(rows.column("channel").to_pylist()) == {1}


def test_to_polars(cli_table):
    frame = neuralake.Table(cli_table).to_polars(filter="session = 2", columns=["channel"])
    assert isinstance(frame, pl.DataFrame)
    assert frame.height == 400
    assert frame["channel"].n_unique() == 8


def test_schema_version_and_history_match_the_cli(cli_table):
    table = neuralake.Table(cli_table)
    assert table.version == 3
    assert table.schema.names == ["date", "session", "channel", "sequence", "voltage_uv"]
    assert table.schema.field("channel").type == pa.int32()
    cli_history = json.loads(run_nlk("table", "history", str(cli_table), "--json").stdout)
    history = table.history()
    assert [entry["version"] for entry in history] == [entry["version"] for entry in cli_history]
    assert [entry["commit_info"] for entry in history] == [
        entry["commitInfo"] for entry in cli_history
    ]
    assert history[-1]["operation"] == cli_history[-1]["commitInfo"]["operation"]
    assert [entry["version"] for entry in table.history(limit=2)] == [3, 2]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT channel, count(*) AS n, avg(voltage_uv) AS mean FROM s "
        "WHERE channel BETWEEN 5 AND 6 GROUP BY channel ORDER BY channel",
        "SELECT * FROM s WHERE date = '2026-01-01' AND channel = 7 ORDER BY sequence LIMIT 5",
        "SELECT count(*) AS n FROM s",
    ],
)
def test_sql_matches_nlk_sql(cli_table, query):
    expected, expected_metrics = cli_sql(query, f"s={cli_table}")
    result, metrics = neuralake.sql(query, tables={"s": str(cli_table)}, with_metrics=True)
    assert result.equals(expected), (result, expected)
    assert comparable(metrics) == comparable(expected_metrics)


def test_sql_takes_table_objects_and_parquet(cli_table, tmp_path):
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"channel": pa.array([5, 6], pa.int32()),
                             "region": ["CA1", "CA3"]}), tmp_path / "regions.parquet")
    query = ("SELECT r.region, count(*) AS n FROM s JOIN r ON s.channel = r.channel "
             "GROUP BY r.region ORDER BY r.region")
    result = neuralake.sql(query, tables={"s": neuralake.Table(cli_table),
                                          "r": tmp_path / "regions.parquet"})
    expected, _ = cli_sql(query, f"s={cli_table}", f"r={tmp_path / 'regions.parquet'}")
    assert result.equals(expected)
    assert result.to_pydict() == {"region": ["CA1", "CA3"], "n": [100, 100]}
