"""Every error a user can cause is one clear line on stderr, exit code 1, and leaves the table
as it was: bad URIs, missing tables, wrong schemas, corrupt logs, missing data files, unknown
reader features, bad predicates, S3 authentication failures."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest


def _error_line(proc) -> str:
    assert proc.returncode == 1, f"exit {proc.returncode}, stderr {proc.stderr!r}"
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one stderr line, got: {proc.stderr!r}"
    assert lines[0].startswith("nlk: ")
    return lines[0]


def _log_versions(table: Path) -> list[str]:
    return sorted(p.name for p in (table / "_delta_log").glob("*.json"))


def _data_files(table: Path) -> list[str]:
    return sorted(str(p.relative_to(table)) for p in table.rglob("*.parquet")
                  if "_delta_log" not in p.parts)


@pytest.fixture
def small_table(run_nlk, tmp_path) -> Path:
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": pa.array([1, 2, 3], pa.int64()),
                             "day": pa.array(["a", "b", "a"]),
                             "v": pa.array([1.5, 2.5, 3.5])}), source)
    table = tmp_path / "t"
    run_nlk("table", "create", table, "--input", source, "--partition-by", "day")
    return table


def test_unknown_uri_scheme(run_nlk):
    line = _error_line(run_nlk("table", "read", "gs://bucket/t", check=False))
    assert "gs://" in line


def test_missing_table(run_nlk, tmp_path):
    line = _error_line(run_nlk("table", "describe", tmp_path / "absent", check=False))
    assert "not a Delta table" in line


def test_create_over_existing_table_is_refused(run_nlk, small_table, tmp_path):
    source = tmp_path / "in.parquet"
    before = _log_versions(small_table)
    line = _error_line(run_nlk("table", "create", small_table, "--input", source, check=False))
    assert "already exists" in line
    assert _log_versions(small_table) == before


def test_partition_column_not_in_schema(run_nlk, tmp_path):
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": [1]}), source)
    line = _error_line(run_nlk("table", "create", tmp_path / "t2", "--input", source,
                               "--partition-by", "nope", check=False))
    assert "nope" in line
    assert not (tmp_path / "t2" / "_delta_log").exists()


def test_wrong_schema_append_writes_nothing(run_nlk, small_table, tmp_path):
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"id": pa.array(["x"]), "surprise": pa.array([1])}), bad)
    before_log, before_files = _log_versions(small_table), _data_files(small_table)
    line = _error_line(run_nlk("table", "append", small_table, "--input", bad, check=False))
    assert "id" in line and "surprise" in line
    assert _log_versions(small_table) == before_log
    assert _data_files(small_table) == before_files


def test_idempotent_append_applies_once(run_nlk, small_table, tmp_path):
    source = tmp_path / "in.parquet"
    first = run_nlk("table", "append", small_table, "--input", source, "--app-id", "loader",
                    "--app-version", "7")
    assert "version 1" in first.stdout
    again = run_nlk("table", "append", small_table, "--input", source, "--app-id", "loader",
                    "--app-version", "7")
    assert "skipped" in again.stdout
    count = run_nlk("table", "read", small_table, "--format", "count").stdout.strip()
    assert count == "6"


def test_overwrite_where_needs_partition_columns(run_nlk, small_table, tmp_path):
    source = tmp_path / "in.parquet"
    line = _error_line(run_nlk("table", "overwrite", small_table, "--input", source, "--where",
                               "v > 1", check=False))
    assert "partition columns" in line


def test_overwrite_where_rejects_rows_outside_it(run_nlk, small_table, tmp_path):
    source = tmp_path / "in.parquet"
    before_files = _data_files(small_table)
    line = _error_line(run_nlk("table", "overwrite", small_table, "--input", source, "--where",
                               "day = 'a'", check=False))
    assert "outside" in line
    assert _data_files(small_table) == before_files


def test_truncated_commit_is_reported_with_file_and_line(run_nlk, small_table, tmp_path):
    source = tmp_path / "in.parquet"
    run_nlk("table", "append", small_table, "--input", source)
    commit = small_table / "_delta_log" / f"{1:020d}.json"
    text = commit.read_text()
    commit.write_text(text[: len(text) // 2])
    line = _error_line(run_nlk("table", "read", small_table, "--format", "count", check=False))
    assert "00000000000000000001.json" in line


def test_invalid_json_commit(run_nlk, small_table):
    (small_table / "_delta_log" / f"{1:020d}.json").write_text('{"add": {"path": 12}}\n')
    line = _error_line(run_nlk("table", "read", small_table, "--format", "count", check=False))
    assert "00000000000000000001.json" in line


def test_missing_data_file(run_nlk, small_table):
    victim = _data_files(small_table)[0]
    (small_table / victim).unlink()
    line = _error_line(run_nlk("table", "read", small_table, "--format", "count", check=False))
    assert Path(victim).name in line


def test_unknown_reader_feature_is_refused(run_nlk, small_table):
    protocol = {"protocol": {"minReaderVersion": 3, "minWriterVersion": 7,
                             "readerFeatures": ["futureMagic"], "writerFeatures": ["futureMagic"]}}
    commit_info = {"commitInfo": {"timestamp": 1767225600000, "operation": "UPGRADE"}}
    (small_table / "_delta_log" / f"{1:020d}.json").write_text(
        json.dumps(commit_info) + "\n" + json.dumps(protocol) + "\n")
    line = _error_line(run_nlk("table", "read", small_table, "--format", "count", check=False))
    assert "futureMagic" in line


def test_bad_predicate_names_the_position(run_nlk, small_table):
    line = _error_line(run_nlk("table", "read", small_table, "--filter", "id >> 2", check=False))
    assert "position" in line


def test_bad_timestamp_for_time_travel(run_nlk, small_table):
    line = _error_line(run_nlk("table", "read", small_table, "--timestamp", "yesterday",
                               check=False))
    assert "yesterday" in line


@pytest.mark.s3
def test_s3_wrong_credentials(run_nlk, s3_location):
    env = dict(s3_location.nlk_env, AWS_SECRET_ACCESS_KEY="wrong-secret")
    line = _error_line(run_nlk("table", "describe", s3_location.uri, env=env, check=False))
    assert "denied" in line.lower() or "credentials" in line.lower() or "signature" in line.lower()


@pytest.mark.s3
def test_s3_plain_http_needs_opt_in(run_nlk, s3_location):
    env = dict(s3_location.nlk_env)
    env.pop("AWS_ALLOW_HTTP")
    saved = os.environ.pop("AWS_ALLOW_HTTP", None)
    try:
        line = _error_line(run_nlk("table", "describe", s3_location.uri, env=env, check=False))
    finally:
        if saved is not None:
            os.environ["AWS_ALLOW_HTTP"] = saved
    assert "AWS_ALLOW_HTTP" in line
