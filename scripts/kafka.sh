#!/usr/bin/env bash
# Runs a local Apache Kafka broker in KRaft mode (no ZooKeeper), on loopback only: one process that
# is both broker and controller, with a standalone (single-voter) controller quorum. The jars come
# from Maven Central (scripts/kafka-jars/pom.xml) and run on the machine's Java 17.
#
#   scripts/kafka.sh install           fetch the Kafka jars into var/kafka/libs with Maven; idempotent
#   scripts/kafka.sh start             install if needed, format the storage if it is not (a fresh
#                                      cluster id), start the broker, wait until it serves metadata
#   scripts/kafka.sh stop              SIGTERM (a clean shutdown), SIGKILL after NLK_KAFKA_STOP_TIMEOUT
#   scripts/kafka.sh status            exit 0 and print the bootstrap address if running, 3 if not
#   scripts/kafka.sh env               print `export NLK_KAFKA_BOOTSTRAP=...`; use as:
#                                      eval "$(scripts/kafka.sh env)"
#   scripts/kafka.sh create-topic NAME PARTITIONS
#                                      create a topic (replication factor 1) unless it exists
#   scripts/kafka.sh topics            list the topics with their partitions
#   scripts/kafka.sh reset             delete the stored data (the broker must be stopped); the next
#                                      start formats a new cluster
#
# Settings (environment):
#   NLK_KAFKA_PORT             client listener port on 127.0.0.1 (default 9092)
#   NLK_KAFKA_CONTROLLER_PORT  KRaft controller listener port (default: the client port + 1)
#   NLK_KAFKA_DIR              state directory: data/, logs/, server.properties, kafka.pid
#                              (default var/kafka)
#   NLK_KAFKA_LIBS             where the jars go (default var/kafka/libs, shared by every state dir)
#   NLK_KAFKA_HEAP             broker heap, -Xmx (default 512m)
#   NLK_KAFKA_START_TIMEOUT    seconds to wait for the broker to become ready (default 60)
#   NLK_KAFKA_STOP_TIMEOUT     seconds to wait for a clean shutdown before SIGKILL (default 30)
#   NLK_KAFKA_SECURE_PORT      also listen on this port with SASL_SSL: TLS with a certificate for
#                              127.0.0.1 from a CA made once in NLK_KAFKA_DIR/tls (openssl), and
#                              SASL/PLAIN login as user `neuralake` with the password in
#                              NLK_KAFKA_DIR/tls/sasl-password; `env` then prints the settings a
#                              client needs (NLK_KAFKA_SECURE_BOOTSTRAP, _CA, _USER, _PASSWORD)
#   JAVA_HOME                  a Java 17+ (else `java` on PATH)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/process.sh
. "$root/scripts/lib/process.sh"
pom="$root/scripts/kafka-jars/pom.xml"
log4j_config="$root/scripts/kafka-jars/log4j2.properties"
port="${NLK_KAFKA_PORT:-9092}"
controller_port="${NLK_KAFKA_CONTROLLER_PORT:-$((port + 1))}"
state_dir="${NLK_KAFKA_DIR:-$root/var/kafka}"
libs_dir="${NLK_KAFKA_LIBS:-$root/var/kafka/libs}"
heap="${NLK_KAFKA_HEAP:-512m}"
start_timeout="${NLK_KAFKA_START_TIMEOUT:-60}"
stop_timeout="${NLK_KAFKA_STOP_TIMEOUT:-30}"
bootstrap="127.0.0.1:$port"
secure_port="${NLK_KAFKA_SECURE_PORT:-}"
tls_dir="$state_dir/tls"
sasl_user="neuralake"
data_dir="$state_dir/data"
logs_dir="$state_dir/logs"
config="$state_dir/server.properties"
pid_file="$state_dir/kafka.pid"
# The controller port the storage was formatted for: with a standalone quorum the voter set,
# endpoint included, is written into the metadata log at format time.
formatted_for="$state_dir/formatted-controller-port"
stamp="$libs_dir/.installed"

die() {
  echo "kafka.sh: $*" >&2
  exit 1
}

java_bin() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    echo "$JAVA_HOME/bin/java"
  else
    command -v java || die "no 'java' on PATH and JAVA_HOME is unset; install a Java 17 (Debian openjdk-17-jre-headless)"
  fi
}

check_java() {
  local java version major
  java="$(java_bin)"
  version="$("$java" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n1)"
  major="${version%%.*}"
  if ! [[ "$major" =~ ^[0-9]+$ ]] || ((major < 17)); then
    die "Kafka 4 needs Java 17 or newer; $java is '${version:-unknown}'"
  fi
}

# What the installed jars must match: the pom (versions and exclusions).
want_stamp() {
  sha256sum "$pom" | cut -d' ' -f1
}

installed() {
  [ -f "$stamp" ] && [ "$(head -n1 "$stamp")" = "$(want_stamp)" ] || return 1
  local jar
  while IFS= read -r jar; do
    [ -f "$libs_dir/$jar" ] || return 1
  done < <(tail -n +2 "$stamp")
}

install_kafka() {
  installed && return 0
  command -v mvn >/dev/null || die "'mvn' is not on PATH (Debian package 'maven')"
  check_java
  mkdir -p "$(dirname "$libs_dir")"
  local tmp
  tmp="$(mktemp -d "$(dirname "$libs_dir")/.libs.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  echo "kafka.sh: fetching the Kafka jars from Maven Central into $libs_dir" >&2
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime >&2 ||
    die "mvn dependency:copy-dependencies failed (is Maven Central reachable?)"
  compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || die "Maven did not produce kafka_2.13"
  # The classpath is libs/*, so the directory must hold exactly this set: replace it whole.
  { want_stamp; (cd "$tmp" && ls -1 -- *.jar); } >"$tmp/.installed"
  rm -rf "$libs_dir"
  mv "$tmp" "$libs_dir"
  trap - EXIT
  echo "kafka.sh: installed $(($(wc -l <"$stamp") - 1)) jars ($(du -sh "$libs_dir" | cut -f1))" >&2
}

# The pid in the pid file, if that process is alive and still this state dir's broker.
running_pid() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid="$(cat "$pid_file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  process_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $config" || return 1
  echo "$pid"
}

# The client port of the broker running from this state dir (from the config it was started with).
running_port() {
  sed -n 's|^listeners=PLAINTEXT://127\.0\.0\.1:\([0-9]*\),.*|\1|p' "$config" 2>/dev/null
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Runs one of Kafka's command-line tools (a class in libs/) in a small, quick-starting JVM.
kafka_tool() {
  local class="$1"
  shift
  "$(java_bin)" -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
    -Djava.awt.headless=true -Dlog4j2.level=ERROR -cp "$libs_dir/*" "$class" "$@"
}

# Client settings for the admin tools: fail in seconds, not minutes, when the broker is away.
tool_config() {
  local file="$state_dir/tools.properties"
  cat >"$file" <<EOF
request.timeout.ms=5000
default.api.timeout.ms=15000
EOF
  echo "$file"
}

# A CA, and a broker certificate it signs for 127.0.0.1, as PEM files Kafka reads directly
# (ssl.keystore.type=PEM), and the SASL/PLAIN password. Made once; kept across restarts.
make_secure_material() {
  [ -f "$tls_dir/broker.pem" ] && [ -f "$tls_dir/ca.crt" ] && [ -f "$tls_dir/sasl-password" ] &&
    return
  command -v openssl >/dev/null || die "NLK_KAFKA_SECURE_PORT needs the openssl command"
  mkdir -p "$tls_dir"
  chmod 700 "$tls_dir"
  local work
  work="$(mktemp -d)"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Neuralake Kafka test CA" \
    -keyout "$work/ca.key" -out "$tls_dir/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$work/broker.key" \
    -out "$work/broker.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$work/ext"
  openssl x509 -req -in "$work/broker.csr" -CA "$tls_dir/ca.crt" -CAkey "$work/ca.key" \
    -CAcreateserial -days 3650 -extfile "$work/ext" -out "$work/broker.crt" 2>/dev/null
  # Kafka's PEM key store: the PKCS#8 private key, then the certificate chain.
  openssl pkcs8 -topk8 -nocrypt -in "$work/broker.key" -out "$tls_dir/broker.pem"
  cat "$work/broker.crt" "$tls_dir/ca.crt" >>"$tls_dir/broker.pem"
  head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$tls_dir/sasl-password"
  rm -rf "$work"
  echo "kafka.sh: made a CA ($tls_dir/ca.crt) and a broker certificate for 127.0.0.1" >&2
}

# The SASL_SSL listener's lines of server.properties (none without NLK_KAFKA_SECURE_PORT).
secure_listener_config() {
  [ -n "$secure_port" ] || return 0
  cat <<EOF

# SASL_SSL on $secure_port: TLS, then SASL/PLAIN with the one user below.
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$sasl_user="$(cat "$tls_dir/sasl-password")";
ssl.keystore.type=PEM
ssl.keystore.location=$tls_dir/broker.pem
ssl.enabled.protocols=TLSv1.3,TLSv1.2
EOF
}

write_config() {
  local listeners="PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port"
  if [ -n "$secure_port" ]; then
    make_secure_material
    listeners="$listeners,SASL_SSL://127.0.0.1:$secure_port"
  fi
  cat >"$config" <<EOF
# Written by scripts/kafka.sh on every start; edit the script, not this file.
# One node that is both broker and controller (KRaft), standalone controller quorum.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$controller_port
listeners=$listeners
advertised.listeners=$listeners
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
log.dirs=$data_dir

# A single node: every internal topic has one replica.
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# A new group waits 100 ms for more members before its first generation (Kafka's default is
# 3 s): writers started together then form one generation, instead of the first forming it
# alone and the group rebalancing a second later when the next one arrives.
group.initial.rebalance.delay.ms=100
auto.create.topics.enable=false

# Small: the machine is shared with compiles.
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
num.replica.fetchers=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=16777216
log.segment.bytes=67108864
log.retention.hours=24
log.retention.bytes=1073741824
EOF
  secure_listener_config >>"$config"
  chmod 600 "$config"
}

# A fresh cluster id: 16 random bytes in URL-safe base64 without padding, as Kafka's
# Uuid.randomUuid() makes them (which also avoids a leading '-').
new_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [ "${id:0:1}" != "-" ] && break
  done
  echo "$id"
}

format_storage() {
  if [ -f "$data_dir/meta.properties" ]; then
    local was
    was="$(cat "$formatted_for" 2>/dev/null || true)"
    if [ -n "$was" ] && [ "$was" != "$controller_port" ]; then
      die "the storage in $data_dir was formatted with the controller on port $was, not $controller_port; use that port (NLK_KAFKA_CONTROLLER_PORT) or run 'scripts/kafka.sh reset' first"
    fi
    return 0
  fi
  mkdir -p "$data_dir"
  local id
  id="$(new_cluster_id)"
  if ! kafka_tool kafka.tools.StorageTool format --standalone --cluster-id "$id" \
    --config "$config" >"$logs_dir/format.log" 2>&1; then
    cat "$logs_dir/format.log" >&2
    die "formatting the storage in $data_dir failed"
  fi
  echo "$controller_port" >"$formatted_for"
  echo "kafka.sh: formatted $data_dir (cluster id $id)" >&2
}

# Ready: the broker answers a metadata request and lists topics.
ready() {
  port_in_use "$port" || return 1
  kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
    --command-config "$(tool_config)" --list >/dev/null 2>&1
}

log_tail() {
  local f
  for f in "$logs_dir/server.log" "$logs_dir/kafka.out"; do
    if [ -s "$f" ]; then
      echo "----- last lines of $f -----" >&2
      tail -n 30 "$f" >&2
    fi
  done
}

start_kafka() {
  install_kafka
  check_java
  mkdir -p "$data_dir" "$logs_dir"
  local pid
  if pid="$(running_pid)"; then
    local was
    was="$(running_port)"
    [ "$was" = "$port" ] ||
      die "a broker from $state_dir is already running on port ${was:-?}, not $port; 'scripts/kafka.sh stop' it first"
    echo "kafka.sh: already running (pid $pid)" >&2
  else
    local p
    for p in "$port" "$controller_port" $secure_port; do
      if port_in_use "$p"; then
        die "port $p on 127.0.0.1 is taken by another process; choose others with NLK_KAFKA_PORT / NLK_KAFKA_CONTROLLER_PORT"
      fi
    done
    write_config
    format_storage
    # kafka.out holds what the JVM itself prints (e.g. a bad option): keep only this start's.
    [ ! -f "$logs_dir/kafka.out" ] || mv -f "$logs_dir/kafka.out" "$logs_dir/kafka.out.prev"
    # setsid: the broker must outlive this script and not receive the caller's terminal signals.
    # The GC flags are those of Kafka's own kafka-server-start.sh, with a small heap.
    setsid "$(java_bin)" -Xms128m -Xmx"$heap" -XX:MaxDirectMemorySize=256m \
      -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
      -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
      -Dkafka.logs.dir="$logs_dir" -Dlog4j2.configurationFile="$log4j_config" \
      -cp "$libs_dir/*" kafka.Kafka "$config" \
      >>"$logs_dir/kafka.out" 2>&1 </dev/null &
    echo $! >"$pid_file"
  fi
  local deadline=$((SECONDS + start_timeout))
  until ready; do
    if ! running_pid >/dev/null; then
      log_tail
      rm -f "$pid_file"
      die "the Kafka broker exited during startup; see $logs_dir"
    fi
    if ((SECONDS >= deadline)); then
      log_tail
      # A half-started broker would hold the ports and memory: stop it (the logs stay).
      stop_kafka
      die "the Kafka broker did not become ready at $bootstrap within $start_timeout s; see $logs_dir"
    fi
    sleep 0.5
  done
  echo "kafka.sh: running (pid $(cat "$pid_file")) at $bootstrap, data in $data_dir, logs in $logs_dir" >&2
}

stop_kafka() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pid_file"
    echo "kafka.sh: not running" >&2
    return 0
  fi
  kill -TERM "$pid"
  local deadline=$((SECONDS + stop_timeout))
  while process_alive "$pid" && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if process_alive "$pid"; then
    echo "kafka.sh: pid $pid did not shut down within $stop_timeout s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    while process_alive "$pid"; do sleep 0.1; done
  fi
  rm -f "$pid_file"
  echo "kafka.sh: stopped" >&2
}

# Also points the admin tools at the port the running broker was started with.
require_running() {
  running_pid >/dev/null || die "Kafka is not running (state dir $state_dir); run 'scripts/kafka.sh start'"
  port="$(running_port)"
  bootstrap="127.0.0.1:$port"
secure_port="${NLK_KAFKA_SECURE_PORT:-}"
tls_dir="$state_dir/tls"
sasl_user="neuralake"
}

create_topic() {
  local name="${1:-}" partitions="${2:-}"
  if [ -z "$name" ] || ! [[ "$partitions" =~ ^[1-9][0-9]*$ ]]; then
    die "usage: scripts/kafka.sh create-topic NAME PARTITIONS"
  fi
  require_running
  kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
    --command-config "$(tool_config)" --create --if-not-exists --topic "$name" \
    --partitions "$partitions" --replication-factor 1 >&2 ||
    die "creating topic '$name' failed"
  local have
  have="$(kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
    --command-config "$(tool_config)" --describe --topic "$name" |
    sed -n 's/.*PartitionCount: *\([0-9]*\).*/\1/p' | head -n1)"
  [ "$have" = "$partitions" ] ||
    die "topic '$name' exists with ${have:-an unknown number of} partitions, not $partitions"
  echo "kafka.sh: topic $name has $partitions partitions" >&2
}

case "${1:-}" in
  install) install_kafka ;;
  start) start_kafka ;;
  stop) stop_kafka ;;
  status)
    if pid="$(running_pid)" && port="$(running_port)" && port_in_use "$port"; then
      echo "running (pid $pid) at 127.0.0.1:$port"
    else
      echo "not running"
      exit 3
    fi
    ;;
  env)
    # The running broker's port wins over the setting: it is where clients must go.
    if running_pid >/dev/null && p="$(running_port)" && [ -n "$p" ]; then
      port="$p"
    fi
    echo "export NLK_KAFKA_BOOTSTRAP=127.0.0.1:$port"
    secure="$(sed -n 's|^listeners=.*SASL_SSL://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$config" 2>/dev/null || true)"
    if [ -n "$secure" ] && running_pid >/dev/null; then
      echo "export NLK_KAFKA_SECURE_BOOTSTRAP=127.0.0.1:$secure"
      echo "export NLK_KAFKA_SECURE_CA=$tls_dir/ca.crt"
      echo "export NLK_KAFKA_SECURE_USER=$sasl_user"
      echo "export NLK_KAFKA_SECURE_PASSWORD=$(cat "$tls_dir/sasl-password")"
    fi
    ;;
  create-topic)
    shift
    create_topic "$@"
    ;;
  topics)
    require_running
    kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
      --command-config "$(tool_config)" --describe --exclude-internal
    ;;
  reset)
    ! running_pid >/dev/null || die "Kafka is running; 'scripts/kafka.sh stop' first"
    rm -rf "$data_dir" "$formatted_for"
    echo "kafka.sh: removed $data_dir" >&2
    ;;
  *)
    echo "usage: $0 install|start|stop|status|env|create-topic NAME PARTITIONS|topics|reset" >&2
    exit 2
    ;;
esac
