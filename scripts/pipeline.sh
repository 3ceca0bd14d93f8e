#!/usr/bin/env bash
# Runs the whole data flow on loopback: MinIO and Kafka, live devices producing to Kafka
# (`nlk datagen --realtime`), `nlk ingest` into Delta tables on S3, the optimize and vacuum
# daemons, `nlk serve --catalog` over every table of the catalog with its status page, and the
# Spark ELT job that rolls the samples up, run in local mode on a schedule.
#
#   scripts/pipeline.sh start [FLAGS]  start everything not yet running, print where it is
#   scripts/pipeline.sh run [FLAGS]    start, then stay in the foreground until Ctrl-C (SIGINT)
#                                      or SIGTERM, which stops everything as stop does
#                                      (make pipeline; make pipeline PIPELINE_ARGS="--devices 8")
#   scripts/pipeline.sh stop           stop in order: producer, ingest (which flushes), ELT, the
#                                      maintenance daemons, serve, then Kafka and MinIO if start
#                                      started them (services already running are left running)
#   scripts/pipeline.sh stop-producer  stop the devices only (their manifest is written); the
#                                      rest runs on and drains what they sent
#   scripts/pipeline.sh status         what runs (exit 3 if something is not running)
#
# FLAGS scale the simulated devices (each overrides its environment setting below):
#   --devices N       devices (2)
#   --channels C      channels per device (8)
#   --rate HZ         samples per channel per second (250)
#   --seed S          the simulation's seed (42)
#   --malformed-fraction F
#                     the chance per message that a device also sends a malformed one (0.01)
# They apply to the producer that this start launches; one already running keeps its own.
#
# nlk serve serves the catalog's tables under the pipeline's root, those that do not exist yet
# too: the dead-letter table (created by ingest's first rejected message) and the ELT outputs
# (created by their job's first run) answer 404 table_not_created until they appear, and are
# served from then on without a restart. Its status page shows ingest's own /metrics (samples
# and commits per second), which nlk serve fetches for it (--status-metrics).
#
# Restarting resumes where the flow stopped: ingest commits its Kafka offsets with the data, so
# every message is in the table exactly once across restarts. Each start of the producer is a new
# recording session of the devices, `session_id` run-<UTC start time>; its manifest (what it
# sent) is written when it stops, to $NLK_PIPELINE_DIR/manifests/<the same time>.json. Each ELT
# run, when it ends, appends a row (job, started, finished, exit_status) to the Delta table
# pipeline/elt_runs under the root, served as pipeline.elt_runs.
#
# Settings (environment; the defaults fit a 2-core machine):
#   NLK_BIN                          the nlk binary (default build/tools/nlk)
#   NLK_PIPELINE_DIR                 pids, logs, manifests, ELT runs (default var/pipeline)
#   NLK_PIPELINE_ROOT                the catalog root the tables live under (s3://neuralake/lake)
#   NLK_PIPELINE_DEVICES / _CHANNELS / _RATE / _SEED
#                                    the simulated devices: 2 devices of 8 channels at 250 Hz, seed 42
#   NLK_PIPELINE_MALFORMED_FRACTION  the share of messages followed by a malformed one (0.01)
#   NLK_PIPELINE_TOPIC, _PARTITIONS  the Kafka topic (neural.samples, 2 partitions)
#   NLK_PIPELINE_SERVE_PORT          nlk serve (8080); /ui is the status page
#   NLK_PIPELINE_METRICS_PORT        ingest's /metrics; optimize and vacuum use the next two (9464)
#   NLK_PIPELINE_INGEST_LATENCY_MS   ingest's --max-latency-ms: the longest a sample waits to be
#                                    committed (500; compaction merges the smaller files)
#   NLK_PIPELINE_OPTIMIZE_EVERY      seconds between compactions (30)
#   NLK_PIPELINE_VACUUM_EVERY        seconds between vacuums (300), with
#   NLK_PIPELINE_RETENTION_HOURS     the vacuum retention (1; must exceed the longest query)
#   NLK_PIPELINE_ELT_EVERY           seconds between ELT runs (300; 0: no ELT)
#   NLK_MINIO_PORT, NLK_KAFKA_PORT, NLK_SPARK_MASTER_UI_PORT: as for scripts/minio.sh, kafka.sh,
#                                    spark.sh; the ELT runs' Spark UI uses NLK_SPARK_MASTER_UI_PORT
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/process.sh
. "$root/scripts/lib/process.sh"
nlk="${NLK_BIN:-$root/build/tools/nlk}"
state_dir="${NLK_PIPELINE_DIR:-$root/var/pipeline}"
lake="${NLK_PIPELINE_ROOT:-s3://neuralake/lake}"
devices="${NLK_PIPELINE_DEVICES:-2}"
channels="${NLK_PIPELINE_CHANNELS:-8}"
rate="${NLK_PIPELINE_RATE:-250}"
seed="${NLK_PIPELINE_SEED:-42}"
malformed="${NLK_PIPELINE_MALFORMED_FRACTION:-0.01}"
topic="${NLK_PIPELINE_TOPIC:-neural.samples}"
ingest_latency_ms="${NLK_PIPELINE_INGEST_LATENCY_MS:-500}"
partitions="${NLK_PIPELINE_PARTITIONS:-2}"
serve_port="${NLK_PIPELINE_SERVE_PORT:-8080}"
metrics_port="${NLK_PIPELINE_METRICS_PORT:-9464}"
optimize_every="${NLK_PIPELINE_OPTIMIZE_EVERY:-30}"
vacuum_every="${NLK_PIPELINE_VACUUM_EVERY:-300}"
retention_hours="${NLK_PIPELINE_RETENTION_HOURS:-1}"
elt_every="${NLK_PIPELINE_ELT_EVERY:-300}"
spark_ui_port="${NLK_SPARK_MASTER_UI_PORT:-4040}"

samples="$lake/neural/samples"
dead_letters="$lake/neural/samples_dead_letters"
elt_runs="$lake/pipeline/elt_runs"
pid_dir="$state_dir/pids"
log_dir="$state_dir/logs"
elt_dir="$state_dir/elt"
usage="usage: scripts/pipeline.sh start|run [--devices N] [--channels C] [--rate HZ] [--seed S]
                            [--malformed-fraction F]
       scripts/pipeline.sh stop|status|stop-producer"

die() {
  echo "pipeline.sh: $*" >&2
  exit 1
}

usage_error() {
  echo "pipeline.sh: $*" >&2
  echo "$usage" >&2
  exit 2
}

# Reads the flags of start and run into the settings they override.
parse_flags() {
  local flag value
  while [ $# -gt 0 ]; do
    flag="$1"
    case "$flag" in
      --*=*)
        value="${flag#*=}"
        flag="${flag%%=*}"
        shift
        ;;
      --devices | --channels | --rate | --seed | --malformed-fraction)
        [ $# -ge 2 ] || usage_error "$flag needs a value"
        value="$2"
        shift 2
        ;;
      *) usage_error "unknown argument '$flag'" ;;
    esac
    case "$flag" in
      --devices | --channels)
        [[ "$value" =~ ^[1-9][0-9]*$ ]] || usage_error "$flag must be a positive whole number, not '$value'"
        ;;
      --seed)
        [[ "$value" =~ ^[0-9]+$ ]] || usage_error "--seed must be a whole number, not '$value'"
        ;;
      --rate | --malformed-fraction)
        [[ "$value" =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)$ ]] ||
          usage_error "$flag must be a number, not '$value'"
        ;;
      *) usage_error "unknown flag '$flag'" ;;
    esac
    case "$flag" in
      --devices) devices="$value" ;;
      --channels) channels="$value" ;;
      --rate) rate="$value" ;;
      --seed) seed="$value" ;;
      --malformed-fraction) malformed="$value" ;;
    esac
  done
}

say() { echo "pipeline.sh: $*" >&2; }

pid_of() {
  local file="$pid_dir/$1.pid" pid
  [ -f "$file" ] || return 1
  pid="$(cat "$file")"
  process_alive "$pid" || return 1
  echo "$pid"
}

# Starts a command in its own session (so that stop reaches its children too), logging to
# $log_dir/NAME.log.
launch() {
  local name="$1"
  shift
  if pid_of "$name" >/dev/null; then
    say "$name already runs (pid $(pid_of "$name"))"
    return
  fi
  setsid "$@" >>"$log_dir/$name.log" 2>&1 </dev/null &
  echo $! >"$pid_dir/$name.pid"
  say "started $name (pid $!, log $log_dir/$name.log)"
}

# SIGTERM to NAME's process group, then waits up to TIMEOUT seconds before SIGKILL.
halt() {
  local name="$1" timeout="$2" pid waited=0
  if ! pid="$(pid_of "$name")"; then
    rm -f "$pid_dir/$name.pid"
    # An explicit 0: in the Ctrl-C trap a bare return would return the status of the command
    # the signal interrupted (130), which ends the script under set -e half way through stop.
    return 0
  fi
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  while process_alive "$pid"; do
    if [ "$waited" -ge $((timeout * 10)) ]; then
      say "$name did not stop within ${timeout}s: SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$pid_dir/$name.pid"
  say "stopped $name"
}

wait_for_http() {
  local url="$1" what="$2" waited=0
  until curl -sf -o /dev/null "$url"; do
    [ "$waited" -lt 600 ] || die "$what did not answer at $url within 60 s"
    sleep 0.1
    waited=$((waited + 1))
  done
}

# Waits up to SECONDS for the table URI to exist; fails if it does not by then.
wait_for_table() {
  local uri="$1" seconds="$2" waited=0
  until "$nlk" table describe "$uri" >/dev/null 2>&1; do
    [ "$waited" -lt $((seconds * 2)) ] || return 1
    sleep 0.5
    waited=$((waited + 1))
  done
}

# Appends one row to the ELT runs table: job, started, finished (UTC, ISO 8601), exit status.
record_elt_run() {
  local row="$elt_dir/run.parquet" verb=append
  "$nlk" sql --format parquet --out "$row" \
    "SELECT '$1' AS job, TIMESTAMPTZ '$2' AS started, TIMESTAMPTZ '$3' AS finished,
            CAST($4 AS INTEGER) AS exit_status" || return
  "$nlk" table describe "$elt_runs" >/dev/null 2>&1 || verb=create
  "$nlk" table "$verb" "$elt_runs" --input "$row" >/dev/null
}

# Runs the ELT job every $elt_every seconds; each run is a row of the ELT runs table, which
# nlk serve serves (the status page shows each job's last run).
elt_loop() {
  local started finished status
  while :; do
    started="$(date -u +%FT%T.%6NZ)"
    echo "--- $started downsample"
    status=0
    "$root/scripts/spark.sh" submit --master local[1] \
      --conf "spark.ui.port=$spark_ui_port" "$root/jobs/downsample.py" --root "$lake" ||
      status=$?
    finished="$(date -u +%FT%T.%6NZ)"
    [ "$status" -eq 0 ] || echo "downsample failed (exit $status); retried in ${elt_every}s"
    record_elt_run downsample "$started" "$finished" "$status" ||
      echo "could not record the run in $elt_runs"
    sleep "$elt_every"
  done
}

start() {
  [ -x "$nlk" ] || die "no nlk at $nlk: build it first (make nlk) or set NLK_BIN"
  mkdir -p "$pid_dir" "$log_dir" "$state_dir/manifests" "$elt_dir"
  # Services that already run (another pipeline's, a test suite's) are used and left running.
  local service
  for service in minio kafka; do
    if ! "$root/scripts/$service.sh" status >/dev/null 2>&1; then
      "$root/scripts/$service.sh" start
      touch "$state_dir/started-$service"
    fi
  done
  eval "$("$root/scripts/minio.sh" env)"
  eval "$("$root/scripts/kafka.sh" env)"
  "$root/scripts/kafka.sh" create-topic "$topic" "$partitions"
  export NLK_CATALOG_ROOT="$lake" NLK_BIN="$nlk"

  launch ingest "$nlk" ingest "$samples" --bootstrap "$NLK_KAFKA_BOOTSTRAP" --topic "$topic" \
    --format arrow --schema-from-datagen samples --partition-by date \
    --dead-letter-table "$dead_letters" --metrics-address "127.0.0.1:$metrics_port" \
    --max-latency-ms "$ingest_latency_ms"
  local session
  session="$(date -u +%Y%m%dT%H%M%SZ)"
  launch producer "$nlk" datagen --realtime --kafka "$NLK_KAFKA_BOOTSTRAP" --topic "$topic" \
    --format arrow --devices "$devices" --channels "$channels" --rate "$rate" --seed "$seed" \
    --malformed-fraction "$malformed" --session "run-$session" \
    --manifest "$state_dir/manifests/$session.json"
  # Every table of the catalog, created or not yet: serve picks each up when it appears.
  launch serve "$nlk" serve --catalog --root "$lake" -t "pipeline.elt_runs=$elt_runs" \
    --status-metrics "ingest=127.0.0.1:$metrics_port" -a "127.0.0.1:$serve_port"
  wait_for_http "http://127.0.0.1:$serve_port/health" "nlk serve"
  # Ingest creates the table with its first commit; the maintenance daemons need it to exist.
  wait_for_table "$samples" 60 || die "no table $samples after 60 s (see $log_dir/ingest.log)"
  launch optimize "$nlk" optimize "$samples" --every "$optimize_every" \
    --metrics-address "127.0.0.1:$((metrics_port + 1))"
  launch vacuum "$nlk" vacuum "$samples" --every "$vacuum_every" \
    --retention-hours "$retention_hours" --allow-short-retention \
    --metrics-address "127.0.0.1:$((metrics_port + 2))"

  if [ "$elt_every" -gt 0 ]; then
    if "$root/scripts/spark.sh" status >/dev/null 2>&1; then
      export -f elt_loop record_elt_run
      export root lake elt_every spark_ui_port nlk elt_dir elt_runs
      launch elt bash -c elt_loop
    else
      say "Spark is not installed (scripts/spark.sh install): no ELT runs"
    fi
  fi
  print_urls
}

print_urls() {
  local base="http://127.0.0.1:$serve_port"
  cat <<EOF

Status page:   $base/ui?table=neural.samples&deadletters=neural.samples_dead_letters&elt=neural.samples_rollup&runs=pipeline.elt_runs
SQL endpoint:  curl -s -w '\n' $base/api/sql -d "SELECT device_id, count(*) AS samples, max(timestamp) AS newest FROM \"neural.samples\" GROUP BY device_id ORDER BY device_id"
Metrics:       $base/metrics   ingest http://127.0.0.1:$metrics_port/metrics
Catalog site:  $nlk catalog site --out $state_dir/site   (then open $state_dir/site/index.html)
Spark UI:      http://127.0.0.1:$spark_ui_port (while an ELT run is going)
Stop:          scripts/pipeline.sh stop
EOF
}

stop() {
  # The producer first, so that ingest drains what it sent; ingest flushes on SIGTERM.
  halt producer 30
  halt ingest 60
  halt elt 60
  halt optimize 60
  halt vacuum 60
  halt serve 30
  local service
  for service in kafka minio; do
    if [ -f "$state_dir/started-$service" ]; then
      "$root/scripts/$service.sh" stop || true
      rm -f "$state_dir/started-$service"
    fi
  done
}

status() {
  local missing=0 name
  for name in producer ingest optimize vacuum serve elt; do
    if pid="$(pid_of "$name")"; then
      echo "$name: running (pid $pid)"
    elif [ "$name" = elt ] && { [ "$elt_every" -eq 0 ] || ! "$root/scripts/spark.sh" status >/dev/null 2>&1; }; then
      echo "elt: off (NLK_PIPELINE_ELT_EVERY=0, or Spark not installed)"
    else
      echo "$name: not running"
      missing=1
    fi
  done
  "$root/scripts/minio.sh" status || missing=1
  "$root/scripts/kafka.sh" status || missing=1
  [ "$missing" -eq 0 ] && print_urls
  return $((missing * 3))
}

run() {
  # Set before start, so that a Ctrl-C while starting stops what has started.
  trap 'echo >&2; stop; exit 0' INT TERM
  start
  say "running; Ctrl-C stops everything"
  while :; do sleep 1; done
}

command="${1:-}"
[ $# -eq 0 ] || shift
case "$command" in
  start | run) parse_flags "$@" ;;
  stop | status | stop-producer) [ $# -eq 0 ] || usage_error "$command takes no arguments" ;;
  "") usage_error "no command given" ;;
  *) usage_error "unknown command '$command'" ;;
esac
case "$command" in
  start) start ;;
  run) run ;;
  stop-producer) halt producer 30 ;;
  stop) stop ;;
  status) status ;;
esac
