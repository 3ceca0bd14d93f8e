"""`nlk serve --audit-log`: one record per query over HTTP (SQL, REST, schema) and PostgreSQL, read
back with nlk SQL and with delta-rs; fail-closed refusals while the audit table cannot be written;
and `nlk retention` on a table delta-rs wrote.

Run:  .venv/bin/python -m pytest tests/interop/test_serve_audit.py   (NLK_BIN=build/tools/nlk)
"""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil
import time
from pathlib import Path

import adbc_driver_flightsql
import adbc_driver_flightsql.dbapi as flight_sql
import psycopg
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

import nlkcli
from serve_harness import free_port, start_nlk_serve


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def create_token(tokens: Path, principal: str) -> str:
    result = nlkcli.run_nlk("auth", "token", "create", "--tokens", str(tokens), "--principal",
                            principal)
    return result.stdout.strip()


def audit_rows(uri: Path) -> list[dict]:
    return DeltaTable(str(uri)).to_pyarrow_table().to_pylist()


def wait_until(condition, timeout: float = 20.0, message: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out: {message}")


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("audit")
    nlkcli.run_nlk("datagen", "--table", str(root / "samples"), "--devices", "1", "--channels",
                   "2", "--duration", "1", "--rate", "50")
    return root


def test_every_query_is_recorded_with_its_facts(lake, tmp_path):
    tokens = tmp_path / "tokens.tsv"
    alice = create_token(tokens, "alice")
    audit = tmp_path / "audit"
    pg_port = free_port()
    flight_port = free_port()
    # A long flush interval: the records reach the table only through the flush at stop.
    server = start_nlk_serve(["-t", f"samples={lake / 'samples'}", "--tokens", str(tokens),
                              "-p", f"127.0.0.1:{pg_port}", "--addr-flight-sql",
                              f"127.0.0.1:{flight_port}", "--audit-log", str(audit),
                              "--audit-statements", "--audit-flush-interval-ms", "600000"],
                             tmp_path)
    auth = {"Authorization": f"Bearer {alice}"}
    try:
        count_sql = "SELECT count(*) AS n FROM samples"
        response = server.request("POST", "/api/sql", count_sql, headers=auth)
        assert response.status == 200, response.body
        total = response.json()[0]["n"]
        rest = server.request("GET", "/api/tables/samples?limit=3", headers=auth)
        assert rest.status == 200 and len(rest.json()) == 3
        schema = server.request("GET", "/api/schema/samples", headers=auth)
        assert schema.status == 200
        bad_sql = "SELECT * FROM no_such_table"
        bad = server.request("POST", "/api/sql", bad_sql, headers=auth)
        assert bad.status == 404
        pg_sql = "SELECT channel FROM samples LIMIT 2"
        with psycopg.connect(host="127.0.0.1", port=pg_port, user="alice", password=alice,
                             dbname="nlk", connect_timeout=10, autocommit=True) as connection:
            assert len(connection.execute(pg_sql).fetchall()) == 2
        flight_query = "SELECT device_id FROM samples LIMIT 4"
        header = adbc_driver_flightsql.DatabaseOptions.AUTHORIZATION_HEADER.value
        with flight_sql.connect(f"grpc://127.0.0.1:{flight_port}",
                                db_kwargs={header: f"Bearer {alice}"},
                                autocommit=True) as connection:
            with connection.cursor() as cursor:
                cursor.execute(flight_query)
                assert len(cursor.fetchall()) == 4
        # The PostgreSQL and Flight SQL records are queued once their sessions let go.
        def queued_six():
            text = server.request("GET", "/metrics", headers=auth).body.decode()
            return "nlk_audit_queue_depth 6" in text
        wait_until(queued_six, message="six records queued")
        # Created at start, empty: nothing is written before the flush.
        assert DeltaTable(str(audit)).to_pyarrow_table().num_rows == 0
    finally:
        server.stop()
    assert server.process.returncode == 0, server.log_text()

    rows = audit_rows(audit)
    assert len(rows) == 6, rows
    assert DeltaTable(str(audit)).version() == 1, "one commit at stop"
    by_statement = {row["statement"]: row for row in rows}
    sql = by_statement[count_sql]
    assert sql["principal"] == "alice"
    assert sql["client_address"] == "127.0.0.1"
    assert sql["protocol"] == "http" and sql["endpoint"] == "sql"
    assert sql["tables"] == ["samples"]
    assert sql["rows"] == 1 and sql["bytes"] > 0
    assert sql["status"] == "ok" and sql["http_status"] == 200
    assert sql["statement_sha256"] == sha256(count_sql)
    assert sql["duration_us"] > 0
    assert sql["date"] == sql["time"].date()
    assert abs((datetime.datetime.now(datetime.timezone.utc) - sql["time"]).total_seconds()) < 600

    rest_row = by_statement["/api/tables/samples?limit=3"]
    assert rest_row["endpoint"] == "tables" and rest_row["rows"] == 3
    assert rest_row["tables"] == ["samples"] and rest_row["status"] == "ok"
    schema_row = by_statement["/api/schema/samples"]
    assert schema_row["endpoint"] == "schema" and schema_row["bytes"] == len(schema.body)
    failed = by_statement[bad_sql]
    assert failed["status"] == "invalid_table" and failed["http_status"] == 404
    assert failed["tables"] == []
    pg = by_statement[pg_sql]
    assert pg["protocol"] == "postgres" and pg["principal"] == "alice"
    assert pg["tables"] == ["samples"] and pg["rows"] == 2 and pg["status"] == "ok"
    assert pg["client_address"] == "127.0.0.1"
    flight = by_statement[flight_query]
    assert flight["protocol"] == "flight_sql" and flight["principal"] == "alice"
    assert flight["tables"] == ["samples"] and flight["rows"] == 4 and flight["status"] == "ok"
    assert flight["client_address"] == "127.0.0.1" and flight["bytes"] > 0
    assert total > 0

    # The same table through our own SQL engine.
    result = nlkcli.run_nlk("sql", "--table", f"audit={audit}", "--format", "json",
                            "SELECT protocol, count(*) AS n FROM audit GROUP BY protocol "
                            "ORDER BY protocol")
    assert json.loads(result.stdout) == [{"protocol": "flight_sql", "n": 1},
                                         {"protocol": "http", "n": 4},
                                         {"protocol": "postgres", "n": 1}]


def test_without_statements_only_hashes(lake, tmp_path):
    audit = tmp_path / "audit"
    server = start_nlk_serve(["-t", f"samples={lake / 'samples'}", "--audit-log", str(audit)],
                             tmp_path)
    try:
        assert server.sql("SELECT 1 AS one FROM samples LIMIT 1").status == 200
    finally:
        server.stop()
    [row] = audit_rows(audit)
    assert row["statement"] is None
    assert row["statement_sha256"] == sha256("SELECT 1 AS one FROM samples LIMIT 1")
    assert row["principal"] == "anonymous"


def test_the_catalog_serves_its_audit_table(tmp_path):
    # The example catalog declares ops.audit at ops/audit under the root.
    server = start_nlk_serve(["--catalog", "--root", str(tmp_path), "--audit-log",
                              str(tmp_path / "ops" / "audit"), "--audit-flush-interval-ms", "100"],
                             tmp_path)
    query = 'SELECT count(*) AS n FROM "ops.audit" WHERE protocol = \'http\''
    try:
        def counted():
            response = server.sql(query)
            return response.status == 200 and response.json()[0]["n"] >= 2
        # Each query is recorded, and later ones see the earlier ones' records.
        wait_until(counted, message="ops.audit served with its own queries in it")
    finally:
        server.stop()


def test_fail_closed_refuses_until_the_audit_table_is_writable(lake, tmp_path):
    audit = tmp_path / "audit"
    pg_port = free_port()
    server = start_nlk_serve(["-t", f"samples={lake / 'samples'}", "-p", f"127.0.0.1:{pg_port}",
                              "--audit-log", str(audit), "--audit-fail-closed",
                              "--audit-flush-interval-ms", "100"], tmp_path)
    query = "SELECT count(*) FROM samples"
    try:
        assert server.sql(query).status == 200
        wait_until(lambda: (audit / "_delta_log").exists(), message="audit table created")
        # A file where the table's directory was: every write fails, even for root.
        shutil.move(audit, tmp_path / "audit-away")
        audit.write_text("not a directory")
        server.sql(query)  # its record cannot be written

        def refused():
            response = server.sql(query)
            return response if response.status == 503 else None
        response = wait_until(refused, message="queries refused while the audit log fails")
        assert response.json()["error"] == "audit_unavailable", response.body
        with pytest.raises(psycopg.Error) as error:
            with psycopg.connect(host="127.0.0.1", port=pg_port, user="x", dbname="nlk",
                                 connect_timeout=10, autocommit=True) as connection:
                connection.execute(query)
        assert error.value.sqlstate == "57P03"
        metrics = server.get("/metrics").body.decode()
        assert "nlk_audit_sink_up 0" in metrics
        assert "nlk_audit_write_failures_total 0" not in metrics

        audit.unlink()
        shutil.move(tmp_path / "audit-away", audit)
        wait_until(lambda: server.sql(query).status == 200, message="recovery")
        metrics = server.get("/metrics").body.decode()
        assert "nlk_audit_sink_up 1" in metrics
        assert "nlk_audit_refused_total 0" not in metrics
    finally:
        server.stop()
    rows = audit_rows(audit)
    statuses = [row["status"] for row in rows]
    assert "audit_unavailable" in statuses, statuses
    assert any(row["protocol"] == "postgres" and row["status"] == "57P03" for row in rows)
    assert statuses.count("ok") >= 3, statuses


def test_fail_closed_refuses_from_the_start_when_the_location_is_unwritable(lake, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, so nothing can be created under it")
    server = start_nlk_serve(["-t", f"samples={lake / 'samples'}", "--audit-log",
                              str(blocker / "audit"), "--audit-fail-closed",
                              "--audit-flush-interval-ms", "100"], tmp_path)
    try:
        response = wait_until(lambda: (r := server.sql("SELECT 1")).status == 503 and r,
                              message="refused before any query was recorded")
        assert response.json()["error"] == "audit_unavailable"
        assert server.get("/health").status == 200
        blocker.unlink()
        wait_until(lambda: server.sql("SELECT count(*) FROM samples").status == 200,
                   message="serving once the location can be written")
    finally:
        server.stop()
    statuses = [row["status"] for row in audit_rows(blocker / "audit")]
    assert "audit_unavailable" in statuses and "ok" in statuses, statuses


def write_days(uri: Path, offsets: list[int], partition_by: list[str]) -> datetime.date:
    today = datetime.datetime.now(datetime.timezone.utc).date()
    days = [today + datetime.timedelta(days=offset) for offset in offsets]
    table = pa.table({"id": pa.array(offsets, pa.int64()), "device": ["a"] * len(offsets),
                      "date": pa.array(days, pa.date32())})
    write_deltalake(str(uri), table, partition_by=partition_by)
    return today


def test_retention_removes_expired_partitions_for_every_reader(tmp_path):
    # neural.samples keeps 90 days of `date` in the example catalog.
    samples = tmp_path / "neural" / "samples"
    write_days(samples, [-200, -91, -89, 0], ["date"])
    base = ["retention", "--catalog", "--root", str(tmp_path), "--table", "neural.samples"]

    dry = nlkcli.run_nlk(*base, "--dry-run", "--json")
    report = json.loads(dry.stdout)
    assert len(report["partitions"]) == 2 and report["committedVersion"] == -1
    assert DeltaTable(str(samples)).version() == 0

    audit = tmp_path / "ops" / "audit"
    nlkcli.run_nlk(*base, "--audit-log", str(audit))
    table = DeltaTable(str(samples))
    assert table.version() == 1
    assert sorted(table.to_pyarrow_table()["id"].to_pylist()) == [-89, 0]
    [last] = table.history(1)
    assert last["operation"] == "DELETE"
    assert "date < '" in last["operationParameters"]["predicate"]
    assert last.get("userName")
    ours = nlkcli.run_nlk("sql", "--table", f"s={samples}", "--format", "json",
                          "SELECT id FROM s ORDER BY id")
    assert json.loads(ours.stdout) == [{"id": -89}, {"id": 0}]
    [record] = audit_rows(audit)
    assert record["protocol"] == "retention" and record["tables"] == ["neural.samples"]
    assert record["rows"] == 2 and record["status"] == "ok"
    assert record["statement"].startswith("DELETE FROM neural.samples WHERE date < '")

    # A second pass has nothing left to delete.
    again = json.loads(nlkcli.run_nlk(*base, "--json").stdout)
    assert again["partitions"] == [] and DeltaTable(str(samples)).version() == 1


def test_retention_refuses_a_column_that_is_not_a_partition_column(tmp_path):
    samples = tmp_path / "neural" / "samples"
    write_days(samples, [-200, 0], ["device"])
    result = nlkcli.run_nlk("retention", "--catalog", "--root", str(tmp_path), "--table",
                            "neural.samples", check=False)
    assert "not a partition column" in result.stderr, result.stderr
    assert DeltaTable(str(samples)).version() == 0
