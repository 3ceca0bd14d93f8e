#!/usr/bin/env bash
# Runs a command (a test suite) with TMPDIR set to a new, empty directory and fails if the
# command leaves anything there: tests remove what they create. The leftovers are listed, then
# deleted, so one failing run does not fill the disk.
#
#   scripts/in-clean-tmp.sh COMMAND [ARGUMENT...]
set -uo pipefail
if (($# == 0)); then
  echo "usage: $0 COMMAND [ARGUMENT...]" >&2
  exit 2
fi
tmp="$(mktemp -d "${TMPDIR:-/tmp}/nlk-tests.XXXXXX")"
TMPDIR="$tmp" "$@"
status=$?
leftovers="$(cd "$tmp" && find . -mindepth 1 -maxdepth 2 | sort | head -n 20)"
rm -rf "$tmp"
if [ -n "$leftovers" ]; then
  {
    echo "in-clean-tmp.sh: '$*' left these in its temporary directory (first 20, two levels):"
    echo "$leftovers" | sed 's/^/  /'
  } >&2
  ((status == 0)) && status=1
fi
exit "$status"
