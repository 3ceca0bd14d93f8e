#!/usr/bin/env bash
# Apache Spark with Delta Lake (delta-spark) and S3A: the batch engine that runs the ELT jobs in
# jobs/ on the same Delta tables nlk writes, on this machine or on a cluster (docs/spark.md).
#
#   scripts/spark.sh install   install pyspark + delta-spark (scripts/requirements-spark.txt) into
#                              the project venv and fetch the Delta, hadoop-aws and AWS SDK jars
#                              into var/jars with Maven (scripts/spark-jars/pom.xml); idempotent,
#                              then runs `verify` once
#   scripts/spark.sh verify    start a local SparkSession with the jars, write and read a Delta
#                              table under a temp dir, print how long each step took
#   scripts/spark.sh env       print `export ...` lines for tools that start Spark themselves
#                              (the interop tests); use as: eval "$(scripts/spark.sh env)"
#   scripts/spark.sh status    exit 0 if installed, 3 if not
#
#   scripts/spark.sh cluster start [--workers N]
#                              a standalone master and N workers (default 2) on 127.0.0.1, each
#                              worker with NLK_SPARK_WORKER_CORES cores and NLK_SPARK_WORKER_MEMORY;
#                              waits until every worker has registered, prints the master URL and
#                              the UI addresses
#   scripts/spark.sh cluster stop
#   scripts/spark.sh cluster status
#                              exit 0 and print the master URL, UIs and live workers if running,
#                              exit 3 if not
#   scripts/spark.sh submit [SPARK-SUBMIT OPTIONS] JOB.py [JOB ARGUMENTS]
#                              spark-submit JOB.py to $NLK_SPARK_MASTER, else to the cluster above
#                              when it runs, else to local[*]; the jars go on the class path and
#                              the S3 settings come from the AWS_* variables (jobs/neuralake_jobs)
#
# Why Maven and an explicit class path rather than `--packages io.delta:...`: Spark's Ivy resolver
# may not reach the registry from these machines, Maven does. The class path (not spark.jars)
# because the AWS SDK bundle is over 500 MB: spark.jars would copy it into every application's
# work directory, a class path entry is read in place.
#
# Settings (environment):
#   NLK_SPARK_JARS_DIR          where the jars go (default var/jars), with a manifest listing them
#                               (jars.manifest)
#   NLK_SPARK_DIR               cluster state: pids, logs, worker directories (default var/spark)
#   NLK_SPARK_MASTER_PORT       master RPC port (default 7077)
#   NLK_SPARK_MASTER_UI_PORT    master web UI port (default 8080)
#   NLK_SPARK_WORKER_UI_PORT    first worker's web UI port (default 8081; worker i uses it + i)
#   NLK_SPARK_WORKERS           workers started by `cluster start` (default 2)
#   NLK_SPARK_WORKER_CORES      cores per worker (default 1)
#   NLK_SPARK_WORKER_MEMORY     memory per worker, which is also each executor's (default 1g)
#   NLK_SPARK_DRIVER_MEMORY     the submitting driver's heap (default 1g)
#   NLK_SPARK_MASTER            master URL for `submit` (default: see above)
#   NLK_SPARK_START_TIMEOUT     seconds to wait for the cluster (default 60)
#   JAVA_HOME                   a Java 17 (found from `java` on PATH when unset)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/process.sh
. "$root/scripts/lib/process.sh"
venv="$root/.venv"
python="$venv/bin/python"
requirements="$root/scripts/requirements-spark.txt"
pom="$root/scripts/spark-jars/pom.xml"
jars_dir="${NLK_SPARK_JARS_DIR:-$root/var/jars}"
manifest="$jars_dir/jars.manifest"
jars_stamp="$jars_dir/jars.stamp"
pip_stamp="$venv/.spark-requirements-stamp"
state_dir="${NLK_SPARK_DIR:-$root/var/spark}"
master_port="${NLK_SPARK_MASTER_PORT:-7077}"
master_ui_port="${NLK_SPARK_MASTER_UI_PORT:-8080}"
worker_ui_port="${NLK_SPARK_WORKER_UI_PORT:-8081}"
workers="${NLK_SPARK_WORKERS:-2}"
worker_cores="${NLK_SPARK_WORKER_CORES:-1}"
worker_memory="${NLK_SPARK_WORKER_MEMORY:-1g}"
driver_memory="${NLK_SPARK_DRIVER_MEMORY:-1g}"
start_timeout="${NLK_SPARK_START_TIMEOUT:-60}"
master_url="spark://127.0.0.1:$master_port"
# Spark's own log4j2 defaults print every INFO line; ours keep warnings and errors.
export SPARK_CONF_DIR="${SPARK_CONF_DIR:-$root/scripts/spark-conf}"

die() {
  echo "spark.sh: $*" >&2
  exit 1
}

java_home() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    echo "$JAVA_HOME"
    return 0
  fi
  local java
  java="$(command -v java)" || return 1
  java="$(readlink -f "$java")"
  dirname "$(dirname "$java")"
}

spark_home() {
  "$python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))' 2>/dev/null
}

sha() {
  cat "$@" | sha256sum | cut -d' ' -f1
}

pip_installed() {
  [ -x "$python" ] && [ -f "$pip_stamp" ] && [ "$(cat "$pip_stamp")" = "$(sha "$requirements")" ]
}

jars_installed() {
  [ -f "$jars_stamp" ] && [ "$(cat "$jars_stamp")" = "$(sha "$pom")" ] || return 1
  [ -s "$manifest" ] || return 1
  local jar
  while IFS= read -r jar; do
    [ -f "$jar" ] || return 1
  done <"$manifest"
}

installed() {
  pip_installed && jars_installed
}

# hadoop-aws calls Hadoop internals, so it must be the release pyspark ships; a mismatch fails
# only at the first s3a:// access, with a NoSuchMethodError.
check_hadoop_version() {
  local home shipped wanted
  home="$(spark_home)" || die "pyspark is not importable from $python"
  shipped="$(find "$home/jars" -name 'hadoop-client-api-*.jar' -printf '%f\n' | sed 's/hadoop-client-api-\(.*\)\.jar/\1/')"
  wanted="$(sed -n 's:.*<hadoop.version>\(.*\)</hadoop.version>.*:\1:p' "$pom")"
  [ -n "$shipped" ] || die "no hadoop-client-api jar in $home/jars"
  [ "$shipped" = "$wanted" ] ||
    die "pyspark ships Hadoop $shipped but $pom asks for hadoop-aws $wanted; set hadoop.version to $shipped"
}

fetch_jars() {
  command -v mvn >/dev/null || die "'mvn' is not on PATH (Debian package 'maven')"
  mkdir -p "$jars_dir"
  local tmp
  tmp="$(mktemp -d "$jars_dir/.fetch.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" RETURN
  echo "spark.sh: fetching the Delta and S3A jars with Maven into $jars_dir" >&2
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime >&2 ||
    die "mvn dependency:copy-dependencies failed (is Maven Central reachable?)"
  compgen -G "$tmp/delta-spark_2.13-*.jar" >/dev/null || die "Maven did not produce delta-spark_2.13"
  compgen -G "$tmp/hadoop-aws-*.jar" >/dev/null || die "Maven did not produce hadoop-aws"
  local jar names=()
  for jar in "$tmp"/*.jar; do
    mv -f "$jar" "$jars_dir/"
    names+=("$jars_dir/$(basename "$jar")")
  done
  printf '%s\n' "${names[@]}" >"$manifest.tmp"
  mv -f "$manifest.tmp" "$manifest"
}

install() {
  [ -x "$python" ] || die "no venv at $venv; run scripts/bootstrap.sh first"
  java_home >/dev/null || die "no 'java' on PATH; Spark 4 needs Java 17 (Debian: openjdk-17-jre-headless)"
  if installed; then
    echo "spark.sh: already installed ($(wc -l <"$manifest") jars in $jars_dir)" >&2
    return 0
  fi
  if ! pip_installed; then
    echo "spark.sh: installing $(grep -v '^#' "$requirements" | tr '\n' ' ')into $venv" >&2
    "$python" -m pip install -q --disable-pip-version-check -r "$requirements"
    sha "$requirements" >"$pip_stamp"
  fi
  check_hadoop_version
  if ! jars_installed; then
    fetch_jars
    verify
    sha "$pom" >"$jars_stamp"
  fi
}

class_path() {
  paste -sd: "$manifest"
}

print_env() {
  installed || die "not installed; run: scripts/spark.sh install"
  cat <<EOF
export JAVA_HOME=$(java_home)
export NLK_SPARK_CLASSPATH=$(class_path)
export PYSPARK_PYTHON=$python
export SPARK_LOCAL_IP=127.0.0.1
export SPARK_CONF_DIR=$SPARK_CONF_DIR
EOF
}

verify() {
  local jh
  jh="$(java_home)" || die "no java"
  JAVA_HOME="$jh" NLK_SPARK_CLASSPATH="$(class_path)" PYSPARK_PYTHON="$python" \
    SPARK_LOCAL_IP=127.0.0.1 "$python" "$root/tests/interop/spark_session.py" --smoke
}

# --- the standalone cluster --------------------------------------------------------------------

# The pid in a pid file, if that process is alive and still the Spark daemon it was (pids are
# reused).
daemon_pid() {
  local pid_file="$1" class="$2" pid
  [ -f "$pid_file" ] || return 1
  pid="$(cat "$pid_file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  process_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$class" || return 1
  echo "$pid"
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The master's view of the cluster, as JSON (its web UI serves it).
master_json() {
  curl -fsS --max-time 2 "http://127.0.0.1:$master_ui_port/json/" 2>/dev/null
}

alive_workers() {
  master_json | "$python" -c 'import json, sys; print(json.load(sys.stdin).get("aliveworkers", 0))' \
    2>/dev/null || echo 0
}

# Starts one daemon detached from this shell (setsid), so it outlives the script and does not get
# the terminal's signals. Daemons get a small heap: they only schedule, executors do the work.
start_daemon() {
  local name="$1" class="$2"
  shift 2
  local home
  home="$(spark_home)"
  JAVA_HOME="$(java_home)" SPARK_HOME="$home" SPARK_LOCAL_IP=127.0.0.1 \
    SPARK_DAEMON_MEMORY="${SPARK_DAEMON_MEMORY:-256m}" PYSPARK_PYTHON="$python" \
    setsid "$home/bin/spark-class" "$class" "$@" >>"$state_dir/$name.log" 2>&1 </dev/null &
  echo $! >"$state_dir/$name.pid"
}

cluster_start() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --workers)
        workers="${2:-}"
        shift 2
        ;;
      *) die "cluster start: unknown option '$1' (expected --workers N)" ;;
    esac
  done
  [[ "$workers" =~ ^[1-9][0-9]*$ ]] || die "--workers must be a positive number, got '$workers'"
  installed || install
  mkdir -p "$state_dir"
  if daemon_pid "$state_dir/master.pid" deploy.master.Master >/dev/null; then
    die "a cluster is already running from $state_dir; stop it first (scripts/spark.sh cluster stop)"
  fi
  local ports=("$master_port" "$master_ui_port") i
  for ((i = 0; i < workers; i++)); do ports+=("$((worker_ui_port + i))"); done
  for p in "${ports[@]}"; do
    port_in_use "$p" &&
      die "port $p on 127.0.0.1 is taken; choose others with NLK_SPARK_MASTER_PORT, NLK_SPARK_MASTER_UI_PORT, NLK_SPARK_WORKER_UI_PORT"
  done
  rm -f "$state_dir"/*.pid
  start_daemon master org.apache.spark.deploy.master.Master \
    --host 127.0.0.1 --port "$master_port" --webui-port "$master_ui_port"
  for ((i = 0; i < workers; i++)); do
    mkdir -p "$state_dir/worker-$i"
    start_daemon "worker-$i" org.apache.spark.deploy.worker.Worker \
      --host 127.0.0.1 --webui-port "$((worker_ui_port + i))" --cores "$worker_cores" \
      --memory "$worker_memory" --work-dir "$state_dir/worker-$i" "$master_url"
  done
  local waited=0
  until [ "$(alive_workers)" -ge "$workers" ]; do
    if ! daemon_pid "$state_dir/master.pid" deploy.master.Master >/dev/null; then
      tail -n 20 "$state_dir/master.log" >&2 || true
      cluster_stop >/dev/null 2>&1
      die "the master exited during startup; see $state_dir/master.log"
    fi
    if ((waited++ >= start_timeout * 2)); then
      cluster_stop >/dev/null 2>&1
      die "$workers workers did not register within $start_timeout s; see $state_dir/*.log"
    fi
    sleep 0.5
  done
  cluster_describe
}

cluster_describe() {
  echo "master   $master_url  (UI http://127.0.0.1:$master_ui_port)"
  local pid_file i
  for pid_file in "$state_dir"/worker-*.pid; do
    [ -f "$pid_file" ] || continue
    i="$(basename "$pid_file" .pid)"
    i="${i#worker-}"
    if daemon_pid "$pid_file" deploy.worker.Worker >/dev/null; then
      echo "worker-$i UI http://127.0.0.1:$((worker_ui_port + i))  ($worker_cores cores, $worker_memory)"
    else
      echo "worker-$i not running"
    fi
  done
  echo "alive workers: $(alive_workers); submit with: scripts/spark.sh submit jobs/JOB.py (master $master_url)"
}

stop_daemon() {
  local pid_file="$1" class="$2" pid
  if pid="$(daemon_pid "$pid_file" "$class")"; then
    kill -TERM "$pid"
    for _ in $(seq 100); do
      process_alive "$pid" || break
      sleep 0.1
    done
    process_alive "$pid" && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$pid_file"
}

cluster_stop() {
  local pid_file stopped=0
  # Workers first, so they do not spend their last seconds reconnecting to a stopped master.
  for pid_file in "$state_dir"/worker-*.pid; do
    [ -f "$pid_file" ] || continue
    stop_daemon "$pid_file" deploy.worker.Worker
    stopped=1
  done
  if [ -f "$state_dir/master.pid" ]; then
    stop_daemon "$state_dir/master.pid" deploy.master.Master
    stopped=1
  fi
  if [ "$stopped" = 1 ]; then echo "spark.sh: cluster stopped" >&2; else echo "spark.sh: not running" >&2; fi
}

cluster_status() {
  if daemon_pid "$state_dir/master.pid" deploy.master.Master >/dev/null && master_json >/dev/null; then
    cluster_describe
  else
    echo "not running"
    exit 3
  fi
}

# --- submitting jobs ---------------------------------------------------------------------------

default_master() {
  if [ -n "${NLK_SPARK_MASTER:-}" ]; then
    echo "$NLK_SPARK_MASTER"
  elif daemon_pid "$state_dir/master.pid" deploy.master.Master >/dev/null; then
    echo "$master_url"
  else
    echo "local[*]"
  fi
}

submit() {
  [ $# -gt 0 ] || die "usage: scripts/spark.sh submit [SPARK-SUBMIT OPTIONS] JOB.py [ARGUMENTS]"
  installed || die "not installed; run: scripts/spark.sh install"
  local options=() master="" arg
  while [ $# -gt 0 ]; do
    arg="$1"
    case "$arg" in
      *.py) break ;;
      --master)
        master="${2:-}"
        shift 2
        ;;
      *)
        options+=("$arg")
        shift
        ;;
    esac
  done
  [ $# -gt 0 ] || die "submit: no JOB.py given"
  [ -f "$1" ] || die "submit: no such job file: $1"
  [ -n "$master" ] || master="$(default_master)"
  local home cp
  home="$(spark_home)"
  cp="$(class_path)"
  # The jobs find nlk (for the catalog manifest) in the build tree unless told otherwise.
  if [ -z "${NLK_BIN:-}" ] && [ -x "$root/build/tools/nlk" ]; then
    export NLK_BIN="$root/build/tools/nlk"
  fi
  echo "spark.sh: submitting $1 to $master" >&2
  JAVA_HOME="$(java_home)" SPARK_HOME="$home" SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}" \
    PYSPARK_PYTHON="$python" PYSPARK_DRIVER_PYTHON="$python" \
    "$home/bin/spark-submit" --master "$master" --driver-memory "$driver_memory" \
    --conf "spark.driver.extraClassPath=$cp" --conf "spark.executor.extraClassPath=$cp" \
    --conf "spark.executor.memory=$worker_memory" --conf "spark.pyspark.python=$python" \
    ${options[@]+"${options[@]}"} "$@"
}

case "${1:-}" in
  install) install ;;
  verify)
    jars_installed || die "no jars; run: scripts/spark.sh install"
    verify
    ;;
  env) print_env ;;
  status)
    if installed; then
      echo "installed: $(wc -l <"$manifest") jars in $jars_dir"
    else
      echo "not installed"
      exit 3
    fi
    ;;
  cluster)
    case "${2:-}" in
      start)
        shift 2
        cluster_start "$@"
        ;;
      stop) cluster_stop ;;
      status) cluster_status ;;
      *) die "usage: $0 cluster start [--workers N]|stop|status" ;;
    esac
    ;;
  submit)
    shift
    submit "$@"
    ;;
  *)
    echo "usage: $0 install|verify|env|status|cluster start|stop|status|submit JOB.py [ARGS]" >&2
    exit 2
    ;;
esac
