"""Delta engine benchmarks: Neuralake (C++) against delta-rs (`deltalake`) in the same run.

Each case runs both engines on the same data, alternating, several times, and reports medians
(as text, and as numbers in ours_value/theirs_value for bench/run) and the ratio ours/delta-rs (lower is better for times and memory). Results are written to
docs/benchmarks.md. Data lives under bench/data (git-ignored) unless NLK_BENCH_DIR is set.

    .venv/bin/python bench/delta_bench.py [--quick] [--cases write,snapshot,scan,memory]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NLK = Path(os.environ.get("NLK_BIN", ROOT / "build" / "tools" / "nlk"))
NLK_BENCH = Path(os.environ.get("NLK_BENCH_BIN", ROOT / "build" / "bench" / "nlk_bench"))
DATA = Path(os.environ.get("NLK_BENCH_DIR", ROOT / "bench" / "data"))
PYTHON = sys.executable


def run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True).stdout


def bench_json(*args: str | Path) -> dict:
    return json.loads(run(NLK_BENCH, *args).strip().splitlines()[-1])


def python_json(code: str) -> dict:
    """Runs delta-rs in a fresh interpreter so each measurement starts cold, like ours."""
    return json.loads(run(PYTHON, "-c", code).strip().splitlines()[-1])


def generate_input(path: Path, rows_millions: int) -> None:
    if path.exists():
        return
    # 2 devices x 32 channels at 1 kHz = 64,000 rows per second of signal.
    seconds = rows_millions * 1_000_000 / 64_000
    run(NLK, "datagen", "--kind", "samples", "--devices", "2", "--channels", "32", "--rate", "1000",
        "--duration", str(seconds), "--out", path)


def case_write(rows_millions: int, repeat: int) -> dict:
    source = DATA / f"samples-{rows_millions}m.parquet"
    generate_input(source, rows_millions)
    import pyarrow.parquet as pq
    table = pq.read_table(source)
    arrow_bytes = table.nbytes
    del table
    ours, theirs = [], []
    for i in range(repeat):
        target = DATA / "write-target"
        shutil.rmtree(target, ignore_errors=True)
        ours.append(bench_json("write", target, "--input", source)["seconds"])
        shutil.rmtree(target, ignore_errors=True)
        theirs.append(python_json(f"""
import json, time, pyarrow.parquet as pq, deltalake
start = time.perf_counter()
deltalake.write_deltalake({str(target)!r}, pq.read_table({str(source)!r}))
print(json.dumps({{"seconds": time.perf_counter() - start}}))
""")["seconds"])
    shutil.rmtree(DATA / "write-target", ignore_errors=True)
    rows = rows_millions * 1_000_000
    o, t = statistics.median(ours), statistics.median(theirs)
    return {
        "case": f"write {rows_millions} M rows (append, unpartitioned)",
        "ours": f"{o:.2f} s ({rows / o / 1e6:.2f} M rows/s, {arrow_bytes / o / 1e6:.0f} MB/s)",
        "theirs": f"{t:.2f} s ({rows / t / 1e6:.2f} M rows/s, {arrow_bytes / t / 1e6:.0f} MB/s)",
        "ratio": o / t, "ours_value": o, "theirs_value": t, "unit": "s",
    }


def ensure_log(path: Path, commits: int, files_per_commit: int) -> None:
    marker = path / "_delta_log" / f"{commits - 1:020d}.json"
    if marker.exists():
        return
    shutil.rmtree(path, ignore_errors=True)
    bench_json("make-log", path, "--commits", str(commits), "--files-per-commit",
               str(files_per_commit))


def case_snapshot(repeat: int, commits: int) -> list[dict]:
    table = DATA / f"log-{commits}-commits"
    ensure_log(table, commits, 1)
    from_version = commits - 11
    ours_cold, theirs_cold, ours_inc, theirs_inc = [], [], [], []
    for _ in range(repeat):
        ours_cold.append(bench_json("snapshot-load", table, "--repeat", "1")["median_ms"])
        theirs_cold.append(python_json(f"""
import json, time, deltalake
start = time.perf_counter()
dt = deltalake.DeltaTable({str(table)!r})
files = dt.file_uris()
print(json.dumps({{"ms": (time.perf_counter() - start) * 1000, "files": len(files)}}))
""")["ms"])
        ours_inc.append(bench_json("snapshot-update", table, "--from", str(from_version),
                                   "--repeat", "1")["median_ms"])
        theirs_inc.append(python_json(f"""
import json, time, deltalake
dt = deltalake.DeltaTable({str(table)!r}, version={from_version})
start = time.perf_counter()
dt.update_incremental()
files = dt.file_uris()
print(json.dumps({{"ms": (time.perf_counter() - start) * 1000, "version": dt.version()}}))
""")["ms"])
    return [
        {"case": f"snapshot load, {commits} commits + checkpoints, cold",
         "ours": f"{statistics.median(ours_cold):.1f} ms",
         "theirs": f"{statistics.median(theirs_cold):.1f} ms",
         "ratio": statistics.median(ours_cold) / statistics.median(theirs_cold),
         "ours_value": statistics.median(ours_cold),
         "theirs_value": statistics.median(theirs_cold), "unit": "ms"},
        {"case": "snapshot update, 10 new commits (incremental)",
         "ours": f"{statistics.median(ours_inc):.2f} ms",
         "theirs": f"{statistics.median(theirs_inc):.2f} ms",
         "ratio": statistics.median(ours_inc) / statistics.median(theirs_inc),
         "ours_value": statistics.median(ours_inc),
         "theirs_value": statistics.median(theirs_inc), "unit": "ms"},
    ]


def ensure_scan_table(path: Path, files: int, rows_per_file: int) -> None:
    if (path / "_delta_log" / f"{files - 1:020d}.json").exists():
        return
    shutil.rmtree(path, ignore_errors=True)
    # 8 devices x 16 channels at 1 kHz; each file holds the next slice of time.
    seconds = rows_per_file / (8 * 16 * 1000)
    start = 1767225600.0
    for i in range(files):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start + i * seconds))
        fraction = f"{(start + i * seconds) % 1:.6f}"[1:]
        run(NLK, "datagen", "--kind", "samples", "--devices", "8", "--channels", "16", "--rate",
            "1000", "--duration", str(seconds), "--seed", str(i), "--start", stamp + fraction + "Z",
            "--table", path)


def case_scan(repeat: int, files: int) -> dict:
    table = DATA / f"scan-{files}-files"
    ensure_scan_table(table, files, 50_000)
    # One device over 2 s in the middle of the table's time range.
    middle = 1767225600 + files * 50_000 / (8 * 16 * 1000) / 2
    lo = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(middle - 1))
    hi = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(middle + 1))
    predicate = f"device_id = 'device-003' AND timestamp >= '{lo}' AND timestamp < '{hi}'"
    ours, theirs, rows = [], [], {}
    for _ in range(repeat):
        result = bench_json("scan", table, "--filter", predicate, "--repeat", "1")
        ours.append(result["median_ms"])
        rows["ours"] = result["rows"]
        result = python_json(f"""
import json, time, deltalake
start = time.perf_counter()
dt = deltalake.DeltaTable({str(table)!r})
batches = deltalake.QueryBuilder().register("t", dt).execute(
    "SELECT * FROM t WHERE device_id = 'device-003' AND "
    "\\"timestamp\\" >= TIMESTAMP '{lo}Z' AND \\"timestamp\\" < TIMESTAMP '{hi}Z'").read_all()
print(json.dumps({{"ms": (time.perf_counter() - start) * 1000, "rows": batches.num_rows}}))
""")
        theirs.append(result["ms"])
        rows["theirs"] = result["rows"]
    if rows["ours"] != rows["theirs"] or rows["ours"] == 0:
        raise SystemExit(f"scan results differ: {rows}")
    return {"case": f"filtered scan (1 device, 2 s) over {files} files, {files * 50_000 / 1e6:.0f} M rows",
            "ours": f"{statistics.median(ours):.1f} ms ({rows['ours']} rows)",
            "theirs": f"{statistics.median(theirs):.1f} ms",
            "ratio": statistics.median(ours) / statistics.median(theirs),
            "ours_value": statistics.median(ours), "theirs_value": statistics.median(theirs),
            "unit": "ms"}


def case_memory(files_millions: float) -> dict:
    commits = 100
    per_commit = int(files_millions * 1_000_000 / commits)
    table = DATA / f"log-{files_millions}m-files"
    ensure_log(table, commits, per_commit)
    ours = bench_json("snapshot-load", table, "--repeat", "1")
    baseline = bench_json("baseline", table)
    theirs = python_json(f"""
import json, time, deltalake

def rss_kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])

before = rss_kb("VmRSS:")
start = time.perf_counter()
dt = deltalake.DeltaTable({str(table)!r})
files = dt.file_uris()
seconds = time.perf_counter() - start
print(json.dumps({{"peak_rss_kb": rss_kb("VmHWM:"), "rss_kb": rss_kb("VmRSS:"), "baseline_kb": before,
                  "files": len(files), "seconds": seconds}}))
""")
    # Growth over each process's own baseline (libraries, interpreter) is the snapshot's cost.
    o = (ours["peak_rss_kb"] - baseline["peak_rss_kb"]) / 1024
    t = (theirs["peak_rss_kb"] - theirs["baseline_kb"]) / 1024
    return {"case": f"peak RSS growth loading a snapshot of {ours['files']:,} active files",
            "ours": f"+{o:.0f} MiB (peak {ours['peak_rss_kb'] / 1024:.0f} MiB, {ours['median_ms'] / 1000:.1f} s)",
            "theirs": f"+{t:.0f} MiB (peak {theirs['peak_rss_kb'] / 1024:.0f} MiB, {theirs['seconds']:.1f} s)",
            "ratio": o / t, "ours_value": o, "theirs_value": t, "unit": "MiB"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--cases", default="write,snapshot,scan,memory")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    cases = args.cases.split(",")
    results = []
    if "write" in cases:
        for millions in ([1] if args.quick else [1, 10]):
            results.append(case_write(millions, 3 if millions >= 10 else args.repeat))
            print(results[-1], flush=True)
    if "snapshot" in cases:
        results.extend(case_snapshot(args.repeat, 1000 if args.quick else 10_000))
        print(results[-2:], flush=True)
    if "scan" in cases:
        results.append(case_scan(args.repeat, 20 if args.quick else 200))
        print(results[-1], flush=True)
    if "memory" in cases:
        results.append(case_memory(0.1 if args.quick else 1))
        print(results[-1], flush=True)
    write_report(results, args)


def write_report(results: list[dict], args: argparse.Namespace) -> None:
    import deltalake
    lines = [
        "## Delta engine: Neuralake vs delta-rs",
        "",
        f"Machine: {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"{platform.system()} {platform.machine()}; delta-rs `deltalake` {deltalake.__version__}; "
        f"medians of {args.repeat} alternating runs (10 M-row writes: 3). Ratio = ours / delta-rs "
        "(below 1.0 means Neuralake is faster or smaller).",
        "",
        f"Reproduce: `.venv/bin/python bench/delta_bench.py{' --quick' if args.quick else ''}`",
        "",
        "| case | Neuralake | delta-rs | ratio |",
        "|---|---|---|---|",
    ]
    for result in results:
        lines.append(f"| {result['case']} | {result['ours']} | {result['theirs']} | {result['ratio']:.2f} |")
    notes = ROOT / "bench" / "delta_bench_notes.md"
    if notes.exists():
        lines += ["", notes.read_text().rstrip("\n")]
    section = "\n".join(lines) + "\n"
    report = ROOT / "docs" / "benchmarks.md"
    report.parent.mkdir(exist_ok=True)
    text = report.read_text() if report.exists() else "# Benchmarks\n\n"
    start = text.find("## Delta engine: Neuralake vs delta-rs")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    report.write_text(text)
    print(section)


if __name__ == "__main__":
    main()
