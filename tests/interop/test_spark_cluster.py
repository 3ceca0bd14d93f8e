"""`scripts/spark.sh cluster start`: a standalone master and two workers on loopback, and one job
submitted to it with `scripts/spark.sh submit` on tables in MinIO, the way a user runs it:
killed after it created its output table and before its data commit, then run again. The output
must be what DuckDB computes from the same source rows, and a third run must change nothing.

Bounded: the cluster must start within 120 s, and each job run must end within 600 s. Ports
(NLK_TEST_SPARK_MASTER_PORT, NLK_TEST_SPARK_MASTER_UI_PORT, NLK_TEST_SPARK_WORKER_UI_PORT,
default 17077, 18080, 18081) keep it off a developer's own cluster.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import pytest
from deltalake import DeltaTable

import job_expectations
from conftest import s3_settings
from nlkcli import REPO_ROOT

pytestmark = [pytest.mark.spark, pytest.mark.s3, pytest.mark.slow]

SPARK_SH = REPO_ROOT / "scripts" / "spark.sh"


@pytest.fixture
def cluster(tmp_path):
    env = dict(os.environ,
               NLK_SPARK_DIR=str(tmp_path / "spark"),
               NLK_SPARK_MASTER_PORT=os.environ.get("NLK_TEST_SPARK_MASTER_PORT", "17077"),
               NLK_SPARK_MASTER_UI_PORT=os.environ.get("NLK_TEST_SPARK_MASTER_UI_PORT", "18080"),
               NLK_SPARK_WORKER_UI_PORT=os.environ.get("NLK_TEST_SPARK_WORKER_UI_PORT", "18081"),
               NLK_SPARK_WORKER_MEMORY="512m", NLK_SPARK_DRIVER_MEMORY="512m")
    started = subprocess.run([str(SPARK_SH), "cluster", "start"], env=env, capture_output=True,
                             text=True, timeout=120, stdin=subprocess.DEVNULL)
    try:
        assert started.returncode == 0, started.stderr
        assert "alive workers: 2" in started.stdout, started.stdout
        master_port = env["NLK_SPARK_MASTER_PORT"]
        assert f"spark://127.0.0.1:{master_port}" in started.stdout
        yield env
    finally:
        subprocess.run([str(SPARK_SH), "cluster", "stop"], env=env, capture_output=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    status = subprocess.run([str(SPARK_SH), "cluster", "status"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert status.returncode == 3, status.stdout


def submit(env, *arguments, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([str(SPARK_SH), "submit", *arguments], env=env, cwd=REPO_ROOT,
                          capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_a_job_on_the_cluster_reads_and_writes_minio(cluster, nlk, run_nlk):
    s3 = s3_settings()
    if s3 is None:
        pytest.skip("NLK_TEST_S3_ENDPOINT is not set (start MinIO with scripts/minio.sh start)")
    aws = {"AWS_ENDPOINT_URL": s3["endpoint"], "AWS_ACCESS_KEY_ID": s3["key"],
           "AWS_SECRET_ACCESS_KEY": s3["secret"], "AWS_REGION": s3["region"],
           "AWS_ALLOW_HTTP": "true"}
    root = f"s3://{s3['bucket']}/spark-cluster/{uuid.uuid4().hex}/lake"
    run_nlk("datagen", "--kind", "samples", "--devices", 2, "--channels", 4, "--duration", 2,
            "--table", f"{root}/neural/samples", "--partition-by", "date", env=aws)
    env = dict(cluster, NLK_BIN=str(nlk), **aws)
    job = ["jobs/downsample.py", "--root", root]
    output = f"{root}/neural/samples_rollup"

    killed = subprocess.Popen([str(SPARK_SH), "submit", *job], env=env, cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    deadline = time.monotonic() + 600
    while run_nlk("table", "describe", output, check=None, env=aws).returncode != 0:
        assert killed.poll() is None, f"the job ended before creating its output: {killed.communicate()}"
        assert time.monotonic() < deadline, "the job created no output table in 600 s"
        time.sleep(0.5)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.communicate(timeout=60)

    completed = submit(env, *job)
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert "neural.samples_rollup: version" in completed.stdout, completed.stdout
    assert f"to spark://127.0.0.1:{cluster['NLK_SPARK_MASTER_PORT']}" in completed.stderr

    options = {"AWS_ENDPOINT_URL": s3["endpoint"], "AWS_ACCESS_KEY_ID": s3["key"],
               "AWS_SECRET_ACCESS_KEY": s3["secret"], "AWS_REGION": s3["region"],
               "AWS_ALLOW_HTTP": "true"}
    samples = DeltaTable(f"{root}/neural/samples", storage_options=options).to_pyarrow_table()
    actual = DeltaTable(output, storage_options=options).to_pyarrow_table()
    job_expectations.assert_matches(
        "neural.samples_rollup", actual,
        job_expectations.expected("neural.samples_rollup", {"samples": samples}))

    again = submit(env, *job)
    assert again.returncode == 0, again.stderr[-4000:]
    assert "neural.samples_rollup: unchanged" in again.stdout, again.stdout
