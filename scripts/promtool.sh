#!/usr/bin/env bash
# promtool, Prometheus's checker of configurations, alert rules and metrics, for the tests of
# deploy/prometheus. It comes from the Debian package `prometheus`, unpacked without installing:
# only its promtool is kept, in var/bin, and nothing is started or configured system-wide.
#
#   scripts/promtool.sh install   put var/bin/promtool in place unless it works already; idempotent
#   scripts/promtool.sh path      install if needed, then print the path of promtool
#
# Settings (environment):
#   NLK_PROMTOOL_BIN   a promtool to use instead of var/bin/promtool
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
binary="${NLK_PROMTOOL_BIN:-$root/var/bin/promtool}"

die() {
  echo "promtool.sh: $*" >&2
  exit 1
}

install_promtool() {
  if [ -x "$binary" ] && "$binary" --version >/dev/null 2>&1; then
    return 0
  fi
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
    die "needs apt-get and dpkg-deb (Debian) to fetch the 'prometheus' package; or set NLK_PROMTOOL_BIN"
  local tmp
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  echo "promtool.sh: fetching promtool from the Debian package 'prometheus'" >&2
  # A machine whose package lists were never fetched knows no versions yet.
  if ! (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1); then
    apt-get update -qq >/dev/null || die "apt-get update failed"
    (cd "$tmp" && apt-get download -qq prometheus >/dev/null) ||
      die "apt-get download prometheus failed"
  fi
  dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/unpacked"
  [ -x "$tmp/unpacked/usr/bin/promtool" ] || die "the package holds no usr/bin/promtool"
  mkdir -p "$(dirname "$binary")"
  # Put in place whole, so a concurrent caller never runs a half-copied binary.
  install -m 0755 "$tmp/unpacked/usr/bin/promtool" "$binary.$$"
  mv -f "$binary.$$" "$binary"
  echo "promtool.sh: installed $("$binary" --version 2>&1 | head -n1) at $binary" >&2
}

case "${1:-}" in
  install) install_promtool ;;
  path)
    install_promtool
    echo "$binary"
    ;;
  *)
    echo "usage: $0 install|path" >&2
    exit 2
    ;;
esac
