"""Both engines read any table at any time: Spark reads a table on MinIO again and again while
`nlk ingest` appends to it from Kafka and `nlk optimize --every` compacts it, and every read must
be a whole version of the table.

A read is whole when its row count is the row count of some committed version (counted
afterwards, version by version, by nlk) and no row appears twice (a read that mixed a compaction's
new file with the files it replaced would count rows twice); and because nothing removes data,
the counts Spark sees never go down. Needs MinIO (NLK_TEST_S3_ENDPOINT) and the Kafka broker of
scripts/kafka.sh (NLK_KAFKA_BOOTSTRAP), as scripts/run-integration-tests.sh provides.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from nlkcli import REPO_ROOT

pytestmark = [pytest.mark.spark, pytest.mark.s3, pytest.mark.slow]

PRODUCER_RUNS = 8
ROWS_PER_RUN = 2 * 4 * 250  # devices x channels x rate x 1 s


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    _, errors = process.communicate(timeout=60)
    return errors


def test_spark_reads_whole_versions_while_nlk_ingests_and_compacts(spark, nlk, run_nlk,
                                                                    s3_location):
    bootstrap = os.environ.get("NLK_KAFKA_BOOTSTRAP")
    if not bootstrap:
        pytest.skip("no Kafka broker: run `scripts/kafka.sh start` and "
                    "`eval \"$(scripts/kafka.sh env)\"`")
    topic = f"nlk-spark-reads-{os.getpid()}-{time.time_ns()}"
    subprocess.run([str(REPO_ROOT / "scripts" / "kafka.sh"), "create-topic", topic, "4"],
                   check=True, capture_output=True, timeout=120)
    uri, env = s3_location.uri, dict(os.environ, **s3_location.nlk_env)
    ingest = subprocess.Popen(
        [str(nlk), "ingest", uri, "--bootstrap", bootstrap, "--topic", topic, "--group", topic,
         "--format", "arrow", "--schema-from-datagen", "samples", "--partition-by", "date",
         "--max-rows", "700", "--max-latency-ms", "200"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    optimize = None
    reads: list[tuple[int, int]] = []
    try:
        deadline = time.monotonic() + 240
        for run in range(PRODUCER_RUNS):
            run_nlk("datagen", "--kind", "samples", "--devices", 2, "--channels", 4, "--rate",
                    250, "--duration", 1, "--batch-rows", 200, "--seed", run, "--start",
                    f"2026-01-01T00:00:{10 + run:02d}Z", "--kafka", bootstrap, "--topic", topic,
                    "--format", "arrow", env=s3_location.nlk_env)
            if optimize is None and run == 1:
                optimize = subprocess.Popen(
                    [str(nlk), "optimize", uri, "--every", "1", "--min-files", "2"], env=env,
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            while not table_exists(run_nlk, s3_location):
                assert ingest.poll() is None, f"nlk ingest exited: {ingest.stderr.read()}"
                assert time.monotonic() < deadline, "nlk ingest created no table"
                time.sleep(0.2)
            for _ in range(3):
                reads.append(read_counts(spark, uri))
        while not reads or reads[-1][0] < PRODUCER_RUNS * ROWS_PER_RUN:
            assert ingest.poll() is None, f"nlk ingest exited: {ingest.stderr.read()}"
            assert time.monotonic() < deadline, f"ingest did not catch up; reads: {reads}"
            reads.append(read_counts(spark, uri))
        reads.append(read_counts(spark, uri))
    finally:
        ingest_errors = stop(ingest)
        optimize_errors = stop(optimize) if optimize is not None else ""
    assert ingest.returncode == 0, ingest_errors
    assert optimize is not None and optimize.returncode == 0, optimize_errors

    history = run_nlk("table", "history", uri, "--json", env=s3_location.nlk_env).stdout
    assert '"OPTIMIZE"' in history, "no compaction happened while Spark read"
    last = json.loads(run_nlk("table", "describe", uri, "--json",
                              env=s3_location.nlk_env).stdout)["version"]
    version_counts = {int(run_nlk("table", "read", uri, "--version", version, "--format", "count",
                                  env=s3_location.nlk_env).stdout.strip())
                      for version in range(last + 1)}
    counts = [count for count, _ in reads]
    for count, distinct in reads:
        assert count == distinct, f"a Spark read saw rows twice ({count} rows, {distinct} distinct)"
        assert count in version_counts, (
            f"a Spark read of {count} rows matches no version's row count {sorted(version_counts)}")
    assert counts == sorted(counts), f"row counts went down between Spark reads: {counts}"
    assert counts[-1] == PRODUCER_RUNS * ROWS_PER_RUN
    assert len(set(counts)) > 2, f"Spark saw too few versions to show anything: {counts}"


def table_exists(run_nlk, location) -> bool:
    return run_nlk("table", "describe", location.uri, check=None,
                   env=location.nlk_env).returncode == 0


def read_counts(spark, uri: str) -> tuple[int, int]:
    row = spark.read.format("delta").load(uri).selectExpr(
        "count(*) AS n", "count(DISTINCT device_id, channel, timestamp) AS distinct_rows").first()
    return int(row["n"]), int(row["distinct_rows"])
