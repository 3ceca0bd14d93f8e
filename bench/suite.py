"""The regression suite behind `bench/run`: a fixed set of cases from the project's benchmark
scripts, each measured against its peer in the same run, written as one JSON record.

    bench/run [--quick] [--out FILE] [--record] [--note TEXT]

Every figure is a ratio ours / peer together with the two medians it comes from. `direction`
says which way is better: "lower" for times and memory (ours / peer below 1.0 is a win),
"higher" for throughput. bench/compare checks a record against bench/history/.

The cases reuse the benchmark scripts' own code (bench/delta_bench.py, bench/optimize_bench.py,
bench/ingest_bench.py imported as modules; bench/serve_bench.py run with small settings and its
JSON report read back), so a figure here means what it means there. Data is generated once
under bench/data (git-ignored) and reused.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HISTORY = ROOT / "bench" / "history"
DEFAULT_OUT = ROOT / "bench" / "data" / "last-run.json"
os.environ.setdefault("NLK_BIN", str(ROOT / "build" / "tools" / "nlk"))
os.environ.setdefault("NLK_BENCH_BIN", str(ROOT / "build" / "bench" / "nlk_bench"))
sys.path.insert(0, str(ROOT / "bench"))

# The sizes of each suite. --quick takes about 3 minutes on 2 cores once bench/data holds the
# generated inputs (the first run generates them, a few minutes more).
SUITES = {
    "quick": {
        "delta": {"repeat": 3, "write_millions": 1, "snapshot_commits": 1000, "scan_files": 20,
                  "memory_files_millions": 0.1},
        # 2.05 M rows over the same hour as the full table, so every query finds rows
        # 2-s runs: in 1 s ROAPI may complete no aggregate on a busy machine
        "serve": {"seconds": 2, "repetitions": 1, "connections": 16, "rate": 2},
        "ingest": {"seconds_of_data": 30, "partitions": 4, "repetitions": 1,
                   "max_rows": 1_000_000},
        "optimize": {"files": 50, "seconds": 5, "repetitions": 3},
    },
    "full": {
        "delta": {"repeat": 5, "write_millions": 10, "snapshot_commits": 10_000,
                  "scan_files": 200, "memory_files_millions": 1},
        "serve": {"seconds": 5, "repetitions": 2, "connections": 16, "rate": 10},
        "ingest": {"seconds_of_data": 60, "partitions": 8, "repetitions": 3,
                   "max_rows": 1_000_000},
        "optimize": {"files": 200, "seconds": 20, "repetitions": 3},
    },
}


CONCURRENT_VS_ROAPI = ("point lookup", "1-min range, one device")


def figure(ours: float, peer: float, peer_name: str, unit: str, direction: str = "lower") -> dict:
    """One figure: the ratio ours / peer and the medians it is made of. A side with no value
    (e.g. no request completed within a serve run) leaves the ratio out: bench/compare then
    reports the figure as not measured."""
    ratio = ours / peer if ours and peer else None
    return {"ratio": ratio, "ours": ours, "peer": peer, "peer_name": peer_name, "unit": unit,
            "direction": direction}


def delta_figures(settings: dict) -> dict:
    import delta_bench
    delta_bench.DATA.mkdir(parents=True, exist_ok=True)
    repeat = settings["repeat"]
    cases = {
        "delta write": delta_bench.case_write(settings["write_millions"], repeat),
    }
    load, update = delta_bench.case_snapshot(repeat, settings["snapshot_commits"])
    cases["delta snapshot load (cold)"] = load
    cases["delta snapshot update (incremental)"] = update
    cases["delta filtered scan"] = delta_bench.case_scan(repeat, settings["scan_files"])
    cases["delta snapshot memory"] = delta_bench.case_memory(settings["memory_files_millions"])
    return {name: figure(case["ours_value"], case["theirs_value"], "delta-rs", case["unit"])
            for name, case in cases.items()}


def serve_figures(settings: dict, work: Path) -> dict:
    """bench/serve_bench.py with short runs: single-client p50 against DuckDB in-process, and
    against ROAPI either throughput under concurrent clients or single-client p50."""
    out = work / "serve.json"
    table = ROOT / "bench" / "data" / ("serve_samples" if settings["rate"] == 10
                                       else f"serve_samples_rate{settings['rate']}")
    subprocess.run([sys.executable, str(ROOT / "bench" / "serve_bench.py"),
                    "--nlk", os.environ["NLK_BIN"], "--seconds", str(settings["seconds"]),
                    "--repetitions", str(settings["repetitions"]),
                    "--connections", str(settings["connections"]), "--table", str(table),
                    "--rate", str(settings["rate"]), "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    report = json.loads(out.read_text())
    figures = {}
    for query, by_server in report["results"].items():
        ours, roapi = by_server["nlk serve"], by_server["ROAPI"]
        if not report["answers"][query]["same"]:
            raise SystemExit(f"serve: nlk serve and ROAPI answer {query!r} differently")
        figures[f"serve {query}: p50 vs DuckDB"] = figure(
            ours["single_p50_ms"], report["duckdb"][query]["p50_ms"], "DuckDB in-process", "ms")
        # Under concurrent clients ROAPI completes no aggregate or top-k request within a run
        # (docs/benchmarks.md, "Query service"); those compare single-client p50 instead.
        if query in CONCURRENT_VS_ROAPI:
            figures[f"serve {query}: c{settings['connections']} req/s vs ROAPI"] = figure(
                ours["concurrent_rps"], roapi["concurrent_rps"], "ROAPI", "req/s", "higher")
        else:
            figures[f"serve {query}: p50 vs ROAPI"] = figure(
                ours["single_p50_ms"], roapi["single_p50_ms"], "ROAPI", "ms")
    return figures


class Kafka:
    """A private broker from scripts/kafka.sh, on a port of NLK_BENCH_KAFKA_PORT (default
    19492), stopped and removed on exit."""

    def __init__(self, work: Path):
        self.env = dict(os.environ, NLK_KAFKA_DIR=str(work / "kafka"),
                        NLK_KAFKA_PORT=os.environ.get("NLK_BENCH_KAFKA_PORT", "19492"))
        self.env.pop("NLK_KAFKA_SECURE_PORT", None)

    def __enter__(self) -> str:
        script = str(ROOT / "scripts" / "kafka.sh")
        subprocess.run([script, "start"], env=self.env, check=True, stdout=subprocess.DEVNULL)
        os.environ.update({k: self.env[k] for k in ("NLK_KAFKA_DIR", "NLK_KAFKA_PORT")})
        return f"127.0.0.1:{self.env['NLK_KAFKA_PORT']}"

    def __exit__(self, *_):
        subprocess.run([str(ROOT / "scripts" / "kafka.sh"), "stop"], env=self.env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ingest_figures(settings: dict, work: Path) -> dict:
    """bench/ingest_bench.py's throughput run, one writer each: `nlk ingest` against the
    delta-rs based ingester on the same preloaded topic."""
    import ingest_bench
    with Kafka(work) as bootstrap:
        args = argparse.Namespace(nlk=os.environ["NLK_BIN"], bootstrap=bootstrap,
                                  max_rows=settings["max_rows"], timeout=300,
                                  partitions=settings["partitions"])
        topic = f"nlk-bench-run-{os.getpid()}"
        ingest_bench.kafka_topic(topic, args.partitions)
        produced = subprocess.run(
            [args.nlk, "datagen", "--kind", "samples", "--devices", "8", "--channels", "32",
             "--rate", "1000", "--duration", str(settings["seconds_of_data"]), "--kafka",
             bootstrap, "--topic", topic, "--format", "arrow"],
            check=True, capture_output=True, text=True)
        rows = int(re.search(r"produced (\d+) rows", produced.stdout).group(1))
        marks = ingest_bench.high_watermarks(bootstrap, topic, args.partitions)
        seconds = {"nlk": [], "delta-rs": []}
        cpu_seconds = {"nlk": [], "delta-rs": []}
        for repetition in range(settings["repetitions"]):
            for kind in seconds:
                elapsed, _, _, cpu = ingest_bench.throughput_run(kind, 1, args, topic, marks,
                                                                 work, f"run-{repetition}")
                if elapsed != elapsed:  # NaN: the writer did not record every offset in time
                    raise SystemExit(f"ingest: {kind} did not finish the topic")
                seconds[kind].append(elapsed)
                cpu_seconds[kind].append(cpu)
    ours = rows / statistics.median(seconds["nlk"])
    peer = rows / statistics.median(seconds["delta-rs"])
    # The whole run includes starting up and joining the group; the CPU time the writer used
    # per sample does not, and depends less on what else the machine runs.
    return {
        "ingest throughput, 1 writer": figure(ours, peer, "delta-rs ingester", "samples/s",
                                              "higher"),
        "ingest CPU per sample, 1 writer": figure(
            statistics.median(cpu_seconds["nlk"]) / rows * 1e9,
            statistics.median(cpu_seconds["delta-rs"]) / rows * 1e9, "delta-rs ingester",
            "ns"),
    }


def optimize_figures(settings: dict) -> dict:
    """bench/optimize_bench.py: `nlk optimize` against delta-rs's compact() and against pyarrow
    reading every small file and writing one (the floor any compactor has)."""
    import optimize_bench
    work = ROOT / "bench" / "data" / "optimize"
    work.mkdir(parents=True, exist_ok=True)
    template = optimize_bench.make_template(work, settings["files"], settings["seconds"])
    times = {"nlk": [], "delta-rs": [], "pyarrow": []}
    for repetition in range(settings["repetitions"]):
        for name in times:
            copy = work / f"run-{repetition}"
            shutil.rmtree(copy, ignore_errors=True)
            if name == "pyarrow":
                copy.mkdir()
                times[name].append(optimize_bench.run_floor(template, copy / "all.parquet"))
            else:
                shutil.copytree(template, copy)
                run = optimize_bench.run_nlk if name == "nlk" else optimize_bench.run_deltars
                times[name].append(run(copy))
            shutil.rmtree(copy, ignore_errors=True)
    ours = statistics.median(times["nlk"])
    return {
        "optimize vs delta-rs": figure(ours, statistics.median(times["delta-rs"]),
                                       "delta-rs optimize.compact()", "s"),
        "optimize vs pyarrow floor": figure(ours, statistics.median(times["pyarrow"]),
                                            "pyarrow read + write", "s"),
    }


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.strip()


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    memory_kb = next(int(line.split()[1]) for line in open("/proc/meminfo")
                     if line.startswith("MemTotal:"))
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory_kb / 2**20, 1),
            "kernel": platform.release(), "system": f"{platform.system()} {platform.machine()}",
            "hostname": platform.node()}


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, about 3 minutes")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help=f"default {DEFAULT_OUT}")
    parser.add_argument("--record", action="store_true",
                        help="also add the record to bench/history/ (DATE-COMMIT.json)")
    parser.add_argument("--note", action="append", default=[],
                        help="a remark kept in the record, e.g. that the machine was busy")
    parser.add_argument("--only", help="comma-separated groups: delta,serve,ingest,optimize "
                        "(a partial record: bench/compare fails the others as NOT MEASURED "
                        "once the history has them)")
    args = parser.parse_args()
    for tool in (os.environ["NLK_BIN"], os.environ["NLK_BENCH_BIN"]):
        if not os.access(tool, os.X_OK):
            parser.error(f"{tool} is not built (cmake --build build --target nlk nlk_bench)")
    suite = "quick" if args.quick else "full"
    settings = SUITES[suite]
    groups = list(settings) if not args.only else [g.strip() for g in args.only.split(",")]
    for group in groups:
        if group not in settings:
            parser.error(f"unknown group {group!r}; the groups are {', '.join(settings)}")

    started = time.monotonic()
    load_before = os.getloadavg()
    figures, timings = {}, {}
    work = Path(tempfile.mkdtemp(prefix="nlk-bench-run-"))
    try:
        for group in groups:
            group_started = time.monotonic()
            print(f"bench/run: {group}...", file=sys.stderr, flush=True)
            if group == "delta":
                found = delta_figures(settings[group])
            elif group == "serve":
                found = serve_figures(settings[group], work)
            elif group == "ingest":
                found = ingest_figures(settings[group], work)
            else:
                found = optimize_figures(settings[group])
            timings[group] = round(time.monotonic() - group_started, 1)
            for name, value in found.items():
                print(f"  {name}: {value['ratio']:.3f}" if value["ratio"] is not None
                      else f"  {name}: no figure", file=sys.stderr, flush=True)
            figures.update(found)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    load_after = os.getloadavg()
    notes = list(args.note)
    cores = os.cpu_count() or 1
    if max(load_before[0], load_after[0]) > cores:
        notes.append(f"machine busy: load average {load_before[0]:.1f} at the start, "
                     f"{load_after[0]:.1f} at the end, on {cores} cores")
    commit = git("rev-parse", "HEAD")
    record = {
        "format": 1,
        "commit": commit,
        "commit_subject": git("log", "-1", "--format=%s"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "suite": suite,
        "settings": {group: settings[group] for group in groups},
        "wall_seconds": round(time.monotonic() - started, 1),
        "group_seconds": timings,
        "load_average": {"start": round(load_before[0], 2), "end": round(load_after[0], 2)},
        "notes": notes,
        "figures": figures,
    }
    text = json.dumps(record, indent=2) + "\n"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"bench/run: {len(figures)} figures in {record['wall_seconds']:.0f} s -> {out}",
          file=sys.stderr)
    if args.record:
        stamp = record["date"].replace("-", "").replace(":", "")
        path = HISTORY / f"{stamp}-{commit[:10]}.json"
        HISTORY.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"bench/run: recorded in {path.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
