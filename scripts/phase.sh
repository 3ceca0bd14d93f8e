#!/usr/bin/env bash
# Runs one phase of the setup (installing packages, configuring the build) with one line of
# progress instead of the tools' own output. The output goes to var/log/NAME.log; when the phase
# fails, all of it is printed, and the exit code is the command's.
#
#   scripts/phase.sh NAME "What it does" COMMAND [ARGUMENT...]
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if (($# < 3)); then
  echo "usage: $0 NAME DESCRIPTION COMMAND [ARGUMENT...]" >&2
  exit 2
fi
name="$1"
description="$2"
shift 2
mkdir -p "$root/var/log"
log="$root/var/log/$name.log"

printf '%s ... ' "$description"
started=$SECONDS
"$@" >"$log" 2>&1 </dev/null
status=$?
if ((status == 0)); then
  echo "done ($((SECONDS - started)) s)"
  exit 0
fi
echo "FAILED (exit $status)"
{
  echo "---- output of: $*"
  cat "$log"
  echo "---- end of output (kept in $log)"
} >&2
exit "$status"
