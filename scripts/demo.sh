#!/usr/bin/env bash
# The end-to-end demo on embedded defaults: everything under var/demo on local disk, no
# services. Generates neural data, writes it to a partitioned Delta table, appends more, and
# shows history, a time-travel read and a filtered read with the files and row groups it skipped.
# Every command is printed as it can be pasted into a shell opened at the repository root.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
nlk="${NLK_BIN:-bin/nlk}"
demo="${NLK_DEMO_DIR:-var/demo}"
table="$demo/samples"
rm -rf "$demo"
mkdir -p "$demo"

# A word as a shell reads it back: bare when it is plain, else in single quotes, or in double
# quotes when it holds single quotes (as SQL string literals do) but nothing a shell expands.
shell_word() {
  local word="$1"
  if [[ "$word" =~ ^[A-Za-z0-9_./:=,@+%-]+$ ]]; then
    printf '%s' "$word"
  elif [[ "$word" != *"'"* ]]; then
    printf "'%s'" "$word"
  elif [[ "$word" != *[\"\$\`\\!]* ]]; then
    printf '"%s"' "$word"
  else
    printf '%q' "$word"
  fi
}

step() {
  local title="$1" word line=""
  shift
  for word in "$@"; do
    line+="${line:+ }$(shell_word "$word")"
  done
  printf '\n== %s\n$ %s\n' "$title" "$line"
  "$@"
}

step "Generate 10 s of raw samples from 2 devices x 16 channels at 1 kHz" \
  "$nlk" datagen --kind samples --devices 2 --channels 16 --rate 1000 --duration 10 \
  --out "$demo/first.parquet"
step "Create a Delta table partitioned by date from it" \
  "$nlk" table create "$table" --input "$demo/first.parquet" --partition-by date \
  --name samples --description "Raw voltage samples per channel"
step "Append the next 10 s, straight from the generator" \
  "$nlk" datagen --kind samples --devices 2 --channels 16 --rate 1000 --duration 10 \
  --start 2026-01-01T00:00:10Z --seed 43 --table "$table"
step "Append a day later (a new partition)" \
  "$nlk" datagen --kind samples --devices 2 --channels 16 --rate 1000 --duration 5 \
  --start 2026-01-02T00:00:00Z --seed 44 --table "$table"
step "History" "$nlk" table history "$table"
step "Describe" "$nlk" table describe "$table"
step "Files" "$nlk" table files "$table"
step "Time travel: the table as it was at version 0" \
  "$nlk" table read "$table" --version 0 --format count
step "Now" "$nlk" table read "$table" --format count
step "A filtered read: one device, one channel, 5 ms (5 samples at 1 kHz), and what it skipped" \
  "$nlk" table read "$table" --columns timestamp,voltage_uv --metrics \
  --filter "device_id = 'device-002' AND channel = 3 AND timestamp >= '2026-01-01 00:00:12' AND timestamp < '2026-01-01 00:00:12.005'"
step "Checkpoint" "$nlk" table checkpoint "$table"
step "Export day two to CSV (partition pruning reads only that day's files)" \
  "$nlk" table read "$table" --filter "date = '2026-01-02'" --format csv --out "$demo/day2.csv" \
  --metrics
printf '\nDemo table: %s (%s rows of CSV exported to %s)\n' "$table" \
  "$(($(wc -l <"$demo/day2.csv") - 1))" "$demo/day2.csv"
cat <<EOF

Query it over HTTP (from the repository root):
  $nlk serve -t samples=$table -a 127.0.0.1:8080 & sleep 1
  curl -s -w '\\n' 127.0.0.1:8080/api/sql -d "SELECT device_id, count(*) AS samples FROM samples GROUP BY device_id ORDER BY device_id"
  kill %1
EOF
