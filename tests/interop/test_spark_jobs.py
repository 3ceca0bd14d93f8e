"""The ELT jobs in jobs/ (downsampling, firing rates and unit quality, session summaries) on
tables `nlk datagen` writes: their outputs against the same aggregates computed by DuckDB from the
same rows (job_expectations.py), their incremental runs, and the one-writer-per-table rule in both
directions.

The jobs run in this test session's local Spark (one JVM for the whole suite); the cluster and
MinIO variant is test_spark_cluster.py.
"""

from __future__ import annotations

import json
import os
import subprocess

import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

import job_expectations
from jobs_harness import JOBS, job_catalog, load_job, run_job, runner
from nlkcli import nlk_path

pytestmark = pytest.mark.spark

OUTPUTS = {"downsample": ["neural.samples_rollup"],
           "firing_rates": ["neural.unit_firing_rates", "neural.unit_quality"],
           "session_summaries": ["neural.session_summaries"]}


def datagen(run_nlk, root, kind, *options):
    run_nlk("datagen", "--kind", kind, "--devices", "2", "--channels", "4",
            "--table", root / "neural" / kind, "--partition-by", "date", *options)


def make_lake(root, run_nlk, tmp_path):
    """Two devices of four channels, session-0001: 3 s of samples, a 1 s gap, 1 s more, then
    0.5 s in which channel 2 drops every 50th sample; spikes and band power over 5 s."""
    datagen(run_nlk, root, "samples", "--duration", "3")
    datagen(run_nlk, root, "samples", "--duration", "1", "--start", "2026-01-01T00:00:04Z",
            "--seed", "7")
    dropped = tmp_path / "dropouts.parquet"
    run_nlk("datagen", "--kind", "samples", "--devices", "2", "--channels", "4", "--duration",
            "0.5", "--start", "2026-01-01T00:00:05Z", "--seed", "8", "--out", dropped)
    rows = pq.read_table(dropped)
    keep = [not (channel == 2 and sequence % 50 == 0) for channel, sequence in
            zip(rows["channel"].to_pylist(), rows["sequence"].to_pylist())]
    pq.write_table(rows.filter(pa.array(keep)), dropped)
    run_nlk("table", "append", root / "neural" / "samples", "--input", dropped)
    datagen(run_nlk, root, "spikes", "--duration", "5")
    datagen(run_nlk, root, "band_power", "--duration", "5")


def sources(root, run_nlk) -> dict[str, pa.Table]:
    tables = {kind: DeltaTable(str(root / "neural" / kind)).to_pyarrow_table()
              for kind in ("samples", "spikes", "band_power")}
    arrow = subprocess.run([str(nlk_path()), "sql", "--catalog", "--root", str(root), "--format",
                            "arrow", "SELECT * FROM neural.electrodes"],
                           capture_output=True, check=True, timeout=60).stdout
    tables["electrodes"] = pyarrow.ipc.open_stream(arrow).read_all()
    return tables


def output_path(root, name):
    return root / "neural" / name.split(".", 1)[1]


def assert_outputs_match(root, run_nlk, only: list[str] | None = None):
    source_tables = sources(root, run_nlk)
    for outputs in OUTPUTS.values():
        for output in outputs:
            if only is not None and output not in only:
                continue
            actual = DeltaTable(str(output_path(root, output))).to_pyarrow_table()
            job_expectations.assert_matches(output, actual,
                                            job_expectations.expected(output, source_tables))


@pytest.fixture(scope="module")
def lake(tmp_path_factory, nlk, run_nlk, spark):
    os.environ.setdefault("NLK_BIN", str(nlk))
    root = tmp_path_factory.mktemp("jobs") / "lake"
    make_lake(root, run_nlk, root.parent)
    for name in JOBS:
        run_job(spark, root, name)
    return root


def test_outputs_match_duckdb_on_the_same_rows(lake, run_nlk):
    assert_outputs_match(lake, run_nlk)
    summary = DeltaTable(str(lake / "neural" / "session_summaries")).to_pyarrow_table().to_pylist()
    # The data has what the summaries are for: one gap (3 s to 4 s) and channel dropouts.
    assert {row["gap_count"] for row in summary} == {1}, summary
    assert all(row["missing_timestamps"] == 1000 for row in summary), summary
    assert all(row["incomplete_timestamps"] == 10 for row in summary), summary


def test_outputs_carry_the_writer_property_and_the_processed_versions(lake, spark):
    for outputs in OUTPUTS.values():
        for output in outputs:
            path = output_path(lake, output)
            table = DeltaTable(str(path))
            assert table.metadata().configuration.get("neuralake.writer") == "spark", output
            last = table.history(1)[0]
            state = json.loads(last["userMetadata"])
            source = "neural.samples" if "samples" in output or "session" in output else "neural.spikes"
            assert state["sources"][source]["version"] == DeltaTable(
                str(lake / "neural" / source.split(".")[1])).version(), state


def test_a_rerun_with_nothing_new_changes_nothing(lake, spark, run_nlk):
    before = {output: DeltaTable(str(output_path(lake, output))).version()
              for outputs in OUTPUTS.values() for output in outputs}
    # Compaction of a source is no new data.
    run_nlk("optimize", lake / "neural" / "samples", "--min-files", "2")
    for name in JOBS:
        for result in run_job(spark, lake, name):
            assert result.version is None, result
            assert "up to date" in result.summary, result
    after = {output: DeltaTable(str(output_path(lake, output))).version() for output in before}
    assert after == before


def test_new_data_replaces_only_what_it_touches(lake, spark, run_nlk):
    # A second session, a minute later: the first session's windows and summary stay as they are.
    for kind in ("samples", "spikes", "band_power"):
        datagen(run_nlk, lake, kind, "--duration", "2", "--start", "2026-01-01T00:01:30Z",
                "--session", "session-0002", "--seed", "11")
    results = {result.table: result for name in JOBS for result in run_job(spark, lake, name)}
    assert_outputs_match(lake, run_nlk)
    for table, result in results.items():
        assert result.version is not None and "replaced" in result.summary, result
    assert "window_start >= TIMESTAMP '2026-01-01 00:01:00.000000'" in \
        results["neural.samples_rollup"].summary
    assert "bin_start >= TIMESTAMP '2026-01-01 00:01:30.000000'" in \
        results["neural.unit_firing_rates"].summary
    for table in ("neural.unit_quality", "neural.session_summaries"):
        assert "session-0002" in results[table].summary and "session-0001" not in \
            results[table].summary, results[table]
    # The replaced part is exactly what a recomputation from scratch gives.
    for table in results:
        path = output_path(lake, table)
        incremental = DeltaTable(str(path)).to_pyarrow_table()
        assert incremental.num_rows > 0
    for name in JOBS:
        for result in run_job(spark, lake, name, full=True):
            assert "recomputed everything" in result.summary, result
    assert_outputs_match(lake, run_nlk)


def test_a_failed_run_leaves_the_output_as_it_was(lake, spark, run_nlk):
    """A run that dies before its commit (here: its computation fails) changes nothing, and the
    next run does the work."""
    datagen(run_nlk, lake, "samples", "--duration", "1", "--start", "2026-01-01T00:02:30Z",
            "--session", "session-0003", "--seed", "12")
    path = output_path(lake, "neural.samples_rollup")
    before = DeltaTable(str(path)).version()
    module = load_job("downsample")
    catalog = job_catalog.Catalog.load(str(lake))

    def failing(context):
        rows, predicate = module.rollups(context)
        return rows.where("raise_error('killed') IS NULL"), predicate

    with pytest.raises(Exception, match="killed"):
        runner.run_output(spark, catalog, module.JOB, module.JOB_PATH,
                          runner.Output("neural.samples_rollup", failing), False)
    assert DeltaTable(str(path)).version() == before
    (result,) = run_job(spark, lake, "downsample")
    assert result.version == before + 1
    assert_outputs_match(lake, run_nlk, only=["neural.samples_rollup"])


def test_a_missing_source_is_a_clear_error(tmp_path, spark, run_nlk):
    root = tmp_path / "lake"
    datagen(run_nlk, root, "samples", "--duration", "0.2")
    with pytest.raises(job_catalog.CatalogError, match="source table neural.spikes does not exist"):
        run_job(spark, root, "firing_rates")
    assert not (root / "neural" / "unit_firing_rates").exists()


# --- one writer per table --------------------------------------------------------------------

def test_jobs_refuse_an_output_the_catalog_gives_to_nlk(lake, spark, run_nlk, tmp_path):
    manifest = json.loads(run_nlk("catalog", "manifest", "--root", lake).stdout)
    for database in manifest["catalogs"][0]["databases"]:
        for table in database["tables"]:
            if table["qualified_name"] == "neural.samples_rollup":
                table["writer"] = "nlk"
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    datagen(run_nlk, lake, "samples", "--duration", "0.5", "--start", "2026-01-01T00:03:00Z",
            "--session", "session-0004")
    with pytest.raises(job_catalog.WriterRuleError, match="declares neural.samples_rollup as "
                       "written by nlk"):
        run_job(spark, lake, "downsample", manifest=str(path))


def test_jobs_refuse_a_table_nlk_created(tmp_path, spark, run_nlk):
    root = tmp_path / "lake"
    datagen(run_nlk, root, "samples", "--duration", "0.5")
    # nlk creates a table where the rollups belong: with the catalog rooted elsewhere it does not
    # know the place, and marks the table as its own.
    sample_file = tmp_path / "rows.parquet"
    run_nlk("datagen", "--kind", "samples", "--duration", "0.1", "--out", sample_file)
    run_nlk("table", "create", root / "neural" / "samples_rollup", "--input", sample_file,
            env={"NLK_CATALOG_ROOT": str(tmp_path / "elsewhere")})
    with pytest.raises(job_catalog.WriterRuleError, match="neuralake.writer=nlk"):
        run_job(spark, root, "downsample")


def test_nlk_refuses_tables_spark_writes(lake, run_nlk, tmp_path):
    rollup = lake / "neural" / "samples_rollup"
    rows = tmp_path / "rows.parquet"
    pq.write_table(DeltaTable(str(rollup)).to_pyarrow_table().slice(0, 5), rows)
    version = DeltaTable(str(rollup)).version()
    # By the catalog (a table at a declared place) ...
    refused = run_nlk("table", "append", rollup, "--input", rows, check=False,
                      env={"NLK_CATALOG_ROOT": str(lake)})
    assert "declares neural.samples_rollup" in refused.stderr and "written by spark" in \
        refused.stderr, refused.stderr
    # ... and by the table's own property, which needs no catalog.
    elsewhere = {"NLK_CATALOG_ROOT": str(tmp_path / "elsewhere")}
    for command in (["table", "append", rollup, "--input", rows],
                    ["table", "overwrite", rollup, "--input", rows],
                    ["table", "checkpoint", rollup],
                    ["optimize", rollup],
                    ["vacuum", rollup, "--dry-run"]):
        refused = run_nlk(*command, check=False, env=elsewhere)
        assert refused.returncode == 1, (command, refused.stdout)
        assert "written by 'spark'" in refused.stderr, (command, refused.stderr)
    assert DeltaTable(str(rollup)).version() == version
    # Reading stays open to every engine.
    count = run_nlk("table", "read", rollup, "--format", "count").stdout
    assert int(count.strip()) > 0


def test_nlk_refuses_to_create_a_table_the_catalog_gives_to_spark(tmp_path, run_nlk):
    root = tmp_path / "lake"
    rows = tmp_path / "rows.parquet"
    run_nlk("datagen", "--kind", "samples", "--duration", "0.1", "--out", rows)
    refused = run_nlk("datagen", "--kind", "samples", "--duration", "0.1", "--table",
                      root / "neural" / "session_summaries", check=False,
                      env={"NLK_CATALOG_ROOT": str(root)})
    assert "declares neural.session_summaries" in refused.stderr, refused.stderr
    assert "jobs/session_summaries.py" in refused.stderr
    assert not (root / "neural" / "session_summaries").exists()
    # A table nlk creates is marked as its own.
    run_nlk("table", "create", root / "mine", "--input", rows)
    assert DeltaTable(str(root / "mine")).metadata().configuration == {"neuralake.writer": "nlk"}
    refused = run_nlk("table", "create", root / "theirs", "--input", rows, "--property",
                      "neuralake.writer=spark", check=False)
    assert "written by 'spark'" in refused.stderr, refused.stderr
