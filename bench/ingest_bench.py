#!/usr/bin/env python3
"""Ingest benchmark: `nlk ingest` against a delta-rs based ingester (bench/deltars_ingester.py)
on the same Kafka broker and the same messages, in one run, alternating, several repetitions.

  throughput  a topic preloaded with Arrow IPC sample messages (nlk datagen --kafka) is ingested
              from the start into a fresh table, by 1 and by 2 writer processes of one group;
              time = from launching the writers until the table records every offset of the
              topic (its txn actions), as a reader would see it. Samples/s and MB/s (Kafka
              payload bytes) follow. The writers' peak RSS (VmHWM) and the CPU time they
              used up to that moment (user + system, all writers) are reported.
  read floor  the same topic read from start to end outside any group, payloads untouched, by
              each ingester's Kafka client: librdkafka through `nlk_bench kafka-read` (NLK_BENCH,
              default build/bench/nlk_bench; see there what it leaves out) and confluent-kafka in
              this process. No ingester
              can finish before its client has fetched the topic. librdkafka also reads it as
              two processes side by side, half the partitions each, as two writers do; the
              steady rate of each, and the broker's CPU meanwhile, are reported.
  encode floor  the rows of the first `nlk ingest` run's table, rewritten by pyarrow (the same
              Arrow C++ Parquet writer) into in-memory files of --max-rows rows with the
              encodings `nlk ingest` uses, single-threaded: the CPU that writing Parquet alone
              takes. With the read floor and the broker's share it gives the CPU ceiling: the
              highest rate any ingester could reach on this machine's cores with this client and
              this Parquet writer.
  freshness   a producer sends timestamped Arrow messages at a steady rate while one writer
              runs with its default flush limits; a reader polls _delta_log every 10 ms and, for
              each new version, matches its txn offsets with the produce time of every message
              they cover: produce -> visible to a reader, p50 and p99.

Needs a running broker (scripts/kafka.sh start; eval "$(scripts/kafka.sh env)") and the nlk
binary (NLK_BIN, default build/tools/nlk). Writes the figures of the "## Ingest" section of
docs/benchmarks.md, up to its end-of-figures marker, unless --no-write; the discussion after the
marker and the other sections are left alone.

  .venv/bin/python bench/ingest_bench.py --repetitions 3
"""
import argparse
import json
import os
import pathlib
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import pyarrow as pa
import pyarrow.dataset
import pyarrow.ipc
import pyarrow.parquet as pq
import confluent_kafka
import confluent_kafka.admin
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

ROOT = pathlib.Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PEER = str(ROOT / "bench" / "deltars_ingester.py")


CREATED_TOPICS = []


def kafka_topic(name, partitions):
    subprocess.run([str(ROOT / "scripts" / "kafka.sh"), "create-topic", name, str(partitions)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    CREATED_TOPICS.append(name)


def delete_created_topics(bootstrap):
    """The bench's topics hold gigabytes; they go once the figures are taken."""
    if not CREATED_TOPICS:
        return
    admin = confluent_kafka.admin.AdminClient({"bootstrap.servers": bootstrap})
    for name, future in admin.delete_topics(list(CREATED_TOPICS), operation_timeout=30).items():
        try:
            future.result()
        except confluent_kafka.KafkaException as error:
            print(f"could not delete topic {name}: {error}", file=sys.stderr)
    CREATED_TOPICS.clear()


def high_watermarks(bootstrap, topic, partitions):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "nlk-bench-watermarks"})
    marks = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
             for p in range(partitions)}
    consumer.close()
    return marks


def topic_payload_bytes(bootstrap, topic, partitions):
    """Total payload bytes of a topic, read once (the MB/s base)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"nlk-bench-size-{time.time()}",
                         "enable.auto.commit": False})
    marks = high_watermarks(bootstrap, topic, partitions)
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    remaining, total = sum(marks.values()), 0
    while remaining > 0:
        for message in consumer.consume(num_messages=1000, timeout=1):
            if not message.error():
                total += len(message.value())
                remaining -= 1
    consumer.close()
    return total


class LogWatcher:
    """Follows a table's _delta_log: the txn versions of an app-id prefix, and when each new
    version was first seen."""

    def __init__(self, table, prefix):
        self.log = pathlib.Path(table) / "_delta_log"
        self.prefix = prefix
        self.next_version = 0
        self.offsets = {}  # partition -> last offset recorded
        self.rows = 0  # rows added so far
        self.progress = []  # (seen time, rows added up to and including that version)

    def poll(self):
        """Returns [(seen_time, {partition: (previous, last)})] for the versions new since the
        last call."""
        found = []
        while True:
            path = self.log / f"{self.next_version:020d}.json"
            try:
                text = path.read_text()
            except FileNotFoundError:
                break
            if not text.endswith("\n") and not text.rstrip().endswith("}"):
                break  # still being written (not with put-if-absent, but be safe)
            seen = time.time()
            ranges = {}
            for line in text.splitlines():
                action = json.loads(line)
                add = action.get("add")
                if add and add.get("stats"):
                    self.rows += json.loads(add["stats"]).get("numRecords", 0)
                txn = action.get("txn")
                if txn and txn["appId"].startswith(self.prefix):
                    partition = int(txn["appId"].rsplit(":", 1)[1])
                    previous = self.offsets.get(partition, -1)
                    ranges[partition] = (previous, txn["version"])
                    self.offsets[partition] = txn["version"]
            found.append((seen, ranges))
            self.progress.append((seen, self.rows))
            self.next_version += 1
        return found


def steady_rate(progress, total):
    """Rows per second between the commits that first reach 10 % and 90 % of `total`: the rate
    once running, without starting up, joining the group, or waiting out the last flush's
    latency limit."""
    def first_reaching(share):
        return next(((t, rows) for t, rows in progress if rows >= share * total), None)
    low, high = first_reaching(0.1), first_reaching(0.9)
    if low is None or high is None or high[0] <= low[0]:
        return float("nan")
    return (high[1] - low[1]) / (high[0] - low[0])


def peak_rss_mb(pid):
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return float("nan")


END_OF_FIGURES = "<!-- end of the figures bench/ingest_bench.py writes -->"


def cpu_seconds(pid):
    """User + system CPU time of a live process, all threads, from /proc."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return float("nan")
    # After the command name: state is field 3 of stat(5), utime 14 and stime 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def broker_cpu_seconds():
    """CPU time of the broker scripts/kafka.sh started, or NaN when its pid is unknown."""
    pid_file = pathlib.Path(os.environ.get("NLK_KAFKA_DIR", ROOT / "var" / "kafka")) / "kafka.pid"
    try:
        return cpu_seconds(int(pid_file.read_text().strip()))
    except (FileNotFoundError, ValueError):
        return float("nan")


def read_floor_nlk(args, topic, rows, partition_groups, expected_messages=None):
    """librdkafka reading `topic` as one `nlk_bench kafka-read` process per partition group, all
    at once: (seconds until the last ends, their CPU, librdkafka version, steady samples/s of
    them all between 10 % and 90 % of the messages, the broker's CPU meanwhile)."""
    broker_started = broker_cpu_seconds()
    processes = [subprocess.Popen(
        [args.nlk_bench, "kafka-read", "--bootstrap", args.bootstrap, "--topic", topic,
         *[flag for p in group for flag in ("--partition", str(p))]],
        stdout=subprocess.PIPE, text=True) for group in partition_groups]
    measured = []
    for process in processes:
        output, _ = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"nlk_bench kafka-read exited {process.returncode}")
        measured.append(json.loads(output))
    broker = broker_cpu_seconds() - broker_started
    # Every reader's arrivals ([unix time, messages so far]) as increments, merged in time.
    events = []
    for reader in measured:
        before = 0
        for at, count in reader["arrivals"]:
            events.append((at, count - before))
            before = count
    events.sort()
    messages = sum(reader["messages"] for reader in measured)
    if expected_messages is not None and messages != expected_messages:
        raise RuntimeError(f"the read floor read {messages} messages of {expected_messages}")
    progress, read = [], 0
    for at, count in events:
        read += count
        progress.append((at, read * rows / messages))
    return (max(r["seconds"] for r in measured), sum(r["cpu_seconds"] for r in measured),
            measured[0]["librdkafka"], steady_rate(progress, rows), broker)


def encode_floor(table_path, max_rows):
    """CPU seconds (median of 3) for pyarrow to write the rows of the Delta table at table_path
    as in-memory Parquet files of max_rows rows, with the settings of `nlk ingest`: LZ4_RAW,
    dictionary-encoded strings without Parquet statistics, everything else plain, write batches
    of 16,384 rows."""
    table = pyarrow.dataset.dataset(table_path, format="parquet", partitioning="hive",
                                    exclude_invalid_files=True).to_table()
    table = table.select([f.name for f in table.schema if f.name != "date"])
    strings = [f.name for f in table.schema if pa.types.is_string(f.type)]
    table = pa.table([table[c].dictionary_encode() if c in strings else table[c]
                      for c in table.column_names], names=table.column_names).combine_chunks()
    timings = []
    for _ in range(3):
        started = time.process_time()
        for batch in table.to_batches(max_chunksize=max_rows):
            pq.write_table(pa.Table.from_batches([batch]), pa.BufferOutputStream(),
                           compression="lz4", use_dictionary=strings,
                           write_statistics=[c for c in table.column_names if c not in strings],
                           write_batch_size=16384, row_group_size=max_rows)
        timings.append(time.process_time() - started)
    return statistics.median(timings), table.num_rows


def read_floor_peer(args, topic, partitions):
    """The peer's client reading the topic with the peer's settings and calls (consume() of up
    to 10,000 messages, waiting at most 0.2 s; see bench/deltars_ingester.py)."""
    started, cpu_started = time.time(), time.process_time()
    consumer = Consumer({"bootstrap.servers": args.bootstrap,
                         "group.id": f"nlk-bench-floor-{time.time()}",
                         "enable.auto.commit": False, "enable.partition.eof": True,
                         "fetch.queue.backoff.ms": 10})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    at_end = 0
    while at_end < partitions:
        for message in consumer.consume(num_messages=10000, timeout=0.2):
            if message.error() is not None:
                if message.error().code() != KafkaError._PARTITION_EOF:
                    raise RuntimeError(f"reading {topic}: {message.error()}")
                at_end += 1
    seconds, cpu = time.time() - started, time.process_time() - cpu_started
    consumer.close()
    return seconds, cpu, confluent_kafka.libversion()[0]


def launch(kind, args, table, topic, group, extra=()):
    if kind == "nlk":
        command = [args.nlk, "ingest", table, "--bootstrap", args.bootstrap, "--topic", topic,
                   "--group", group, "--format", "arrow", "--schema-from-datagen", "samples",
                   "--partition-by", "date", "--kafka-property", "session.timeout.ms=6000",
                   "--kafka-property", "heartbeat.interval.ms=1000", *extra]
    else:
        command = [PYTHON, PEER, table, "--bootstrap", args.bootstrap, "--topic", topic,
                   "--group", group, "--partition-by", "date", *extra]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stop(processes):
    rss = [peak_rss_mb(p.pid) for p in processes]
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            _, error = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            error = "killed after 60 s"
        if process.returncode not in (0, -signal.SIGTERM):
            print(f"writer exited {process.returncode}: {error[-500:]}", file=sys.stderr)
    return rss


def throughput_run(kind, writers, args, topic, marks, work, run_id, before_removal=None):
    table = str(work / f"{kind}-{writers}-{run_id}")
    prefix = "nlk-ingest:" if kind == "nlk" else "deltars-ingest:"
    extra = ["--max-rows", str(args.max_rows), "--max-latency-ms", "1000"]
    watcher = LogWatcher(table, prefix)
    started = time.time()
    processes = [launch(kind, args, table, topic, f"bench-{kind}-{run_id}", extra)
                 for _ in range(writers)]
    goal = {p: m - 1 for p, m in marks.items() if m > 0}
    deadline = started + args.timeout
    while time.time() < deadline:
        watcher.poll()
        if all(watcher.offsets.get(p, -1) >= last for p, last in goal.items()):
            break
        if any(p.poll() is not None for p in processes):
            break
        time.sleep(0.02)
    elapsed = time.time() - started
    done = all(watcher.offsets.get(p, -1) >= last for p, last in goal.items())
    cpu = sum(cpu_seconds(p.pid) for p in processes)
    rss = stop(processes)
    if before_removal is not None and done:
        before_removal(table)
    shutil.rmtree(table, ignore_errors=True)
    steady = steady_rate(watcher.progress, watcher.rows) if done else float("nan")
    return (elapsed if done else float("nan")), max(rss), steady, (cpu if done else float("nan"))


def freshness_run(kind, args, work, run_id):
    topic = f"nlk-bench-fresh-{kind}-{run_id}-{os.getpid()}"
    kafka_topic(topic, args.partitions)
    table = str(work / f"fresh-{kind}-{run_id}")
    prefix = "nlk-ingest:" if kind == "nlk" else "deltars-ingest:"
    processes = [launch(kind, args, table, topic, f"fresh-{kind}-{run_id}")]
    # Rows of the samples schema, each message one device's rows.
    subprocess.run(
        [args.nlk, "datagen", "--kind", "samples", "--devices", "1", "--channels", "32",
         "--rate", "1000", "--duration", "0.1", "--out", str(work / "template.parquet")],
        check=True, stdout=subprocess.DEVNULL)
    batch = pq.read_table(work / "template.parquet").combine_chunks().to_batches()[0]
    if not args.arrow_plain_strings:  # as nlk datagen writes them
        batch = pa.RecordBatch.from_arrays(
            [c.dictionary_encode() if pa.types.is_string(c.type) else c for c in batch.columns],
            names=batch.schema.names)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    payload = sink.getvalue().to_pybytes()

    produced = {}  # (partition, offset) -> produce time
    producer = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 0, "acks": "all"})

    def delivered(error, message, sent=None):
        if error is None:
            produced[(message.partition(), message.offset())] = sent

    # Let the writer join the group before the clock starts.
    time.sleep(args.join_wait)
    watcher = LogWatcher(table, prefix)
    latencies = []
    stop_reader = threading.Event()
    seen_versions = []

    def reader():
        while not stop_reader.is_set():
            seen_versions.extend(watcher.poll())
            time.sleep(0.01)
        seen_versions.extend(watcher.poll())

    thread = threading.Thread(target=reader)
    thread.start()
    interval = 1.0 / args.fresh_messages_per_second
    end = time.time() + args.fresh_seconds
    index = 0
    next_send = time.time()
    while time.time() < end:
        now = time.time()
        producer.produce(topic, payload, key=f"device-{index % 8}",
                         on_delivery=lambda e, m, sent=now: delivered(e, m, sent))
        producer.poll(0)
        index += 1
        next_send += interval
        time.sleep(max(0.0, next_send - time.time()))
    producer.flush(30)
    time.sleep(3)
    stop_reader.set()
    thread.join()
    rss = stop(processes)
    for seen, ranges in seen_versions:
        for partition, (previous, last) in ranges.items():
            for offset in range(previous + 1, last + 1):
                sent = produced.get((partition, offset))
                if sent is not None:
                    latencies.append(seen - sent)
    shutil.rmtree(table, ignore_errors=True)
    missing = len(produced) - len(latencies)
    return latencies, missing, max(rss)


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nlk", default=os.environ.get("NLK_BIN", str(ROOT / "build/tools/nlk")))
    parser.add_argument("--nlk-bench", default=os.environ.get(
        "NLK_BENCH", str(ROOT / "build/bench/nlk_bench")))
    parser.add_argument("--bootstrap", default=os.environ.get("NLK_KAFKA_BOOTSTRAP"))
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--seconds-of-data", type=float, default=360,
                        help="throughput topic: 8 devices x 32 channels x 1 kHz for this long "
                             "(360 s: 92.16 M samples, long enough that starting up and "
                             "joining the group are under a tenth of a writer's run, and that "
                             "the peer, which commits up to 15 M rows at a time, commits "
                             "several times between 10 and 90 %% of the rows)")
    parser.add_argument("--max-rows", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--fresh-seconds", type=float, default=20)
    parser.add_argument("--fresh-messages-per-second", type=float, default=100,
                        help="each message holds 3200 samples")
    parser.add_argument("--join-wait", type=float, default=5)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--arrow-plain-strings", action="store_true",
                        help="messages with plain string columns instead of nlk datagen's "
                             "dictionary-encoded ones")
    args = parser.parse_args()
    if not args.bootstrap:
        sys.exit("set NLK_KAFKA_BOOTSTRAP or --bootstrap (scripts/kafka.sh start)")

    work = pathlib.Path(tempfile.mkdtemp(prefix="nlk-ingest-bench-"))
    try:
        topic = f"nlk-bench-{os.getpid()}-{int(time.time())}"
        kafka_topic(topic, args.partitions)
        produced = subprocess.run(
            [args.nlk, "datagen", "--kind", "samples", "--devices", "8", "--channels", "32",
             "--rate", "1000", "--duration", str(args.seconds_of_data), "--kafka", args.bootstrap,
             "--topic", topic, "--format", "arrow",
             *(["--arrow-plain-strings"] if args.arrow_plain_strings else [])],
            check=True, capture_output=True, text=True)
        rows = int(re.search(r"produced (\d+) rows", produced.stdout).group(1))
        marks = high_watermarks(args.bootstrap, topic, args.partitions)
        payload_mb = topic_payload_bytes(args.bootstrap, topic, args.partitions) / 1e6
        print(f"topic {topic}: {rows} samples, {sum(marks.values())} messages, "
              f"{payload_mb:.1f} MB", file=sys.stderr)

        results = {}
        floors = {"nlk": [], "nlk x2": [], "delta-rs": []}
        encoded = []
        halves = [list(range(0, args.partitions, 2)), list(range(1, args.partitions, 2))]
        for repetition in range(args.repetitions):
            messages = sum(marks.values())
            floors["nlk"].append(
                read_floor_nlk(args, topic, rows, [range(args.partitions)], messages))
            floors["nlk x2"].append(read_floor_nlk(args, topic, rows, halves, messages))
            floors["delta-rs"].append(read_floor_peer(args, topic, args.partitions))
            print(f"read floor rep {repetition}: librdkafka {floors['nlk'][-1][0]:.2f} s "
                  f"(steady {floors['nlk'][-1][3]:,.0f} samples/s, two readers "
                  f"{floors['nlk x2'][-1][3]:,.0f}), confluent-kafka "
                  f"{floors['delta-rs'][-1][0]:.2f} s", file=sys.stderr)
            for writers in (1, 2):
                for kind in ("nlk", "delta-rs"):
                    keep = None
                    if kind == "nlk" and writers == 1 and not encoded:
                        keep = lambda table: encoded.append(encode_floor(table, args.max_rows))
                    seconds, rss, steady, cpu = throughput_run(
                        kind, writers, args, topic, marks, work, f"{repetition}-{writers}", keep)
                    results.setdefault((kind, writers), []).append((seconds, rss, steady, cpu))
                    print(f"throughput {kind} x{writers} rep {repetition}: {seconds:.2f} s, "
                          f"{rows / seconds:,.0f} samples/s, steady {steady:,.0f} samples/s, "
                          f"CPU {cpu:.2f} s, peak RSS {rss:.0f} MB", file=sys.stderr)
        freshness = {}
        for repetition in range(args.repetitions):
            for kind in ("nlk", "delta-rs"):
                latencies, missing, rss = freshness_run(kind, args, work, repetition)
                freshness.setdefault(kind, []).append((latencies, missing, rss))
                print(f"freshness {kind} rep {repetition}: p50 {percentile(latencies, 0.5):.3f} s,"
                      f" p99 {percentile(latencies, 0.99):.3f} s ({len(latencies)} messages, "
                      f"{missing} not seen)", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        delete_created_topics(args.bootstrap)

    lines = ["## Ingest", ""]
    lines.append(
        f"Kafka → Delta, `nlk ingest` against a delta-rs based ingester "
        f"(`bench/deltars_ingester.py`: confluent-kafka + `deltalake.write_deltalake`, txn "
        f"actions per partition, same flush limits) on the same local broker (KRaft, one node) "
        f"and the same Arrow IPC messages (`nlk datagen --format arrow`: one device's samples per "
        f"message, string columns "
        f"{'plain' if args.arrow_plain_strings else 'dictionary-encoded'}, LZ4), alternating, "
        f"{args.repetitions} repetitions, medians. "
        f"Machine: {os.cpu_count()} cores shared with other work, {platform.machine()}. "
        f"Local-disk tables.")
    lines += ["", "Reproduce: `scripts/kafka.sh start; eval \"$(scripts/kafka.sh env)\"; "
              "NLK_BIN=build/tools/nlk .venv/bin/python bench/ingest_bench.py "
              f"--repetitions {args.repetitions} --seconds-of-data {args.seconds_of_data:g} "
              f"--partitions {args.partitions} --fresh-seconds {args.fresh_seconds:g}"
              f"{' --arrow-plain-strings' if args.arrow_plain_strings else ''}`", ""]
    lines.append(f"Throughput: {rows:,} samples ({payload_mb:.0f} MB of Kafka payload, "
                 f"{args.partitions} partitions); flush at {args.max_rows:,} rows or 1 s. "
                 f"*Seconds* run from launching the writers until the table records every "
                 f"offset, so they include starting up, joining the group and committing the "
                 f"last rows; *steady* is the rate between the commits that first reach "
                 f"10 % and 90 % of the rows; *CPU* is the user + system time the writers had "
                 f"used by then, all of them together.")
    lines += ["", "| writers | ingester | seconds | samples/s | MB/s | steady samples/s | "
              "CPU s | peak RSS per writer (MB) | ours / peer, whole run | ours / peer, steady "
              "| peer CPU / ours |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for writers in (1, 2):
        medians = {}
        for kind in ("nlk", "delta-rs"):
            runs = results[(kind, writers)]
            seconds = statistics.median(r[0] for r in runs)
            rss = statistics.median(r[1] for r in runs)
            steady = statistics.median(r[2] for r in runs)
            cpu = statistics.median(r[3] for r in runs)
            medians[kind] = (seconds, steady, cpu)
            ratio = steady_ratio = cpu_ratio = ""
            if kind == "delta-rs":
                ratio = f"{medians['delta-rs'][0] / medians['nlk'][0]:.2f}×"
                steady_ratio = f"{medians['nlk'][1] / medians['delta-rs'][1]:.2f}×"
                cpu_ratio = f"{medians['delta-rs'][2] / medians['nlk'][2]:.2f}×"
            lines.append(f"| {writers} | {kind} | {seconds:.2f} | {rows / seconds:,.0f} | "
                         f"{payload_mb / seconds:.1f} | {steady:,.0f} | {cpu:.2f} | {rss:.0f} | "
                         f"{ratio} | {steady_ratio} | {cpu_ratio} |")
    floor = {kind: (statistics.median(f[0] for f in runs), statistics.median(f[1] for f in runs),
                    runs[0][2]) for kind, runs in floors.items()}
    steady_floor = {kind: statistics.median(f[3] for f in floors[kind])
                    for kind in ("nlk", "nlk x2")}
    broker = statistics.median(f[4] for f in floors["nlk"])
    lines += ["", f"Read floor (median): fetching the whole topic, outside any group and without "
              f"looking at the payloads, takes {floor['nlk'][0]:.2f} s ({floor['nlk'][1]:.2f} s "
              f"of CPU) with librdkafka {floor['nlk'][2]} and the prefetch `nlk ingest` uses "
              f"(`nlk_bench kafka-read`, which reuses freed buffers and does not hold a fetch "
              f"at the broker for partitions at their end), a steady {steady_floor['nlk']:,.0f} samples/s, "
              f"while the broker uses {broker:.2f} s of CPU; two readers side by side (half the "
              f"partitions each) take {floor['nlk x2'][0]:.2f} s, "
              f"{steady_floor['nlk x2']:,.0f} samples/s steady; and "
              f"{floor['delta-rs'][0]:.2f} s ({floor['delta-rs'][1]:.2f} s of CPU) with the "
              f"peer's confluent-kafka (librdkafka {floor['delta-rs'][2]})."]
    if encoded:
        encode_cpu, encoded_rows = encoded[0]
        per_sample = (floor["nlk"][1] + broker + encode_cpu) / rows
        ceiling = os.cpu_count() / per_sample
        peer_two = statistics.median(r[2] for r in results[("delta-rs", 2)])
        lines += ["", f"Encode floor: pyarrow (the same Arrow C++ Parquet writer) writes the "
                  f"{encoded_rows:,} rows of the first `nlk ingest` run's table, in files of "
                  f"{args.max_rows:,} rows with its encodings, in {encode_cpu:.2f} s of CPU. "
                  f"Fetching, serving and encoding alone thus take "
                  f"{per_sample * 1e9:.0f} ns of CPU per sample, so no ingester can pass "
                  f"{ceiling:,.0f} samples/s on this machine's {os.cpu_count()} cores "
                  f"(the CPU ceiling), {ceiling / peer_two:.2f}× the peer's two-writer steady "
                  f"rate."]
    lines += ["", f"Freshness: one writer with its default limits (`nlk ingest` flushes at 1 s "
              f"latency; the peer likewise), a producer sending "
              f"{args.fresh_messages_per_second:.0f} messages/s of 3,200 samples for "
              f"{args.fresh_seconds:.0f} s, a reader polling `_delta_log` every 10 ms: produce → "
              f"first visible to the reader.", "",
              "| ingester | p50 (s) | p99 (s) | messages | peak RSS (MB) |", "|---|---|---|---|---|"]
    for kind in ("nlk", "delta-rs"):
        runs = freshness[kind]
        p50 = statistics.median(percentile(l, 0.5) for l, _, _ in runs)
        p99 = statistics.median(percentile(l, 0.99) for l, _, _ in runs)
        count = sum(len(l) for l, _, _ in runs)
        rss = statistics.median(r for _, _, r in runs)
        lines.append(f"| {kind} | {p50:.3f} | {p99:.3f} | {count} | {rss:.0f} |")
    section = "\n".join(lines) + "\n"
    print(section)
    if not args.no_write:
        path = ROOT / "docs" / "benchmarks.md"
        path.parent.mkdir(exist_ok=True)
        text = path.read_text() if path.exists() else "# Benchmarks\n"
        # The measured part ends at END_OF_FIGURES; the prose after it, written by hand about
        # the figures, is kept (and should be checked against the new ones).
        generated = section + "\n" + END_OF_FIGURES + "\n"
        marked = re.compile(r"^## Ingest\n.*?^" + re.escape(END_OF_FIGURES) + r"\n", re.S | re.M)
        whole = re.compile(r"^## Ingest\n.*?(?=^## |\Z)", re.S | re.M)
        if marked.search(text):
            text = marked.sub(lambda _: generated, text)
        elif whole.search(text):
            text = whole.sub(lambda _: generated + "\n", text)
        else:
            text = text.rstrip("\n") + "\n\n" + generated
        path.write_text(text)


if __name__ == "__main__":
    main()
