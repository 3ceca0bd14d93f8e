#!/usr/bin/env bash
# The writer, the compactor and the cleaner as separate processes on one table, coordinated only
# through the Delta commit protocol, against a real Kafka broker and a local directory or MinIO:
#
#   nlk ingest                       Kafka -> table, many small commits
#   nlk optimize --every S           compacts them (remove+add, dataChange=false)
#   nlk vacuum --every S --retention-hours H --allow-short-retention --record-history
#                                    deletes what compaction removed, seconds later, and records
#                                    VACUUM START/END commits
#   readers                          scan the whole table in a loop: delta-rs (every data file, up
#                                    to 3 s after loading the snapshot, checking each snapshot for
#                                    duplicates and lost rows) and `nlk table read --format count`
#
# while `nlk datagen` trickles samples into a 4-partition topic. At the end the table must hold
# exactly the produced samples, each once (compared row by row with `nlk datagen --out` of the
# same runs), no reader may have failed, the log must have OPTIMIZE commits with
# dataChange=false, and vacuum must have deleted files. tests/interop/test_ingest_maintenance.py
# runs the local e2e and then reads the table with Spark.
#
#   ingest_maintenance.sh e2e   local|s3    the above
#   ingest_maintenance.sh chaos local|s3    the above, but the compactor is SIGKILLed at random
#                                           moments (mid-rewrite, mid-commit) and restarted; the
#                                           last one must still compact, and after a final vacuum
#                                           no orphaned file may remain
#
# Uses the broker of scripts/kafka.sh and, for s3, the MinIO of scripts/minio.sh (AWS_* from
# `scripts/minio.sh env`) if they run for the current settings; else starts its own in a temp dir.
#
# Settings (environment):
#   NLK_BIN                 the nlk binary (default build/tools/nlk)
#   NLK_MAINT_RUNS          producer runs, each 4 devices x 8 channels x 250 Hz x 1 s (default 12,
#                           at least 3)
#   NLK_MAINT_KILLS         chaos: SIGKILLs of the compactor (default 10)
#   NLK_MAINT_KEEP          local: a new directory to leave the table (samples/) and the produced
#                           rows (expected/) in, for a later reader (default: a temp dir, removed)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mode="${1:-}"
store="${2:-}"
if [[ ! "$mode" =~ ^(e2e|chaos)$ || ! "$store" =~ ^(local|s3)$ ]]; then
  echo "usage: $0 e2e|chaos local|s3" >&2
  exit 2
fi
name="ingest_maintenance.sh $mode $store"
nlk="${NLK_BIN:-$root/build/tools/nlk}"
producer_runs="${NLK_MAINT_RUNS:-12}"
kills="${NLK_MAINT_KILLS:-10}"
python="$root/.venv/bin/python"
check="$root/tests/service/table_check.py"
# Removed files live this long after their tombstone (18 s): longer than any scan or any
# write-to-commit delay here takes, so no reader or writer loses a file, and short enough that
# vacuum deletes many of them during the run.
retention_hours=0.005
devices=4 channels=8 rate=250

[ -x "$nlk" ] || {
  echo "$name: no nlk binary at $nlk (set NLK_BIN)" >&2
  exit 1
}

work="$(mktemp -d "${TMPDIR:-/tmp}/nlk-ingest-maintenance.XXXXXX")"
own_broker=0
own_minio=0
# The processes still running; each is cleared once waited for, so no stale pid is ever signalled.
ingest_pid="" producer_pid="" optimize_pid="" vacuum_pid="" reader_pid="" nlk_reader_pid=""
cleanup() {
  local rc=$?
  for pid in "$ingest_pid" "$producer_pid" "$optimize_pid" "$vacuum_pid" "$reader_pid" \
    "$nlk_reader_pid"; do
    [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
  done
  if ((own_broker)); then "$root/scripts/kafka.sh" stop >/dev/null || rc=1; fi
  if ((own_minio)); then "$root/scripts/minio.sh" stop >/dev/null || rc=1; fi
  if ((rc != 0)); then
    echo "$name: FAILED; last lines of the logs:" >&2
    for log in "$work"/*.log; do
      echo "--- $(basename "$log") (warnings and last lines)" >&2
      { grep -m 5 -e 'warning' -e 'FAILED' "$log" || true; tail -n 4 "$log"; } >&2
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
if [ "$store" = s3 ]; then
  if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
    if ! "$root/scripts/minio.sh" status >/dev/null 2>&1; then
      export NLK_MINIO_DIR="$work/minio"
      own_minio=1
      "$root/scripts/minio.sh" start
    fi
    eval "$("$root/scripts/minio.sh" env)"
  fi
  table="s3://${NLK_TEST_S3_BUCKET:-neuralake}/service/ingest-maintenance-$(date +%s)-$$/samples"
elif [ -n "${NLK_MAINT_KEEP:-}" ]; then
  mkdir "$NLK_MAINT_KEEP"
  table="$NLK_MAINT_KEEP/samples"
else
  table="$work/samples"
fi
expected="${NLK_MAINT_KEEP:-$work}/expected"
mkdir -p "$expected"

topic="nlk-maintenance-$mode-$(date +%s)-$$"
"$root/scripts/kafka.sh" create-topic "$topic" 4 >/dev/null 2>&1
expected_rows=$((producer_runs * devices * channels * rate))
datagen_run() {
  "$nlk" datagen --kind samples --devices "$devices" --channels "$channels" --rate "$rate" \
    --duration 1 --batch-rows 250 --start "2026-01-01T00:$(printf '%02d' "$1"):00Z" --seed "$1" \
    "${@:2}"
}
for ((run = 0; run < producer_runs; run++)); do
  datagen_run "$run" --out "$expected/run-$run.parquet" >/dev/null
done
started=$SECONDS

# Small flushes, so that compaction has many small files to work on.
"$nlk" ingest "$table" --bootstrap "$NLK_KAFKA_BOOTSTRAP" --topic "$topic" --group maintenance \
  --format arrow --schema-from-datagen samples --partition-by device_id \
  --max-rows 1000 --max-latency-ms 150 >"$work/ingest.log" 2>&1 &
ingest_pid=$!

# Producer runs of distinct time ranges, trickled so that the writer commits many small files.
# Chaos holds the last two back until the last compactor started, so that it has work to do.
background_runs=$producer_runs
[ "$mode" = chaos ] && background_runs=$((producer_runs - 2))
(
  for ((run = 0; run < background_runs; run++)); do
    datagen_run "$run" --kafka "$NLK_KAFKA_BOOTSTRAP" --topic "$topic" --format arrow
    sleep 1
  done
) >"$work/producer.log" 2>&1 &
producer_pid=$!

# The table exists once the writer's first commit lands.
until "$nlk" table describe "$table" >/dev/null 2>&1; do
  kill -0 "$ingest_pid" 2>/dev/null || {
    say "the writer exited before creating the table"
    exit 1
  }
  ((SECONDS - started < 60)) || {
    say "no table after 60 s"
    exit 1
  }
  sleep 0.2
done

# Chaos compacts into larger files, so each bin takes longer to rewrite and more kills land
# between writing a bin and committing it.
target_size=$([ "$mode" = chaos ] && echo 4194304 || echo 262144)
start_compactor() {
  "$nlk" optimize "$table" --every "$1" --target-size "$target_size" >>"$work/optimize.log" 2>&1 &
  optimize_pid=$!
}
# Chaos: short passes, so that a kill lands inside one (rewriting a bin, or committing it) most
# of the time.
start_compactor "$([ "$mode" = chaos ] && echo 0.2 || echo 1)"
# --record-history: the cleaner commits too (VACUUM START/END), so three processes commit at once.
"$nlk" vacuum "$table" --every 2 --retention-hours "$retention_hours" --allow-short-retention \
  --record-history >"$work/vacuum.log" 2>&1 &
vacuum_pid=$!

stop_file="$work/stop-readers"
# The delta-rs reader holds each snapshot up to 3 s before reading its files, like a slow query:
# a cleaner that deleted files a snapshot within the retention still needs would fail it.
"$python" "$check" reader "$table" --stop-file "$stop_file" --hold-seconds 3 \
  >"$work/reader-deltars.log" 2>&1 &
reader_pid=$!
(
  scans=0 failures=0 previous=0 count=0
  while [ ! -e "$stop_file" ]; do
    status=0
    count="$("$nlk" table read "$table" --columns sequence --format count 2>"$work/nlk-read.err")" ||
      status=$?
    if ((status == 0)); then
      scans=$((scans + 1))
      if ((count < previous)); then
        failures=$((failures + 1))
        echo "FAILED scan $scans: $count rows after $previous"
      fi
      previous=$count
    else
      failures=$((failures + 1))
      echo "FAILED scan: exit status $status: $(head -c 300 "$work/nlk-read.err") ${count:0:300}"
    fi
    sleep 0.3
  done
  echo "reader: $scans scans, $failures failed"
  ((failures == 0 && scans > 0))
) >"$work/reader-nlk.log" 2>&1 &
nlk_reader_pid=$!

if [ "$mode" = chaos ]; then
  # Each compactor is down for a second, so the writer commits new small files meanwhile, and
  # its first pass over them takes a few hundred milliseconds: odd kills land inside it
  # (mid-rewrite or mid-commit), even ones anywhere in the following passes or the sleeps
  # between them.
  for ((kill_number = 1; kill_number <= kills; kill_number++)); do
    if ((kill_number % 2)); then
      window="0.02 + rand() * 0.3"
    else
      window="0.2 + rand() * 1.0"
    fi
    sleep "$(awk -v seed="$RANDOM" "BEGIN { srand(seed); printf \"%.2f\", $window }")"
    kill -KILL "$optimize_pid"
    wait "$optimize_pid" 2>/dev/null || true
    optimize_pid=""
    sleep 1
    ((kill_number < kills)) || echo "--- restarted after the last SIGKILL" >>"$work/optimize.log"
    start_compactor 0.2
  done
  say "SIGKILLed the compactor $kills times; the last one keeps running"
  for ((run = background_runs; run < producer_runs; run++)); do
    datagen_run "$run" --kafka "$NLK_KAFKA_BOOTSTRAP" --topic "$topic" --format arrow \
      >>"$work/producer.log" 2>&1
    sleep 1
  done
fi

wait "$producer_pid"
producer_pid=""
say "produced $expected_rows samples in $((SECONDS - started)) s"
# The writer is done once the table holds every sample (it can never hold more without a bug
# the verification reports).
deadline=$((SECONDS + 90))
until count="$("$nlk" table read "$table" --columns sequence --format count 2>/dev/null)" &&
  ((count >= expected_rows)); do
  ((SECONDS < deadline)) || {
    say "the table holds ${count:-?} of $expected_rows samples after 90 s"
    exit 1
  }
  sleep 0.5
done
kill -TERM "$ingest_pid"
wait "$ingest_pid" || {
  say "the writer failed"
  exit 1
}
ingest_pid=""
say "ingested every sample in $((SECONDS - started)) s; $(tail -n 1 "$work/ingest.log")"

# Let the compactor finish the last small files, and the cleaner delete a good part of what it
# removed (tombstones expire 18 s after the compactor wrote them).
vacuum_deleted() {
  sed -n 's/^vacuumed .*: deleted \([0-9]*\) files.*/\1/p' "$work/vacuum.log" |
    awk '{ s += $1 } END { print s + 0 }'
}
last_optimize_lines="$(grep -c '^optimized' "$work/optimize.log" || true)"
deadline=$((SECONDS + 60))
until (($(grep -c '^optimized' "$work/optimize.log" || true) >= last_optimize_lines + 2)) &&
  (($(vacuum_deleted) >= 20)); do
  ((SECONDS < deadline)) || {
    say "the compactor or the cleaner made no progress for 60 s"
    exit 1
  }
  sleep 0.5
done
touch "$stop_file"
for pid in "$optimize_pid" "$vacuum_pid"; do kill -TERM "$pid"; done
status=0
wait "$optimize_pid" || status=1
wait "$vacuum_pid" || status=1
optimize_pid="" vacuum_pid=""
((status == 0)) || {
  say "a maintenance daemon did not exit cleanly on SIGTERM"
  exit 1
}
readers_ok=1
wait "$reader_pid" || {
  readers_ok=0
  say "the delta-rs reader failed: $(grep -m 3 FAILED "$work/reader-deltars.log")"
}
wait "$nlk_reader_pid" || {
  readers_ok=0
  say "the nlk reader failed: $(grep -m 3 FAILED "$work/reader-nlk.log")"
}
reader_pid="" nlk_reader_pid=""
((readers_ok)) || exit 1

optimize_passes="$(grep -c '^optimized' "$work/optimize.log" || true)"
optimize_commits="$(sed -n 's/^optimized .*: \([0-9]*\) of .*/\1/p' "$work/optimize.log" |
  awk '{ s += $1 } END { print s + 0 }')"
say "readers: $(tail -n 1 "$work/reader-deltars.log" | sed 's/reader: //') (delta-rs)," \
  "$(tail -n 1 "$work/reader-nlk.log" | sed 's/reader: //') (nlk)"
say "compactor: $optimize_passes passes, $optimize_commits bins committed; cleaner deleted" \
  "$(vacuum_deleted) files"
if [ "$mode" = chaos ]; then
  after_kills="$(sed -n '/^--- restarted after the last SIGKILL/,$p' "$work/optimize.log" |
    sed -n 's/^optimized .*: \([0-9]*\) of .*/\1/p' | awk '{ s += $1 } END { print s + 0 }')"
  ((after_kills > 0)) || {
    say "the compactor restarted after the last SIGKILL committed nothing"
    exit 1
  }
  say "the compactor restarted after the last SIGKILL committed $after_kills bins"
fi

"$python" "$check" verify "$table" --expected "$expected" \
  >"$work/verify.json" 2>"$work/verify.log" || {
  say "verification failed: $(cat "$work/verify.json")"
  exit 1
}
say "verified: $(cat "$work/verify.json")"
if [ "$mode" = chaos ]; then
  # Evidence of where the kills landed: bins a compactor committed but was killed before
  # reporting, and files it wrote but was killed before committing.
  read -r log_optimize_commits never_committed temporary_files < <("$python" -c '
import json, sys
summary = json.load(open(sys.argv[1]))
print(summary["operations"].get("OPTIMIZE", 0), summary["never_committed_files"],
      summary.get("temporary_files", "n/a"))' "$work/verify.json")
  say "killed compactors: $((log_optimize_commits - optimize_commits)) OPTIMIZE commits landed" \
    "unreported, $never_committed files written but never committed," \
    "$temporary_files temporary files left mid-write"
fi

# With every process stopped, a zero-retention vacuum must leave exactly the live files: what
# killed compactors wrote but never committed is found and deleted, and nothing live is touched.
"$nlk" vacuum "$table" --retention-hours 0 --allow-short-retention >"$work/final-vacuum.log" 2>&1 || {
  say "the final vacuum failed: $(cat "$work/final-vacuum.log")"
  exit 1
}
say "final $(cat "$work/final-vacuum.log")"
"$python" "$check" verify "$table" --expected "$expected" --after-final-vacuum \
  >"$work/verify-final.json" 2>"$work/verify-final.log" || {
  say "verification after the final vacuum failed: $(cat "$work/verify-final.json")"
  exit 1
}
say "passed in $((SECONDS - started)) s"
