"""`nlk serve -p`: the PostgreSQL wire protocol, proved with the real clients people use: psql
(Debian), psycopg (text and binary, parameters), SQLAlchemy with pandas, the PostgreSQL JDBC driver
(Maven Central), Grafana's query pattern, and the same rows as /api/sql. Then cancellation,
timeouts, SQLSTATE codes, and bad input on raw sockets.

Run:  .venv/bin/python -m pytest tests/interop/test_serve_postgres.py   (NLK_BIN=build/tools/nlk)
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import os
import random
import shutil
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy

import serve_harness
from serve_harness import free_port, start_nlk_serve, wait_for_port

REPO_ROOT = Path(__file__).resolve().parents[2]
JDBC_VERSION = "42.7.14"
UTC = dt.timezone.utc


# --- the server ---------------------------------------------------------------------------------

class PgServer:
    def __init__(self, server: serve_harness.Server, pg_port: int):
        self.http = server
        self.port = pg_port
        self.url = f"postgresql://tester@127.0.0.1:{pg_port}/lake"

    def connect(self, **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.url, connect_timeout=10, autocommit=True, **kwargs)

    def psql(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = {**os.environ, "PGCONNECT_TIMEOUT": "10", "PGAPPNAME": "psql-test"}
        result = subprocess.run(
            ["psql", "-X", "-h", "127.0.0.1", "-p", str(self.port), "-U", "tester", "-d", "lake",
             *args], capture_output=True, text=True, timeout=60, env=env)
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def http_rows(self, query: str) -> list[dict]:
        response = self.http.sql(query)
        assert response.status == 200, response.body[:500]
        return response.json()


def start_pg_server(args: list, log_dir: Path) -> PgServer:
    pg_port = free_port()
    server = start_nlk_serve([*args, "-p", f"127.0.0.1:{pg_port}"], log_dir)
    wait_for_port(pg_port)
    return PgServer(server, pg_port)


def all_types_table() -> pa.Table:
    """One row of every common type, one of NULLs, and edge values."""
    return pa.table({
        "b": pa.array([True, None, False], pa.bool_()),
        "i8": pa.array([-128, None, 127], pa.int8()),
        "i16": pa.array([-32768, None, 12], pa.int16()),
        "i32": pa.array([-2147483648, None, 7], pa.int32()),
        "i64": pa.array([-9223372036854775808, None, 9223372036854775807], pa.int64()),
        "u64": pa.array([18446744073709551615, None, 0], pa.uint64()),
        "f32": pa.array([1.5, None, -0.1], pa.float32()),
        "f64": pa.array([float("nan"), None, float("-inf")], pa.float64()),
        "f64b": pa.array([1e15, None, 1 / 3], pa.float64()),
        "dec": pa.array([decimal.Decimal("-12345.678"), None, decimal.Decimal("0.001")],
                        pa.decimal128(10, 3)),
        "s": pa.array(["caf\u00e9 'quoted' \"x\" \\", None, ""], pa.string()),
        "bin": pa.array([b"\x00\xff\x10", None, b""], pa.binary()),
        "day": pa.array([dt.date(2026, 1, 2), None, dt.date(1969, 12, 31)], pa.date32()),
        "ts": pa.array([dt.datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC), None,
                        dt.datetime(1969, 12, 31, 23, 59, 58, 500000, tzinfo=UTC)],
                       pa.timestamp("us", tz="UTC")),
        "ts_ntz": pa.array([dt.datetime(2026, 1, 2, 3, 4, 5, 123456), None,
                            dt.datetime(2000, 1, 1)], pa.timestamp("us")),
        "clock": pa.array([dt.time(12, 0, 1, 500000), None, dt.time(0, 0)], pa.time64("us")),
        "dur": pa.array([dt.timedelta(seconds=-1.5), None, dt.timedelta(days=1, seconds=3661)],
                        pa.duration("us")),
        "nums": pa.array([[1, None, 3], None, []], pa.list_(pa.int32())),
        "rec": pa.array([{"x": 1, "y": "a"}, None, {"x": None, "y": "b"}],
                        pa.struct([("x", pa.int64()), ("y", pa.string())])),
    })


@pytest.fixture(scope="module")
def data(tmp_path_factory, run_nlk):
    base = tmp_path_factory.mktemp("serve-postgres")
    samples = base / "samples"
    for start in ("2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"):
        run_nlk("datagen", "--table", samples, "--devices", 2, "--channels", 4, "--rate", 10,
                "--duration", 3, "--start", start)
    small = base / "small"
    run_nlk("datagen", "--table", small, "--devices", 2, "--channels", 4, "--rate", 10,
            "--duration", 3)
    types = base / "types.parquet"
    pq.write_table(all_types_table(), types)
    # 20,000 rows in 40 files, scanned as 40 batches: the slow query below is 40 short tasks, so
    # a cancelled or timed-out query stops once the few already running end.
    many = base / "many"
    for second in range(40):
        run_nlk("datagen", "--table", many, "--devices", 1, "--channels", 5, "--rate", 100,
                "--duration", 1, "--seed", second, "--start", f"2026-01-01T00:00:{second:02d}Z")
    return {"base": base, "samples": samples, "small": small, "types": types, "many": many}


@pytest.fixture(scope="module")
def server(data):
    srv = start_pg_server(["-t", f"samples={data['samples']}",
                           "-t", f"small={data['small']}",
                           "-t", f"many={data['many']}",
                           "-t", f"types={data['types']}",
                           "-t", f"neural.spikes={data['samples']}"], data["base"])
    yield srv
    srv.http.stop()


# --- psql --------------------------------------------------------------------------------------

def test_psql_lists_and_describes_tables(server):
    listing = server.psql("-A", "-c", r"\dt").stdout
    assert "public|samples|table|nlk" in listing
    assert "public|types|table|nlk" in listing
    assert "public|small|table|nlk" in listing and "public|many|table|nlk" in listing
    # Schemas off the search path are listed when named, as in PostgreSQL.
    assert "neural|spikes|table|nlk" in server.psql("-A", "-c", r"\dt neural.*").stdout
    described = server.psql("-A", "-c", r"\d samples").stdout
    assert 'Table "public.samples"' in described
    for line in ("device_id|text||not null|", "channel|integer||not null|",
                 "timestamp|timestamp with time zone||not null|", "voltage_uv|real||not null|"):
        assert line in described, described
    types = server.psql("-A", "-c", r"\d types").stdout
    for line in ("u64|numeric|||", "dec|numeric(10,3)|||", "bin|bytea|||",
                 "ts_ntz|timestamp without time zone|||", "dur|interval|||", "nums|json|||"):
        assert line in types, types
    assert "spikes" in server.psql("-A", "-c", r"\d neural.spikes").stdout
    schemas = server.psql("-A", "-t", "-c", r"\dn").stdout
    assert "neural|nlk" in schemas and "public|nlk" in schemas


def test_psql_fetch_count_reads_through_a_cursor(server):
    query = "SELECT sequence, device_id FROM samples ORDER BY timestamp, device_id, channel"
    whole = server.psql("-A", "-t", "-c", query).stdout
    sliced = server.psql("-A", "-t", "-v", "FETCH_COUNT=37", "-c", query).stdout
    assert sliced == whole and len(whole.splitlines()) == 480


def test_psql_queries_and_errors(server):
    out = server.psql("-A", "-t", "-c",
                      "SELECT count(*), min(timestamp) FROM samples WHERE channel = 1").stdout
    assert out.strip() == "120|2026-01-01 00:00:00+00"
    failed = server.psql("-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose", "-c",
                         "SELECT nope FROM samples", check=False)
    assert failed.returncode != 0
    assert "ERROR:  42703" in failed.stderr
    assert "LINE 1: SELECT nope FROM samples" in failed.stderr  # the position, with a caret
    for sql, code in [("SELECT * FROM missing", "42P01"), ("SELEC 1", "42601"),
                      ("DROP TABLE samples", "25006"), ("SHOW nope", "42704"),
                      ("DELETE FROM samples WHERE channel = 1", "25006"),
                      ("UPDATE samples SET channel = 0", "25006"),
                      ("INSERT INTO samples SELECT * FROM samples", "25006")]:
        failed = server.psql("-v", "VERBOSITY=verbose", "-c", sql, check=False)
        assert f"ERROR:  {code}" in failed.stderr, (sql, failed.stderr)


def test_ssl_is_declined_and_clients_go_on_in_the_clear(server):
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10", "PGSSLMODE": "prefer"}
    ok = subprocess.run(["psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(server.port), "-U",
                         "tester", "-c", "SELECT 1"], capture_output=True, text=True, timeout=60,
                        env=env)
    assert ok.stdout.strip() == "1", ok.stderr
    required = subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(server.port), "-U",
                               "tester", "-c", "SELECT 1"], capture_output=True, text=True,
                              timeout=60, env={**env, "PGSSLMODE": "require"})
    assert required.returncode != 0
    assert "SSL" in required.stderr


# --- the same rows as /api/sql --------------------------------------------------------------------

def normalise(value, float32: bool = False):
    """A value from psycopg or from /api/sql's JSON, in one comparable form."""
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, str) and len(value) >= 20 and value[10] == "T" and value.endswith("Z"):
        parsed = dt.datetime.fromisoformat(value[:-1] + "+00:00")
        return parsed.isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and float32:
        return float(np.float32(value))
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


COMPARED_QUERIES = [
    "SELECT * FROM samples ORDER BY timestamp, device_id, channel",
    "SELECT device_id, channel, count(*) AS n, avg(voltage_uv) AS mean, max(timestamp) AS last "
    "FROM samples GROUP BY device_id, channel ORDER BY device_id, channel",
    "SELECT device_id, voltage_uv FROM samples WHERE timestamp BETWEEN '2026-01-01T00:00:01Z' "
    "AND '2026-01-01T00:00:02Z' ORDER BY voltage_uv DESC LIMIT 7",
    "SELECT date, sum(sequence) AS total FROM samples GROUP BY date ORDER BY date",
]


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_same_rows_as_http(server, binary):
    with server.connect() as connection:
        for query in COMPARED_QUERIES:
            expected = server.http_rows(query)
            with connection.cursor(binary=binary) as cursor:
                cursor.execute(query)
                names = [column.name for column in cursor.description]
                rows = cursor.fetchall()
            assert names == list(expected[0].keys()), query
            assert len(rows) == len(expected), query
            float32 = {name for name in names if name == "voltage_uv"}
            for row, want in zip(rows, expected):
                got = [normalise(value, name in float32) for name, value in zip(names, row)]
                wanted = [normalise(want[name], name in float32) for name in names]
                assert got == pytest.approx(wanted, rel=1e-12), query


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_every_type_reads_back_exactly(server, binary):
    table = all_types_table()
    with server.connect() as connection, connection.cursor(binary=binary) as cursor:
        cursor.execute("SELECT * FROM types")
        rows = cursor.fetchall()
        type_names = {column.name: column.type_code for column in cursor.description}
    assert type_names == {
        "b": 16, "i8": 21, "i16": 21, "i32": 23, "i64": 20, "u64": 1700, "f32": 700, "f64": 701,
        "f64b": 701, "dec": 1700, "s": 25, "bin": 17, "day": 1082, "ts": 1184, "ts_ntz": 1114,
        "clock": 1083, "dur": 1186, "nums": 114, "rec": 114}
    expected = table.to_pylist()
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected):
        got = dict(zip(table.column_names, row))
        for name, wanted in want.items():
            value = got[name]
            if wanted is None:
                assert value is None, name
            elif name == "f32":
                assert np.float32(value) == np.float32(wanted), name
            elif isinstance(wanted, float) and math.isnan(wanted):
                assert math.isnan(value), name
            elif name == "ts":
                assert value == wanted, name
            else:
                assert value == wanted, (name, value, wanted)


# --- parameters ------------------------------------------------------------------------------------

def test_psycopg_parameters(server):
    with server.connect() as connection:
        query = ("SELECT device_id, channel, timestamp, voltage_uv FROM samples WHERE channel = %s "
                 "AND device_id = %s AND timestamp >= %s ORDER BY timestamp LIMIT %s")
        params = (2, "device-001", dt.datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC), 5)
        expected = server.http_rows(
            "SELECT device_id, channel, timestamp, voltage_uv FROM samples WHERE channel = 2 AND "
            "device_id = 'device-001' AND timestamp >= '2026-01-01T00:00:01Z' ORDER BY timestamp "
            "LIMIT 5")
        for prepare in (False, True):
            rows = connection.execute(query, params, prepare=prepare).fetchall()
            assert [normalise(row[2]) for row in rows] == [normalise(e["timestamp"])
                                                           for e in expected]
        # Values that would break a query pasted together as text stay values.
        for text in ["O'Brien", "'; DROP TABLE samples; --", "$1", "back\\slash", "caf\u00e9", ""]:
            assert connection.execute("SELECT %s AS v", (text,)).fetchone()[0] == text
            assert connection.execute("SELECT count(*) FROM samples WHERE device_id = %s",
                                      (text,)).fetchone()[0] == 0
        assert connection.execute("SELECT %s + 1, %s * 2.0, %s IS NULL",
                                  (41, 1.25, None)).fetchone() == (42, 2.5, True)
        assert connection.execute("SELECT count(*) FROM samples WHERE channel IN (%s, %s)",
                                  (1, 3)).fetchone()[0] == 240
        with connection.cursor() as cursor:
            cursor.executemany("SELECT %s::bigint", [(n,) for n in range(5)])
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            connection.execute("SELECT %s::int", ("12; SELECT 1",), prepare=True)


def test_psycopg_server_side_cursors_pipeline_and_transactions(server):
    expected = [row["sequence"] for row in server.http_rows(
        "SELECT sequence FROM samples ORDER BY timestamp, device_id, channel")]
    with psycopg.connect(server.url, connect_timeout=10) as connection:  # not autocommit: BEGIN
        for binary in (False, True):
            # A named cursor is DECLARE ... CURSOR, then FETCH FORWARD n until it runs dry.
            with connection.cursor(name=f"slices_{binary}", binary=binary) as cursor:
                cursor.itersize = 50
                cursor.execute("SELECT sequence FROM samples WHERE channel >= %s "
                               "ORDER BY timestamp, device_id, channel", (0,))
                assert [row[0] for row in cursor] == expected
        connection.commit()
        with connection.pipeline():
            first = connection.execute("SELECT count(*) FROM samples")
            second = connection.execute("SELECT %s::text", ("pipelined",))
        assert first.fetchone()[0] == 480
        assert second.fetchone()[0] == "pipelined"
        connection.commit()
    with server.connect() as connection:  # autocommit: the cursor must be WITH HOLD
        with connection.cursor(name="held", withhold=True) as cursor:
            cursor.execute("SELECT sequence FROM samples ORDER BY timestamp, device_id, channel")
            assert [row[0] for row in cursor.fetchmany(7)] == expected[:7]
            assert [row[0] for row in cursor.fetchall()] == expected[7:]


# --- SQLAlchemy and pandas ---------------------------------------------------------------------

def test_sqlalchemy_and_pandas(server):
    engine = sqlalchemy.create_engine(
        f"postgresql+psycopg://tester@127.0.0.1:{server.port}/lake",
        connect_args={"connect_timeout": 10})
    try:
        frame = pd.read_sql("SELECT * FROM samples ORDER BY timestamp, device_id, channel", engine)
        expected = pd.DataFrame(
            server.http_rows("SELECT * FROM samples ORDER BY timestamp, device_id, channel"))
        assert list(frame.columns) == list(expected.columns)
        assert len(frame) == 480
        assert (frame["sequence"].to_numpy() == expected["sequence"].to_numpy()).all()
        assert (frame["timestamp"] == pd.to_datetime(expected["timestamp"], utc=True,
                                                      format="ISO8601")).all()
        counted = pd.read_sql(sqlalchemy.text(
            "SELECT channel, count(*) AS n FROM samples WHERE device_id = :device GROUP BY channel "
            "ORDER BY channel"), engine, params={"device": "device-001"})
        assert counted.to_dict("list") == {"channel": [0, 1, 2, 3], "n": [60, 60, 60, 60]}
        inspector = sqlalchemy.inspect(engine)
        assert sorted(inspector.get_table_names()) == ["many", "samples", "small", "types"]
        assert inspector.get_table_names(schema="neural") == ["spikes"]
        columns = {c["name"]: c for c in inspector.get_columns("samples")}
        assert isinstance(columns["timestamp"]["type"], sqlalchemy.TIMESTAMP)
        assert columns["timestamp"]["type"].timezone
        assert isinstance(columns["channel"]["type"], sqlalchemy.INTEGER)
        assert columns["channel"]["nullable"] is False
        assert inspector.has_table("samples") and not inspector.has_table("nope")
    finally:
        engine.dispose()


# --- JDBC --------------------------------------------------------------------------------------

def jdbc_jar() -> Path:
    """The PostgreSQL JDBC driver from Maven Central, fetched once into var/jdbc."""
    jar_dir = REPO_ROOT / "var" / "jdbc"
    jar = jar_dir / f"postgresql-{JDBC_VERSION}.jar"
    if jar.exists():
        return jar
    for tool in ("mvn", "javac", "java"):
        if shutil.which(tool) is None:
            raise AssertionError(f"'{tool}' is not on PATH (Debian: maven, openjdk-17-jdk-headless)")
    jar_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mvn", "-q", "-B", "-Dstyle.color=never", "dependency:copy",
                    f"-Dartifact=org.postgresql:postgresql:{JDBC_VERSION}",
                    f"-DoutputDirectory={jar_dir}"], check=True, timeout=600,
                   capture_output=True)
    assert jar.exists(), f"Maven did not produce {jar}"
    return jar


def test_jdbc_driver(server, tmp_path):
    jar = jdbc_jar()
    source = Path(__file__).resolve().parent / "jdbc" / "PgJdbcClient.java"
    subprocess.run(["javac", "-d", str(tmp_path), "-cp", str(jar), str(source)], check=True,
                   timeout=300)
    result = subprocess.run(
        ["java", "-Duser.timezone=UTC", "-cp", f"{jar}:{tmp_path}", "PgJdbcClient",
         f"jdbc:postgresql://127.0.0.1:{server.port}/lake"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    by_kind: dict[str, list] = {}
    for fields in lines:
        by_kind.setdefault(fields[0], []).append(fields[1:])
    assert by_kind["product"] == [["PostgreSQL", "15.0"]]
    assert ["public", "samples"] in by_kind["table"] and ["public", "types"] in by_kind["table"]
    assert ["public", "small"] in by_kind["table"]
    assert ["neural", "spikes"] in by_kind["table"]
    assert by_kind["column"][:4] == [["device_id", "text", "12", "1"],
                                     ["session_id", "text", "12", "2"],
                                     ["channel", "int4", "4", "3"],
                                     ["timestamp", "timestamptz", "93", "4"]]
    expected = server.http_rows(
        "SELECT device_id, channel, timestamp, voltage_uv FROM samples WHERE channel = 2 AND "
        "device_id = 'device-001' AND timestamp >= '2026-01-01T00:00:01Z' ORDER BY timestamp "
        "LIMIT 5")
    want = [[e["device_id"], str(e["channel"]),
             str(int(dt.datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00"))
                     .timestamp() * 1000))] for e in expected]
    for run in range(1, 7):  # runs 5 and 6 are server-side prepared, with binary results
        rows = [fields[1:] for fields in by_kind["row"] if fields[0] == str(run)]
        assert [row[:3] for row in rows] == want, run
        assert [np.float32(float(row[3])) for row in rows] == [np.float32(e["voltage_uv"])
                                                              for e in expected]
    total = server.http_rows("SELECT count(*) AS n, sum(sequence) AS s FROM samples")[0]
    assert by_kind["cursor"] == [[str(total["n"]), str(total["s"])]]
    assert by_kind["error"] == [["42703"]]


# --- Grafana ------------------------------------------------------------------------------------

def test_grafana_query_pattern(server):
    """What Grafana's PostgreSQL data source sends: its table and column pickers, then a panel's
    time series with $__timeFilter and $__timeGroupAlias expanded for the dashboard's range."""
    with server.connect() as connection:
        version = connection.execute(
            "SELECT current_setting('server_version_num')::int/100 as version").fetchone()
        assert version == (1500,)
        tables = [row[0] for row in connection.execute(
            "SELECT CASE WHEN quote_ident(table_schema) IN (SELECT CASE WHEN trim(s[i]) = "
            "'\"$user\"' THEN user ELSE trim(s[i]) END FROM generate_series(array_lower("
            "string_to_array(current_setting('search_path'),','),1), array_upper(string_to_array("
            "current_setting('search_path'),','),1)) as i, string_to_array(current_setting("
            "'search_path'),',') s) THEN quote_ident(table_name) ELSE quote_ident(table_schema) "
            "|| '.' || quote_ident(table_name) END AS \"table\" FROM information_schema.tables "
            "WHERE quote_ident(table_schema) NOT IN ('information_schema', 'pg_catalog', "
            "'_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_internal', "
            "'_timescaledb_config', 'timescaledb_information', 'timescaledb_experimental') "
            "ORDER BY 1")]
        assert tables == ["many", "neural.spikes", "samples", "small", "types"]
        columns = connection.execute(
            "SELECT quote_ident(column_name) AS \"column\", data_type AS \"type\" FROM "
            "information_schema.columns WHERE quote_ident(table_name) = 'samples'").fetchall()
        assert ("\"timestamp\"", "timestamp with time zone") in columns
        assert ("voltage_uv", "real") in columns
        assert connection.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchall() == []
        panel = ("SELECT floor(extract(epoch from timestamp)/1)*1 AS \"time\", device_id AS metric, "
                 "avg(voltage_uv) AS value FROM samples WHERE timestamp BETWEEN "
                 "'2026-01-01T00:00:00.5Z' AND '2026-01-01T00:01:01.5Z' GROUP BY 1, 2 ORDER BY 1, 2")
        expected = server.http_rows(panel)
        with connection.cursor(binary=True) as cursor:  # Grafana's driver reads numbers in binary
            cursor.execute(panel, prepare=True)
            rows = cursor.fetchall()
        assert len(rows) == len(expected) >= 8
        for row, want in zip(rows, expected):
            assert (float(row[0]), row[1]) == (float(want["time"]), want["metric"])
            assert row[2] == pytest.approx(want["value"], rel=1e-12)


def test_search_path_and_schemas_name_tables(server):
    with server.connect() as connection:
        assert connection.execute("SELECT count(*) FROM public.samples").fetchone()[0] == 480
        assert connection.execute("SELECT count(*) FROM neural.spikes").fetchone()[0] == 480
        with pytest.raises(psycopg.errors.UndefinedTable):
            connection.execute("SELECT count(*) FROM spikes")
        connection.execute("SET search_path = neural, public")
        assert connection.execute("SELECT count(*) FROM spikes").fetchone()[0] == 480
        assert connection.execute("SELECT count(*) FROM small").fetchone()[0] == 240
        assert connection.execute("SELECT current_schema()").fetchone()[0] == "neural"


# --- DBeaver --------------------------------------------------------------------------------------

def test_dbeaver_navigator_queries(server):
    """The queries DBeaver's PostgreSQL navigator sends to list schemas, tables and columns."""
    with server.connect() as connection:
        assert connection.execute(
            "SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname=%s",
            ("lake",)).fetchone()[2] == "lake"  # db.oid, then db.*: oid, datname, ...
        assert connection.execute("SELECT reset_val FROM pg_settings WHERE name = 'search_path'"
                                  ).fetchone() == ('"$user", public',)
        assert connection.execute("SELECT current_schema(),session_user").fetchone() == (
            "public", "tester")
        schemas = connection.execute(
            "SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n\n"
            "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND "
            "d.classoid='pg_namespace'::regclass\n ORDER BY nspname").fetchall()
        oids = {row[2]: row[0] for row in schemas}
        assert {"neural", "public", "pg_catalog", "information_schema"} <= set(oids)
        tables = connection.execute(
            "SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as "
            "partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key \nFROM "
            "pg_catalog.pg_class c\nLEFT OUTER JOIN pg_catalog.pg_description d ON "
            "d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass\nWHERE "
            "c.relnamespace=%s AND c.relkind not in ('i','I','c')", (oids["public"],)).fetchall()
        by_name = {row[2]: row[0] for row in tables}
        assert sorted(by_name) == ["many", "samples", "small", "types"]
        columns = connection.execute(
            "SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as "
            "def_value,dsc.description,dep.objid\nFROM pg_catalog.pg_attribute a\nINNER JOIN "
            "pg_catalog.pg_class c ON (a.attrelid=c.oid)\nLEFT OUTER JOIN pg_catalog.pg_attrdef "
            "ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)\nLEFT OUTER JOIN "
            "pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)\n"
            "LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and "
            "dep.refobjsubid = a.attnum and dep.classid = dep.refclassid\nWHERE NOT "
            "a.attisdropped AND c.relkind not in ('i','I','c') AND c.oid=%s\nORDER BY a.attnum",
            (by_name["samples"],)).fetchall()
        assert [row[2] for row in columns] == ["device_id", "session_id", "channel", "timestamp",
                                                "date", "sequence", "voltage_uv"]


# --- cancellation, timeouts, sessions ----------------------------------------------------------------

# 20,000 × 240 × 240 = 1.15 billion combinations: most of a minute of work even on a fast
# machine, in 40 tasks of 29 million.
SLOW_QUERY = ("SELECT count(*) FROM many a, small b, small c "
              "WHERE a.voltage_uv + b.voltage_uv > c.voltage_uv")


def test_cancel_request_stops_the_running_query(server):
    with server.connect() as connection, server.connect() as other:
        outcome: dict = {}

        def run():
            started = time.monotonic()
            try:
                connection.execute(SLOW_QUERY)
                outcome["result"] = "finished"
            except psycopg.Error as error:
                outcome["result"] = error
            outcome["seconds"] = time.monotonic() - started

        worker = threading.Thread(target=run)
        worker.start()
        time.sleep(1.0)
        # A CancelRequest with the wrong secret key is ignored.
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            raw.sendall(struct.pack("!iiii", 16, 80877102, connection.info.backend_pid,
                                    connection.info.backend_pid ^ 0x5A5A5A5A))
        time.sleep(0.5)
        assert worker.is_alive(), outcome
        connection.cancel_safe()
        worker.join(timeout=60)
        assert not worker.is_alive(), "the cancelled query kept running"
        assert isinstance(outcome["result"], psycopg.errors.QueryCanceled), outcome
        assert "user request" in str(outcome["result"])
        # The session goes on, and another session was never touched.
        assert connection.execute("SELECT count(*) FROM samples").fetchone()[0] == 480
        assert other.execute("SELECT 1").fetchone()[0] == 1


def test_statement_timeout(server):
    with server.connect() as connection:
        connection.execute("SET statement_timeout = '500ms'")
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            connection.execute(SLOW_QUERY)
        assert time.monotonic() - started < 30  # a hang guard, not a timing claim
        connection.execute("RESET statement_timeout")
        assert connection.execute("SHOW statement_timeout").fetchone() == ("0",)


def test_many_sessions_at_once(server):
    expected = server.http_rows("SELECT channel, count(*) AS n FROM samples GROUP BY channel "
                                "ORDER BY channel")
    want = [(e["channel"], e["n"]) for e in expected]
    failures: list = []

    def session(index: int):
        try:
            with server.connect() as connection:
                for _ in range(5):
                    rows = connection.execute(
                        "SELECT channel, count(*) AS n FROM samples WHERE device_id <> %s "
                        "GROUP BY channel ORDER BY channel", (f"nobody-{index}",)).fetchall()
                    assert rows == want
        except Exception as error:  # noqa: BLE001 - reported below with its session
            failures.append((index, error))

    threads = [threading.Thread(target=session, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []


def test_roapi_config_starts_the_listener(data, tmp_path):
    pg_port = free_port()
    config = tmp_path / "roapi.yml"
    config.write_text(f"addr:\n  http: 127.0.0.1:{free_port()}\n  postgres: 127.0.0.1:{pg_port}\n"
                      f"tables:\n  - name: samples\n    uri: {data['samples']}\n")
    process = subprocess.Popen([str(serve_harness.nlkcli.nlk_path()), "serve", "-c", str(config)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(pg_port)
        with psycopg.connect(f"postgresql://x@127.0.0.1:{pg_port}/x", connect_timeout=10) as c:
            assert c.execute("SELECT count(*) FROM samples").fetchone()[0] == 480
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert f"listening on postgres://127.0.0.1:{pg_port}" in output


# --- bad input ------------------------------------------------------------------------------------

def startup_packet(user: str = "fuzz") -> bytes:
    body = struct.pack("!i", 196608) + b"user\0" + user.encode() + b"\0\0"
    return struct.pack("!i", len(body) + 4) + body


def message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def exchange(port: int, payload: bytes, wait: float = 3.0) -> bytes:
    return serve_harness.raw_exchange(port, payload, wait=wait)


def started_session(port: int) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port), timeout=5)
    connection.sendall(startup_packet())
    received = b""
    while not received.endswith(b"Z\0\0\0\x05I"):
        chunk = connection.recv(65536)
        assert chunk, received
        received += chunk
    return connection


def read_until_closed_or_ready(connection: socket.socket, timeout: float = 5.0) -> bytes:
    connection.settimeout(timeout)
    received = b""
    while True:
        try:
            chunk = connection.recv(65536)
        except (socket.timeout, ConnectionResetError):
            return received
        if not chunk:
            return received
        received += chunk
        if received.endswith(b"Z\0\0\0\x05I") or received.endswith(b"Z\0\0\0\x05E"):
            return received


def assert_healthy(server: PgServer) -> None:
    assert server.http.alive(), server.http.log_text()
    with server.connect() as connection:
        assert connection.execute("SELECT count(*) FROM samples").fetchone()[0] == 480


def test_malformed_startup_and_messages(server):
    port = server.port
    # A startup packet too short, too long, or of an unknown protocol: a FATAL error, then closed.
    for payload in (struct.pack("!i", 4), struct.pack("!i", 1 << 30),
                    struct.pack("!ii", 8, 2 << 16), struct.pack("!ii", 12, 196608) + b"user"):
        reply = exchange(port, payload)
        assert reply[:1] == b"E" and b"FATAL" in reply, (payload, reply)
    # An SSL request is answered 'N' and the startup can follow.
    reply = exchange(port, struct.pack("!ii", 8, 80877103) + startup_packet(), wait=2)
    assert reply[:1] == b"N" and reply.endswith(b"Z\0\0\0\x05I")
    # After startup: an unknown type or a bad length ends the session with FATAL 08P01.
    for bad in (message(b"?", b""), b"Q" + struct.pack("!i", 2), b"Q" + struct.pack("!i", -5)):
        with started_session(port) as connection:
            connection.sendall(bad)
            reply = read_until_closed_or_ready(connection)
            assert b"08P01" in reply and b"FATAL" in reply, (bad, reply)
    # A message over max_body_bytes is refused from its header, without reading it.
    with started_session(port) as connection:
        connection.sendall(b"Q" + struct.pack("!i", 200 << 20) + b"SELECT")
        reply = read_until_closed_or_ready(connection)
        assert b"exceeds the limit" in reply
    # Malformed extended-protocol messages: an ERROR, skipped until Sync, and the session lives.
    with started_session(port) as connection:
        connection.sendall(message(b"B", b"\0\0\0\0\0\x01\x00\x00\x03\xe8") + message(b"S", b""))
        reply = read_until_closed_or_ready(connection)
        assert b"08P01" in reply and reply.endswith(b"Z\0\0\0\x05I")
        connection.sendall(message(b"Q", b"SELECT 1\0"))
        assert read_until_closed_or_ready(connection).endswith(b"Z\0\0\0\x05I")
    assert_healthy(server)


def test_random_bytes_never_crash_the_server(server):
    generator = random.Random(20260101)
    port = server.port
    kinds = b"QPBDECSHFXdcfp?\0"
    for _ in range(120):
        # Random bytes as the first packet.
        blob = bytes(generator.randrange(256) for _ in range(generator.randrange(1, 64)))
        exchange(port, blob, wait=0.5)
    for _ in range(120):
        # A valid session, then messages of real types with random bodies (and random junk).
        with started_session(port) as connection:
            payload = b""
            for _ in range(generator.randrange(1, 5)):
                body = bytes(generator.randrange(256) for _ in range(generator.randrange(0, 40)))
                payload += message(bytes([generator.choice(kinds)]), body)
            if generator.random() < 0.3:
                payload += bytes(generator.randrange(256) for _ in range(generator.randrange(1, 20)))
            payload += message(b"S", b"")
            try:
                connection.sendall(payload)
            except OSError:
                pass  # the server may end the session before taking every byte
            read_until_closed_or_ready(connection, timeout=2.0)
    assert_healthy(server)


def test_incomplete_message_is_dropped_after_header_timeout(data, tmp_path):
    srv = start_pg_server(["-t", f"samples={data['samples']}", "--header-timeout-ms", "500"],
                          tmp_path)
    try:
        with started_session(srv.port) as connection:
            connection.sendall(b"Q" + struct.pack("!i", 100) + b"SELECT")
            started = time.monotonic()
            assert read_until_closed_or_ready(connection, timeout=20) == b""
            assert time.monotonic() - started < 20  # closed, not left hanging
        # An idle session between messages is kept, until the server stops and says why.
        with started_session(srv.port) as connection:
            time.sleep(1.0)
            connection.sendall(message(b"Q", b"SELECT 1\0"))
            assert read_until_closed_or_ready(connection).endswith(b"Z\0\0\0\x05I")
            srv.http.stop()
            reply = read_until_closed_or_ready(connection, timeout=20)
            assert b"FATAL" in reply and b"57P01" in reply, reply
    finally:
        srv.http.stop()


def test_connection_limit_and_silent_clients(data, tmp_path):
    pg_port = free_port()
    config = tmp_path / "limits.yml"
    config.write_text(f"addr:\n  http: 127.0.0.1:{free_port()}\n  postgres: 127.0.0.1:{pg_port}\n"
                      f"tables:\n  - name: samples\n    uri: {data['samples']}\n"
                      "limits:\n  max_connections: 2\n  header_timeout: 500ms\n")
    process = subprocess.Popen([str(serve_harness.nlkcli.nlk_path()), "serve", "-c", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(pg_port)
        # A client that connects and says nothing is let go after header_timeout.
        with socket.create_connection(("127.0.0.1", pg_port), timeout=20) as silent:
            assert silent.recv(100) == b""
        first = started_session(pg_port)
        second = started_session(pg_port)
        try:
            with socket.create_connection(("127.0.0.1", pg_port), timeout=5) as third:
                third.sendall(startup_packet())
                reply = read_until_closed_or_ready(third)
            assert b"FATAL" in reply and b"53300" in reply, reply
        finally:
            first.close()
            second.close()
        # Once the others are gone, a session is welcome again.
        deadline = time.monotonic() + 20
        while True:
            try:
                with psycopg.connect(f"postgresql://x@127.0.0.1:{pg_port}/x",
                                     connect_timeout=5) as connection:
                    assert connection.execute("SELECT 1").fetchone() == (1,)
                break
            except psycopg.OperationalError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=30)
