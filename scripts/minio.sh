#!/usr/bin/env bash
# Runs a local MinIO (the S3 API for development and tests), on loopback only.
#
#   scripts/minio.sh install   build the pinned version (below) into var/bin with `go install`,
#                              unless that version is there already
#   scripts/minio.sh start     install if needed, start, wait until healthy, create the buckets
#   scripts/minio.sh stop      stop the server started from the same data directory
#   scripts/minio.sh status    exit 0 and print the endpoint if it is running, exit 3 if not
#   scripts/minio.sh env       print `export AWS_...` lines; use as: eval "$(scripts/minio.sh env)"
#
# Settings (environment):
#   NLK_MINIO_PORT          S3 API port (default 9000); the console listens on NLK_MINIO_CONSOLE_PORT
#                           (default: the API port + 1)
#   NLK_MINIO_DIR           state directory: data/, minio.pid, minio.log (default var/minio)
#   NLK_MINIO_BUCKETS       extra buckets to create, separated by spaces or commas; `neuralake`
#                           is always created
#   MINIO_ROOT_USER         access key (default minioadmin)
#   MINIO_ROOT_PASSWORD     secret key (default minioadmin)
#   NLK_MINIO_BIN           a MinIO binary to use instead of var/bin/minio (used as it is)
#   NLK_MINIO_TLS=1         serve HTTPS with a certificate for 127.0.0.1 and localhost, signed by
#                           a CA made once in NLK_MINIO_DIR/certs (openssl); `env` then points
#                           AWS_CA_BUNDLE at that CA, so clients verify the server
#   NLK_MINIO_KMS=1         enable server-side encryption with a built-in key named `neuralake`
#                           (made once in NLK_MINIO_DIR/kms.key), for AWS_SERVER_SIDE_ENCRYPTION=
#                           AES256 or aws:kms with AWS_SSE_KMS_KEY_ID=neuralake
set -euo pipefail

# The MinIO server every machine builds and tests against; change it deliberately, and run the
# S3 tests (make test) with the new one. MinIO names its releases with tags that are not semantic
# versions, so the Go module proxy knows them by pseudo-version (the date and commit).
minio_version="v0.0.0-20260212201848-7aac2a2c5b7c"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/process.sh
. "$root/scripts/lib/process.sh"
port="${NLK_MINIO_PORT:-9000}"
console_port="${NLK_MINIO_CONSOLE_PORT:-$((port + 1))}"
state_dir="${NLK_MINIO_DIR:-$root/var/minio}"
user="${MINIO_ROOT_USER:-minioadmin}"
password="${MINIO_ROOT_PASSWORD:-minioadmin}"
binary="${NLK_MINIO_BIN:-$root/var/bin/minio}"
# Names the version the binary was built from, so a changed pin rebuilds it.
version_stamp="$root/var/bin/minio.version"
# MinIO accepts any region name; the SigV4 signature only has to agree with it.
region="us-east-1"
tls="${NLK_MINIO_TLS:-0}"
kms="${NLK_MINIO_KMS:-0}"
certs_dir="$state_dir/certs"
ca_file="$certs_dir/CAs/neuralake-ca.crt"
if [ "$tls" = 1 ]; then
  endpoint="https://127.0.0.1:$port"
  curl_tls=(--cacert "$ca_file")
else
  endpoint="http://127.0.0.1:$port"
  curl_tls=()
fi
pid_file="$state_dir/minio.pid"
log_file="$state_dir/minio.log"

die() {
  echo "minio.sh: $*" >&2
  exit 1
}

install_minio() {
  if [ -n "${NLK_MINIO_BIN:-}" ]; then
    [ -x "$binary" ] || die "NLK_MINIO_BIN=$binary is not an executable file"
    return 0
  fi
  if [ -x "$binary" ] && [ "$(cat "$version_stamp" 2>/dev/null)" = "$minio_version" ]; then
    return 0
  fi
  command -v go >/dev/null || die "'go' is not on PATH; install Go (https://go.dev/dl/) or set NLK_MINIO_BIN"
  mkdir -p "$(dirname "$binary")"
  echo "minio.sh: building MinIO $minio_version with 'go install' (takes a few minutes)" >&2
  rm -f "$version_stamp"
  # GOBIN must be absolute; the module cache stays in the user's GOPATH so rebuilds are cheap.
  GOBIN="$(cd "$(dirname "$binary")" && pwd)" GOFLAGS="${GOFLAGS:--buildvcs=false}" \
    go install "github.com/minio/minio@$minio_version"
  [ -x "$binary" ] || die "go install finished but $binary is missing"
  echo "$minio_version" >"$version_stamp"
}

# The pid in the pid file, if that process is alive and still a MinIO server (pids are reused).
running_pid() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid="$(cat "$pid_file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  process_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "minio server" || return 1
  echo "$pid"
}

healthy() {
  curl -fsS "${curl_tls[@]}" -o /dev/null --max-time 2 "$endpoint/minio/health/live" 2>/dev/null
}

# A CA and a server certificate it signs, in the layout MinIO's --certs-dir expects
# (public.crt, private.key, and CAs/ for the CAs it trusts). Made once; kept across restarts.
make_certificates() {
  [ -f "$certs_dir/public.crt" ] && [ -f "$certs_dir/private.key" ] && [ -f "$ca_file" ] && return
  command -v openssl >/dev/null || die "NLK_MINIO_TLS=1 needs the openssl command"
  mkdir -p "$certs_dir/CAs"
  local work
  work="$(mktemp -d)"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Neuralake test CA" \
    -keyout "$work/ca.key" -out "$ca_file" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$certs_dir/private.key" -out "$work/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$work/ext"
  openssl x509 -req -in "$work/server.csr" -CA "$ca_file" -CAkey "$work/ca.key" \
    -CAcreateserial -days 3650 -extfile "$work/ext" -out "$certs_dir/public.crt" 2>/dev/null
  rm -rf "$work"
  echo "minio.sh: made a CA ($ca_file) and a server certificate for 127.0.0.1" >&2
}

# MinIO's built-in KMS: one named 256-bit key, made once.
kms_secret_key() {
  local key_file="$state_dir/kms.key"
  if [ ! -f "$key_file" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 >"$key_file")
  fi
  echo "neuralake:$(cat "$key_file")"
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

signed_curl() {
  curl -sS "${curl_tls[@]}" --max-time 10 --user "$user:$password" --aws-sigv4 "aws:amz:$region:s3" "$@"
}

create_bucket() {
  local bucket="$1" code
  code="$(signed_curl -o /dev/null -w '%{http_code}' -X PUT "$endpoint/$bucket")"
  case "$code" in
    200) echo "minio.sh: created bucket $bucket" >&2 ;;
    409) ;;  # BucketAlreadyOwnedByYou: a restart over existing data.
    *) die "creating bucket '$bucket' at $endpoint failed with HTTP $code" ;;
  esac
}

start_minio() {
  install_minio
  mkdir -p "$state_dir/data"
  if pid="$(running_pid)"; then
    echo "minio.sh: already running (pid $pid) at $endpoint" >&2
  else
    for p in "$port" "$console_port"; do
      if port_in_use "$p"; then
        die "port $p on 127.0.0.1 is taken by another process; choose others with NLK_MINIO_PORT / NLK_MINIO_CONSOLE_PORT"
      fi
    done
    local extra=() kms_env=()
    if [ "$tls" = 1 ]; then
      make_certificates
      extra=(--certs-dir "$certs_dir")
    fi
    [ "$kms" = 1 ] && kms_env=("MINIO_KMS_SECRET_KEY=$(kms_secret_key)")
    # setsid: the server must outlive this script and not receive the caller's terminal signals.
    env MINIO_ROOT_USER="$user" MINIO_ROOT_PASSWORD="$password" MINIO_UPDATE=off \
      MINIO_BROWSER_REDIRECT=off "${kms_env[@]}" \
      setsid "$binary" server --quiet --address "127.0.0.1:$port" \
      --console-address "127.0.0.1:$console_port" "${extra[@]}" "$state_dir/data" \
      >>"$log_file" 2>&1 </dev/null &
    echo $! >"$pid_file"
  fi
  local waited=0
  until healthy; do
    if ! running_pid >/dev/null; then
      tail -n 20 "$log_file" >&2 || true
      die "MinIO exited during startup; see $log_file"
    fi
    ((waited++ < 300)) || die "MinIO did not become healthy at $endpoint within 30 s; see $log_file"
    sleep 0.1
  done
  local buckets="neuralake ${NLK_MINIO_BUCKETS:-}"
  for bucket in ${buckets//,/ }; do
    create_bucket "$bucket"
  done
  echo "minio.sh: running at $endpoint (console http://127.0.0.1:$console_port), data in $state_dir/data" >&2
}

stop_minio() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pid_file"
    echo "minio.sh: not running" >&2
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 100); do
    process_alive "$pid" || break
    sleep 0.1
  done
  if process_alive "$pid"; then
    echo "minio.sh: pid $pid ignored SIGTERM for 10 s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file"
  echo "minio.sh: stopped" >&2
}

case "${1:-}" in
  install) install_minio ;;
  start) start_minio ;;
  stop) stop_minio ;;
  status)
    if pid="$(running_pid)" && healthy; then
      echo "running (pid $pid) at $endpoint"
    else
      echo "not running"
      exit 3
    fi
    ;;
  env)
    cat <<EOF
export AWS_ACCESS_KEY_ID=$user
export AWS_SECRET_ACCESS_KEY=$password
export AWS_REGION=$region
export AWS_ENDPOINT_URL=$endpoint
EOF
    if [ "$tls" = 1 ]; then
      echo "export AWS_CA_BUNDLE=$ca_file"
    else
      echo "export AWS_ALLOW_HTTP=true"
    fi
    ;;
  *)
    echo "usage: $0 install|start|stop|status|env" >&2
    exit 2
    ;;
esac
