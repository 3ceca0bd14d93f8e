#!/usr/bin/env bash
# Apache Spark + Delta Lake (delta-spark) for the interop tests. Spark is a test tool here, never
# part of the product.
#
#   scripts/spark.sh install   install pyspark + delta-spark (scripts/requirements-spark.txt) into
#                              the project venv and fetch the Delta jars into var/jars with Maven
#                              (scripts/spark-jars/pom.xml); idempotent, then runs `verify` once
#   scripts/spark.sh verify    start a local SparkSession with the Delta jars, write and read a
#                              Delta table under a temp dir, print how long each step took
#   scripts/spark.sh env       print `export ...` lines for the tests; use as:
#                              eval "$(scripts/spark.sh env)"
#   scripts/spark.sh status    exit 0 if installed, 3 if not
#
# Why Maven and spark.jars rather than `--packages io.delta:...`: Spark's Ivy resolver may not reach
# the registry from these machines, Maven does (ENGINEERING.md §4).
#
# Settings (environment):
#   NLK_SPARK_JARS_DIR   where the jars go (default var/jars); a manifest listing exactly the
#                        Delta jars is written next to them (delta-spark.jars)
#   JAVA_HOME            a Java 17 (found from `java` on PATH when unset)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="$venv/bin/python"
requirements="$root/scripts/requirements-spark.txt"
pom="$root/scripts/spark-jars/pom.xml"
jars_dir="${NLK_SPARK_JARS_DIR:-$root/var/jars}"
manifest="$jars_dir/delta-spark.jars"
stamp="$venv/.spark-stamp"

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

# What the installed state must match: both pins and the pom.
want_stamp() {
  cat "$requirements" "$pom" | sha256sum | cut -d' ' -f1
}

installed() {
  [ -x "$python" ] || return 1
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(want_stamp)" ] || return 1
  [ -s "$manifest" ] || return 1
  local jar
  while IFS= read -r jar; do
    [ -f "$jar" ] || return 1
  done <"$manifest"
}

fetch_jars() {
  command -v mvn >/dev/null || die "'mvn' is not on PATH (Debian package 'maven')"
  mkdir -p "$jars_dir"
  local tmp
  tmp="$(mktemp -d "$jars_dir/.fetch.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" RETURN
  echo "spark.sh: fetching Delta jars with Maven into $jars_dir" >&2
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime >&2 ||
    die "mvn dependency:copy-dependencies failed (is Maven Central reachable?)"
  compgen -G "$tmp/delta-spark_2.13-*.jar" >/dev/null || die "Maven did not produce delta-spark_2.13"
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
    echo "spark.sh: already installed ($(tr '\n' ' ' <"$manifest"))" >&2
    return 0
  fi
  echo "spark.sh: installing $(grep -v '^#' "$requirements" | tr '\n' ' ')into $venv" >&2
  "$python" -m pip install -q --disable-pip-version-check -r "$requirements"
  fetch_jars
  verify
  want_stamp >"$stamp"
}

print_env() {
  installed || die "not installed; run: scripts/spark.sh install"
  local jh
  jh="$(java_home)"
  cat <<EOF
export JAVA_HOME=$jh
export NLK_SPARK_JARS=$(paste -sd, "$manifest")
export PYSPARK_PYTHON=$python
export SPARK_LOCAL_IP=127.0.0.1
EOF
}

verify() {
  local jh
  jh="$(java_home)" || die "no java"
  JAVA_HOME="$jh" NLK_SPARK_JARS="$(paste -sd, "$manifest")" PYSPARK_PYTHON="$python" \
    SPARK_LOCAL_IP=127.0.0.1 "$python" "$root/tests/interop/spark_session.py" --smoke
}

case "${1:-}" in
  install) install ;;
  verify)
    [ -s "$manifest" ] || die "no jars; run: scripts/spark.sh install"
    verify
    ;;
  env) print_env ;;
  status)
    if installed; then
      echo "installed: $(tr '\n' ' ' <"$manifest")"
    else
      echo "not installed"
      exit 3
    fi
    ;;
  *)
    echo "usage: $0 install|verify|env|status" >&2
    exit 2
    ;;
esac
