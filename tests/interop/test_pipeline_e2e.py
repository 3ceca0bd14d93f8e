"""The live pipeline end to end (scripts/pipeline.sh): devices → Kafka → nlk ingest → Delta on
MinIO, compacted and vacuumed while it runs, queried through nlk serve --catalog. After the
producer stops and the flow drains, every valid sample the simulator's manifest lists is
queryable through nlk serve exactly once, every malformed message is in the dead-letter table
(created after serve started, and served without a restart), and the freshness histogram has
observations. Meanwhile the status page shows ingest's rates from its /metrics (a screenshot is
saved).

- The ELT variant runs the Spark job in local mode from the pipeline and compares its rollup
  with DuckDB's rollup of the samples version the job read, served by nlk serve (bounded apart:
  a local Spark run takes minutes on 2 busy cores).

- The chaos variant SIGKILLs ingest, serve and the compactor once each during the run, restarts
  them, and checks the same (without the ELT job, to stay bounded).
- The Ctrl-C variant sends SIGINT to `pipeline.sh run` as a terminal would: everything stops in
  order, producer first, nothing is lost, and a second start resumes with each message exactly
  once.

Needs the Kafka broker and MinIO of the integration suite (NLK_KAFKA_BOOTSTRAP and
NLK_TEST_S3_ENDPOINT, as scripts/run-integration-tests.sh sets them); skips without them. The
ELT test needs Spark (scripts/spark.sh install): it skips without it, and fails with
NLK_REQUIRE_SPARK=1 (as the integration suite sets), like the other Spark tests.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc
import pytest

import job_expectations
import nlkcli
from browser import Browser, chromium_path
from serve_harness import Server, free_port

ROOT = Path(__file__).resolve().parents[2]
RUN_SECONDS = 20
DEVICE_FLAGS = ["--devices", "2", "--channels", "4", "--rate", "200", "--seed", "17",
                "--malformed-fraction", "0.05"]
SAMPLES, DEAD = '"neural.samples"', '"neural.samples_dead_letters"'
ROLLUP = "neural.samples_rollup"


def require_spark() -> None:
    """Skips without Spark, or fails with NLK_REQUIRE_SPARK=1 (tests/interop/conftest.py)."""
    installed = subprocess.run([str(ROOT / "scripts" / "spark.sh"), "status"],
                               capture_output=True, text=True, timeout=60)
    if installed.returncode != 0:
        message = f"Spark not available: {installed.stdout.strip()} (scripts/spark.sh install)"
        if os.environ.get("NLK_REQUIRE_SPARK", "") not in ("", "0"):
            pytest.fail(message + " (NLK_REQUIRE_SPARK=1)", pytrace=False)
        pytest.skip(message)


class Pipeline:
    """One pipeline's settings, with its own topic, table root, ports and state directory."""

    def __init__(self, tmp_path: Path, elt_every: int):
        run_id = uuid.uuid4().hex[:8]
        self.dir = tmp_path / "pipeline"
        self.serve_port = free_port()
        self.env = {
            **os.environ,
            "NLK_BIN": str(nlkcli.nlk_path()),
            "NLK_PIPELINE_DIR": str(self.dir),
            "NLK_PIPELINE_ROOT":
                f"s3://{os.environ.get('NLK_TEST_S3_BUCKET', 'neuralake')}/pipeline-{run_id}",
            "NLK_PIPELINE_TOPIC": f"pipeline-{run_id}",
            "NLK_PIPELINE_SERVE_PORT": str(self.serve_port),
            "NLK_PIPELINE_METRICS_PORT": str(free_port()),
            "NLK_PIPELINE_OPTIMIZE_EVERY": "5",
            "NLK_PIPELINE_VACUUM_EVERY": "10",
            "NLK_PIPELINE_ELT_EVERY": str(elt_every),
            "NLK_SPARK_MASTER_UI_PORT": str(free_port()),
        }
        self.server = Server(None, self.serve_port, self.dir / "logs" / "serve.log", "nlk serve")

    def script(self, *args, timeout=180) -> subprocess.CompletedProcess:
        return subprocess.run([str(ROOT / "scripts" / "pipeline.sh"), *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def start(self, *flags) -> subprocess.CompletedProcess:
        started = self.script("start", *flags)
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"http://127.0.0.1:{self.serve_port}/ui" in started.stdout
        return started

    def pid(self, name: str) -> int | None:
        try:
            return int((self.dir / "pids" / f"{name}.pid").read_text())
        except FileNotFoundError:
            return None


def services_or_skip() -> None:
    if not os.environ.get("NLK_KAFKA_BOOTSTRAP") or not os.environ.get("NLK_TEST_S3_ENDPOINT"):
        pytest.skip("needs Kafka and MinIO (NLK_KAFKA_BOOTSTRAP, NLK_TEST_S3_ENDPOINT)")


def running(pid: int) -> bool:
    """Whether the process runs: a zombie (exited, not yet reaped; killed servers that outlive
    the script that started them are reaped by PID 1, which in a container may never do it)
    does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def stopped_cleanly(pipeline: Pipeline) -> None:
    stopped = pipeline.script("stop")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr


@pytest.fixture
def pipeline(tmp_path):
    services_or_skip()
    flow = Pipeline(tmp_path, elt_every=0)
    try:
        flow.start(*DEVICE_FLAGS)
        yield flow
    finally:
        stopped_cleanly(flow)


def scalar(server, query: str) -> int:
    response = server.sql(query)
    assert response.status == 200, response.body[:500]
    rows = response.json()
    return int(next(iter(rows[0].values())))


def arrow_rows(server, query: str) -> pa.Table:
    response = server.sql(query, accept="application/vnd.apache.arrow.stream")
    assert response.status == 200, response.body[:500]
    return pyarrow.ipc.open_stream(response.body).read_all()


def watch_status_page(server, out: Path) -> None:
    """The status page while the pipeline runs: its figures move; a screenshot is saved."""
    if chromium_path() is None:
        if os.environ.get("NLK_REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail("chromium is not installed and NLK_REQUIRE_BROWSER=1", pytrace=False)
        return
    with Browser() as browser:
        browser.set_width(1280, 900)
        browser.open(f"http://127.0.0.1:{server.port}/ui?table=neural.samples"
                     f"&deadletters=neural.samples_dead_letters&elt={ROLLUP}")
        browser.wait_for("Number((/\\((\\d+) polls\\)/.exec("
                         "document.getElementById('state').textContent) || [])[1]) >= 2", "polls")
        rows = browser.evaluate("document.getElementById('rows').textContent")
        browser.wait_for(f"document.getElementById('rows').textContent !== {rows!r}",
                         "the row count to move")
        browser.wait_for("/^\\d+ samples of channel 0/.test("
                         "document.getElementById('chart-summary').textContent)", "the chart")
        # The rates come from ingest's counters, which nlk serve fetches (--status-metrics).
        browser.wait_for("document.getElementById('rate-source').textContent"
                         ".includes(\"nlk ingest's /metrics (rows and commits)\") && "
                         "Number(document.getElementById('samples-rate').textContent"
                         ".replace(/,/g, '')) > 0 && "
                         "Number(document.getElementById('commit-rate').textContent) > 0",
                         "ingest's samples/s and commits/s")
        rate = browser.evaluate("document.getElementById('samples-rate').textContent")
        browser.wait_for(f"document.getElementById('samples-rate').textContent !== {rate!r}",
                         "ingest's samples/s to move")
        assert "error" not in browser.evaluate("document.getElementById('state').textContent")
        shot = browser.screenshot(out / "status-page.png")
        print(f"status page screenshot: {shot}")


def test_every_sample_is_served_exactly_once(pipeline):
    status = pipeline.script("status")
    assert status.returncode == 0, status.stdout + status.stderr
    # A catalog table nothing writes in this pipeline: declared, not created, and said so.
    spikes = pipeline.server.sql('SELECT count(*) FROM "neural.spikes"')
    assert spikes.status == 404 and b"table_not_created" in spikes.body, spikes.body[:300]
    started = time.monotonic()
    watch_status_page(pipeline.server, pipeline.dir)
    time.sleep(max(0.0, RUN_SECONDS - (time.monotonic() - started)))
    check_drained_exactly_once(pipeline)


@pytest.mark.spark
def test_the_elt_rollup_matches_a_recomputation(tmp_path):
    """The pipeline with its ELT job on: one local-mode run, started as soon as the samples
    table exists, while the devices still send. Its output and the run recorded in
    pipeline.elt_runs are read through nlk serve, which picks both tables up as the run creates
    them; the rollup must equal DuckDB's rollup of the samples at the version the job read (its
    commit records it). A local Spark run takes minutes on 2 busy cores, so this test is
    bounded apart from the others."""
    services_or_skip()
    require_spark()
    flow = Pipeline(tmp_path, elt_every=3600)
    try:
        flow.start(*DEVICE_FLAGS)
        runs = flow.server.sql('SELECT count(*) FROM "pipeline.elt_runs"')
        assert runs.status == 404 and b"table_not_created" in runs.body, runs.body[:300]
        time.sleep(8)
        check_drained_exactly_once(flow)
        check_rollup_matches(flow)
    finally:
        stopped_cleanly(flow)


def test_exactly_once_when_ingest_serve_and_compactor_are_killed(pipeline):
    """Each of ingest, serve and the compactor is SIGKILLed once, in a random order at random
    times, and restarted by `pipeline.sh start` (which starts what is not running)."""
    chance = random.Random(17)
    victims = ["ingest", "serve", "optimize"]
    chance.shuffle(victims)
    for victim in victims:
        time.sleep(chance.uniform(2, RUN_SECONDS / len(victims)))
        pid = pipeline.pid(victim)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10  # hang guard
        while running(pid):
            assert time.monotonic() < deadline, f"{victim} survived SIGKILL"
            time.sleep(0.05)
        restarted = pipeline.script("start")
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        assert f"started {victim}" in restarted.stderr, restarted.stderr
    time.sleep(3)  # the restarted serve observes a few refreshes before the devices stop
    check_drained_exactly_once(pipeline)


def test_ctrl_c_stops_in_order_and_a_restart_resumes_exactly_once(tmp_path):
    services_or_skip()
    flow = Pipeline(tmp_path, elt_every=0)
    log = tmp_path / "run.log"
    try:
        with open(log, "wb") as out:
            # Its own process group, as a terminal's foreground job: Ctrl-C signals the group.
            run = subprocess.Popen([str(ROOT / "scripts" / "pipeline.sh"), "run", *DEVICE_FLAGS],
                                   env=flow.env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 120  # hang guard
        while "Ctrl-C stops everything" not in log.read_text():
            assert run.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        pids = {name: flow.pid(name) for name in ("producer", "ingest", "optimize", "vacuum",
                                                  "serve")}
        assert all(pids.values()), pids
        time.sleep(8)
        os.killpg(run.pid, signal.SIGINT)
        assert run.wait(timeout=180) == 0, log.read_text()
        text = log.read_text()
        order = [text.index(f"stopped {name}") for name in
                 ("producer", "ingest", "optimize", "vacuum", "serve")]
        assert order == sorted(order), text
        for name, pid in pids.items():
            assert not running(pid), f"{name} (pid {pid}) outlived Ctrl-C"
        manifests = sorted((flow.dir / "manifests").glob("*.json"))
        assert len(manifests) == 1 and json.loads(manifests[0].read_text())["stopped"]

        # The second start: its devices are a new session; what the first sent is still there
        # once, and ingest goes on from the offsets it committed.
        time.sleep(1)  # a new session name (whole seconds)
        flow.start(*DEVICE_FLAGS)
        time.sleep(6)
        check_drained_exactly_once(flow, sessions=2)
    finally:
        stopped_cleanly(flow)


def check_drained_exactly_once(flow: Pipeline, sessions: int = 1):
    server = flow.server
    stopped = flow.script("stop-producer")
    assert stopped.returncode == 0, stopped.stderr
    manifest_files = sorted((flow.dir / "manifests").glob("*.json"))
    assert len(manifest_files) == sessions
    manifests = {f"run-{path.stem}": json.loads(path.read_text()) for path in manifest_files}
    total = sum(manifest["rows"] for manifest in manifests.values())
    assert all(manifest["stopped"] and manifest["rows"] > 0 for manifest in manifests.values())

    deadline = time.monotonic() + 90  # hang guard: ingest drains within its latency limit
    while scalar(server, f"SELECT count(*) FROM {SAMPLES}") < total:
        assert time.monotonic() < deadline, "the produced samples never all became queryable"
        time.sleep(0.5)

    assert scalar(server, f"SELECT count(*) FROM {SAMPLES}") == total
    duplicates = scalar(server, f"SELECT count(*) FROM (SELECT device_id, session_id, sequence, "
                                f"channel FROM {SAMPLES} GROUP BY device_id, session_id, "
                                f"sequence, channel HAVING count(*) > 1) AS d")
    assert duplicates == 0
    malformed = []
    for session, manifest in manifests.items():
        for device in manifest["perDevice"]:
            where = f"device_id = '{device['deviceId']}' AND session_id = '{session}'"
            in_ranges = sum(
                scalar(server, f"SELECT count(*) FROM {SAMPLES} WHERE {where} "
                               f"AND sequence BETWEEN {low} AND {high}")
                for low, high in device["sequenceRanges"])
            assert in_ranges == device["rows"], (session, device["deviceId"])
            assert scalar(server, f"SELECT count(*) FROM {SAMPLES} WHERE {where}") == device["rows"]
        malformed += manifest["malformed"]

    assert malformed, "the run produced no malformed message; raise the fraction or duration"
    assert scalar(server, f"SELECT count(*) FROM {DEAD}") == len(malformed)
    for message in malformed:
        assert scalar(server, f'SELECT count(*) FROM {DEAD} WHERE "partition" = '
                              f'{message["partition"]} AND "offset" = {message["offset"]}') == 1

    metrics = server.get("/metrics").body.decode()
    count = re.search(r'^nlk_serve_freshness_seconds_count\{table="neural.samples"\} (\d+)$',
                      metrics, re.M)
    assert count and int(count.group(1)) > 0, "the freshness histogram has no observation"


def check_rollup_matches(flow: Pipeline):
    """Waits for the ELT run's row in pipeline.elt_runs, then compares the rollup nlk serve
    answers with DuckDB's rollup of the samples version the run read, also through nlk serve
    (time travel: "neural.samples@vN")."""
    query = "SELECT exit_status FROM \"pipeline.elt_runs\" WHERE job = 'downsample'"
    deadline = time.monotonic() + 900  # hang guard: a local Spark run on 2 busy cores
    while True:
        response = flow.server.sql(query)
        if response.status == 200 and response.json():
            break
        # 404 table_not_created until the first run is recorded.
        assert response.status in (200, 404), response.body[:500]
        assert time.monotonic() < deadline, (
            f"no ELT run recorded: {response.body[:300]}\n"
            + (flow.dir / "logs" / "elt.log").read_text(errors="replace")[-3000:])
        time.sleep(1)
    assert response.json()[0]["exit_status"] == 0, (
        (flow.dir / "logs" / "elt.log").read_text(errors="replace")[-3000:])
    history = nlkcli.run_nlk("table", "history", f"{flow.env['NLK_PIPELINE_ROOT']}/neural/"
                             "samples_rollup", "--json", "--limit", "1", env=flow.env)
    metadata = json.loads(json.loads(history.stdout)[0]["commitInfo"]["userMetadata"])
    version = metadata["sources"]["neural.samples"]["version"]
    samples = arrow_rows(flow.server, f"SELECT device_id, session_id, channel, timestamp, "
                                      f'voltage_uv FROM "neural.samples@v{version}"')
    assert samples.num_rows > 0
    rollup = arrow_rows(flow.server, f'SELECT * FROM "{ROLLUP}"')
    wanted = job_expectations.expected(ROLLUP, {"samples": samples})
    job_expectations.assert_matches(ROLLUP, rollup, wanted)
