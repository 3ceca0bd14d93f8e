"""`nlk serve --addr-flight-sql`: Arrow Flight SQL, proved with the ADBC Flight SQL driver (PyPI)
reading into pyarrow and Polars, with the same results as /api/sql; prepared statements with
parameters; the catalog through ADBC's get_objects/get_table_schema; then error codes, limits,
overload and clients that vanish mid-stream, on pyarrow.flight's raw client.

Run:  .venv/bin/python -m pytest tests/interop/test_serve_flight_sql.py   (NLK_BIN=build/tools/nlk)
"""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import time
from pathlib import Path

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import polars as pl
import pyarrow as pa
import pyarrow.flight as flight
import pyarrow.ipc as ipc
import pytest

from serve_harness import free_port, start_nlk_serve, wait_for_port

TYPE_PREFIX = "type.googleapis.com/arrow.flight.protocol.sql."


# --- a few Flight SQL messages, coded here so that raw-client tests need no protobuf library -----

def varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field_bytes(number: int, value: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(value)) + value


def pack(message: str, body: bytes = b"") -> bytes:
    return field_bytes(1, (TYPE_PREFIX + message).encode()) + field_bytes(2, body)


def statement_query(sql: str) -> bytes:
    return pack("CommandStatementQuery", field_bytes(1, sql.encode()))


# --- the server ---------------------------------------------------------------------------------

class FlightServer:
    def __init__(self, http, port: int):
        self.http = http
        self.port = port
        self.uri = f"grpc://127.0.0.1:{port}"

    def connect(self):
        return flight_sql.connect(self.uri, autocommit=True)

    def raw(self) -> flight.FlightClient:
        return flight.FlightClient(self.uri)

    def http_arrow(self, query: str) -> pa.Table:
        response = self.http.sql(query, accept="application/vnd.apache.arrow.stream")
        assert response.status == 200, response.body[:500]
        return ipc.open_stream(io.BytesIO(response.body)).read_all()

    def query(self, sql: str, parameters=None) -> pa.Table:
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            return cursor.fetch_arrow_table()


def start_flight_server(args: list, log_dir: Path) -> FlightServer:
    port = free_port()
    http = start_nlk_serve([*args, "--addr-flight-sql", f"127.0.0.1:{port}"], log_dir)
    wait_for_port(port)
    return FlightServer(http, port)


@pytest.fixture(scope="module")
def data(tmp_path_factory, run_nlk):
    base = tmp_path_factory.mktemp("serve-flight-sql")
    samples = base / "samples"
    for start in ("2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"):
        run_nlk("datagen", "--table", samples, "--devices", 2, "--channels", 4, "--rate", 10,
                "--duration", 3, "--start", start)
    # 200,000 rows: several MB of Arrow, more than gRPC buffers for a client that stops reading.
    big = base / "big"
    run_nlk("datagen", "--table", big, "--devices", 4, "--channels", 50, "--rate", 100,
            "--duration", 10)
    return {"base": base, "samples": samples, "big": big}


@pytest.fixture(scope="module")
def server(data):
    srv = start_flight_server(["-t", f"samples={data['samples']}", "-t", f"big={data['big']}",
                               "-t", f"neural.spikes={data['samples']}"], data["base"])
    yield srv
    srv.http.stop()


QUERIES = [
    "SELECT * FROM samples ORDER BY timestamp, device_id, channel",
    "SELECT device_id, channel, count(*) AS n, avg(voltage_uv) AS mean, min(timestamp) AS first "
    "FROM samples GROUP BY device_id, channel ORDER BY device_id, channel",
    "SELECT sequence, voltage_uv * 2 AS doubled, date FROM samples WHERE channel = 3 "
    "ORDER BY sequence, doubled LIMIT 7",
    "SELECT count(*) AS n FROM samples WHERE channel > 100",
    'SELECT count(*) AS n FROM "samples@v0"',
]


# --- ADBC: pyarrow and Polars -------------------------------------------------------------------

@pytest.mark.parametrize("sql", QUERIES)
def test_adbc_results_are_identical_to_api_sql(server, sql):
    through_flight = server.query(sql)
    through_http = server.http_arrow(sql)
    assert through_flight.schema == through_http.schema
    assert through_flight.equals(through_http)


def test_large_result_streams_in_batches(server):
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT * FROM big")
        reader = cursor.fetch_record_batch()
        batches = list(reader)
    assert len(batches) > 1
    assert sum(batch.num_rows for batch in batches) == 200_000


def test_polars_reads_through_adbc(server):
    sql = "SELECT device_id, channel, voltage_uv FROM samples ORDER BY sequence, device_id, channel"
    with server.connect() as connection:
        frame = pl.read_database(sql, connection)
    expected = pl.from_arrow(server.http_arrow(sql))
    assert frame.equals(expected)
    assert frame.height == 480


def test_prepared_statement_with_parameters(server):
    sql = "SELECT count(*) AS n, min(sequence) AS first FROM samples WHERE channel = $1 " \
          "AND device_id = $2"
    bound = server.query(sql, (2, "device-001"))
    literal = server.http_arrow(sql.replace("$1", "2").replace("$2", "'device-001'"))
    assert bound.to_pylist() == literal.to_pylist() and bound.column("n")[0].as_py() == 60
    # A value is a literal, never SQL: a quote cannot widen the filter.
    assert server.query("SELECT count(*) AS n FROM samples WHERE device_id = $1",
                        ("x' OR 'a'='a",)).column("n")[0].as_py() == 0
    # NULL, floats and booleans.
    row = server.query("SELECT $1 IS NULL AS a, $2 * 2 AS b, NOT $3 AS c",
                       (None, 1.25, True)).to_pylist()
    assert row == [{"a": True, "b": 2.5, "c": False}]


def test_prepared_statement_reused_and_run_per_parameter_row(server):
    with server.connect() as connection, connection.cursor() as cursor:
        statement = cursor.adbc_statement
        statement.set_sql_query("SELECT channel, count(*) AS n FROM samples WHERE channel = $1 "
                                "GROUP BY channel")
        statement.prepare()
        for rows in ([1], [3, 0, 2]):
            statement.bind(pa.record_batch([pa.array(rows, pa.int32())], names=["$1"]))
            stream, _ = statement.execute_query()
            result = pa.RecordBatchReader._import_from_c(stream.address).read_all()
            assert result.to_pylist() == [{"channel": c, "n": 120} for c in rows]


def test_prepared_statement_without_its_parameters_is_an_error(server):
    with pytest.raises(adbc_driver_manager.ProgrammingError, match=r"parameter.*\$1"):
        server.query("SELECT count(*) FROM samples WHERE channel = $1")


def test_get_objects_and_table_schema(server):
    with server.connect() as connection:
        schema = connection.adbc_get_table_schema("samples")
        assert schema.names == server.http_arrow("SELECT * FROM samples LIMIT 0").schema.names
        assert schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
        assert connection.adbc_get_table_schema("spikes", db_schema_filter="neural") == schema
        with pytest.raises(adbc_driver_manager.Error):
            connection.adbc_get_table_schema("missing")
        objects = connection.adbc_get_objects(depth="all").read_all().to_pylist()
        assert [catalog["catalog_name"] for catalog in objects] == ["neuralake"]
        schemas = {s["db_schema_name"]: s for s in objects[0]["catalog_db_schemas"]}
        assert sorted(schemas) == ["neural", "public"]
        public = {t["table_name"]: t for t in schemas["public"]["db_schema_tables"]}
        assert sorted(public) == ["big", "samples"]
        columns = [c["column_name"] for c in public["samples"]["table_columns"]]
        assert columns == schema.names
        assert [t["table_name"] for t in schemas["neural"]["db_schema_tables"]] == ["spikes"]
        filtered = connection.adbc_get_objects(depth="tables", table_name_filter="sam%")
        tables = [t["table_name"] for c in filtered.read_all().to_pylist()
                  for s in c["catalog_db_schemas"] for t in s["db_schema_tables"] or []]
        assert tables == ["samples"]
        assert connection.adbc_get_table_types() == ["TABLE"]
        info = connection.adbc_get_info()
        assert info["vendor_name"] == "Neuralake nlk serve"
        assert info["vendor_arrow_version"] == pa.__version__


def test_bad_sql_and_missing_tables_are_errors_not_crashes(server):
    with pytest.raises(adbc_driver_manager.ProgrammingError, match="INVALID_ARGUMENT.*syntax"):
        server.query("SELEC 1")
    with pytest.raises(adbc_driver_manager.Error, match='NOT_FOUND.*table "missing"'):
        server.query("SELECT * FROM missing")
    with pytest.raises(adbc_driver_manager.Error, match="read-only"):
        server.query("DROP TABLE samples")
    for statement in ["DELETE FROM samples", "UPDATE samples SET channel = 0",
                      "INSERT INTO samples SELECT * FROM samples"]:
        with pytest.raises(adbc_driver_manager.Error, match="read-only"):
            server.query(statement)
    assert server.query("SELECT count(*) AS n FROM samples").column("n")[0].as_py() == 480
    assert server.http.alive()


# --- the raw Flight client: protocol edges -----------------------------------------------------

def test_raw_statement_ticket_and_schema(server):
    client = server.raw()
    descriptor = flight.FlightDescriptor.for_command(statement_query(
        "SELECT device_id, count(*) AS n FROM samples GROUP BY device_id ORDER BY device_id"))
    info = client.get_flight_info(descriptor)
    assert info.schema.names == ["device_id", "n"]
    assert client.get_schema(descriptor).schema == info.schema
    table = client.do_get(info.endpoints[0].ticket).read_all()
    assert table.to_pylist() == [{"device_id": "device-001", "n": 240},
                                 {"device_id": "device-002", "n": 240}]
    # The catalog commands answer the same way, in the protocol's shapes.
    types = client.do_get(flight.Ticket(pack("CommandGetTableTypes"))).read_all()
    assert types.to_pylist() == [{"table_type": "TABLE"}]
    info = client.do_get(flight.Ticket(pack("CommandGetSqlInfo", field_bytes(1, varint(3) +
                                                                             varint(504))))).read_all()
    assert info.column("info_name").to_pylist() == [3, 504]
    assert info.column("value").to_pylist() == [True, '"']
    client.close()


def test_a_ticket_answers_its_own_sql(server):
    """A statement's ticket names its started query and carries its SQL; a ticket made up with
    another's name gets its own SQL's rows, never the other query's."""
    client = server.raw()
    sql = b"SELECT count(*) AS n FROM samples"
    info = client.get_flight_info(flight.FlightDescriptor.for_command(statement_query(sql.decode())))
    ticket = info.endpoints[0].ticket.ticket
    assert ticket.endswith(sql)
    name = ticket[-len(sql) - 32:-len(sql)]
    forged = flight.Ticket(pack("TicketStatementQuery", field_bytes(1, name + b"SELECT 2 AS x")))
    assert client.do_get(forged).read_all().to_pylist() == [{"x": 2}]
    assert client.do_get(info.endpoints[0].ticket).read_all().to_pylist() == [{"n": 480}]
    # Redeemed twice, a ticket runs its SQL again.
    assert client.do_get(info.endpoints[0].ticket).read_all().to_pylist() == [{"n": 480}]
    client.close()


def test_raw_errors_carry_flight_status_codes(server):
    client = server.raw()
    with pytest.raises(pa.ArrowInvalid, match="not a Flight SQL command.*truncated"):
        client.get_flight_info(flight.FlightDescriptor.for_command(b"\xff\xff\xff"))
    with pytest.raises(pa.ArrowInvalid, match="not a Flight SQL ticket"):
        client.do_get(flight.Ticket(b"\x0a\x05abc"))
    with pytest.raises(pa.ArrowInvalid, match="path descriptors"):
        client.get_flight_info(flight.FlightDescriptor.for_path("samples"))
    with pytest.raises(pa.ArrowNotImplementedError, match="CommandStatementUpdate.*read-only"):
        client.get_flight_info(flight.FlightDescriptor.for_command(
            pack("CommandStatementUpdate", field_bytes(1, b"DELETE FROM samples"))))
    with pytest.raises(pa.ArrowInvalid, match="syntax error"):
        client.get_flight_info(flight.FlightDescriptor.for_command(statement_query("SELEC 1")))
    with pytest.raises(pa.ArrowKeyError, match="does not exist"):
        client.get_flight_info(flight.FlightDescriptor.for_command(
            statement_query("SELECT * FROM missing")))
    with pytest.raises(pa.ArrowKeyError, match="prepared statement"):
        client.get_flight_info(flight.FlightDescriptor.for_command(
            pack("CommandPreparedStatementQuery", field_bytes(1, b"no-such-handle"))))
    with pytest.raises(pa.ArrowNotImplementedError, match="not supported"):
        list(client.do_action(flight.Action("CancelQuery", b"")))
    client.close()
    assert server.http.alive()


# --- limits --------------------------------------------------------------------------------------

@pytest.mark.parametrize("flag,value,sql,message", [
    ("--max-result-rows", "100", "SELECT * FROM samples", "limit of 100 rows"),
    ("--max-result-bytes", "10000", "SELECT * FROM samples", "max_result_bytes"),
    ("--max-query-memory-bytes", "10000", "SELECT * FROM samples ORDER BY voltage_uv",
     "memory limit"),
])
def test_result_limits(data, flag, value, sql, message):
    limited = start_flight_server(["-t", f"samples={data['samples']}", flag, value], data["base"])
    try:
        with pytest.raises(adbc_driver_manager.ProgrammingError, match=message):
            limited.query(sql)
        assert limited.query("SELECT count(*) AS n FROM samples").column("n")[0].as_py() == 480
    finally:
        limited.http.stop()


def test_query_timeout(data):
    limited = start_flight_server(["-t", f"big={data['big']}", "--query-timeout-ms", "1"],
                                  data["base"])
    # A 200,000-row sort cannot finish within a millisecond.
    sql = "SELECT * FROM big ORDER BY voltage_uv, sequence LIMIT 10"
    try:
        with pytest.raises(flight.FlightTimedOutError, match=r"longer than 1 ms \(query_timeout\)"):
            client = limited.raw()
            info = client.get_flight_info(flight.FlightDescriptor.for_command(
                statement_query(sql)))
            client.do_get(info.endpoints[0].ticket).read_all()
        with pytest.raises(adbc_driver_manager.OperationalError, match="TIMEOUT.*query_timeout"):
            limited.query(sql)
        assert limited.http.alive()
    finally:
        limited.http.stop()


READ_AND_STALL = """
import sys, time
import pyarrow.flight as flight
sys.path.insert(0, {tests!r})
from test_serve_flight_sql import statement_query
client = flight.FlightClient({uri!r})
info = client.get_flight_info(flight.FlightDescriptor.for_command(statement_query({sql!r})))
reader = client.do_get(info.endpoints[0].ticket)
reader.read_chunk()
print("reading", flush=True)
time.sleep(600)
"""


class StalledClient:
    """Another process that starts reading a large result and then stops reading: its query
    keeps its slot and its call, until the process is killed (a client vanishing mid-stream)."""

    def __init__(self, server: FlightServer, sql: str = "SELECT * FROM big"):
        script = READ_AND_STALL.format(tests=str(Path(__file__).parent), uri=server.uri, sql=sql)
        self.process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        assert line.strip() == "reading", self.process.stderr.read()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)


def eventually(check, timeout: float = 60.0):
    """A generous hang guard while the server notices a client is gone."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except (adbc_driver_manager.Error, flight.FlightError, pa.ArrowException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_client_killed_mid_stream_releases_its_query(data):
    single = start_flight_server(["-t", f"big={data['big']}", "--workers", "1", "--max-queued", "0"],
                                 data["base"])
    try:
        for _ in range(3):
            stalled = StalledClient(single)
            # Its query holds the only slot, so another query is refused: overload is UNAVAILABLE.
            with pytest.raises(flight.FlightUnavailableError, match="busy"):
                single.raw().get_flight_info(flight.FlightDescriptor.for_command(
                    statement_query("SELECT 1 AS x")))
            stalled.kill()
            assert eventually(lambda: single.query("SELECT 1 AS x").to_pylist()) == [{"x": 1}]
        assert single.http.alive()
        assert single.query("SELECT count(*) AS n FROM big").column("n")[0].as_py() == 200_000
    finally:
        single.http.stop()


def test_yaml_address_and_max_connections(data):
    port, http_port = free_port(), free_port()
    config = data["base"] / "flight.yml"
    config.write_text(f"addr:\n  http: 127.0.0.1:{http_port}\n  flight_sql: 127.0.0.1:{port}\n"
                      f"tables:\n  - name: big\n    uri: {data['big']}\n"
                      "limits:\n  max_connections: 1\n")
    http = start_nlk_serve(["-c", config], data["base"], port=http_port)
    served = FlightServer(http, port)
    try:
        wait_for_port(port)
        stalled = StalledClient(served)
        with pytest.raises(flight.FlightUnavailableError, match="max_connections"):
            served.raw().do_get(flight.Ticket(pack("CommandGetTableTypes"))).read_all()
        stalled.kill()
        types = eventually(lambda: served.raw().do_get(
            flight.Ticket(pack("CommandGetTableTypes"))).read_all())
        assert types.to_pylist() == [{"table_type": "TABLE"}]
    finally:
        http.stop()
