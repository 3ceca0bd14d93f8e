"""Compaction throughput: `nlk optimize` against delta-rs's `optimize.compact()` on copies of the
same Delta table of many small files, and against the floor any compactor has on this machine:
pyarrow (the same Arrow C++ Parquet code) reading every small file and writing one file, with
no Delta log work at all.

Each repetition compacts fresh copies, alternating the contenders; medians are printed as a
markdown table for docs/benchmarks.md. Data lives under bench/data/optimize (git-ignored).

    NLK_BIN=build/tools/nlk .venv/bin/python bench/optimize_bench.py [--files 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
NLK = Path(os.environ.get("NLK_BIN", ROOT / "build" / "tools" / "nlk"))
PYTHON = sys.executable

DELTARS_COMPACT = """
import json, sys, time
from deltalake import DeltaTable
table = DeltaTable(sys.argv[1])
started = time.perf_counter()
metrics = table.optimize.compact()
print(json.dumps({"seconds": time.perf_counter() - started, "metrics": metrics}))
"""

PARQUET_FLOOR = """
import json, sys, time
import pyarrow.parquet as pq
files = sys.argv[2:]
started = time.perf_counter()
table = pq.read_table(files)
pq.write_table(table, sys.argv[1], compression="snappy")
print(json.dumps({"seconds": time.perf_counter() - started, "rows": table.num_rows}))
"""


def make_template(work: Path, files: int, seconds: float) -> Path:
    """A Delta table of `files` appends of neural samples, one small file each."""
    template = work / f"template-{files}x{seconds:g}s"
    if (template / "_delta_log").exists():
        return template
    source = work / "samples.parquet"
    subprocess.run([str(NLK), "datagen", "--kind", "samples", "--devices", "8", "--channels",
                    "32", "--rate", "1000", "--duration", str(seconds), "--out", str(source)],
                   check=True, capture_output=True)
    from deltalake import write_deltalake
    samples = pq.read_table(source)
    per_file = -(-samples.num_rows // files)
    staging = work / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    for index in range(files):
        piece = samples.slice(index * per_file, per_file)
        if piece.num_rows:
            write_deltalake(str(staging), piece, mode="append")
    staging.rename(template)
    return template


def data_files(table: Path) -> list[Path]:
    return sorted(p for p in table.glob("*.parquet"))


def live_rows(table: Path) -> tuple[int, int]:
    from deltalake import DeltaTable
    dt = DeltaTable(str(table))
    return dt.to_pyarrow_dataset().count_rows(), len(dt.file_uris())


def run_nlk(table: Path) -> float:
    started = time.perf_counter()
    out = subprocess.run([str(NLK), "optimize", str(table), "--json"], check=True,
                         capture_output=True, text=True).stdout
    elapsed = time.perf_counter() - started
    json.loads(out.strip().splitlines()[-1])  # a summary must come out
    return elapsed


def run_deltars(table: Path) -> float:
    out = subprocess.run([PYTHON, "-c", DELTARS_COMPACT, str(table)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["seconds"]


def run_floor(template: Path, out: Path) -> float:
    files = [str(p) for p in data_files(template)]
    result = subprocess.run([PYTHON, "-c", PARQUET_FLOOR, str(out), *files], check=True,
                            capture_output=True, text=True).stdout
    return json.loads(result.strip().splitlines()[-1])["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20,
                        help="8 devices x 32 channels x 1 kHz for this long (20 s: 5.12 M rows)")
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()

    work = ROOT / "bench" / "data" / "optimize"
    work.mkdir(parents=True, exist_ok=True)
    template = make_template(work, args.files, args.seconds)
    rows, files = live_rows(template)
    input_bytes = sum(p.stat().st_size for p in data_files(template))
    times: dict[str, list[float]] = {"nlk optimize": [], "delta-rs optimize.compact()": [],
                                     "pyarrow read + write (floor)": []}
    for repetition in range(args.repetitions):
        for name in times:
            copy = work / f"run-{repetition}"
            shutil.rmtree(copy, ignore_errors=True)
            if name.startswith("pyarrow"):
                copy.mkdir()
                times[name].append(run_floor(template, copy / "all.parquet"))
            else:
                shutil.copytree(template, copy)
                seconds = run_nlk(copy) if name.startswith("nlk") else run_deltars(copy)
                after_rows, after_files = live_rows(copy)
                if after_rows != rows or after_files >= files:
                    raise SystemExit(f"{name}: {after_rows} rows in {after_files} files after "
                                     f"compaction, expected {rows} rows in fewer than {files}")
                times[name].append(seconds)
            shutil.rmtree(copy, ignore_errors=True)
            print(f"rep {repetition + 1} {name}: {times[name][-1]:.2f} s", file=sys.stderr)

    floor = statistics.median(times["pyarrow read + write (floor)"])
    print(f"Input: {rows:,} rows in {files} files, {input_bytes / 1e6:.0f} MB of Parquet; "
          f"medians of {args.repetitions}.\n")
    print("| compactor | seconds | rows/s | MB/s of input | time / floor |")
    print("|---|---:|---:|---:|---:|")
    for name, values in times.items():
        seconds = statistics.median(values)
        print(f"| {name} | {seconds:.2f} | {rows / seconds:,.0f} | "
              f"{input_bytes / 1e6 / seconds:.0f} | {seconds / floor:.2f}× |")


if __name__ == "__main__":
    main()
