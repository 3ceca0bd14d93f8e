"""The audit log's cost: `nlk serve` with and without `--audit-log`, same table, same run.

Not a test. Loopback only, every load run bounded in time. For the point lookup of
bench/serve_bench.py it measures single-client p50/p99 and 16-client throughput and p99, for
three servers started side by side: no audit, audit (hashes only), and audit with statements.
Repetitions alternate the servers; the report gives medians and the ratio to the server without
audit. Uses wrk when installed, else a Python keep-alive client (one thread per connection; it
shares the cores with the server, so absolute figures are pessimistic: compare the ratios).

    .venv/bin/python bench/audit_cost_bench.py [--write-docs]

The table is bench/serve_bench.py's (generated under bench/data on first use).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "interop"))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("NLK_BIN", str(REPO / "build" / "tools" / "nlk"))

import serve_bench  # noqa: E402
import serve_harness  # noqa: E402

QUERY = serve_bench.QUERIES["point lookup"]
SECTION = "## Audit log cost"


def python_load(port: int, sql: str, connections: int, seconds: float) -> dict:
    """Keep-alive POSTs from `connections` threads for `seconds`; latencies in microseconds."""
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    deadline = time.monotonic() + seconds
    body = sql.encode()

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                connection.request("POST", "/api/sql", body=body,
                                   headers={"Content-Type": "text/plain"})
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    errors[index] += 1
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            latencies[index].append((time.perf_counter() - started) * 1e6)
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    merged = sorted(value for values in latencies for value in values)
    if not merged:
        return {"requests": 0, "rps": 0.0, "p50_us": 0, "p99_us": 0, "errors": sum(errors)}
    return {"requests": len(merged), "rps": len(merged) / elapsed,
            "p50_us": merged[len(merged) // 2],
            "p99_us": merged[min(len(merged) - 1, int(len(merged) * 0.99))],
            "errors": sum(errors)}


def load(port: int, sql: str, connections: int, seconds: float, workdir: Path) -> dict:
    if shutil.which("wrk"):
        return serve_bench.run_wrk(port, sql, connections, seconds, workdir)
    return python_load(port, sql, connections, seconds)


def markdown(report: dict) -> str:
    lines = [SECTION, ""]
    lines.append(
        f"`nlk serve` without and with `--audit-log` on bench/serve_bench.py's table "
        f"({report['rows']:,} rows), the point lookup over `POST /api/sql`, loopback, "
        f"{report['seconds']} s per run, {report['repetitions']} repetitions alternating the "
        f"servers, medians shown; load from {report['client']}. Machine: {report['machine']}. "
        f"The audit writer flushes every {report['flush_interval_ms']} ms.")
    lines.append("")
    lines.append(f"Reproduce: `{report['command']}`")
    lines.append("")
    lines.append("| server | 1 client p50 ms | 1 client p99 ms | 16 clients req/s | "
                 "16 clients p99 ms | audit records written |")
    lines.append("|---|---:|---:|---:|---:|---:|")
    base = report["results"]["no audit"]
    for label, figures in report["results"].items():
        lines.append(f"| {label} | {figures['single_p50_ms']:.2f} | {figures['single_p99_ms']:.2f} | "
                     f"{figures['concurrent_rps']:.0f} | {figures['concurrent_p99_ms']:.2f} | "
                     f"{figures.get('records', '–')} |")
    lines.append("")
    lines.append("Relative to no audit (1.00 = no cost; latency lower and throughput higher is "
                 "better):")
    lines.append("")
    lines.append("| server | 1 client p50 | 1 client p99 | 16 clients req/s | 16 clients p99 |")
    lines.append("|---|---:|---:|---:|---:|")
    for label, figures in report["results"].items():
        if label == "no audit":
            continue
        cells = [figures[key] / base[key] if base[key] else float("nan")
                 for key in ("single_p50_ms", "single_p99_ms", "concurrent_rps",
                             "concurrent_p99_ms")]
        lines.append(f"| {label} | " + " | ".join(f"{cell:.2f}×" for cell in cells) + " |")
    lines.append("")
    notes = REPO / "bench" / "audit_cost_bench_notes.md"
    if notes.exists():
        lines.append(notes.read_text().strip())
        lines.append("")
    return "\n".join(lines) + "\n"


def replace_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start = text.find(SECTION)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    path.write_text(text)


def audit_records(server: serve_harness.Server) -> int:
    text = server.get("/metrics").body.decode()
    for line in text.splitlines():
        if line.startswith("nlk_audit_records_total "):
            return int(float(line.split()[1]))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nlk", default=os.environ["NLK_BIN"])
    parser.add_argument("--table", default=str(REPO / "bench" / "data" / "serve_samples"))
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--flush-interval-ms", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=0,
                        help="--workers for every server (0: the server's default)")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--out", default=str(REPO / "bench" / "data" / "audit_cost_bench.json"))
    parser.add_argument("--from-json", help="only render (and --write-docs) a saved report")
    args = parser.parse_args()
    if args.from_json:
        section = markdown(json.loads(Path(args.from_json).read_text()))
        print(section)
        if args.write_docs:
            replace_section(REPO / "docs" / "benchmarks.md", section)
        return 0
    os.environ["NLK_BIN"] = args.nlk

    table = Path(args.table)
    if not (table / "_delta_log").exists():
        table.parent.mkdir(parents=True, exist_ok=True)
        serve_bench.generate_table(args.nlk, table)

    workdir = Path(tempfile.mkdtemp(prefix="nlk-audit-bench-"))
    common = ["-t", f"samples={table}", "--workers", str(args.workers)]
    variants = {
        "no audit": [],
        "audit": ["--audit-log", str(workdir / "audit"), "--audit-flush-interval-ms",
                  str(args.flush_interval_ms)],
        "audit + statements": ["--audit-log", str(workdir / "audit-statements"),
                               "--audit-statements", "--audit-flush-interval-ms",
                               str(args.flush_interval_ms)],
    }
    servers = {label: serve_harness.start_nlk_serve(common + extra, workdir)
               for label, extra in variants.items()}
    runs: dict[str, dict[str, list]] = {label: {"p50": [], "p99": [], "rps": [], "cp99": []}
                                        for label in variants}
    try:
        for label, server in servers.items():  # warm-up: caches, first audit commit
            load(server.port, QUERY, 1, 1, workdir)
        for repetition in range(args.repetitions):
            order = list(servers.items())
            if repetition % 2:
                order.reverse()
            for label, server in order:
                single = load(server.port, QUERY, 1, args.seconds, workdir)
                concurrent = load(server.port, QUERY, args.connections, args.seconds, workdir)
                runs[label]["p50"].append(single["p50_us"] / 1000)
                runs[label]["p99"].append(single["p99_us"] / 1000)
                runs[label]["rps"].append(concurrent["rps"])
                runs[label]["cp99"].append(concurrent["p99_us"] / 1000)
                print(f"{label:20s} rep {repetition}: 1c p50 {single['p50_us'] / 1000:.2f} ms "
                      f"p99 {single['p99_us'] / 1000:.2f} ms; {args.connections}c "
                      f"{concurrent['rps']:.0f} req/s p99 {concurrent['p99_us'] / 1000:.2f} ms",
                      flush=True)
        results = {}
        for label, series in runs.items():
            results[label] = {"single_p50_ms": statistics.median(series["p50"]),
                              "single_p99_ms": statistics.median(series["p99"]),
                              "concurrent_rps": statistics.median(series["rps"]),
                              "concurrent_p99_ms": statistics.median(series["cp99"])}
        time.sleep(args.flush_interval_ms / 1000 + 0.5)
        for label, server in servers.items():
            if label != "no audit":
                results[label]["records"] = audit_records(server)
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    count = json.loads(subprocess.run(
        [args.nlk, "sql", "--table", f"samples={table}", "--format", "json",
         "SELECT count(*) AS n FROM samples"], check=True, capture_output=True,
        text=True).stdout)[0]["n"]
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "client": "wrk" if shutil.which("wrk") else "a Python keep-alive client",
        "rows": count, "seconds": args.seconds, "repetitions": args.repetitions,
        "flush_interval_ms": args.flush_interval_ms,
        "command": "python bench/audit_cost_bench.py " + " ".join(sys.argv[1:]),
        "results": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    section = markdown(report)
    print(section)
    if args.write_docs:
        replace_section(REPO / "docs" / "benchmarks.md", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
