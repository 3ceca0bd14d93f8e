#!/usr/bin/env bash
# Tests against real services and real third-party tools: starts a private MinIO on loopback,
# and a Kafka broker (KRaft), runs the S3 and Kafka tests of the C++ suite against them, then the interop suite (delta-rs, Spark,
# Polars, DuckDB) with pytest. Everything it starts is stopped on exit.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${1:-build}"
cd "$root"

scripts/minio.sh install
scripts/spark.sh install
scripts/kafka.sh install
# promtool checks deploy/prometheus in the interop suite (tests/interop/test_deploy.py).
scripts/promtool.sh install

state="$(mktemp -d)"
export NLK_MINIO_DIR="$state/minio"
export NLK_MINIO_PORT="${NLK_TEST_MINIO_PORT:-19000}"
# A KMS key, so the encryption tests can ask for SSE-S3 and SSE-KMS; other writes stay as they are.
export NLK_MINIO_KMS=1 NLK_TEST_S3_KMS_KEY=neuralake
export NLK_KAFKA_DIR="$state/kafka"
export NLK_KAFKA_PORT="${NLK_TEST_KAFKA_PORT:-19092}"
# A SASL_SSL listener as well, for tests/interop/test_kafka_security.py.
export NLK_KAFKA_SECURE_PORT="${NLK_TEST_KAFKA_SECURE_PORT:-19094}"
stop_services() {
  scripts/minio.sh stop >/dev/null 2>&1 || true
  scripts/kafka.sh stop >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap stop_services EXIT
scripts/minio.sh start
scripts/kafka.sh start
eval "$(scripts/minio.sh env)"
eval "$(scripts/spark.sh env)"
eval "$(scripts/kafka.sh env)"
export NLK_TEST_S3_ENDPOINT="$AWS_ENDPOINT_URL"
export NLK_BIN="$root/$build_dir/tools/nlk"
export NLK_REQUIRE_SPARK=1
export NLK_REQUIRE_BROWSER=1

ctest --test-dir "$build_dir" -L "s3|kafka" --output-on-failure
tests/service/ingest_chaos.sh
# Writer, compactor and cleaner as concurrent processes on one table; the local e2e runs in the
# interop suite below (tests/interop/test_ingest_maintenance.py), which then reads it with Spark.
tests/service/ingest_maintenance.sh e2e s3
tests/service/ingest_maintenance.sh chaos local
tests/service/ingest_maintenance.sh chaos s3
# DELETE and UPDATE in a loop while ingest appends (docs/dml.md, "Commits and conflicts").
tests/service/ingest_dml.sh deletion-vectors
tests/service/ingest_dml.sh copy-on-write
tests/service/kafka_smoke.sh
# The test tables live under the state directory, which goes when this script ends.
.venv/bin/python -m pytest -q --basetemp "$state/pytest" tests/interop
# The Python package (docs/python.md), built from this tree into .venv (incrementally, in
# build-python/) and tested against the same nlk; its clean-venv test builds it once more in a
# fresh venv with only PyPI packages.
# CXX=c++: the compiler CMake picks for build/, so ccache finds the objects compiled there (its
# hash includes the compiler's name, and the Python build would otherwise pick g++).
CXX="${CXX:-c++}" .venv/bin/pip install --disable-pip-version-check -q --no-build-isolation .
.venv/bin/python -m pytest -q --basetemp "$state/pytest-python" tests/python
