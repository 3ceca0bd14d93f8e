"""The cost of security on `nlk serve`: point-lookup latency and throughput without auth, with
bearer tokens, and with tokens over TLS (keep-alive), in the same run on the same table.

Not a test. Loopback only, every load run bounded in time. Writes a JSON report and, with
--write-docs, replaces the "## Security cost" section of docs/benchmarks.md.

    .venv/bin/python bench/security_cost_bench.py --write-docs

The servers run side by side from the same binary over the same Delta table (generated under
bench/data on first use); each repetition runs every variant, in alternating order, single-client
(p50, p99) and with 16 clients on kept-alive connections (throughput, p99). The report gives
medians over repetitions and each variant's cost relative to the plain server. The load comes
from worker processes (one per client) so the client's own TLS work is not serialised by
Python's GIL.

Audit: `--audit-args "ARGS"` adds variants that also pass ARGS to the server (e.g. the audit log
flag, "--audit-log {dir}/audit"; `{dir}` is a fresh directory), so the audit cost is measured in
the same run. See VARIANTS and audit_variants.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import shlex
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "interop"))
os.environ.setdefault("NLK_BIN", str(REPO / "build" / "tools" / "nlk"))

import serve_harness  # noqa: E402

POINT_LOOKUP = ("SELECT * FROM samples WHERE device_id = 'device-003' AND channel = 7 "
                "AND timestamp = '2026-01-01 00:00:30'")
SECTION = "## Security cost"


@dataclass
class Variant:
    label: str
    token: bool = False  # the server takes --tokens and clients send a token
    tls: bool = False
    extra: list[str] = field(default_factory=list)


# The variants every run measures; the first is the baseline.
VARIANTS = [Variant("plain"), Variant("auth", token=True), Variant("auth+TLS", token=True,
                                                                    tls=True)]


def audit_variants(audit_args: str) -> list[Variant]:
    """The variants with the audit log on: ARGS are passed to the server as they are."""
    extra = shlex.split(audit_args)
    return [Variant("auth+audit", token=True, extra=extra),
            Variant("auth+TLS+audit", token=True, tls=True, extra=extra)]


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


def client(port: int, cafile: str | None, token: str | None, seconds: float,
           results: multiprocessing.Queue) -> None:
    """One client on one kept-alive connection for `seconds`: its latencies in seconds."""
    if cafile:
        context = ssl.create_default_context(cafile=cafile)
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=context)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "text/plain"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    latencies, errors = [], 0
    body = POINT_LOOKUP.encode()
    # The first request opens the connection (and shakes hands); it is not measured.
    connection.request("POST", "/api/sql", body=body, headers=headers)
    connection.getresponse().read()
    deadline = time.perf_counter() + seconds
    while True:
        started = time.perf_counter()
        if started >= deadline:
            break
        connection.request("POST", "/api/sql", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        if response.status != 200:
            errors += 1
    connection.close()
    results.put((latencies, errors))


def load(port: int, cafile: str | None, token: str | None, clients: int, seconds: float) -> dict:
    results: multiprocessing.Queue = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=client,
                                         args=(port, cafile, token, seconds, results))
                 for _ in range(clients)]
    for process in processes:
        process.start()
    latencies, errors = [], 0
    for _ in processes:
        some, failed = results.get(timeout=seconds + 120)
        latencies += some
        errors += failed
    for process in processes:
        process.join()
    latencies.sort()
    if not latencies:
        raise RuntimeError("no request completed")

    def percentile(p: float) -> float:
        return 1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))]

    return {"requests": len(latencies), "errors": errors, "rps": len(latencies) / seconds,
            "p50_ms": percentile(0.50), "p99_ms": percentile(0.99)}


def cost(value: float, base: float, higher_is_worse: bool) -> str:
    if not base or not value:
        return "n/a"
    change = (value / base - 1) if higher_is_worse else (1 - value / base)
    return f"{100 * change:+.1f} %"


def markdown(report: dict) -> str:
    base = report["variants"][0]
    lines = [SECTION, ""]
    lines.append(
        f"The cost of authentication and TLS on `nlk serve`: the point lookup "
        f"(`{POINT_LOOKUP}`) over `POST /api/sql`, {report['rows']:,} rows, loopback. Variants: "
        "`plain` (no auth), `auth` (bearer token checked on every request), `auth+TLS` (token "
        "over TLS 1.3, kept-alive connections, handshake not measured). One client for p50/p99, "
        f"{report['clients']} clients (one process each) for throughput, {report['seconds']} s "
        f"per run, {report['repetitions']} repetitions alternating the variants, medians shown. "
        f"Machine: {report['machine']}; the clients share the cores with the server, so TLS "
        "pays its client side too.")
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
                 f"req/s | {report['clients']} clients p99 ms | cost p50 | cost p99 | "
                 "cost throughput |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    results = report["results"]
    for label in report["variants"]:
        r, b = results[label], results[base]
        lines.append(f"| {label} | {r['single_p50_ms']:.2f} | {r['single_p99_ms']:.2f} | "
                     f"{r['concurrent_rps']:.0f} | {r['concurrent_p99_ms']:.2f} | "
                     f"{cost(r['single_p50_ms'], b['single_p50_ms'], True)} | "
                     f"{cost(r['single_p99_ms'], b['single_p99_ms'], True)} | "
                     f"{cost(r['concurrent_rps'], b['concurrent_rps'], False)} |")
    lines.append("")
    lines.append("Cost: the change against `plain` (positive is slower, or fewer requests a "
                 "second). Target: under 10 %.")
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nlk", default=os.environ["NLK_BIN"])
    parser.add_argument("--table", default=str(REPO / "bench" / "data" / "security_samples"))
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--audit-args", help="server arguments that turn the audit log on; adds "
                        "the auth+audit and auth+TLS+audit variants")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--out", default=str(REPO / "bench" / "data" / "security_cost.json"))
    parser.add_argument("--from-json", help="only render (and --write-docs) a saved report")
    args = parser.parse_args()
    if args.from_json:
        section = markdown(json.loads(Path(args.from_json).read_text()))
        print(section)
        if args.write_docs:
            replace_section(REPO / "docs" / "benchmarks.md", section)
        return 0
    os.environ["NLK_BIN"] = args.nlk
    table = Path(args.table).resolve()
    if not (table / "_delta_log").exists():
        generate_table(args.nlk, table)
    work = Path(tempfile.mkdtemp(prefix="nlk-security-bench-"))
    cert, key = make_certificate(work)
    tokens = work / "tokens.tsv"
    token = subprocess.run([args.nlk, "auth", "token", "create", "--tokens", str(tokens),
                            "--principal", "bench"], check=True, capture_output=True,
                           text=True).stdout.strip()
    variants = VARIANTS + (audit_variants(args.audit_args) if args.audit_args else [])
    load_before = os.getloadavg()[0]
    servers: dict[str, serve_harness.Server] = {}
    try:
        for index, variant in enumerate(variants):
            server_args = ["-t", f"samples={table}"]
            if variant.token:
                server_args += ["--tokens", str(tokens)]
            if variant.tls:
                server_args += ["--tls-cert", str(cert), "--tls-key", str(key)]
            directory = work / f"variant-{index}"
            directory.mkdir()
            server_args += [a.replace("{dir}", str(directory)) for a in variant.extra]
            context = ssl.create_default_context(cafile=str(cert)) if variant.tls else None
            servers[variant.label] = serve_harness.start_nlk_serve(server_args, work,
                                                                   ssl_context=context)
        rows = servers["plain"].sql("SELECT count(*) AS n FROM samples").json()[0]["n"]
        found = servers["plain"].sql(POINT_LOOKUP).json()
        assert len(found) == 1, f"the point lookup found {len(found)} rows"
        raw: dict[str, list] = {v.label: [] for v in variants}
        for repetition in range(args.repetitions):
            order = variants if repetition % 2 == 0 else list(reversed(variants))
            for variant in order:
                port = servers[variant.label].port
                cafile = str(cert) if variant.tls else None
                credential = token if variant.token else None
                single = load(port, cafile, credential, 1, args.seconds)
                concurrent = load(port, cafile, credential, args.clients, args.seconds)
                if single["errors"] or concurrent["errors"]:
                    raise RuntimeError(f"{variant.label}: requests failed")
                raw[variant.label].append({"single": single, "concurrent": concurrent})
                print(f"rep {repetition + 1} {variant.label:16s} p50 {single['p50_ms']:6.2f} ms "
                      f"p99 {single['p99_ms']:6.2f} ms | c{args.clients}: "
                      f"{concurrent['rps']:8.1f} req/s p99 {concurrent['p99_ms']:6.2f} ms",
                      flush=True)
    finally:
        for server in servers.values():
            server.stop()
    results = {}
    for label, runs in raw.items():
        results[label] = {
            "single_p50_ms": statistics.median(r["single"]["p50_ms"] for r in runs),
            "single_p99_ms": statistics.median(r["single"]["p99_ms"] for r in runs),
            "concurrent_rps": statistics.median(r["concurrent"]["rps"] for r in runs),
            "concurrent_p99_ms": statistics.median(r["concurrent"]["p99_ms"] for r in runs),
        }
    report = {
        "rows": rows, "seconds": args.seconds, "repetitions": args.repetitions,
        "clients": args.clients, "variants": [v.label for v in variants],
        "machine": f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}",
        "command": ".venv/bin/python bench/security_cost_bench.py --write-docs"
                   + (f" --audit-args {shlex.quote(args.audit_args)}" if args.audit_args else ""),
        "results": results, "raw": raw,
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
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
