#!/usr/bin/env bash
# Chaos test of exactly-once ingest: a producer writes samples to Kafka while `nlk ingest` is
# killed with SIGKILL at random moments and restarted; at the end the table must hold every
# produced sample exactly once (by device_id, channel, sequence), and the offsets it records must
# cover every message of the topic.
#
# Uses the broker of scripts/kafka.sh if one runs for the current settings (NLK_KAFKA_DIR,
# NLK_KAFKA_PORT, ...), else starts its own in a temp dir and stops it afterwards.
#
# Settings (environment):
#   NLK_BIN              the nlk binary (default build/tools/nlk)
#   NLK_CHAOS_KILLS      SIGKILLs of the writer (default 5)
#   NLK_CHAOS_PRODUCERS  producer runs, each 4 devices x 32 channels x 1 kHz x 2 s (default 8)
#   NLK_CHAOS_FORMAT     json or arrow (default arrow)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
kafka="$root/scripts/kafka.sh"
nlk="${NLK_BIN:-$root/build/tools/nlk}"
kills="${NLK_CHAOS_KILLS:-5}"
producer_runs="${NLK_CHAOS_PRODUCERS:-8}"
format="${NLK_CHAOS_FORMAT:-arrow}"
python="$root/.venv/bin/python"

[ -x "$nlk" ] || {
  echo "ingest_chaos.sh: no nlk binary at $nlk (set NLK_BIN)" >&2
  exit 1
}

work="$(mktemp -d "${TMPDIR:-/tmp}/nlk-ingest-chaos.XXXXXX")"
own_broker=0
writer_pid=""
producer_pid=""
cleanup() {
  local rc=$?
  [ -n "$writer_pid" ] && kill -KILL "$writer_pid" 2>/dev/null
  [ -n "$producer_pid" ] && kill -KILL "$producer_pid" 2>/dev/null
  if ((own_broker)); then
    "$kafka" stop || rc=1
  fi
  if ((rc != 0)); then
    echo "ingest_chaos.sh: FAILED; writer logs:" >&2
    tail -n 5 "$work"/writer-*.log >&2 || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

if ! "$kafka" status >/dev/null; then
  export NLK_KAFKA_DIR="$work/kafka"
  own_broker=1
  "$kafka" start
fi
eval "$("$kafka" env)"

topic="nlk-chaos-$(date +%s)-$$"
"$kafka" create-topic "$topic" 4 >/dev/null
table="$work/samples"

# A short session timeout: a killed member's partitions are reassigned to its successor within
# seconds instead of the default 45 s.
start_writer() {
  local index="$1"
  "$nlk" ingest "$table" --bootstrap "$NLK_KAFKA_BOOTSTRAP" --topic "$topic" --group chaos \
    --format "$format" --schema-from-datagen samples --partition-by date \
    --max-rows 20000 --max-latency-ms 300 \
    --kafka-property session.timeout.ms=6000 --kafka-property heartbeat.interval.ms=1000 \
    --exit-when-idle "${2:-0}" >"$work/writer-$index.log" 2>&1 &
  writer_pid=$!
}

# Producer runs of distinct time ranges (distinct sequences), in the background.
(
  for ((run = 0; run < producer_runs; run++)); do
    "$nlk" datagen --kind samples --devices 4 --channels 32 --rate 1000 --duration 2 \
      --start "2026-01-01T00:$(printf '%02d' "$run"):00Z" --seed "$run" \
      --kafka "$NLK_KAFKA_BOOTSTRAP" --topic "$topic" --format "$format" >/dev/null
    sleep 0.5
  done
) &
producer_pid=$!

start_writer 0
for ((kill_number = 1; kill_number <= kills; kill_number++)); do
  # Random moments: anywhere from a fresh start (mid-join) to mid-flush.
  sleep "$(awk -v seed="$RANDOM" 'BEGIN { srand(seed); printf "%.2f", 1 + rand() * 5 }')"
  kill -KILL "$writer_pid"
  wait "$writer_pid" 2>/dev/null || true
  echo "ingest_chaos.sh: SIGKILLed the writer ($kill_number/$kills)" >&2
  start_writer "$kill_number"
done
wait "$producer_pid"
producer_pid=""
# The last writer drains the topic and exits once idle.
kill -KILL "$writer_pid"
wait "$writer_pid" 2>/dev/null || true
start_writer final 8
wait "$writer_pid"
writer_pid=""

expected_rows=$((producer_runs * 4 * 32 * 2000))
"$python" - "$table" "$topic" "$expected_rows" <<'EOF'
import os
import sys
from deltalake import DeltaTable


def finish(problem=None):
    # os._exit: deltalake 1.6 sometimes aborts while the interpreter shuts down after a read
    # ("terminate called without an active exception"), which would hide the verdict.
    if problem:
        print(problem, file=sys.stderr)
    sys.stderr.flush()
    os._exit(1 if problem else 0)


table_uri, topic, expected_rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
table = DeltaTable(table_uri)
data = table.to_pyarrow_table(columns=["device_id", "channel", "sequence", "timestamp"])
keys = set(zip(data["device_id"].to_pylist(), data["channel"].to_pylist(),
               data["timestamp"].to_pylist()))
rows = data.num_rows
print(f"ingest_chaos.sh: table version {table.version()}, {rows} rows, {len(keys)} distinct "
      f"samples, {expected_rows} produced", file=sys.stderr)
if rows != len(keys):
    finish(f"ingest_chaos.sh: {rows - len(keys)} duplicated samples")
if rows != expected_rows:
    finish(f"ingest_chaos.sh: {expected_rows - rows} samples lost")
finish()
EOF
echo "ingest_chaos.sh: every sample exactly once after $kills SIGKILLs" >&2
