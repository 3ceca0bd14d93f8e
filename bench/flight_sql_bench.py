"""A 1 M-row result fetched through Arrow Flight SQL against JSON over HTTP and the PostgreSQL
wire protocol from `nlk serve`, and against ROAPI's own Flight SQL endpoint, on the same Delta
table.

Not a test. Loopback only, a fixed number of fetches. Writes a JSON report and, with
--write-docs, replaces the "## Arrow Flight SQL" section of docs/benchmarks.md.

    .venv/bin/python bench/flight_sql_bench.py --write-docs

The table is the one bench/pg_wire_bench.py uses (1,000,960 neural samples, 7 columns; generated
under bench/data on first use). Each client fetches `SELECT * FROM samples` whole, the cases
alternating within each repetition; the report gives medians and the ratios. Every client ends
with the whole result in memory:

  Flight SQL   ADBC's Flight SQL driver (a pyarrow Table), and pyarrow.flight's own client
               (GetFlightInfo, then DoGet of its ticket, read into a pyarrow Table)
  HTTP         POST /api/sql: the JSON body as bytes, then parsed by json.loads; and the Arrow
               IPC stream body (Accept: application/vnd.apache.arrow.stream) read into a Table
  PostgreSQL   the raw DataRows off the socket (bytes), and psycopg's binary rows
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import sys
import tempfile
from pathlib import Path

import bench_common
import pg_wire_bench
from bench_common import REPO, ratio, serve_harness, timed

SECTION = "## Arrow Flight SQL"
QUERY = pg_wire_bench.QUERY
TYPE_URL = b"type.googleapis.com/arrow.flight.protocol.sql.CommandStatementQuery"


def varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def statement_query(sql: str) -> bytes:
    """CommandStatementQuery{query} inside a google.protobuf.Any."""
    inner = b"\x0a" + varint(len(sql.encode())) + sql.encode()
    return b"\x0a" + varint(len(TYPE_URL)) + TYPE_URL + b"\x12" + varint(len(inner)) + inner


def adbc_table(port: int):
    import adbc_driver_flightsql.dbapi as flight_sql
    with flight_sql.connect(f"grpc://127.0.0.1:{port}", autocommit=True) as connection:
        with connection.cursor() as cursor:
            cursor.execute(QUERY)
            return cursor.fetch_arrow_table()


def pyarrow_flight_table(port: int):
    import pyarrow.flight as flight
    client = flight.FlightClient(f"grpc://127.0.0.1:{port}")
    try:
        info = client.get_flight_info(flight.FlightDescriptor.for_command(statement_query(QUERY)))
        return client.do_get(info.endpoints[0].ticket).read_all()
    finally:
        client.close()


def http_arrow_table(port: int):
    import pyarrow.ipc as ipc
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("POST", "/api/sql", body=QUERY.encode(),
                           headers={"Accept": "application/vnd.apache.arrow.stream"})
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {body[:300]!r}")
        return len(body), ipc.open_stream(io.BytesIO(body)).read_all()
    finally:
        connection.close()


def markdown(report: dict) -> str:
    lines = [SECTION, ""]
    lines.append(
        f"`{QUERY}` over {report['rows']:,} rows (the table of the PostgreSQL benchmark above), "
        f"fetched whole by one client on loopback, {report['repetitions']} repetitions "
        f"alternating the cases, medians shown. ROAPI {report['roapi_version']} serves the same "
        "table (`use_memory_table: false`) on its Flight SQL endpoint. Machine: "
        f"{report['machine']}; client and servers share the cores.")
    lines.append("")
    lines.append(f"Reproduce: `{report['command']}`")
    lines.append("")
    lines.append("| server | endpoint | client (result in memory as) | seconds | MB received | rows/s |")
    lines.append("|---|---|---|---:|---:|---:|")
    for entry in report["results"]:
        if entry["seconds"] is None:
            lines.append(f"| {entry['server']} | {entry['endpoint']} | {entry['client']} | "
                         f"failed: {entry['error']} | | |")
            continue
        megabytes = f"{entry['bytes'] / 1e6:.0f}" if entry.get("bytes") else "–"
        lines.append(f"| {entry['server']} | {entry['endpoint']} | {entry['client']} | "
                     f"{entry['seconds']:.2f} | {megabytes} | "
                     f"{report['rows'] / entry['seconds'] / 1e6:.2f} M |")
    lines.append("")
    lines.append("Ratios (time, lower is better):")
    lines.append("")
    for label, value in report["ratios"].items():
        lines.append(f"- {label}: {value}")
    lines.append("")
    notes = bench_common.notes("flight_sql_bench_notes.md")
    if notes:
        lines.append(notes)
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=str(REPO / "bench" / "data" / "pg_wire_samples"))
    parser.add_argument("--repetitions", type=int, default=5)
    bench_common.add_report_arguments(parser, "flight_sql_bench.json")
    args = parser.parse_args()
    if args.from_json:
        return bench_common.publish(args, SECTION, markdown)
    table = bench_common.prepare_table(args, pg_wire_bench.generate_table)
    work = Path(tempfile.mkdtemp(prefix="nlk-flight-bench-"))
    servers = {}
    try:
        nlk_flight = serve_harness.free_port()
        nlk_pg = serve_harness.free_port()
        servers["nlk"] = serve_harness.start_nlk_serve(
            ["-t", f"samples={table}", "-p", f"127.0.0.1:{nlk_pg}",
             "--addr-flight-sql", f"127.0.0.1:{nlk_flight}"], work)
        nlk_http = servers["nlk"].port
        roapi_http = serve_harness.free_port()
        roapi_flight = serve_harness.free_port()
        config = bench_common.roapi_config(work / "roapi.yml", table, roapi_http,
                                           flight_sql=roapi_flight)
        servers["ROAPI"] = serve_harness.start_roapi(config, roapi_http, work)
        reference = pyarrow_flight_table(nlk_flight)
        rows = reference.num_rows
        print(f"table: {rows:,} rows", flush=True)

        def same_rows(table):
            # Scans may hand out files in any order: compare the rows sorted.
            keys = [(name, "ascending") for name in reference.column_names]
            if table.num_rows != rows or not table.sort_by(keys).equals(reference_sorted):
                raise RuntimeError("a different result from nlk's pyarrow.flight one")

        reference_sorted = reference.sort_by([(name, "ascending")
                                              for name in reference.column_names])

        def flight_case(function, port, exact=True):
            """exact=False (ROAPI): the row count only, as its column types may differ."""
            def run(check=False):
                table = function(port)
                if check and exact:
                    same_rows(table)
                elif check and table.num_rows != rows:
                    raise RuntimeError(f"{table.num_rows} rows, not {rows}")
                elif check and table.schema != reference.schema:
                    print(f"note: port {port} answers the schema\n{table.schema}", flush=True)
                return table.nbytes
            return run

        def http_json_bytes(check=False):
            return len(pg_wire_bench.http_body(nlk_http))

        def http_json_rows(check=False):
            counted = len(json.loads(pg_wire_bench.http_body(nlk_http)))
            if check and counted != rows:
                raise RuntimeError(f"{counted} rows, not {rows}")

        def http_arrow(check=False):
            size, table = http_arrow_table(nlk_http)
            if check:
                same_rows(table)
            return size

        def postgres_bytes(check=False):
            size, counted = pg_wire_bench.postgres_bytes(nlk_pg)
            if check and counted != rows:
                raise RuntimeError(f"{counted} rows, not {rows}")
            return size

        def postgres_rows(check=False):
            counted = pg_wire_bench.psycopg_rows(nlk_pg, True)
            if check and counted != rows:
                raise RuntimeError(f"{counted} rows, not {rows}")

        # (server, endpoint, client, run); run returns the bytes received where known, and with
        # check=True (the first, untimed call) also checks the result.
        cases = [
            ("nlk", "Flight SQL", "ADBC (pyarrow Table)", flight_case(adbc_table, nlk_flight)),
            ("ROAPI", "Flight SQL", "ADBC (pyarrow Table)",
             flight_case(adbc_table, roapi_flight, exact=False)),
            ("nlk", "Flight SQL", "pyarrow.flight (Table)",
             flight_case(pyarrow_flight_table, nlk_flight)),
            ("ROAPI", "Flight SQL", "pyarrow.flight (Table)",
             flight_case(pyarrow_flight_table, roapi_flight, exact=False)),
            ("nlk", "HTTP Arrow IPC", "pyarrow.ipc (Table)", http_arrow),
            ("nlk", "HTTP JSON", "bytes only", http_json_bytes),
            ("nlk", "HTTP JSON", "json.loads (dicts)", http_json_rows),
            ("nlk", "PostgreSQL", "bytes only (text DataRows)", postgres_bytes),
            ("nlk", "PostgreSQL", "psycopg binary (tuples)", postgres_rows),
        ]
        times = {index: [] for index in range(len(cases))}
        sizes, errors = {}, {}
        for index, (server, endpoint, client, run) in enumerate(cases):
            try:
                sizes[index] = run(check=True)
            except Exception as error:  # noqa: BLE001 - a client that fails is reported as such
                errors[index] = str(error).splitlines()[0][:160]
                print(f"{server} {endpoint} {client}: failed: {errors[index]}", flush=True)
        for repetition in range(args.repetitions):
            for index in bench_common.alternating(range(len(cases)), repetition):
                if index in errors:
                    continue
                server, endpoint, client, run = cases[index]
                seconds, _ = timed(run)
                times[index].append(seconds)
                print(f"rep {repetition + 1} {server:5s} {endpoint:14s} {client:28s} "
                      f"{seconds:7.3f} s", flush=True)
        results = []
        for index, (server, endpoint, client, _) in enumerate(cases):
            # Flight clients report the Table's size in memory, not bytes off the wire.
            received = sizes.get(index) if "Flight" not in endpoint else None
            results.append({"server": server, "endpoint": endpoint, "client": client,
                            "seconds": None if index in errors else bench_common.median(times[index]),
                            "runs": times[index], "bytes": received,
                            "error": errors.get(index)})

        def seconds_of(server, endpoint, client):
            for entry in results:
                if (entry["server"], entry["endpoint"], entry["client"]) == (server, endpoint, client):
                    return entry["seconds"]
            return None

        adbc_nlk = seconds_of("nlk", "Flight SQL", "ADBC (pyarrow Table)")
        ratios = {
            "nlk Flight SQL (ADBC) / ROAPI Flight SQL (ADBC)": ratio(
                adbc_nlk, seconds_of("ROAPI", "Flight SQL", "ADBC (pyarrow Table)")),
            "nlk Flight SQL (pyarrow.flight) / ROAPI Flight SQL (pyarrow.flight)": ratio(
                seconds_of("nlk", "Flight SQL", "pyarrow.flight (Table)"),
                seconds_of("ROAPI", "Flight SQL", "pyarrow.flight (Table)")),
            "nlk Flight SQL (ADBC) / nlk HTTP JSON (bytes only)": ratio(
                adbc_nlk, seconds_of("nlk", "HTTP JSON", "bytes only")),
            "nlk Flight SQL (ADBC) / nlk HTTP JSON (json.loads)": ratio(
                adbc_nlk, seconds_of("nlk", "HTTP JSON", "json.loads (dicts)")),
            "nlk Flight SQL (ADBC) / nlk PostgreSQL (bytes only)": ratio(
                adbc_nlk, seconds_of("nlk", "PostgreSQL", "bytes only (text DataRows)")),
            "nlk Flight SQL (ADBC) / nlk PostgreSQL (psycopg binary)": ratio(
                adbc_nlk, seconds_of("nlk", "PostgreSQL", "psycopg binary (tuples)")),
            "nlk Flight SQL (pyarrow.flight) / nlk HTTP Arrow IPC": ratio(
                seconds_of("nlk", "Flight SQL", "pyarrow.flight (Table)"),
                seconds_of("nlk", "HTTP Arrow IPC", "pyarrow.ipc (Table)")),
        }
        report = {
            "rows": rows, "repetitions": args.repetitions, "results": results, "ratios": ratios,
            "roapi_version": bench_common.roapi_version(),
            "machine": bench_common.machine(),
            "command": ".venv/bin/python bench/flight_sql_bench.py --write-docs",
        }
    finally:
        bench_common.stop_all(servers)
    return bench_common.publish(args, SECTION, markdown, report)


if __name__ == "__main__":
    sys.exit(main())
