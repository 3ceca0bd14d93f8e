#!/usr/bin/env bash
# Installs everything the build and the tests need, idempotently:
# Debian packages, and a project-local Python venv (.venv) holding the pyarrow wheel whose
# headers and shared libraries are our Arrow C++.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

apt_packages=(
  build-essential cmake ninja-build pkg-config clang-format
  libsimdjson-dev libroaring-dev libcli11-dev libfmt-dev nlohmann-json3-dev
  libcurl4-openssl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libpg-query-dev librdkafka-dev libboost-dev libyaml-cpp-dev
  chromium  # headless browser for tests/interop/test_catalog_site.py
)
missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python: pinned versions in scripts/requirements*.txt.
python_bin="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python_bin" -m venv .venv
fi
stamp=.venv/.requirements-stamp
want="$(cat scripts/requirements.txt)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements.txt
  # The wheel ships only versioned libraries (libarrow.so.2600); the linker wants plain names.
  .venv/bin/python -c "import pyarrow; pyarrow.create_library_symlinks()"
  echo "$want" >"$stamp"
fi
