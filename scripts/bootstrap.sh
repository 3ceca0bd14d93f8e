#!/usr/bin/env bash
# Installs what building nlk and running the demo need, idempotently: Debian packages, and a
# project-local Python venv (.venv) holding the pyarrow wheel whose headers and shared libraries
# are our Arrow C++.
#
#   scripts/bootstrap.sh           what `make demo` needs
#   scripts/bootstrap.sh --tests   also what the tests need (`make test`): a headless browser and
#                                  the Python packages of the interop tests
#
# Each phase prints one line; its full output is in var/log/ and printed if it fails.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

tests=false
case "${1:-}" in
  "") ;;
  --tests) tests=true ;;
  *)
    echo "usage: $0 [--tests]" >&2
    exit 2
    ;;
esac

apt_packages=(
  build-essential cmake ninja-build pkg-config clang-format
  libsimdjson-dev libroaring-dev libcli11-dev libfmt-dev nlohmann-json3-dev
  libcurl4-openssl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libpg-query-dev librdkafka-dev libboost-dev libyaml-cpp-dev libssl-dev
)
if $tests; then
  apt_packages+=(chromium)  # headless browser for tests/interop/test_catalog_site.py
  # psql and javac (the JDBC client), for tests/interop/test_serve_postgres.py
  apt_packages+=(postgresql-client-15 openjdk-17-jdk-headless)
  # the HTTP load generator of bench/serve_bench.py and `make bench-check`
  apt_packages+=(wrk)
fi
missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  scripts/phase.sh apt-update "bootstrap: updating the Debian package lists" \
    "${sudo_cmd[@]}" apt-get update
  scripts/phase.sh apt-install "bootstrap: installing ${#missing[@]} Debian packages (${missing[*]})" \
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

# Python: pinned versions in scripts/requirements*.txt, each file installed once per change.
python_bin="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  scripts/phase.sh venv "bootstrap: creating the Python venv .venv" "$python_bin" -m venv .venv
fi
install_requirements() {
  local file="$1" description="$2"
  local stamp=".venv/.$(basename "$file" .txt)-stamp"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(cat "$file")" ]; then
    return 0
  fi
  scripts/phase.sh "pip-$(basename "$file" .txt)" "bootstrap: installing $description" \
    .venv/bin/pip install --disable-pip-version-check -r "$file"
  cp "$file" "$stamp"
}
install_requirements scripts/requirements.txt "pyarrow (Arrow C++ for the build) into .venv"
# The wheel ships only versioned libraries (libarrow.so.2600); the linker wants plain names.
.venv/bin/python -c "import pyarrow; pyarrow.create_library_symlinks()"
if $tests; then
  install_requirements scripts/requirements-tests.txt "the interop tests' Python packages into .venv"
fi
