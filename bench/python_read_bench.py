"""Filtered reads from Python: neuralake.Table.to_arrow(filter=...) against delta-rs
(deltalake.DeltaTable.to_pyarrow_table(filters=...)) on the same table, with the same
predicate. Prints a Markdown table of medians for docs/benchmarks.md.

Run:  .venv/bin/python bench/python_read_bench.py [--files 16] [--rows-per-file 250000] [--runs 5]
(with the package installed into .venv: pip install --no-build-isolation .)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import deltalake
import pyarrow as pa
import pyarrow.compute as pc

import neuralake


def make_table(uri: Path, files: int, rows_per_file: int) -> None:
    """`files` appends in time order, as a streaming writer leaves them: each file covers its
    own time range and every channel."""
    channels = 64
    table = None
    for index in range(files):
        start = index * rows_per_file
        time_us = pa.array(range(start, start + rows_per_file), pa.int64())
        batch = pa.table({
            "time_us": time_us,
            "channel": pc.cast(pc.bit_wise_and(time_us, channels - 1), pa.int32()),
            "voltage_uv": pc.multiply(pc.cast(time_us, pa.float64()), 0.001),
        })
        if table is None:
            table = neuralake.write_table(uri, batch)
        else:
            table.append(batch)


def median_seconds(function, runs: int) -> tuple[float, int]:
    timings, rows = [], 0
    for _ in range(runs):
        begin = time.perf_counter()
        rows = function().num_rows
        timings.append(time.perf_counter() - begin)
    return statistics.median(timings), rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--rows-per-file", type=int, default=250_000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="nlk-python-bench-"))
    try:
        uri = work / "samples"
        make_table(uri, options.files, options.rows_per_file)
        total = options.files * options.rows_per_file
        window = (total // 2, total // 2 + options.rows_per_file // 10)
        cases = [
            ("time window (1 file of {files})".format(files=options.files),
             f"time_us >= {window[0]} AND time_us < {window[1]}",
             [("time_us", ">=", window[0]), ("time_us", "<", window[1])]),
            ("one channel (every file)", "channel = 3", [("channel", "=", 3)]),
            ("no filter", None, None),
        ]
        ours_table = neuralake.Table(uri)
        theirs_table = deltalake.DeltaTable(str(uri))
        print(f"{total} rows in {options.files} files; medians of {options.runs} runs\n")
        print("| read | neuralake `to_arrow` | delta-rs `to_pyarrow_table` | ratio |")
        print("|---|---|---|---|")
        for name, predicate, filters in cases:
            ours, ours_rows = median_seconds(
                lambda: ours_table.to_arrow(filter=predicate), options.runs)
            theirs, theirs_rows = median_seconds(
                lambda: theirs_table.to_pyarrow_table(filters=filters), options.runs)
            assert ours_rows == theirs_rows, (name, ours_rows, theirs_rows)
            print(f"| {name}, {ours_rows} rows | {ours * 1000:.1f} ms | {theirs * 1000:.1f} ms "
                  f"| {ours / theirs:.2f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
