#!/usr/bin/env python3
"""Freshness through the query service: the time from a sample's production to the first answer
of `nlk serve` that contains it, side by side with ROAPI serving the same table.

The flow is the live pipeline's, on one machine: live devices (`nlk datagen --realtime`, the
pipeline's default 2 devices x 8 channels at 250 Hz) produce to Kafka, `nlk ingest` writes them
to a Delta table with its default flush limits, and `nlk optimize --every` and
`nlk vacuum --every` compact and clean that table meanwhile. `nlk serve` (default settings) and
ROAPI (with `--reload-interval`, in whole seconds, which it accepts only with
`--disable-read-only`) serve the table.

Into the same topic this script sends probes: one-row messages of the device `probe`, each with
the next `sequence` and stamped with the time it is handed to the Kafka client. A poller per
server sends `SELECT max(sequence) FROM samples WHERE device_id = 'probe'` every --poll-ms; when an
answer shows new probes, each of them counts the time from its production to the arrival of
that answer. Probes never seen by the end count as missing. The poll period bounds the
resolution: a figure can be up to one poll period plus one query late.

Needs a broker (scripts/kafka.sh start; eval "$(scripts/kafka.sh env)"), the nlk binary (NLK_BIN,
default build/tools/nlk) and ROAPI (.venv/bin/roapi, from scripts/requirements-tests.txt).
Prints the figures as JSON and as the rows of the table in docs/benchmarks.md, "Freshness
through the query service".

  .venv/bin/python bench/serve_freshness_bench.py --seconds 60 --roapi-reload-interval 1
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq
import confluent_kafka.admin
from confluent_kafka import Producer

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "interop"))
import serve_harness  # noqa: E402

PROBE_QUERY = "SELECT max(sequence) AS s FROM samples WHERE device_id = 'probe'"


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = confluent_kafka.admin.AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([confluent_kafka.admin.NewTopic(topic, partitions, 1)])
    futures[topic].result(30)


def delete_topic(bootstrap: str, topic: str) -> None:
    admin = confluent_kafka.admin.AdminClient({"bootstrap.servers": bootstrap})
    try:
        admin.delete_topics([topic])[topic].result(30)
    except Exception as error:  # the figures stand; the topic is left behind
        print(f"could not delete topic {topic}: {error}", file=sys.stderr)


def probe_schema(nlk: str, work: pathlib.Path) -> pa.Schema:
    """The samples schema as `nlk datagen --format arrow` sends it (strings dictionary-encoded)."""
    template = work / "template.parquet"
    subprocess.run([nlk, "datagen", "--kind", "samples", "--devices", "1", "--channels", "1",
                    "--rate", "10", "--duration", "0.1", "--out", str(template)],
                   check=True, stdout=subprocess.DEVNULL)
    schema = pq.read_schema(template)
    return pa.schema([pa.field(f.name, pa.dictionary(pa.int32(), f.type) if pa.types.is_string(f.type)
                               else f.type, nullable=f.nullable) for f in schema])


def probe_payload(schema: pa.Schema, sequence: int, produced: float) -> bytes:
    stamp = datetime.datetime.fromtimestamp(produced, datetime.timezone.utc)
    values = {"device_id": "probe", "session_id": "probe", "channel": 0, "timestamp": stamp,
              "date": stamp.date(), "sequence": sequence, "voltage_uv": 0.0}
    columns = []
    for field in schema:
        if pa.types.is_dictionary(field.type):
            columns.append(pa.array([values[field.name]], pa.string()).dictionary_encode())
        else:
            columns.append(pa.array([values[field.name]], field.type))
    batch = pa.RecordBatch.from_arrays(columns, schema=schema)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


class Poller(threading.Thread):
    """Asks one server for the newest probe every poll period; records, per probe, when the first
    answer containing it arrived."""

    def __init__(self, server: serve_harness.Server, period: float):
        super().__init__(daemon=True)
        self.server, self.period = server, period
        self.first_seen: dict[int, float] = {}
        self.newest = -1
        self.errors: dict[str, int] = {}
        self.queries = 0
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                response = self.server.sql(PROBE_QUERY, timeout=10)
                arrived = time.time()
                self.queries += 1
                if response.status != 200:
                    key = f"HTTP {response.status}: {response.body[:120].decode(errors='replace')}"
                    self.errors[key] = self.errors.get(key, 0) + 1
                else:
                    rows = response.json()
                    # ROAPI leaves a null out of its JSON row: no key means no probe yet.
                    newest = rows[0].get("s") if rows else None
                    if newest is not None and int(newest) > self.newest:
                        for sequence in range(self.newest + 1, int(newest) + 1):
                            self.first_seen[sequence] = arrived
                        self.newest = int(newest)
            except (OSError, ValueError) as error:  # no answer, or not JSON
                key = type(error).__name__
                self.errors[key] = self.errors.get(key, 0) + 1
            self.stopping.wait(max(0.0, self.period - (time.monotonic() - started)))


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a live process has used."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def launch(args: list[str], log: pathlib.Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def stop(process: subprocess.Popen, timeout: float = 60) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_table(table: pathlib.Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not (table / "_delta_log" / "00000000000000000000.json").exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"ingest created no table at {table} within {seconds}s")
        time.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="how long probes are sent")
    parser.add_argument("--probes-per-second", type=float, default=5)
    parser.add_argument("--poll-ms", type=float, default=50, help="each poller's period")
    parser.add_argument("--roapi-reload-interval", type=int, default=1,
                        help="ROAPI's --reload-interval, whole seconds")
    parser.add_argument("--no-roapi", action="store_true", help="measure nlk serve only")
    parser.add_argument("--roapi-memory-table", action="store_true",
                        help="ROAPI with use_memory_table: true (its default) instead of false")
    parser.add_argument("--ingest-max-latency-ms", type=int, default=500,
                        help="nlk ingest's --max-latency-ms (default 500, the pipeline's)")
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--rate", type=float, default=250)
    parser.add_argument("--optimize-every", type=float, default=10)
    parser.add_argument("--vacuum-every", type=float, default=20)
    parser.add_argument("--retention-hours", type=float, default=0.01,
                        help="the vacuum's retention (0.01 h = 36 s: longer than any query here)")
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--work", type=pathlib.Path, help="directory for the table and logs "
                        "(default: a temporary one, removed at the end)")
    args = parser.parse_args()

    bootstrap = os.environ.get("NLK_KAFKA_BOOTSTRAP")
    if not bootstrap:
        raise SystemExit('no broker: scripts/kafka.sh start; eval "$(scripts/kafka.sh env)"')
    nlk = os.environ.get("NLK_BIN", str(ROOT / "build" / "tools" / "nlk"))
    if not args.no_roapi and serve_harness.roapi_path() is None:
        raise SystemExit("roapi is not installed (.venv/bin/roapi: scripts/bootstrap.sh --tests)")
    work = args.work or pathlib.Path(tempfile.mkdtemp(prefix="nlk-serve-fresh-"))
    work.mkdir(parents=True, exist_ok=True)
    table = work / "samples"
    run_id = f"{os.getpid()}-{int(time.time())}"
    topic = f"nlk-serve-fresh-{run_id}"
    create_topic(bootstrap, topic, args.partitions)
    schema = probe_schema(nlk, work)

    processes: list[subprocess.Popen] = []
    servers: dict[str, serve_harness.Server] = {}
    pollers: dict[str, Poller] = {}
    sent: dict[int, float] = {}
    try:
        processes.append(launch(
            [nlk, "ingest", str(table), "--bootstrap", bootstrap, "--topic", topic,
             "--group", f"fresh-{run_id}", "--format", "arrow", "--schema-from-datagen",
             "samples", "--partition-by", "date",
             *(["--max-latency-ms", str(args.ingest_max_latency_ms)]
               if args.ingest_max_latency_ms else [])], work / "ingest.log"))
        devices = launch([nlk, "datagen", "--realtime", "--kafka", bootstrap, "--topic", topic,
                          "--format", "arrow", "--devices", str(args.devices), "--channels",
                          str(args.channels), "--rate", str(args.rate)], work / "devices.log")
        processes.append(devices)
        wait_for_table(table, 60)
        processes.append(launch([nlk, "optimize", str(table), "--every", str(args.optimize_every)],
                                work / "optimize.log"))
        processes.append(launch([nlk, "vacuum", str(table), "--every", str(args.vacuum_every),
                                 "--retention-hours", str(args.retention_hours),
                                 "--allow-short-retention"], work / "vacuum.log"))
        servers["nlk serve"] = serve_harness.start_nlk_serve(["-t", f"samples={table}"], work)
        if not args.no_roapi:
            port = serve_harness.free_port()
            config = serve_harness.write_roapi_config(
                work / "roapi.yml",
                [{"name": "samples", "uri": str(table),
                  "use_memory_table": args.roapi_memory_table}], port)
            # ROAPI reloads tables only with --disable-read-only; nothing here writes through it.
            servers["ROAPI"] = serve_harness.start_roapi(
                config, port, work,
                ["--disable-read-only", "--reload-interval", str(args.roapi_reload_interval)])
        for name, server in servers.items():
            pollers[name] = Poller(server, args.poll_ms / 1000)
            pollers[name].start()

        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": "all"})
        interval = 1.0 / args.probes_per_second
        next_send = time.monotonic()
        end = next_send + args.seconds
        sequence = 0
        while time.monotonic() < end:
            produced = time.time()
            producer.produce(topic, probe_payload(schema, sequence, produced), key=b"probe")
            producer.poll(0)
            sent[sequence] = produced
            sequence += 1
            next_send += interval
            time.sleep(max(0.0, next_send - time.monotonic()))
        producer.flush(30)
        # The last probes get the time the slowest server needs to show them.
        drain_end = time.monotonic() + 2 * max(args.roapi_reload_interval, 1) + 10
        while time.monotonic() < drain_end and any(p.newest < sequence - 1 for p in pollers.values()):
            time.sleep(0.1)
        for poller in pollers.values():
            poller.stopping.set()
            poller.join()
        alive = {name: server.alive() for name, server in servers.items()}
        cpu = {name: cpu_seconds(server.process.pid) for name, server in servers.items()}
    finally:
        for poller in pollers.values():
            poller.stopping.set()
        for server in servers.values():
            server.stop()
        for process in processes:
            stop(process)
        delete_topic(bootstrap, topic)

    versions = sorted((table / "_delta_log").glob("*.json"))
    report = {
        "command": " ".join(["bench/serve_freshness_bench.py", *sys.argv[1:]]),
        "probes": len(sent), "devices": args.devices, "channels": args.channels,
        "rate_hz": args.rate, "table_versions": len(versions),
        "optimize_every_s": args.optimize_every, "vacuum_every_s": args.vacuum_every,
        "poll_ms": args.poll_ms, "ingest_max_latency_ms": args.ingest_max_latency_ms,
        "roapi_reload_interval_s": args.roapi_reload_interval,
        "roapi_memory_table": args.roapi_memory_table,
        "servers": {},
    }
    for name, poller in pollers.items():
        latencies = [poller.first_seen[s] - sent[s] for s in sent if s in poller.first_seen]
        figures = {"seen": len(latencies), "missing": len(sent) - len(latencies),
                   "queries": poller.queries, "errors": poller.errors, "alive": alive[name],
                   "cpu_s": cpu[name]}
        if latencies:
            figures.update(p50_s=percentile(latencies, 0.5), p99_s=percentile(latencies, 0.99),
                           max_s=max(latencies))
        report["servers"][name] = figures
    print(json.dumps(report, indent=2))
    print("| server | probes seen / sent | p50 | p99 | max | failed queries | server CPU |")
    print("|---|---|---|---|---|---|---|")
    for name, figures in report["servers"].items():
        label = name if name != "ROAPI" else (
            f"ROAPI, reload_interval {args.roapi_reload_interval} s"
            + (", memory table" if args.roapi_memory_table else ""))
        if figures["seen"]:
            print(f"| {label} | {figures['seen']} / {len(sent)} | {figures['p50_s']:.2f} s "
                  f"| {figures['p99_s']:.2f} s | {figures['max_s']:.2f} s "
                  f"| {sum(figures['errors'].values())} | {figures['cpu_s']:.0f} s |")
        else:
            print(f"| {label} | 0 / {len(sent)} | – | – | – | {sum(figures['errors'].values())} "
                  f"| {figures['cpu_s']:.0f} s |")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(f["missing"] == 0 for f in report["servers"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
