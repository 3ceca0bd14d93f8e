"""The live pipeline end to end (scripts/pipeline.sh): devices → Kafka → nlk ingest → Delta on
MinIO, compacted and vacuumed while it runs, queried through nlk serve. After the producer stops
and the flow drains, every valid sample the simulator's manifest lists is queryable through
nlk serve exactly once, every malformed message is in the dead-letter table, and the freshness
histogram has observations. The chaos variant SIGKILLs ingest, serve and the compactor once
each during the run, restarts them, and checks the same.

Needs the Kafka broker and MinIO of the integration suite (NLK_KAFKA_BOOTSTRAP and
NLK_TEST_S3_ENDPOINT, as scripts/run-integration-tests.sh sets them); skips without them. The
ELT jobs are not part of it (NLK_PIPELINE_ELT_EVERY=0).
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

import pytest

import nlkcli
from browser import Browser, chromium_path
from serve_harness import Server, free_port

ROOT = Path(__file__).resolve().parents[2]
RUN_SECONDS = 20
CHANNELS = 4


@pytest.fixture
def pipeline(tmp_path):
    if not os.environ.get("NLK_KAFKA_BOOTSTRAP") or not os.environ.get("NLK_TEST_S3_ENDPOINT"):
        pytest.skip("needs Kafka and MinIO (NLK_KAFKA_BOOTSTRAP, NLK_TEST_S3_ENDPOINT)")
    run_id = uuid.uuid4().hex[:8]
    serve_port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "NLK_BIN": str(nlkcli.nlk_path()),
        "NLK_PIPELINE_DIR": str(tmp_path / "pipeline"),
        "NLK_PIPELINE_ROOT": f"s3://{os.environ.get('NLK_TEST_S3_BUCKET', 'neuralake')}/pipeline-{run_id}",
        "NLK_PIPELINE_TOPIC": f"pipeline-{run_id}",
        "NLK_PIPELINE_DEVICES": "2",
        "NLK_PIPELINE_CHANNELS": str(CHANNELS),
        "NLK_PIPELINE_RATE": "200",
        "NLK_PIPELINE_SEED": "17",
        "NLK_PIPELINE_MALFORMED_FRACTION": "0.05",
        "NLK_PIPELINE_SERVE_PORT": str(serve_port),
        "NLK_PIPELINE_METRICS_PORT": str(metrics_port),
        "NLK_PIPELINE_OPTIMIZE_EVERY": "5",
        "NLK_PIPELINE_VACUUM_EVERY": "10",
        "NLK_PIPELINE_ELT_EVERY": "0",
    }

    def script(*args, timeout=180):
        return subprocess.run([str(ROOT / "scripts" / "pipeline.sh"), *args], env=env,
                              capture_output=True, text=True, timeout=timeout)

    started = script("start")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"http://127.0.0.1:{serve_port}/ui" in started.stdout
        yield {"script": script, "dir": tmp_path / "pipeline",
               "server": Server(None, serve_port, tmp_path / "pipeline" / "logs" / "serve.log",
                                "nlk serve")}
    finally:
        stopped = script("stop")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr


def scalar(server, query: str) -> int:
    response = server.sql(query)
    assert response.status == 200, response.body[:500]
    rows = response.json()
    return int(next(iter(rows[0].values())))


def watch_status_page(server, out: Path) -> None:
    """The status page while the pipeline runs: its figures move; a screenshot is saved."""
    if chromium_path() is None:
        if os.environ.get("NLK_REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail("chromium is not installed and NLK_REQUIRE_BROWSER=1", pytrace=False)
        return
    with Browser() as browser:
        browser.set_width(1280, 900)
        browser.open(f"http://127.0.0.1:{server.port}/ui")
        browser.wait_for("Number((/\\((\\d+) polls\\)/.exec("
                         "document.getElementById('state').textContent) || [])[1]) >= 2", "polls")
        rows = browser.evaluate("document.getElementById('rows').textContent")
        browser.wait_for(f"document.getElementById('rows').textContent !== {rows!r}",
                         "the row count to move")
        browser.wait_for("/^\\d+ samples of channel 0/.test("
                         "document.getElementById('chart-summary').textContent)", "the chart")
        assert browser.evaluate("document.getElementById('samples-rate').textContent") != "–"
        assert "error" not in browser.evaluate("document.getElementById('state').textContent")
        shot = browser.screenshot(out / "status-page.png")
        print(f"status page screenshot: {shot}")


def test_every_sample_is_served_exactly_once(pipeline):
    server, script = pipeline["server"], pipeline["script"]
    status = script("status")
    assert status.returncode == 0, status.stdout + status.stderr
    started = time.monotonic()
    watch_status_page(server, pipeline["dir"])
    time.sleep(max(0.0, RUN_SECONDS - (time.monotonic() - started)))
    check_drained_exactly_once(pipeline)


def test_exactly_once_when_ingest_serve_and_compactor_are_killed(pipeline):
    """Each of ingest, serve and the compactor is SIGKILLed once, in a random order at random
    times, and restarted by `pipeline.sh start` (which starts what is not running)."""
    script = pipeline["script"]
    chance = random.Random(17)
    victims = ["ingest", "serve", "optimize"]
    chance.shuffle(victims)
    for victim in victims:
        time.sleep(chance.uniform(2, RUN_SECONDS / len(victims)))
        pid = int((pipeline["dir"] / "pids" / f"{victim}.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10  # hang guard
        while Path(f"/proc/{pid}").exists() and open(f"/proc/{pid}/stat").read().split()[2] != "Z":
            assert time.monotonic() < deadline, f"{victim} survived SIGKILL"
            time.sleep(0.05)
        restarted = script("start")
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        assert f"started {victim}" in restarted.stderr, restarted.stderr
    time.sleep(3)  # the restarted serve observes a few refreshes before the devices stop
    check_drained_exactly_once(pipeline)


def check_drained_exactly_once(pipeline):
    server, script = pipeline["server"], pipeline["script"]
    stopped = script("stop-producer")
    assert stopped.returncode == 0, stopped.stderr
    manifests = list((pipeline["dir"] / "manifests").glob("*.json"))
    assert len(manifests) == 1
    manifest = json.loads(manifests[0].read_text())
    assert manifest["stopped"] and manifest["rows"] > 0

    samples, dead = '"neural.samples"', '"neural.samples_dead_letters"'
    deadline = time.monotonic() + 90  # hang guard: ingest drains within its latency limit
    while scalar(server, f"SELECT count(*) FROM {samples}") < manifest["rows"]:
        assert time.monotonic() < deadline, "the produced samples never all became queryable"
        time.sleep(0.5)

    assert scalar(server, f"SELECT count(*) FROM {samples}") == manifest["rows"]
    duplicates = scalar(server, f"SELECT count(*) FROM (SELECT device_id, sequence, channel "
                                f"FROM {samples} GROUP BY device_id, sequence, channel "
                                f"HAVING count(*) > 1) AS d")
    assert duplicates == 0
    for device in manifest["perDevice"]:
        name = device["deviceId"].replace("'", "''")
        in_ranges = sum(
            scalar(server, f"SELECT count(*) FROM {samples} WHERE device_id = '{name}' "
                           f"AND sequence BETWEEN {low} AND {high}")
            for low, high in device["sequenceRanges"])
        assert in_ranges == device["rows"], device["deviceId"]
        assert scalar(server, f"SELECT count(*) FROM {samples} "
                              f"WHERE device_id = '{name}'") == device["rows"]

    malformed = manifest["malformed"]
    assert malformed, "the run produced no malformed message; raise the fraction or duration"
    assert scalar(server, f"SELECT count(*) FROM {dead}") == len(malformed)
    for message in malformed:
        assert scalar(server, f'SELECT count(*) FROM {dead} WHERE "partition" = '
                              f'{message["partition"]} AND "offset" = {message["offset"]}') == 1

    metrics = server.get("/metrics").body.decode()
    count = re.search(r'^nlk_serve_freshness_seconds_count\{table="neural.samples"\} (\d+)$',
                      metrics, re.M)
    assert count and int(count.group(1)) > 0, "the freshness histogram has no observation"
