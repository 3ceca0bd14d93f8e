"""A 1 M-row result fetched over the PostgreSQL wire protocol against JSON over HTTP, from
`nlk serve` and from ROAPI's own PostgreSQL endpoint, on the same Delta table.

Not a test. Loopback only, a fixed number of fetches. Writes a JSON report and, with
--write-docs, replaces the "## PostgreSQL wire protocol" section of docs/benchmarks.md.

    .venv/bin/python bench/pg_wire_bench.py --write-docs

The table (1,000,960 neural samples, 7 columns) is generated under bench/data on first use with
`nlk datagen --table`. Each client fetches `SELECT * FROM samples` whole, the servers alternating
within each repetition; the report gives medians and the ratios. Two kinds of client:

  bytes   the whole response read off the socket and nothing else: what the server takes to
          produce and send it (PostgreSQL: a simple Query read until ReadyForQuery; HTTP: the
          body of POST /api/sql)
  rows    the rows as a Python program gets them: psycopg's fetchall (text, and binary for
          nlk), and json.loads of the HTTP body
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import bench_common
from bench_common import REPO, median, ratio, serve_harness, timed

SECTION = "## PostgreSQL wire protocol"
QUERY = "SELECT * FROM samples"
READY = b"Z\x00\x00\x00\x05I"


def generate_table(nlk: str, table: Path) -> None:
    print(f"generating {table} (1,000,960 rows)...", flush=True)
    subprocess.run([nlk, "datagen", "--table", str(table), "--devices", "8", "--channels", "32",
                    "--rate", "10", "--duration", "391", "--start", "2026-01-01T00:00:00Z",
                    "--seed", "7"], check=True, stdout=subprocess.DEVNULL)


def postgres_bytes(port: int) -> tuple[int, int]:
    """Sends the query as a simple Query and reads until ReadyForQuery; (bytes, rows)."""
    with socket.create_connection(("127.0.0.1", port), timeout=300) as connection:
        body = struct.pack("!i", 196608) + b"user\0bench\0database\0bench\0\0"
        connection.sendall(struct.pack("!i", len(body) + 4) + body)
        received = b""
        while not received.endswith(READY):
            chunk = connection.recv(65536)
            if not chunk:
                raise RuntimeError(f"closed during startup: {received[-200:]!r}")
            received += chunk
        query = QUERY.encode() + b"\0"
        connection.sendall(b"Q" + struct.pack("!i", len(query) + 4) + query)
        chunks = []
        total = 0
        tail = b""
        while True:
            chunk = connection.recv(1 << 20)
            if not chunk:
                raise RuntimeError("the server closed the connection mid-result")
            chunks.append(chunk)
            total += len(chunk)
            tail = (tail + chunk)[-256:]
            if tail.endswith(READY) and b"SELECT " in tail:
                break
        if b"E\x00\x00" in tail and b"SELECT " not in tail:
            raise RuntimeError(f"error: {tail!r}")
        tag = tail[tail.rfind(b"SELECT "):].split(b"\0")[0]
        return total, int(tag.split()[-1])


def http_body(port: int) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("POST", "/api/sql", body=QUERY.encode())
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {body[:300]!r}")
        return body
    finally:
        connection.close()


def psycopg_rows(port: int, binary: bool) -> int:
    import psycopg
    with psycopg.connect(f"postgresql://bench@127.0.0.1:{port}/bench", autocommit=True,
                         connect_timeout=30) as connection:
        with connection.cursor(binary=binary) as cursor:
            cursor.execute(QUERY)
            return len(cursor.fetchall())


def markdown(report: dict) -> str:
    lines = [SECTION, ""]
    lines.append(
        f"`{QUERY}` over {report['rows']:,} rows (7 columns: two strings, int32, timestamp, "
        f"date, int64, float32) of one Delta table, fetched whole by one client on loopback, "
        f"{report['repetitions']} repetitions alternating the servers, medians shown. ROAPI "
        f"{report['roapi_version']} serves the same table (`use_memory_table: false`) on its "
        f"HTTP and PostgreSQL endpoints. Machine: {report['machine']}; client and servers share "
        "the cores.")
    lines.append("")
    lines.append(f"Reproduce: `{report['command']}`")
    lines.append("")
    lines.append("| client | server | endpoint | seconds | MB received | rows/s |")
    lines.append("|---|---|---|---:|---:|---:|")
    for entry in report["results"]:
        seconds = entry["seconds"]
        if seconds is None:
            lines.append(f"| {entry['client']} | {entry['server']} | {entry['endpoint']} | "
                         f"failed: {entry['error']} | | |")
            continue
        megabytes = f"{entry['bytes'] / 1e6:.0f}" if entry.get("bytes") else "–"
        lines.append(f"| {entry['client']} | {entry['server']} | {entry['endpoint']} | "
                     f"{seconds:.2f} | {megabytes} | {report['rows'] / seconds / 1e6:.2f} M |")
    lines.append("")
    lines.append("Ratios (time, lower is better):")
    lines.append("")
    for label, value in report["ratios"].items():
        lines.append(f"- {label}: {value}")
    lines.append("")
    notes = bench_common.notes("pg_wire_bench_notes.md")
    if notes:
        lines.append(notes)
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=str(REPO / "bench" / "data" / "pg_wire_samples"))
    parser.add_argument("--repetitions", type=int, default=5)
    bench_common.add_report_arguments(parser, "pg_wire_bench.json")
    args = parser.parse_args()
    if args.from_json:
        return bench_common.publish(args, SECTION, markdown)
    table = bench_common.prepare_table(args, generate_table)
    work = Path(tempfile.mkdtemp(prefix="nlk-pg-bench-"))
    servers = {}
    try:
        nlk_pg_port = serve_harness.free_port()
        servers["nlk"] = serve_harness.start_nlk_serve(
            ["-t", f"samples={table}", "-p", f"127.0.0.1:{nlk_pg_port}"], work)
        roapi_http = serve_harness.free_port()
        roapi_pg = serve_harness.free_port()
        config = bench_common.roapi_config(work / "roapi.yml", table, roapi_http,
                                           postgres=roapi_pg)
        servers["ROAPI"] = serve_harness.start_roapi(config, roapi_http, work)
        rows = http_body_rows = len(json.loads(http_body(servers["nlk"].port)))
        print(f"table: {rows:,} rows", flush=True)
        # What each (client, server, endpoint) runs; the first call of each is a check.
        cases = [
            ("bytes", "nlk", "PostgreSQL", lambda: postgres_bytes(nlk_pg_port)),
            ("bytes", "ROAPI", "PostgreSQL", lambda: postgres_bytes(roapi_pg)),
            ("bytes", "nlk", "HTTP JSON", lambda: (len(http_body(servers["nlk"].port)), None)),
            ("bytes", "ROAPI", "HTTP JSON", lambda: (len(http_body(roapi_http)), None)),
            ("rows", "nlk", "PostgreSQL text (psycopg)", lambda: (None, psycopg_rows(nlk_pg_port, False))),
            ("rows", "nlk", "PostgreSQL binary (psycopg)", lambda: (None, psycopg_rows(nlk_pg_port, True))),
            ("rows", "ROAPI", "PostgreSQL text (psycopg)", lambda: (None, psycopg_rows(roapi_pg, False))),
            ("rows", "nlk", "HTTP JSON (json.loads)",
             lambda: (None, len(json.loads(http_body(servers["nlk"].port))))),
            ("rows", "ROAPI", "HTTP JSON (json.loads)", lambda: (None, len(json.loads(http_body(roapi_http))))),
        ]
        times = {index: [] for index in range(len(cases))}
        sizes = {}
        errors = {}
        for index, (client, server, endpoint, run) in enumerate(cases):
            try:
                size, counted = run()
                if counted is not None and counted != http_body_rows:
                    raise RuntimeError(f"{counted} rows, not {http_body_rows}")
                sizes[index] = size
            except Exception as error:  # noqa: BLE001 - a client that fails is reported as such
                errors[index] = str(error).splitlines()[0][:120]
                print(f"{client} {server} {endpoint}: failed: {errors[index]}", flush=True)
        for repetition in range(args.repetitions):
            for index in bench_common.alternating(range(len(cases)), repetition):
                if index in errors:
                    continue
                client, server, endpoint, run = cases[index]
                seconds, _ = timed(run)
                times[index].append(seconds)
                print(f"rep {repetition + 1} {client:5s} {server:5s} {endpoint:28s} "
                      f"{seconds:7.3f} s", flush=True)
        results = []
        for index, (client, server, endpoint, _) in enumerate(cases):
            results.append({"client": client, "server": server, "endpoint": endpoint,
                            "seconds": None if index in errors else median(times[index]),
                            "runs": times[index], "bytes": sizes.get(index),
                            "error": errors.get(index)})

        def seconds_of(client, server, endpoint):
            for entry in results:
                if (entry["client"], entry["server"], entry["endpoint"]) == (client, server, endpoint):
                    return entry["seconds"]
            return None

        ratios = {
            "bytes, nlk PostgreSQL / nlk HTTP JSON": ratio(seconds_of("bytes", "nlk", "PostgreSQL"),
                                                           seconds_of("bytes", "nlk", "HTTP JSON")),
            "bytes, nlk PostgreSQL / ROAPI PostgreSQL": ratio(
                seconds_of("bytes", "nlk", "PostgreSQL"), seconds_of("bytes", "ROAPI", "PostgreSQL")),
            "rows, nlk PostgreSQL binary (psycopg) / nlk HTTP JSON (json.loads)": ratio(
                seconds_of("rows", "nlk", "PostgreSQL binary (psycopg)"),
                seconds_of("rows", "nlk", "HTTP JSON (json.loads)")),
            "rows, nlk PostgreSQL text (psycopg) / ROAPI PostgreSQL text (psycopg)": ratio(
                seconds_of("rows", "nlk", "PostgreSQL text (psycopg)"),
                seconds_of("rows", "ROAPI", "PostgreSQL text (psycopg)")),
        }
        report = {
            "rows": rows, "repetitions": args.repetitions, "results": results, "ratios": ratios,
            "roapi_version": bench_common.roapi_version(),
            "machine": bench_common.machine(),
            "command": ".venv/bin/python bench/pg_wire_bench.py --write-docs",
        }
    finally:
        bench_common.stop_all(servers)
    return bench_common.publish(args, SECTION, markdown, report)


if __name__ == "__main__":
    sys.exit(main())
