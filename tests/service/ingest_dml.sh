#!/usr/bin/env bash
# DELETE and UPDATE on a table that `nlk ingest` keeps appending to, as separate processes
# coordinated only through the Delta commit protocol, against a real Kafka broker:
#
#   nlk ingest                               Kafka -> table, a commit every few hundred ms
#   nlk table delete --where "channel = 7"   in a loop, with
#   nlk table update --set "voltage_uv = -1" --where "channel = 5"
#
# Ingest's commits are blind appends, so under WriteSerializable (delta-spark's default and ours)
# they conflict with neither: every DELETE and UPDATE must commit, however the commits
# interleave, and no appended row may be lost or doubled. Rows appended after a DELETE read its
# snapshot keep channel 7 until the next one, as in delta-spark; so once the producers are done
# and ingest stopped, one more DELETE and UPDATE run, and then the table must hold exactly the
# produced rows without channel 7, with channel 5's voltage at -1 and every other value as
# produced (checked row by row with delta-rs).
#
#   ingest_dml.sh deletion-vectors|copy-on-write
#
# The table is created with the first producer run's rows (and delta.enableDeletionVectors for
# the first mode); the other runs go through Kafka. Uses the broker of scripts/kafka.sh if one
# runs for the current settings; else starts its own in a temp dir.
#
# Settings (environment):
#   NLK_BIN          the nlk binary (default build/tools/nlk)
#   NLK_DML_RUNS     producer runs, each 4 devices x 8 channels x 250 Hz x 1 s (default 8, >= 3)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mode="${1:-}"
if [[ ! "$mode" =~ ^(deletion-vectors|copy-on-write)$ ]]; then
  echo "usage: $0 deletion-vectors|copy-on-write" >&2
  exit 2
fi
name="ingest_dml.sh $mode"
nlk="${NLK_BIN:-$root/build/tools/nlk}"
producer_runs="${NLK_DML_RUNS:-8}"
python="$root/.venv/bin/python"
devices=4 channels=8 rate=250

[ -x "$nlk" ] || {
  echo "$name: no nlk binary at $nlk (set NLK_BIN)" >&2
  exit 1
}
((producer_runs >= 3)) || {
  echo "$name: NLK_DML_RUNS must be at least 3" >&2
  exit 2
}

work="$(mktemp -d "${TMPDIR:-/tmp}/nlk-ingest-dml.XXXXXX")"
own_broker=0
ingest_pid="" producer_pid="" dml_pid=""
cleanup() {
  local rc=$?
  for pid in "$ingest_pid" "$producer_pid" "$dml_pid"; do
    [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
  done
  if ((own_broker)); then "$root/scripts/kafka.sh" stop >/dev/null || rc=1; fi
  if ((rc != 0)); then
    echo "$name: FAILED; last lines of the logs:" >&2
    for log in "$work"/*.log; do
      echo "--- $(basename "$log")" >&2
      tail -n 6 "$log" >&2
    done
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
say() { echo "$name: $*" >&2; }

if ! "$root/scripts/kafka.sh" status >/dev/null 2>&1; then
  export NLK_KAFKA_DIR="$work/kafka"
  own_broker=1
  "$root/scripts/kafka.sh" start
fi
eval "$("$root/scripts/kafka.sh" env)"

table="$work/samples"
expected="$work/expected"
mkdir -p "$expected"
topic="nlk-dml-$(date +%s)-$$"
"$root/scripts/kafka.sh" create-topic "$topic" 4 >/dev/null 2>&1
datagen_run() {
  "$nlk" datagen --kind samples --devices "$devices" --channels "$channels" --rate "$rate" \
    --duration 1 --batch-rows 250 --start "2026-01-01T00:$(printf '%02d' "$1"):00Z" --seed "$1" \
    "${@:2}"
}
for ((run = 0; run < producer_runs; run++)); do
  datagen_run "$run" --out "$expected/run-$run.parquet" >/dev/null
done
started=$SECONDS

properties=()
[ "$mode" = deletion-vectors ] && properties=(--property delta.enableDeletionVectors=true)
"$nlk" table create "$table" --input "$expected/run-0.parquet" --partition-by device_id \
  "${properties[@]}" >"$work/create.log" 2>&1 || {
  say "creating the table failed: $(cat "$work/create.log")"
  exit 1
}

"$nlk" ingest "$table" --bootstrap "$NLK_KAFKA_BOOTSTRAP" --topic "$topic" --group dml \
  --format arrow --schema-from-datagen samples --partition-by device_id \
  --max-rows 2000 --max-latency-ms 300 >"$work/ingest.log" 2>&1 &
ingest_pid=$!

(
  for ((run = 1; run < producer_runs; run++)); do
    datagen_run "$run" --kafka "$NLK_KAFKA_BOOTSTRAP" --topic "$topic" --format arrow
    sleep 1
  done
) >"$work/producer.log" 2>&1 &
producer_pid=$!

# DELETE and UPDATE, alternating, while ingest commits. Each must succeed: a failure (a conflict
# included) fails the run.
stop_file="$work/stop-dml"
(
  deletes=0 updates=0
  while [ ! -e "$stop_file" ]; do
    "$nlk" table delete "$table" --where "channel = 7" >>"$work/dml-commands.log" 2>&1 || {
      echo "FAILED delete: $(tail -n 2 "$work/dml-commands.log")"
      exit 1
    }
    deletes=$((deletes + 1))
    "$nlk" table update "$table" --set "voltage_uv = -1" --where "channel = 5" \
      >>"$work/dml-commands.log" 2>&1 || {
      echo "FAILED update: $(tail -n 2 "$work/dml-commands.log")"
      exit 1
    }
    updates=$((updates + 1))
    sleep 0.2
  done
  echo "dml: $deletes deletes, $updates updates"
) >"$work/dml.log" 2>&1 &
dml_pid=$!

wait "$producer_pid"
producer_pid=""
say "produced $producer_runs runs in $((SECONDS - started)) s"

# Ingest is done once every row of a channel no command touches has arrived.
untouched_expected="$("$python" -c '
import sys
import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
channels = pq.read_table(sys.argv[1], columns=["channel"])["channel"]
print(pc.sum(pc.invert(pc.is_in(channels, value_set=pa.array([5, 7], pa.int32())))).as_py())
' "$expected")"
deadline=$((SECONDS + 90))
until count="$("$nlk" table read "$table" --columns sequence --filter "channel NOT IN (5, 7)" \
  --format count 2>/dev/null)" && ((count >= untouched_expected)); do
  ((SECONDS < deadline)) || {
    say "the table holds ${count:-?} of $untouched_expected untouched rows after 90 s"
    exit 1
  }
  kill -0 "$dml_pid" 2>/dev/null || break
  sleep 0.5
done
touch "$stop_file"
wait "$dml_pid" || {
  say "a concurrent command failed: $(grep -m 1 FAILED "$work/dml.log")"
  exit 1
}
dml_pid=""
kill -TERM "$ingest_pid"
wait "$ingest_pid" || {
  say "the writer failed"
  exit 1
}
ingest_pid=""
say "$(tail -n 1 "$work/dml.log") ran while ingest committed; $(tail -n 1 "$work/ingest.log")"

"$nlk" table delete "$table" --where "channel = 7" >"$work/final-delete.log" 2>&1 &&
  "$nlk" table update "$table" --set "voltage_uv = -1" --where "channel = 5" \
    >"$work/final-update.log" 2>&1 || {
  say "the final DELETE or UPDATE failed"
  exit 1
}

"$python" - "$table" "$expected" "$mode" <<'EOF' >"$work/verify.log" 2>&1 || {
import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable, QueryBuilder

table_uri, expected_dir, mode = sys.argv[1:4]
key = ["device_id", "channel", "timestamp"]
columns = key + ["session_id", "date", "sequence", "voltage_uv"]
expected = pq.read_table(expected_dir).select(columns)
expected = expected.filter(pc.not_equal(expected["channel"], 7))
voltage = pc.if_else(pc.equal(expected["channel"], 5), pa.scalar(-1.0, pa.float32()),
                     expected["voltage_uv"])
expected = expected.set_column(expected.schema.get_field_index("voltage_uv"), "voltage_uv", voltage)
# delta-rs's DataFusion path, which applies deletion vectors.
reader = QueryBuilder().register("t", DeltaTable(table_uri)).execute("select * from t")
actual = pa.RecordBatchReader.from_stream(reader).read_all().select(columns)
actual = actual.cast(expected.schema)  # DataFusion hands strings back as views

problems = []
if actual.num_rows != expected.num_rows:
    problems.append(f"{actual.num_rows} rows, expected {expected.num_rows}")
if actual.group_by(key).aggregate([]).num_rows != actual.num_rows:
    problems.append("some rows appear more than once")
order = [(name, "ascending") for name in key]
if not problems and not actual.sort_by(order).equals(expected.sort_by(order)):
    problems.append("the rows differ from the produced ones with the DELETE and UPDATE applied")

operations = {}
dv_adds = 0
for commit in sorted(Path(table_uri, "_delta_log").glob("*.json")):
    for line in commit.read_text().splitlines():
        action = json.loads(line)
        if "commitInfo" in action:
            operation = action["commitInfo"].get("operation")
            operations[operation] = operations.get(operation, 0) + 1
        if "add" in action and action["add"].get("deletionVector"):
            dv_adds += 1
if operations.get("DELETE", 0) < 2 or operations.get("UPDATE", 0) < 2:
    problems.append(f"too few DELETE/UPDATE commits: {operations}")
if mode == "deletion-vectors" and dv_adds == 0:
    problems.append("no add action carries a deletion vector")
if mode == "copy-on-write" and dv_adds > 0:
    problems.append(f"{dv_adds} add actions carry deletion vectors in copy-on-write mode")
print(json.dumps({"rows": actual.num_rows, "operations": operations,
                  "adds_with_deletion_vectors": dv_adds, "problems": problems}))
sys.exit(1 if problems else 0)
EOF
  say "verification failed: $(cat "$work/verify.log")"
  exit 1
}
say "verified: $(cat "$work/verify.log")"
say "passed in $((SECONDS - started)) s"
