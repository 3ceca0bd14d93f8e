#!/usr/bin/env bash
# Kafka smoke test: builds tests/service/kafka_smoke.cc against librdkafka (Debian librdkafka-dev)
# into a temp dir, creates a fresh 4-partition topic with scripts/kafka.sh, and produces and
# consumes through the real broker. Exits non-zero on any failure.
#
# Uses the broker of scripts/kafka.sh if one is running for the current settings (NLK_KAFKA_DIR,
# NLK_KAFKA_PORT, ...). Otherwise it starts its own in a temp state dir and stops it afterwards;
# set NLK_KAFKA_PORT / NLK_KAFKA_CONTROLLER_PORT if 9092/9093 are taken.
#
# Settings (environment): NLK_SMOKE_MESSAGES (default 40), CXX (default g++).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
kafka="$root/scripts/kafka.sh"
messages="${NLK_SMOKE_MESSAGES:-40}"
partitions=4

work="$(mktemp -d "${TMPDIR:-/tmp}/nlk-kafka-smoke.XXXXXX")"
own_broker=0
cleanup() {
  local rc=$?
  if ((own_broker)); then
    "$kafka" stop || rc=1
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

echo "kafka_smoke.sh: building kafka_smoke" >&2
"${CXX:-g++}" -std=c++20 -Wall -Wextra -Werror -O1 "$root/tests/service/kafka_smoke.cc" \
  -o "$work/kafka_smoke" -lrdkafka++ -lrdkafka

if ! "$kafka" status >/dev/null; then
  export NLK_KAFKA_DIR="$work/kafka"
  own_broker=1
  echo "kafka_smoke.sh: no broker running; starting one in $NLK_KAFKA_DIR" >&2
  "$kafka" start
fi
eval "$("$kafka" env)"

topic="nlk-smoke-$(date +%s)-$$"
"$kafka" create-topic "$topic" "$partitions"
"$work/kafka_smoke" "$NLK_KAFKA_BOOTSTRAP" "$topic" "$partitions" "$messages"
