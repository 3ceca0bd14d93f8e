"""The query service benchmark: `nlk serve` against ROAPI on the same Delta table and queries.

Not a test. Loopback only, every load run bounded in time (wrk -d). Writes a JSON report and,
with --write-docs, replaces the "## Query service" section of docs/benchmarks.md.

    .venv/bin/python bench/serve_bench.py --write-docs

The table (10.24 M neural samples in 100 files, ~63 MB) is generated under bench/data on first
use with `nlk datagen --table` in a loop. Each query runs single-client (wrk -c1) and under 32
concurrent clients (wrk -c32, twice as long), servers alternating within each repetition; the report gives
medians over repetitions and the ratio ours / ROAPI. DuckDB runs the same SQL in-process over
the table's Parquet files as a reference (no HTTP, no JSON).
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("NLK_BIN", str(Path(__file__).resolve().parents[1] / "build-serve" / "tools"
                                    / "nlk"))

import bench_common  # noqa: E402
from bench_common import REPO, median, ratio, run_wrk, serve_harness  # noqa: E402

SECTION = "## Query service"

QUERIES = {
    "point lookup": "SELECT * FROM samples WHERE device_id = 'device-003' AND channel = 7 "
                    "AND timestamp = '2026-01-01 00:30:00'",
    "1-min range, one device": "SELECT timestamp, channel, voltage_uv FROM samples "
                               "WHERE device_id = 'device-003' "
                               "AND timestamp >= '2026-01-01 00:30:00' "
                               "AND timestamp < '2026-01-01 00:31:00' ORDER BY timestamp, channel",
    "per-channel aggregate, 1 h": "SELECT channel, count(*) AS n, avg(voltage_uv) AS mean, "
                                  "min(voltage_uv) AS low, max(voltage_uv) AS high FROM samples "
                                  "WHERE timestamp >= '2026-01-01 00:00:00' "
                                  "AND timestamp < '2026-01-01 01:00:00' "
                                  "GROUP BY channel ORDER BY channel",
    "top-k (10 by voltage)": "SELECT device_id, channel, timestamp, voltage_uv FROM samples "
                             "ORDER BY voltage_uv DESC LIMIT 10",
}


def generate_table(nlk: str, table: Path, rate: int = 10) -> None:
    print(f"generating {table} (100 appends of {rate * 10_240:,} rows)...", flush=True)
    for i in range(100):
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1767225600 + 40 * i))
        subprocess.run([nlk, "datagen", "--table", str(table), "--devices", "8", "--channels",
                        "32", "--rate", str(rate), "--duration", "40", "--start", start, "--seed",
                        str(i)], check=True, stdout=subprocess.DEVNULL)


class RssSampler:
    """Peak VmRSS of a process while active."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak = serve_harness.rss_bytes(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.1):
            try:
                self.peak = max(self.peak, serve_harness.rss_bytes(self.pid))
            except OSError:
                return

    def stop(self):
        self._stop.set()
        self._thread.join()


def normalize(rows: list[dict]) -> list[list]:
    """Rows as value lists (column names differ: count(*) vs count), floats rounded."""
    def value(v):
        return round(v, 3) if isinstance(v, float) else v
    return [[value(v) for v in row.values()] for row in rows]


def check_same_answers(servers: dict) -> dict:
    verdict = {}
    for name, sql in QUERIES.items():
        answers = {}
        for label, server in servers.items():
            response = server.sql(sql, timeout=120)
            if response.status != 200:
                answers[label] = f"HTTP {response.status}: {response.body[:200]!r}"
            else:
                answers[label] = normalize(response.json())
        values = list(answers.values())
        same = all(v == values[0] for v in values)
        rows = len(values[0]) if isinstance(values[0], list) else values[0]
        verdict[name] = {"same": same, "rows": rows}
        if not same:
            print(f"  answers differ for {name}: " +
                  "; ".join(f"{k}: {str(v)[:200]}" for k, v in answers.items()), flush=True)
    return verdict


def duckdb_reference(table: Path, repetitions: int) -> dict:
    import duckdb
    connection = duckdb.connect()
    connection.execute(f"CREATE VIEW samples AS SELECT * FROM read_parquet('{table}/*.parquet')")
    figures = {}
    for name, sql in QUERIES.items():
        sql = sql.replace("'2026", "TIMESTAMPTZ '2026")
        connection.execute(sql).to_arrow_table()
        times = []
        deadline = time.monotonic() + 5
        while len(times) < 5 or (time.monotonic() < deadline and len(times) < 200):
            started = time.perf_counter()
            connection.execute(sql).to_arrow_table()
            times.append(time.perf_counter() - started)
        times.sort()
        figures[name] = {"p50_ms": 1000 * times[len(times) // 2],
                         "p99_ms": 1000 * times[min(len(times) - 1, math.ceil(0.99 * len(times)) - 1)],
                         "runs": len(times)}
    return figures


def figure(value: float) -> str:
    if not value:
        return "none done"
    return f"{value:.2f}" if value < 1 else f"{value:.1f}"


def markdown(report: dict) -> str:
    lines = [SECTION, ""]
    machine = report["machine"]
    lines.append(f"`nlk serve` against ROAPI {report['roapi_version']} serving the same Delta table "
                 f"({report['rows']:,} neural-sample rows in {report['files']} files, local disk), "
                 f"same SQL over `POST /api/sql`, JSON responses, loopback; wrk {report['seconds']} s "
                 f"per run, {report['repetitions']} repetitions alternating the servers, medians "
                 f"shown. Machine: {machine}. Client and servers share the cores, so absolute "
                 "figures are pessimistic; compare the ratios.")
    lines.append("")
    lines.append(f"Reproduce: `{report['command']}`")
    lines.append("")
    lines.append("| query | server | 1 client p50 ms | 1 client p99 ms | 32 clients req/s | "
                 "32 clients p99 ms |")
    lines.append("|---|---|---:|---:|---:|---:|")
    for name in QUERIES:
        for label in report["servers"]:
            figures = report["results"][name][label]
            lines.append(f"| {name} | {label} | {figure(figures['single_p50_ms'])} | "
                         f"{figure(figures['single_p99_ms'])} | "
                         f"{figure(figures['concurrent_rps'])} | "
                         f"{figure(figures['concurrent_p99_ms'])} |")
        duck = report["duckdb"][name]
        lines.append(f"| {name} | DuckDB in-process (reference) | {duck['p50_ms']:.1f} | "
                     f"{duck['p99_ms']:.1f} | – | – |")
    lines.append("")
    ours, theirs = report["servers"][0], report["servers"][1]
    lines.append(f"Ratios, {ours} / {theirs} (p99: lower is better; throughput: higher is better):")
    lines.append("")
    lines.append("| query | 1 client p99 | 32 clients p99 | 32 clients throughput | same rows |")
    lines.append("|---|---:|---:|---:|---|")
    for name in QUERIES:
        a, b = report["results"][name][ours], report["results"][name][theirs]
        lines.append(f"| {name} | {ratio(a['single_p99_ms'], b['single_p99_ms'])} | "
                     f"{ratio(a['concurrent_p99_ms'], b['concurrent_p99_ms'])} | "
                     f"{ratio(a['concurrent_rps'], b['concurrent_rps'])} | "
                     f"{'yes' if report['answers'][name]['same'] else 'NO'} "
                     f"({report['answers'][name]['rows']} rows) |")
    lines.append("")
    lines.append("Peak RSS under the runs: " + ", ".join(
        f"{label} {report['rss_peak_mb'][label]:.0f} MB" for label in report["servers"]) + ".")
    lines.append("")
    notes = bench_common.notes("serve_bench_notes.md")
    if notes:
        lines.append(notes)
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=str(REPO / "bench" / "data" / "serve_samples"))
    parser.add_argument("--rate", type=int, default=10,
                        help="samples per second and channel of a table generated here (10: "
                        "10.24 M rows; the same time span at any rate); an existing table is "
                        "used as it is")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--repetitions", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--roapi-memory", action="store_true",
                        help="also run ROAPI with use_memory_table=true (its default)")
    bench_common.add_report_arguments(parser, "serve_bench.json")
    parser.add_argument("--queries", help="comma-separated names (or prefixes) of the queries to "
                        "run, e.g. 'point,1-min'; a partial run never writes the docs")
    args = parser.parse_args()
    if args.queries:
        wanted = [w.strip() for w in args.queries.split(",") if w.strip()]
        for name in list(QUERIES):
            if not any(name.startswith(w) for w in wanted):
                del QUERIES[name]
        if not QUERIES:
            parser.error(f"no query matches --queries {args.queries!r}")
        if args.write_docs:
            parser.error("--write-docs needs every query; drop --queries")
    if args.from_json:
        return bench_common.publish(args, SECTION, markdown)
    table = bench_common.prepare_table(args,
                                       lambda nlk, path: generate_table(nlk, path, args.rate))
    files = len(list(table.glob("*.parquet")))
    work = Path(tempfile.mkdtemp(prefix="nlk-serve-bench-"))

    servers: dict[str, serve_harness.Server] = {}
    try:
        servers["nlk serve"] = serve_harness.start_nlk_serve(["-t", f"samples={table}"], work)
        port = serve_harness.free_port()
        config = serve_harness.write_roapi_config(
            work / "roapi-files.yml",
            [{"name": "samples", "uri": str(table), "use_memory_table": False}], port)
        servers["ROAPI"] = serve_harness.start_roapi(config, port, work)
        if args.roapi_memory:
            port = serve_harness.free_port()
            config = serve_harness.write_roapi_config(
                work / "roapi-memory.yml",
                [{"name": "samples", "uri": str(table), "use_memory_table": True}], port)
            servers["ROAPI (memory table)"] = serve_harness.start_roapi(config, port, work)
        rows = servers["nlk serve"].sql("SELECT count(*) AS n FROM samples").json()[0]["n"]
        print(f"table: {rows:,} rows in {files} files", flush=True)
        answers = check_same_answers(servers)
        samplers = {label: RssSampler(server.process.pid) for label, server in servers.items()}
        raw = {name: {label: [] for label in servers} for name in QUERIES}
        for repetition in range(args.repetitions):
            order = bench_common.alternating(list(servers), repetition)
            for name, sql in QUERIES.items():
                for label in order:
                    single = run_wrk(servers[label].port, sql, 1, args.seconds, work)
                    # Slow queries under 32 clients complete few requests; give them longer.
                    concurrent = run_wrk(servers[label].port, sql, args.connections,
                                         2 * args.seconds, work)
                    raw[name][label].append({"single": single, "concurrent": concurrent})
                    print(f"rep {repetition + 1} {name:28s} {label:22s} "
                          f"p50 {single['p50_us'] / 1000:8.2f} ms  p99 {single['p99_us'] / 1000:8.2f}"
                          f" ms | c{args.connections}: {concurrent['rps']:8.1f} req/s  p99 "
                          f"{concurrent['p99_us'] / 1000:8.2f} ms  non-2xx "
                          f"{concurrent['non2xx'] + single['non2xx']}", flush=True)
        for sampler in samplers.values():
            sampler.stop()
        results = {}
        for name in QUERIES:
            results[name] = {}
            for label in servers:
                runs = raw[name][label]
                results[name][label] = {
                    "single_p50_ms": median([r["single"]["p50_us"] / 1000 for r in runs]),
                    "single_p99_ms": median([r["single"]["p99_us"] / 1000 for r in runs]),
                    "concurrent_rps": median([r["concurrent"]["rps"] for r in runs]),
                    "concurrent_p99_ms": median([r["concurrent"]["p99_us"] / 1000 for r in runs]),
                    "non2xx": sum(r["single"]["non2xx"] + r["concurrent"]["non2xx"] for r in runs),
                }
        report = {
            "rows": rows, "files": files, "seconds": args.seconds,
            "repetitions": args.repetitions, "servers": list(servers),
            "machine": bench_common.machine(),
            "roapi_version": bench_common.roapi_version(),
            "command": ".venv/bin/python bench/serve_bench.py --write-docs"
                       + (" --roapi-memory" if args.roapi_memory else ""),
            "answers": answers, "results": results, "raw": raw,
            "rss_peak_mb": {label: s.peak / 2**20 for label, s in samplers.items()},
            "duckdb": duckdb_reference(table, args.repetitions),
        }
    finally:
        bench_common.stop_all(servers)
    return bench_common.publish(args, SECTION, markdown, report)


if __name__ == "__main__":
    sys.exit(main())
