#!/usr/bin/env python3
"""The peer of `nlk ingest` in bench/ingest_bench.py: a Kafka -> Delta ingester on delta-rs.

A confluent-kafka consumer-group member that decodes the same messages (Arrow IPC streams, the
format of the benchmark), buffers them, and on the same flush rules as `nlk ingest` (rows,
latency, and committing a drained backlog of overdue messages at once: see the README) appends
them with deltalake.write_deltalake, recording one txn action per topic-partition (version = last
offset) in the same commit, as kafka-delta-ingest does. Resume positions come from those txn
actions, so it is exactly-once in the same way as ours. Runs until SIGTERM or --exit-when-idle.
"""
import argparse
import signal
import sys
import time

import pyarrow as pa
import pyarrow.ipc
from confluent_kafka import OFFSET_BEGINNING, TIMESTAMP_NOT_AVAILABLE, Consumer
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

APP_PREFIX = "deltars-ingest:"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("table")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", default="deltars-ingest")
    parser.add_argument("--max-rows", type=int, default=1_000_000)
    parser.add_argument("--max-latency-ms", type=int, default=1000)
    parser.add_argument("--partition-by", default="date")
    parser.add_argument("--exit-when-idle", type=float, default=0)
    args = parser.parse_args()

    stop = False

    def request_stop(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    committed = {}  # partition -> last offset in the table

    def table_versions():
        try:
            table = DeltaTable(args.table)
        except Exception:
            return {}
        versions = {}
        for partition in assigned:
            version = table.transaction_version(f"{APP_PREFIX}{args.topic}:{partition}")
            if version is not None:
                versions[partition] = version
        return versions

    assigned = set()

    def on_assign(consumer, partitions):
        for p in partitions:
            assigned.add(p.partition)
        versions = table_versions()
        for p in partitions:
            if p.partition in versions:
                committed[p.partition] = versions[p.partition]
                p.offset = versions[p.partition] + 1
            else:
                p.offset = OFFSET_BEGINNING
        consumer.incremental_assign(partitions)

    def on_revoke(consumer, partitions):
        flush()
        for p in partitions:
            assigned.discard(p.partition)
            committed.pop(p.partition, None)
        consumer.incremental_unassign(partitions)

    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "enable.auto.commit": False,
        "partition.assignment.strategy": "cooperative-sticky",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
        # Fetch again 10 ms after the prefetch queue was full instead of librdkafka's default
        # 1 s, which left this ingester idle while catching up (nlk ingest restarts its fetches
        # as soon as its queue drains; see src/ingest/kafka_consumer.h).
        "fetch.queue.backoff.ms": 10,
    })
    buffer = []
    buffered_rows = 0
    pending = {}  # partition -> last offset buffered
    first_buffered = None
    oldest_produced_ms = None  # Kafka timestamp of the oldest buffered message
    reading_backlog = True  # since starting or a flush cut by rows, until one cut by latency

    def overdue():
        """Whether a poll that finds nothing should flush: reading a backlog, a tenth of
        max_rows buffered, and the oldest buffered message produced a latency limit or more
        ago."""
        return (first_buffered is not None and reading_backlog and oldest_produced_ms is not None
                and buffered_rows * 10 >= args.max_rows
                and time.time() * 1000 - oldest_produced_ms >= args.max_latency_ms)

    def flush():
        nonlocal buffer, buffered_rows, pending, first_buffered, oldest_produced_ms
        if not pending:
            return
        data = pa.Table.from_batches(buffer) if buffer else None
        transactions = [Transaction(f"{APP_PREFIX}{args.topic}:{p}", offset)
                        for p, offset in sorted(pending.items())]
        if data is not None and data.num_rows > 0:
            write_deltalake(args.table, data, mode="append",
                            partition_by=[args.partition_by] if args.partition_by else None,
                            commit_properties=CommitProperties(app_transactions=transactions))
        committed.update(pending)
        buffer, buffered_rows, pending, first_buffered = [], 0, {}, None
        oldest_produced_ms = None

    consumer.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke)
    last_message = time.monotonic()
    try:
        while not stop:
            timeout = 0.2
            if first_buffered is not None:
                due = first_buffered + args.max_latency_ms / 1000
                timeout = max(0.0, min(timeout, due - time.monotonic()))
                if overdue():
                    timeout = min(timeout, 0.05)
            messages = consumer.consume(num_messages=10000, timeout=timeout)
            for message in messages:
                if message.error():
                    continue
                partition, offset = message.partition(), message.offset()
                if partition not in assigned or offset <= committed.get(partition, -1) or \
                        offset <= pending.get(partition, -1):
                    continue
                with pa.ipc.open_stream(message.value()) as reader:
                    for batch in reader:
                        buffer.append(batch)
                        buffered_rows += batch.num_rows
                pending[partition] = offset
                if first_buffered is None:
                    first_buffered = time.monotonic()
                kind, produced_ms = message.timestamp()
                if kind != TIMESTAMP_NOT_AVAILABLE and (oldest_produced_ms is None or
                                                        produced_ms < oldest_produced_ms):
                    oldest_produced_ms = produced_ms
            if messages:
                last_message = time.monotonic()
            if first_buffered is not None and buffered_rows >= args.max_rows:
                flush()
                reading_backlog = True
            elif first_buffered is not None and \
                    time.monotonic() - first_buffered >= args.max_latency_ms / 1000:
                flush()
                reading_backlog = False
            elif not messages and overdue():
                flush()
            if args.exit_when_idle and time.monotonic() - last_message >= args.exit_when_idle:
                break
        flush()
    finally:
        consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
