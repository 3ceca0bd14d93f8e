"""The cost of security on `nlk serve`: point-lookup latency and throughput without auth, with
bearer tokens, with tokens over TLS (keep-alive), and with the audit log on, in the same run on
the same table.

Not a test. Loopback only, every load run bounded in time. Writes a JSON report and, with
--write-docs, replaces the "## Security cost" section of docs/benchmarks.md.

    .venv/bin/python bench/security_cost_bench.py --profile --write-docs

The servers run side by side from the same binary over the same Delta table (generated under
bench/data on first use): plain, auth, auth+TLS, auth+audit and auth+TLS+audit (`--audit-log`
into a fresh directory per server). Each repetition runs every variant, in alternating order,
single-client (p50, p99) and with 16 clients on kept-alive connections (throughput, p99), the
load from wrk (C and OpenSSL, as serve_bench.py uses it), so the client's side of TLS takes
little of the cores the server runs on. The report gives medians over repetitions, each
variant's cost relative to the plain server, and the audit records each audited server wrote.
"""

from __future__ import annotations

import argparse
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import bench_common
from bench_common import REPO, serve_harness

POINT_LOOKUP = ("SELECT * FROM samples WHERE device_id = 'device-003' AND channel = 7 "
                "AND timestamp = '2026-01-01 00:00:30'")
SECTION = "## Security cost"


@dataclass
class Variant:
    label: str
    token: bool = False  # the server takes --tokens and clients send a token
    tls: bool = False
    audit: bool = False  # the server writes an audit log (--audit-log into a fresh directory)


# The variants every run measures; the first is the baseline.
VARIANTS = [Variant("plain"), Variant("auth", token=True),
            Variant("auth+TLS", token=True, tls=True),
            Variant("auth+audit", token=True, audit=True),
            Variant("auth+TLS+audit", token=True, tls=True, audit=True)]


def generate_table(nlk: str, table: Path) -> None:
    print(f"generating {table}...", flush=True)
    subprocess.run([nlk, "datagen", "--table", str(table), "--devices", "8", "--channels", "32",
                    "--rate", "10", "--duration", "60", "--start", "2026-01-01T00:00:00Z"],
                   check=True, stdout=subprocess.DEVNULL)


def make_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "server.pem", directory / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    return cert, key


def load(server: serve_harness.Server, tls: bool, token: str | None, clients: int,
         seconds: float, work: Path) -> dict:
    """wrk against the server, and the server's CPU time per request over the run (all its
    threads: the query, TLS, the audit writer), which other work on the machine moves far less
    than latency."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    cpu_before = bench_common.cpu_seconds(server.process.pid)
    result = bench_common.run_wrk(server.port, POINT_LOOKUP, clients, seconds, work,
                                  scheme="https" if tls else "http", headers=headers)
    cpu = bench_common.cpu_seconds(server.process.pid) - cpu_before
    return {"requests": result["requests"], "errors": result["errors"] + result["non2xx"],
            "rps": result["rps"], "p50_ms": result["p50_us"] / 1000,
            "p99_ms": result["p99_us"] / 1000,
            "cpu_us_per_request": 1e6 * cpu / max(result["requests"], 1)}


def profile_shares(server: serve_harness.Server, token: str, seconds: float, clients: int,
                   work: Path) -> dict:
    """perf samples of the server under the 16-client load, over TLS with the audit log: the
    share of its CPU in OpenSSL (libssl, libcrypto) and in the audit writer thread
    (nlk-audit), which the machine's other work does not blur as it blurs latency."""
    data = work / "perf.data"
    perf = subprocess.Popen(["perf", "record", "-F", "999", "-p", str(server.process.pid),
                             "-o", str(data)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        load(server, True, token, clients, seconds, work)
    finally:
        perf.send_signal(2)
        perf.wait(timeout=60)

    def shares(key: str) -> dict[str, float]:
        out = subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--sort", key,
                              "--stdio", "-g", "none"], capture_output=True, text=True,
                             check=True).stdout
        found: dict[str, float] = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith("%"):
                found[parts[-1]] = found.get(parts[-1], 0.0) + float(parts[0].rstrip("%"))
        return found

    dsos = shares("dso")
    commands = shares("comm")
    return {"openssl_percent": sum(v for k, v in dsos.items() if "libssl" in k or "libcrypto" in k),
            "audit_thread_percent": commands.get("nlk-audit", 0.0)}


def audit_records(server: serve_harness.Server, token: str) -> int:
    """nlk_audit_records_total from the server's /metrics (which takes the token)."""
    response = server.request("GET", "/metrics", headers={"Authorization": f"Bearer {token}"})
    if response.status != 200:
        raise RuntimeError(f"/metrics: HTTP {response.status}")
    for line in response.body.decode().splitlines():
        if line.startswith("nlk_audit_records_total "):
            return int(float(line.split()[1]))
    raise RuntimeError("/metrics has no nlk_audit_records_total")


def cost(value: float, base: float, higher_is_worse: bool) -> str:
    if not base or not value:
        return "n/a"
    change = (value / base - 1) if higher_is_worse else (1 - value / base)
    return f"{100 * change:+.1f} %"


def markdown(report: dict) -> str:
    base = report["variants"][0]
    lines = [SECTION, ""]
    lines.append(
        f"The cost of authentication, TLS and the audit log on `nlk serve`: the point lookup "
        f"(`{POINT_LOOKUP}`) over `POST /api/sql`, {report['rows']:,} rows, loopback. Variants: "
        "`plain` (no auth), `auth` (bearer token checked on every request), `auth+TLS` (token "
        "over TLS 1.3, kept-alive connections, the handshake not in the latencies), and `auth+audit`, "
        "`auth+TLS+audit` (the same with `--audit-log`, the writer flushing every "
        f"{report.get('flush_interval_ms', 1000)} ms). One client for p50/p99, "
        f"{report['clients']} clients (wrk, 2 threads) for throughput, {report['seconds']} s "
        f"per run, {report['repetitions']} repetitions alternating the variants, medians shown. "
        f"Machine: {report['machine']}; wrk shares the cores with the server, so TLS pays its "
        "client side too.")
    if "load_average" in report:
        before, after = report["load_average"]
        lines.append("")
        lines.append(f"Load average (1 min) at the start and end of the run: {before} and {after}. "
                     "Other work on the machine moves single runs by more than the target; the "
                     "per-repetition figures are in the JSON report.")
    lines.append("")
    lines.append(f"Reproduce: `{report['command']}`")
    lines.append("")
    lines.append(f"| variant | 1 client p50 ms | 1 client p99 ms | {report['clients']} clients "
                 f"req/s | {report['clients']} clients p99 ms | server CPU µs/request | "
                 "cost p50 | cost p99 | cost throughput | cost CPU/request | "
                 "audit records written |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    results = report["results"]
    for label in report["variants"]:
        r, b = results[label], results[base]
        lines.append(f"| {label} | {r['single_p50_ms']:.2f} | {r['single_p99_ms']:.2f} | "
                     f"{r['concurrent_rps']:.0f} | {r['concurrent_p99_ms']:.2f} | "
                     f"{r.get('cpu_us_per_request', 0):.0f} | "
                     f"{cost(r['single_p50_ms'], b['single_p50_ms'], True)} | "
                     f"{cost(r['single_p99_ms'], b['single_p99_ms'], True)} | "
                     f"{cost(r['concurrent_rps'], b['concurrent_rps'], False)} | "
                     f"{cost(r.get('cpu_us_per_request'), b.get('cpu_us_per_request'), True)} | "
                     f"{r.get('records', '–')} |")
    lines.append("")
    lines.append("Cost: the change against `plain` (positive is slower, fewer requests a "
                 "second, or more server CPU per request). Target: under 10 %. Server CPU per "
                 "request is the server process's user and system time over the 16-client run "
                 "divided by the requests it answered: it includes TLS and the audit writer's "
                 "background commits, and other work on the machine moves it far less than "
                 "latency.")
    profile = report.get("profile")
    if profile:
        lines.append("")
        lines.append(f"Profile (`--profile`, perf at 999 Hz on the `auth+TLS+audit` server under "
                     f"the {report['clients']}-client load): OpenSSL (libssl, libcrypto) "
                     f"{profile['openssl_percent']:.1f} % and the audit writer thread "
                     f"(`nlk-audit`) {profile['audit_thread_percent']:.1f} % of the server's "
                     "CPU samples.")
    notes = bench_common.notes("security_cost_bench_notes.md")
    if notes:
        lines.append("")
        lines.append(notes)
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=str(REPO / "bench" / "data" / "security_samples"))
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--flush-interval-ms", type=int, default=1000,
                        help="--audit-flush-interval-ms of the audited servers")
    parser.add_argument("--profile", action="store_true",
                        help="also profile the auth+TLS+audit server with perf: the share of its "
                             "CPU in OpenSSL and in the audit writer")
    bench_common.add_report_arguments(parser, "security_cost.json")
    args = parser.parse_args()
    if args.from_json:
        return bench_common.publish(args, SECTION, markdown)
    table = bench_common.prepare_table(args, generate_table)
    work = Path(tempfile.mkdtemp(prefix="nlk-security-bench-"))
    cert, key = make_certificate(work)
    tokens = work / "tokens.tsv"
    token = subprocess.run([args.nlk, "auth", "token", "create", "--tokens", str(tokens),
                            "--principal", "bench"], check=True, capture_output=True,
                           text=True).stdout.strip()
    variants = VARIANTS
    load_before = bench_common.load_average()
    servers: dict[str, serve_harness.Server] = {}
    try:
        for index, variant in enumerate(variants):
            server_args = ["-t", f"samples={table}"]
            if variant.token:
                server_args += ["--tokens", str(tokens)]
            if variant.tls:
                server_args += ["--tls-cert", str(cert), "--tls-key", str(key)]
            if variant.audit:
                # A fresh directory per server: each audit log is its own Delta table.
                server_args += ["--audit-log", str(work / f"audit-{index}"),
                                "--audit-flush-interval-ms", str(args.flush_interval_ms)]
            context = ssl.create_default_context(cafile=str(cert)) if variant.tls else None
            servers[variant.label] = serve_harness.start_nlk_serve(server_args, work,
                                                                   ssl_context=context)
        rows = servers["plain"].sql("SELECT count(*) AS n FROM samples").json()[0]["n"]
        found = servers["plain"].sql(POINT_LOOKUP).json()
        assert len(found) == 1, f"the point lookup found {len(found)} rows"
        raw: dict[str, list] = {v.label: [] for v in variants}
        for repetition in range(args.repetitions):
            for variant in bench_common.alternating(variants, repetition):
                server = servers[variant.label]
                credential = token if variant.token else None
                single = load(server, variant.tls, credential, 1, args.seconds, work)
                concurrent = load(server, variant.tls, credential, args.clients, args.seconds,
                                  work)
                if single["errors"] or concurrent["errors"]:
                    raise RuntimeError(f"{variant.label}: requests failed")
                raw[variant.label].append({"single": single, "concurrent": concurrent})
                print(f"rep {repetition + 1} {variant.label:16s} p50 {single['p50_ms']:6.2f} ms "
                      f"p99 {single['p99_ms']:6.2f} ms | c{args.clients}: "
                      f"{concurrent['rps']:8.1f} req/s p99 {concurrent['p99_ms']:6.2f} ms | "
                      f"server CPU {concurrent['cpu_us_per_request']:6.0f} us/request",
                      flush=True)
        profile = None
        if args.profile:
            profile = profile_shares(servers["auth+TLS+audit"], token, args.seconds, args.clients,
                                     work)
            print(f"profile of auth+TLS+audit: OpenSSL {profile['openssl_percent']:.1f} %, "
                  f"audit writer {profile['audit_thread_percent']:.1f} % of the server's CPU",
                  flush=True)
        # The audit writers commit what they queued within one flush interval.
        time.sleep(args.flush_interval_ms / 1000 + 0.5)
        records = {v.label: audit_records(servers[v.label], token) for v in variants if v.audit}
    finally:
        bench_common.stop_all(servers)
    results = {}
    for label, runs in raw.items():
        results[label] = {
            "single_p50_ms": bench_common.median(r["single"]["p50_ms"] for r in runs),
            "single_p99_ms": bench_common.median(r["single"]["p99_ms"] for r in runs),
            "concurrent_rps": bench_common.median(r["concurrent"]["rps"] for r in runs),
            "concurrent_p99_ms": bench_common.median(r["concurrent"]["p99_ms"] for r in runs),
            "cpu_us_per_request": bench_common.median(
                r["concurrent"]["cpu_us_per_request"] for r in runs),
        }
        if label in records:
            results[label]["records"] = records[label]
    report = {
        "rows": rows, "seconds": args.seconds, "repetitions": args.repetitions,
        "clients": args.clients, "flush_interval_ms": args.flush_interval_ms,
        "variants": [v.label for v in variants],
        "machine": bench_common.machine(memory=False),
        "command": ".venv/bin/python bench/security_cost_bench.py --profile --write-docs",
        "results": results, "raw": raw, "profile": profile,
        "load_average": [load_before, bench_common.load_average()],
    }
    return bench_common.publish(args, SECTION, markdown, report)


if __name__ == "__main__":
    sys.exit(main())
