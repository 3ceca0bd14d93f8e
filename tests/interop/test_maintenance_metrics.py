"""/metrics of `nlk optimize --every` and `nlk vacuum --every`, scraped while the daemons run on a
small table: every pass counts, the counters agree with what the table's log and files say, a
failing pass is counted while the daemon carries on, and promtool accepts the exposition."""

from __future__ import annotations

import json
import shutil

import pytest

from metrics_scrape import Daemon, promtool_check_metrics

APPENDS = 6


def append(run_nlk, table, index: int):
    # One small file per append; each second of data starts where the last one ended.
    run_nlk("datagen", "--devices", "1", "--channels", "2", "--rate", "50", "--duration", "1",
            "--start", f"2026-01-01T00:00:{index:02d}Z", "--table", table)


def live_files(run_nlk, table) -> list[dict]:
    return json.loads(run_nlk("table", "files", table, "--json").stdout)


def latest_version(run_nlk, table) -> int:
    return json.loads(run_nlk("table", "history", table, "--limit", "1", "--json").stdout)[0]["version"]


@pytest.fixture
def small_files_table(run_nlk, tmp_path):
    table = tmp_path / "samples"
    for index in range(APPENDS):
        append(run_nlk, table, index)
    return table


def test_optimize_daemon_metrics_follow_its_passes(run_nlk, small_files_table, tmp_path):
    table = small_files_table
    files = live_files(run_nlk, table)
    assert len(files) == APPENDS
    small_bytes = sum(entry["size"] for entry in files)

    daemon = Daemon(tmp_path, "optimize", "optimize", table, "--every", "0.5",
                    "--metrics-address", "127.0.0.1:0")
    try:
        first = daemon.wait_for(lambda m: m["nlk_optimize_runs_total"] >= 1, "a first pass")
        assert first["nlk_optimize_errors_total"] == 0
        assert first["nlk_optimize_bins_compacted_total"] == 1
        assert first["nlk_optimize_files_compacted_total"] == APPENDS
        assert first["nlk_optimize_files_written_total"] == 1
        assert first["nlk_optimize_bytes_rewritten_total"] == small_bytes
        assert first["nlk_optimize_rows_rewritten_total"] == APPENDS * 50 * 2
        assert first["nlk_optimize_interval_seconds"] == 0.5
        assert first["nlk_optimize_last_success_timestamp_seconds"] > 1.7e9
        [compacted] = live_files(run_nlk, table)
        assert first["nlk_optimize_bytes_written_total"] == compacted["size"]
        assert first["nlk_optimize_table_version"] == latest_version(run_nlk, table)

        # New small files: later passes compact them into the one written before (in one bin
        # or several, as the appends and the passes interleave).
        for index in range(APPENDS, APPENDS + 3):
            append(run_nlk, table, index)
        compacted = daemon.wait_for(lambda m: m["nlk_optimize_bins_compacted_total"] >= 2,
                                    "a pass over the new files")
        while len(live_files(run_nlk, table)) > 1:
            compacted = daemon.wait_for(
                lambda m, runs=compacted["nlk_optimize_runs_total"]: m["nlk_optimize_runs_total"] > runs,
                "another pass")
        idle = daemon.wait_for(
            lambda m, runs=compacted["nlk_optimize_runs_total"]: m["nlk_optimize_runs_total"] > runs,
            "a pass with nothing left to do")
        # Every file added but the one left was compacted away; compaction wrote the rest.
        files_added = APPENDS + 3 + idle["nlk_optimize_files_written_total"]
        assert idle["nlk_optimize_files_compacted_total"] == files_added - 1
        assert idle["nlk_optimize_small_files"] == 1
        assert idle["nlk_optimize_table_version"] == latest_version(run_nlk, table)
        promtool_check_metrics(daemon.scrape())

        # Passes that fail (the table is gone) are counted as errors, not as runs, and the
        # daemon carries on.
        shutil.rmtree(table)
        failed = daemon.wait_for(lambda m: m["nlk_optimize_errors_total"] >= 1, "a failed pass")
        again = daemon.wait_for(lambda m: m["nlk_optimize_errors_total"] >= 2, "another failure")
        assert again["nlk_optimize_runs_total"] == failed["nlk_optimize_runs_total"]
        assert again["nlk_optimize_last_success_timestamp_seconds"] == \
            failed["nlk_optimize_last_success_timestamp_seconds"]
        assert daemon.process.poll() is None
    finally:
        assert daemon.stop() == 0, daemon.stderr_path.read_text()
    assert "stopping on signal 15" in daemon.stderr_path.read_text()


def test_vacuum_daemon_metrics_count_deletions(run_nlk, small_files_table, tmp_path):
    table = small_files_table
    removed = live_files(run_nlk, table)
    run_nlk("optimize", table)
    daemon = Daemon(tmp_path, "vacuum", "vacuum", table, "--every", "0.5", "--retention-hours", "0",
                    "--allow-short-retention", "--metrics-address", "127.0.0.1:0")
    try:
        first = daemon.wait_for(lambda m: m["nlk_vacuum_runs_total"] >= 1, "a first pass")
        assert first["nlk_vacuum_errors_total"] == 0
        assert first["nlk_vacuum_files_deleted_total"] == APPENDS
        assert first["nlk_vacuum_bytes_deleted_total"] == sum(entry["size"] for entry in removed)
        assert first["nlk_vacuum_files_referenced"] == 1
        assert first["nlk_vacuum_table_version"] == latest_version(run_nlk, table)
        second = daemon.wait_for(lambda m: m["nlk_vacuum_runs_total"] >= 2, "a second pass")
        assert second["nlk_vacuum_files_deleted_total"] == APPENDS
        promtool_check_metrics(daemon.scrape())
    finally:
        assert daemon.stop() == 0, daemon.stderr_path.read_text()


def test_metrics_address_needs_a_daemon(run_nlk, small_files_table):
    refused = run_nlk("optimize", small_files_table, "--metrics-address", "127.0.0.1:0", check=False)
    assert refused.returncode == 1
    assert "--metrics-address" in refused.stderr and "--every" in refused.stderr
    assert len(live_files(run_nlk, small_files_table)) == APPENDS, "nothing ran"
    taken = run_nlk("vacuum", small_files_table, "--every", "1", "--metrics-address", "nowhere",
                    check=False)
    assert taken.returncode == 1
    assert "HOST:PORT" in taken.stderr
