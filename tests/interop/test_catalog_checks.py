"""`nlk catalog check --freshness` and `--deep` against real tables declared in a manifest:
a freshness objective is met while data lands and missed once it stops (compaction does not
count as new data); unique_columns hold on a table without duplicates and fail, with examples,
on one with them; the sample bound is honoured; bad settings are refused."""

from __future__ import annotations

import json
import time

import pyarrow as pa
import pyarrow.parquet as pq


def write_rows(path, ids, first_ts=0):
    pq.write_table(pa.table({
        "id": pa.array(ids, pa.int64()),
        "ts": pa.array(range(first_ts, first_ts + len(ids)), pa.int64()),
    }), path)
    return path


def manifest(tmp_path, tables: list[dict]) -> str:
    document = {
        "format": "neuralake-catalog-manifest", "format_version": 1, "root": str(tmp_path),
        "catalogs": [{"name": "lab", "databases": [{"name": "ephys", "tables": [
            {"kind": "delta", "description": "test rows", **table} for table in tables]}]}],
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_freshness_objectives_are_met_then_missed(run_nlk, tmp_path):
    run_nlk("table", "create", tmp_path / "live", "--input",
            write_rows(tmp_path / "a.parquet", [1, 2, 3]))
    catalog = manifest(tmp_path, [
        {"name": "live", "uri": "live", "freshness": {"slo_seconds": 3}},
        {"name": "relaxed", "uri": "live", "freshness": {"slo_seconds": 3600}},
        {"name": "missing", "uri": "missing", "freshness": {"slo_seconds": 60}},
        {"name": "no_objective", "uri": "live"},
    ])
    out = run_nlk("catalog", "check", "--manifest", catalog, "--freshness", check=False)
    lines = out.stdout
    assert "fresh       ephys.live" in lines, lines
    assert "fresh       ephys.relaxed" in lines, lines
    assert "NO DATA     ephys.missing" in lines, lines
    assert "no_objective" not in "\n".join(
        line for line in lines.splitlines() if line.startswith(("fresh", "STALE")))
    assert out.returncode != 0  # the table with no data misses its objective

    # Without the missing table: met now, missed once 3 s pass with no new data, even after a
    # compaction commit (which brings no new rows).
    catalog = manifest(tmp_path, [
        {"name": "live", "uri": "live", "freshness": {"slo_seconds": 3}},
        {"name": "relaxed", "uri": "live", "freshness": {"slo_seconds": 3600}},
    ])
    run_nlk("catalog", "check", "--manifest", catalog, "--freshness")
    run_nlk("table", "append", tmp_path / "live", "--input",
            write_rows(tmp_path / "b.parquet", [4, 5], 3))
    time.sleep(4.5)
    run_nlk("optimize", tmp_path / "live")
    history = run_nlk("table", "history", tmp_path / "live", "--json").stdout
    assert "OPTIMIZE" in history
    stale = run_nlk("catalog", "check", "--manifest", catalog, "--freshness", check=False)
    assert "STALE       ephys.live" in stale.stdout, stale.stdout
    assert "fresh       ephys.relaxed" in stale.stdout, stale.stdout
    assert "miss their freshness objective" in stale.stderr, stale.stderr
    # Without --freshness the same catalog passes: freshness is checked only when asked.
    run_nlk("catalog", "check", "--manifest", catalog)

    run_nlk("table", "append", tmp_path / "live", "--input",
            write_rows(tmp_path / "c.parquet", [6], 5))
    run_nlk("catalog", "check", "--manifest", catalog, "--freshness")


def test_deep_checks_unique_columns_on_a_bounded_sample(run_nlk, tmp_path):
    run_nlk("table", "create", tmp_path / "unique", "--input",
            write_rows(tmp_path / "u.parquet", list(range(100))))
    # 100 distinct ids, then 20 that repeat the first ones.
    run_nlk("table", "create", tmp_path / "dupes", "--input",
            write_rows(tmp_path / "d1.parquet", list(range(100))))
    run_nlk("table", "append", tmp_path / "dupes", "--input",
            write_rows(tmp_path / "d2.parquet", list(range(20)), 100))
    (tmp_path / "pq").mkdir()
    write_rows(tmp_path / "pq" / "part-0.parquet", [7, 7, 8])
    catalog = manifest(tmp_path, [
        {"name": "unique", "uri": "unique", "unique_columns": ["id"]},
        {"name": "composite", "uri": "dupes", "unique_columns": ["id", "ts"]},
    ])
    out = run_nlk("catalog", "check", "--manifest", catalog, "--deep")
    assert "unique      ephys.unique: (id) over 100 sampled rows" in out.stdout, out.stdout
    assert "unique      ephys.composite: (id, ts) over 120 sampled rows" in out.stdout, out.stdout

    catalog = manifest(tmp_path, [
        {"name": "unique", "uri": "unique", "unique_columns": ["id"]},
        {"name": "dupes", "uri": "dupes", "unique_columns": ["id"]},
        {"name": "flat", "kind": "parquet", "uri": "pq", "unique_columns": ["id"]},
    ])
    out = run_nlk("catalog", "check", "--manifest", catalog, "--deep", check=False)
    assert out.returncode != 0
    assert "DUPLICATES  ephys.dupes: 20 of 120 sampled rows repeat a (id)" in out.stdout, out.stdout
    assert "DUPLICATES  ephys.flat: 1 of 3 sampled rows repeat a (id)" in out.stdout, out.stdout
    assert "id=7" in out.stdout
    assert "unique      ephys.unique" in out.stdout
    assert "unique_columns do not tell apart" in out.stderr, out.stderr

    # The sample is bounded: the first 10 rows come from one file, whichever, and do not repeat.
    bounded = manifest(tmp_path, [{"name": "dupes", "uri": "dupes", "unique_columns": ["id"]}])
    out = run_nlk("catalog", "check", "--manifest", bounded, "--deep", "--sample-rows", "10")
    assert "unique      ephys.dupes: (id) over 10 sampled rows" in out.stdout, out.stdout

    refused = run_nlk("catalog", "check", "--manifest", bounded, "--deep", "--sample-rows", "0",
                      check=False)
    assert "--sample-rows" in refused.stderr


def test_bad_objectives_are_refused(run_nlk, tmp_path):
    run_nlk("table", "create", tmp_path / "t", "--input", write_rows(tmp_path / "a.parquet", [1]))
    for freshness, message in [({"slo_seconds": -5}, "freshness.slo_seconds"),
                               ({"slo_seconds": "soon"}, "expected an integer")]:
        catalog = manifest(tmp_path, [{"name": "t", "uri": "t", "freshness": freshness}])
        refused = run_nlk("catalog", "check", "--manifest", catalog, "--freshness", check=False)
        assert message in refused.stderr, refused.stderr


def metric(text: str, name: str, table: str) -> float | None:
    prefix = f'{name}{{table="{table}"}} '
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix):])
    return None


def test_serve_exports_the_freshness_objective(run_nlk, tmp_path):
    from serve_harness import start_nlk_serve

    run_nlk("table", "create", tmp_path / "live", "--input",
            write_rows(tmp_path / "a.parquet", [1, 2, 3]))
    catalog = manifest(tmp_path, [
        {"name": "live", "uri": "live", "freshness": {"slo_seconds": 2}},
        {"name": "plain", "uri": "live"},
    ])
    server = start_nlk_serve(["--catalog-manifest", catalog], tmp_path)
    try:
        first = server.get("/metrics").body.decode()
        assert metric(first, "nlk_table_freshness_slo_seconds", "ephys.live") == 2
        assert metric(first, "nlk_table_freshness_slo_met", "ephys.live") == 1
        assert metric(first, "nlk_table_freshness_slo_met", "ephys.plain") is None
        assert metric(first, "nlk_table_data_age_seconds", "ephys.plain") is not None
        time.sleep(2.5)
        # A compaction commit is served but brings no new data: the objective is missed.
        run_nlk("table", "append", tmp_path / "live", "--input",
                write_rows(tmp_path / "b.parquet", [4], 3))
        time.sleep(2.5)
        run_nlk("optimize", tmp_path / "live")
        deadline = time.monotonic() + 10
        while True:
            text = server.get("/metrics").body.decode()
            if metric(text, "nlk_table_snapshot_version", "ephys.live") == 2:
                break
            assert time.monotonic() < deadline, text
            time.sleep(0.2)
        assert metric(text, "nlk_table_freshness_slo_met", "ephys.live") == 0, text
        assert metric(text, "nlk_table_data_age_seconds", "ephys.live") >= 2.5
        assert metric(text, "nlk_table_commit_age_seconds", "ephys.live") < 2
    finally:
        server.stop()
