"""`nlk datagen --realtime`, the live device simulator, against a real broker and read back by
`nlk ingest`: a run's manifest describes exactly the samples that land in the table and the
malformed messages that land in the dead-letter table (by partition and offset); a fixed seed and
start give the same messages every time; SIGTERM stops a run cleanly with nothing lost.

Needs a broker: NLK_KAFKA_BOOTSTRAP, with NLK_KAFKA_PORT/NLK_KAFKA_DIR for scripts/kafka.sh (as
scripts/run-integration-tests.sh exports them); skipped without it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid

import pyarrow.parquet as pq
import pytest

import nlkcli
from nlkcli import REPO_ROOT

BOOTSTRAP = os.environ.get("NLK_KAFKA_BOOTSTRAP", "")
needs_kafka = pytest.mark.skipif(not BOOTSTRAP, reason="NLK_KAFKA_BOOTSTRAP is unset "
                                 "(scripts/kafka.sh start; eval \"$(scripts/kafka.sh env)\")")

# Small and eventful: 3 devices x 4 channels x 100 Hz, 10 samples per message.
DEVICE_ARGS = ["--devices", "3", "--channels", "4", "--rate", "100", "--message-ms", "100",
               "--seed", "11", "--start", "2026-01-01T00:00:00Z", "--late-fraction", "0.15",
               "--dropout-fraction", "0.05", "--max-dropout-messages", "4",
               "--malformed-fraction", "0.1"]


def create_topic(partitions: int = 3) -> str:
    name = f"nlk-live-{uuid.uuid4().hex[:12]}"
    run = subprocess.run([str(REPO_ROOT / "scripts" / "kafka.sh"), "create-topic", name,
                          str(partitions)], capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    return name


def ingest(run_nlk, topic: str, table, message_format: str):
    run_nlk("ingest", table, "--bootstrap", BOOTSTRAP, "--topic", topic, "--format", message_format,
            "--schema-from-datagen", "samples", "--group", f"g-{uuid.uuid4().hex[:8]}",
            "--max-latency-ms", "300", "--exit-when-idle", "3", timeout=180)


def read(run_nlk, table, columns: str, out):
    run_nlk("table", "read", table, "--columns", columns, "--format", "parquet", "--out", out)
    return pq.read_table(out)


def assert_table_matches_manifest(run_nlk, manifest: dict, table, tmp_path):
    """The table's samples are exactly those the manifest's sequence ranges describe, once each;
    the dead-letter table holds exactly its malformed messages."""
    expected = set()
    for device in manifest["perDevice"]:
        for first, last in device["sequenceRanges"]:
            for sequence in range(first, last + 1):
                for channel in range(manifest["channels"]):
                    expected.add((device["deviceId"], channel, sequence))
    assert len(expected) == manifest["rows"]
    rows = read(run_nlk, table, "device_id,channel,sequence", tmp_path / "rows.parquet").to_pylist()
    actual = [(row["device_id"], row["channel"], row["sequence"]) for row in rows]
    assert len(actual) == len(set(actual)), "a sample is in the table twice"
    assert set(actual) == expected

    dead_letters = read(run_nlk, f"{table}_dead_letters", "partition,offset,key",
                        tmp_path / "dead.parquet").to_pylist()
    assert sorted((row["partition"], row["offset"], row["key"].decode()) for row in dead_letters) == \
        sorted((entry["partition"], entry["offset"], entry["deviceId"]) for entry in manifest["malformed"])
    assert len(dead_letters) == manifest["malformedMessages"]


@needs_kafka
@pytest.mark.slow
def test_a_run_lands_as_its_manifest_says(run_nlk, tmp_path):
    topic = create_topic()
    manifest_path = tmp_path / "manifest.json"
    started = time.monotonic()
    produced = run_nlk("datagen", "--realtime", "--kafka", BOOTSTRAP, "--topic", topic,
                       "--format", "arrow", "--duration", "4", *DEVICE_ARGS,
                       "--manifest", manifest_path)
    # Paced to the clock: four seconds of samples take four seconds to send.
    assert time.monotonic() - started >= 4
    manifest = json.loads(manifest_path.read_text())
    assert manifest["stopped"] is False
    assert manifest["intervals"] == 40
    assert manifest["stepsPerMessage"] == 10
    for key in ("lateMessages", "dropouts", "malformedMessages"):
        assert manifest[key] > 0, f"no {key} in a run of 120 device messages"
    assert f"produced {manifest['rows']} samples" in produced.stdout
    assert {entry["kind"] for entry in manifest["malformed"]} == \
        {"truncated", "wrong_type", "not_a_message"}

    table = tmp_path / "samples"
    ingest(run_nlk, topic, table, "arrow")
    assert_table_matches_manifest(run_nlk, manifest, table, tmp_path)


@needs_kafka
@pytest.mark.slow
def test_the_seed_and_start_fix_what_is_sent(run_nlk, tmp_path):
    runs = []
    for attempt in range(2):
        topic = create_topic()
        manifest_path = tmp_path / f"manifest{attempt}.json"
        run_nlk("datagen", "--realtime", "--kafka", BOOTSTRAP, "--topic", topic, "--format", "json",
                "--duration", "2", *DEVICE_ARGS, "--manifest", manifest_path)
        table = tmp_path / f"samples{attempt}"
        ingest(run_nlk, topic, table, "json")
        rows = read(run_nlk, table, "device_id,channel,sequence,timestamp,voltage_uv",
                    tmp_path / f"rows{attempt}.parquet")
        runs.append((json.loads(manifest_path.read_text()), rows.sort_by(
            [("device_id", "ascending"), ("sequence", "ascending"), ("channel", "ascending")])))
    (first, first_rows), (second, second_rows) = runs
    for manifest in (first, second):
        del manifest["topic"], manifest["maxLagMs"]
    # Fresh topics with the same partitions: even the offsets of the malformed messages agree.
    assert first == second
    assert first_rows.equals(second_rows)


@needs_kafka
@pytest.mark.slow
def test_sigterm_stops_a_run_cleanly_with_nothing_lost(nlk, run_nlk, tmp_path):
    topic = create_topic()
    manifest_path = tmp_path / "manifest.json"
    stderr_path = tmp_path / "datagen.err"
    process = subprocess.Popen(
        [str(nlk), "datagen", "--realtime", "--kafka", BOOTSTRAP, "--topic", topic, "--format",
         "arrow", *DEVICE_ARGS, "--manifest", str(manifest_path)],
        stdout=subprocess.PIPE, stderr=stderr_path.open("w"), text=True, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while "until SIGTERM" not in stderr_path.read_text():
        assert process.poll() is None and time.monotonic() < deadline, stderr_path.read_text()
        time.sleep(0.1)
    time.sleep(2)
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 0, stderr_path.read_text()
    assert "stopped on signal 15" in stdout
    manifest = json.loads(manifest_path.read_text())
    assert manifest["stopped"] is True
    assert manifest["intervals"] >= 10
    table = tmp_path / "samples"
    ingest(run_nlk, topic, table, "arrow")
    assert_table_matches_manifest(run_nlk, manifest, table, tmp_path)


@pytest.mark.parametrize("args, message", [
    (["--late-fraction", "0.1", "--out", "x.parquet"], "--late-fraction only applies with --realtime"),
    (["--manifest", "m.json", "--out", "x.parquet"], "--manifest only applies with --realtime"),
    (["--realtime", "--out", "x.parquet"], "--realtime produces to Kafka"),
    (["--realtime", "--kind", "spikes", "--kafka", "127.0.0.1:1", "--topic", "t"],
     "simulates devices sending samples"),
    (["--realtime", "--kafka", "127.0.0.1:1", "--topic", "t", "--malformed-fraction", "2"],
     "between 0 and 1"),
    (["--burst-rate", "-1", "--out", "x.parquet"], "burst rate"),
])
def test_bad_options_are_one_line_errors(run_nlk, tmp_path, args, message):
    refused = run_nlk("datagen", *args, check=False, cwd=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.startswith("nlk: ") and message in refused.stderr, refused.stderr
    assert refused.stderr.count("\n") == 1
    assert not (tmp_path / "x.parquet").exists()
