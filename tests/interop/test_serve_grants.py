"""`nlk serve` authorisation from catalog declarations: read grants per database and table,
PII masks, row filters per group. Every way in (SQL with joins, CTEs, subqueries and EXPLAIN;
REST; schema; PostgreSQL; Flight SQL) must keep a hidden table indistinguishable from an unknown
one, mask PII in every output format and apply row filters before anything the caller writes.

Run:  .venv/bin/python -m pytest tests/interop/test_serve_grants.py   (NLK_BIN=build/tools/nlk)
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import adbc_driver_flightsql
import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import psycopg
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

import nlkcli
from serve_harness import free_port, start_nlk_serve

# Same length as "secret", so error positions and lengths match when the names are swapped.
HIDDEN = "clinic.secret"
UNKNOWN = "clinic.nosuch"


def create_token(tokens: Path, principal: str, *groups: str) -> str:
    args = ["auth", "token", "create", "--tokens", str(tokens), "--principal", principal]
    for group in groups:
        args += ["--group", group]
    return nlkcli.run_nlk(*args).stdout.strip()


def table_declaration(name: str, **access) -> dict:
    return {"name": name, "kind": "delta", "uri": name, "description": f"The {name} table",
            **access}


def write_manifest(path: Path, root: Path) -> Path:
    manifest = {
        "format": "neuralake-catalog-manifest",
        "format_version": 1,
        "root": str(root),
        "catalogs": [{
            "name": "trial",
            "description": "authorisation test catalog",
            "databases": [{
                "name": "clinic",
                "read": {"groups": ["clinicians"], "principals": []},
                "tables": [
                    table_declaration(
                        "visits",
                        classification="phi",
                        read={"groups": ["researchers", "site-001"], "principals": ["auditor"]},
                        column_policies=[{"column": "session_id", "classification": "pii",
                                          "mask": "'redacted'",
                                          "unmasked_groups": ["clinicians"]},
                                         {"column": "sequence", "classification": "phi",
                                          "mask": "deny"}],
                        row_filters=[{"group": "site-001",
                                      "predicate": "device_id = 'device-001'"}]),
                    table_declaration("secret", classification="phi"),
                ],
            }],
        }],
    }
    path.write_text(json.dumps(manifest))
    return path


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    root = tmp_path_factory.mktemp("grants")
    for name in ("visits", "secret"):
        nlkcli.run_nlk("datagen", "--table", str(root / name), "--devices", "2", "--channels",
                       "2", "--duration", "1", "--rate", "20")
    tokens = root / "tokens.tsv"
    callers = {
        "clinician": create_token(tokens, "carol", "clinicians"),
        "researcher": create_token(tokens, "rita", "researchers"),
        "site": create_token(tokens, "sam", "site-001"),
        "auditor": create_token(tokens, "auditor"),
        "nobody": create_token(tokens, "nick"),
    }
    revoked = create_token(tokens, "rex", "clinicians")
    nlkcli.run_nlk("auth", "token", "revoke", revoked.split("_")[1], "--tokens", str(tokens))
    manifest = write_manifest(root / "manifest.json", root)
    pg_port, flight_port = free_port(), free_port()
    server = start_nlk_serve(["--catalog-manifest", manifest, "-t",
                              f"scratch={root / 'visits'}", "--tokens", tokens, "-p",
                              f"127.0.0.1:{pg_port}", "--addr-flight-sql",
                              f"127.0.0.1:{flight_port}"], root)
    yield {"server": server, "root": root, "tokens": callers, "revoked": revoked,
           "pg_port": pg_port, "flight_port": flight_port}
    server.stop()


def bearer(token: str, **headers) -> dict:
    return {"Authorization": f"Bearer {token}", **headers}


def sql(clinic, caller: str, query: str, accept: str = "application/json"):
    return clinic["server"].request("POST", "/api/sql", query,
                                    headers=bearer(clinic["tokens"][caller], Accept=accept))


def rows(clinic, caller: str, query: str) -> list[dict]:
    response = sql(clinic, caller, query)
    assert response.status == 200, (caller, query, response.body)
    return response.json()


def session_ids(clinic) -> set[str]:
    return {row["session_id"] for row in
            rows(clinic, "clinician", "SELECT DISTINCT session_id FROM clinic.visits")}


# ---------------------------------------------------------------- who sees which tables


def test_listings_show_each_caller_only_what_they_may_read(clinic):
    server = clinic["server"]
    expected = {
        "clinician": {"clinic.visits", "clinic.secret", "scratch"},
        "researcher": {"clinic.visits", "scratch"},
        "site": {"clinic.visits", "scratch"},
        "auditor": {"clinic.visits", "scratch"},
        "nobody": {"scratch"},
    }
    for caller, tables in expected.items():
        schema = server.request("GET", "/api/schema", headers=bearer(clinic["tokens"][caller]))
        assert schema.status == 200
        assert set(schema.json()) == tables, caller
        if "clinic.secret" not in tables:
            assert b"secret" not in schema.body


def test_without_a_valid_token_nothing_is_served(clinic):
    server = clinic["server"]
    for headers in ({}, bearer(clinic["revoked"])):
        for method, path, body in (("POST", "/api/sql", "SELECT 1 FROM clinic.visits"),
                                   ("GET", "/api/tables/clinic.visits", None),
                                   ("GET", "/api/schema", None),
                                   ("GET", "/api/schema/clinic.secret", None)):
            response = server.request(method, path, body, headers=headers)
            assert response.status == 401, (path, headers, response.body)
            assert b"visits" not in response.body and b"secret" not in response.body


# ---------------------------------------------------------------- hidden == unknown

HIDING_QUERIES = [
    "SELECT * FROM {t}",
    "SELECT count(*) FROM clinic.visits v JOIN {t} s ON v.channel = s.channel",
    "WITH s AS (SELECT * FROM {t}) SELECT count(*) FROM s",
    "SELECT * FROM (SELECT device_id FROM {t}) AS s",
    "SELECT count(*) FROM clinic.visits WHERE channel IN (SELECT channel FROM {t})",
    "SELECT (SELECT max(channel) FROM {t})",
    "EXPLAIN SELECT * FROM {t}",
    "EXPLAIN ANALYZE SELECT * FROM {t}",
    'SELECT * FROM "{t}@v0"',
    'SELECT * FROM "{t}@not-a-version"',
    "SELECT * FROM {T}",
]


def swapped(body: bytes) -> bytes:
    return body.replace(b"secret", b"nosuch").replace(b"SECRET", b"NOSUCH")


def test_hidden_tables_answer_exactly_as_unknown_ones(clinic):
    server = clinic["server"]
    for caller in ("researcher", "site", "nobody"):
        for template in HIDING_QUERIES:
            hidden = sql(clinic, caller, template.format(t=HIDDEN, T=HIDDEN.upper()))
            unknown = sql(clinic, caller, template.format(t=UNKNOWN, T=UNKNOWN.upper()))
            assert hidden.status == unknown.status != 200, (caller, template, hidden.body)
            assert swapped(hidden.body) == unknown.body, (caller, template)
            assert b"secret" not in unknown.body  # no "did you mean" pointing at it
        for path in ("/api/tables/{t}", "/api/tables/{t}?limit=1&version=0",
                     "/api/tables/{t}?filter[channel]gt=0&sort=-channel", "/api/schema/{t}"):
            headers = bearer(clinic["tokens"][caller])
            hidden = server.request("GET", path.format(t=HIDDEN), headers=headers)
            unknown = server.request("GET", path.format(t=UNKNOWN), headers=headers)
            assert hidden.status == unknown.status == 404, (caller, path, hidden.body)
            assert swapped(hidden.body) == unknown.body, (caller, path)
            assert hidden.headers.get("content-length") == unknown.headers.get("content-length")
    # The clinician reads it, so the table exists and the comparison above means something.
    assert sql(clinic, "clinician", f"SELECT count(*) AS n FROM {HIDDEN}").status == 200


# ---------------------------------------------------------------- masks

def test_pii_is_masked_in_every_output_format(clinic):
    real = session_ids(clinic)
    assert real and "redacted" not in real
    query = "SELECT device_id, session_id, sequence FROM clinic.visits"
    for caller in ("researcher", "site", "auditor"):
        bodies = {}
        for accept in ("application/json", "text/csv", "application/x-ndjson",
                       "application/vnd.apache.arrow.stream", "application/vnd.apache.arrow.file",
                       "application/vnd.apache.parquet"):
            response = sql(clinic, caller, query, accept)
            assert response.status == 200, (caller, accept, response.body)
            bodies[accept] = response.body
            for session in real:
                assert session.encode() not in response.body, (caller, accept)
        table = ipc.open_stream(bodies["application/vnd.apache.arrow.stream"]).read_all()
        assert set(table.column("session_id").to_pylist()) == {"redacted"}
        assert table.column("sequence").null_count == table.num_rows  # denied: NULL
        assert table.schema.field("sequence").type == pa.int64()      # type kept
        parquet = pq.read_table(io.BytesIO(bodies["application/vnd.apache.parquet"]))
        assert set(parquet.column("session_id").to_pylist()) == {"redacted"}
        # REST reads the same masked rows, with filters and sort on the masked values.
        rest = clinic["server"].request("GET",
                                        "/api/tables/clinic.visits?columns=session_id&limit=3",
                                        headers=bearer(clinic["tokens"][caller]))
        assert rest.status == 200, rest.body
        assert {row["session_id"] for row in rest.json()} == {"redacted"}
        probe = clinic["server"].request(
            "GET", f"/api/tables/clinic.visits?filter[session_id]='{sorted(real)[0]}'",
            headers=bearer(clinic["tokens"][caller]))
        assert probe.status == 200 and probe.json() == [], probe.body
    # Clinicians are exempt from the session mask, not from the denial.
    clinician = rows(clinic, "clinician", "SELECT DISTINCT session_id, sequence FROM clinic.visits")
    assert {row["session_id"] for row in clinician} == real
    assert {row["sequence"] for row in clinician} == {None}


def test_masked_values_cannot_be_probed_through_predicates(clinic):
    real = sorted(session_ids(clinic))[0]
    for query in (f"SELECT count(*) AS n FROM clinic.visits WHERE session_id = '{real}'",
                  "SELECT count(*) AS n FROM clinic.visits WHERE session_id <> 'redacted'",
                  "SELECT count(*) AS n FROM clinic.visits WHERE sequence IS NOT NULL",
                  f"SELECT count(*) AS n FROM (SELECT session_id AS s FROM clinic.visits) t "
                  f"WHERE s = '{real}'"):
        assert rows(clinic, "researcher", query) == [{"n": 0}], query


# ---------------------------------------------------------------- row filters

def test_row_filters_apply_before_anything_the_caller_writes(clinic):
    everything = rows(clinic, "clinician",
                      "SELECT device_id, count(*) AS n FROM clinic.visits GROUP BY device_id "
                      "ORDER BY device_id")
    assert [row["device_id"] for row in everything] == ["device-001", "device-002"]
    own = everything[0]["n"]
    for query, expected in (
            ("SELECT count(*) AS n FROM clinic.visits", own),
            ("SELECT count(*) AS n FROM clinic.visits WHERE device_id = 'device-002'", 0),
            ("SELECT count(*) AS n FROM clinic.visits WHERE device_id = 'device-002' OR 1 = 1",
             own),
            ("WITH v AS (SELECT * FROM clinic.visits) SELECT count(*) AS n FROM v", own),
            ("SELECT count(*) AS n FROM clinic.visits a JOIN clinic.visits b "
             "ON a.sequence IS NULL AND a.device_id <> b.device_id", 0),
            ("SELECT count(DISTINCT device_id) AS n FROM clinic.visits", 1),
            ('SELECT count(DISTINCT device_id) AS n FROM "clinic.visits@v0"', 1),
            ("SELECT count(*) AS n FROM \"clinic.visits@v0\" WHERE session_id <> 'redacted'",
             0)):
        assert rows(clinic, "site", query) == [{"n": expected}], query
    rest = clinic["server"].request("GET",
                                    "/api/tables/clinic.visits?filter[device_id]='device-002'",
                                    headers=bearer(clinic["tokens"]["site"]))
    assert rest.status == 200 and rest.json() == []
    # The scratch table serves the same files without catalog rules: whole, to any token.
    assert rows(clinic, "nobody", "SELECT count(DISTINCT device_id) AS n FROM scratch") == [
        {"n": 2}]


# ---------------------------------------------------------------- no file outside the tables

def test_no_path_reaches_a_file_outside_the_served_tables(clinic):
    server = clinic["server"]
    token = clinic["tokens"]["nobody"]
    secret_dir = clinic["root"] / "secret"
    for path in ("/api/tables/..%2F..%2F..%2Fetc%2Fpasswd", "/api/tables/../../../etc/passwd",
                 "/api/tables/%2Fetc%2Fpasswd", f"/api/tables/{secret_dir}",
                 "/api/schema/..%2Fsecret", "/api/tables/clinic.secret%00",
                 "/api/tables/clinic%2Esecret", "/api/tables/CLINIC.SECRET"):
        response = server.request("GET", path, headers=bearer(token))
        assert response.status in (400, 404), (path, response.status)
        assert b"root:" not in response.body and b"device-00" not in response.body
    for query in ("SELECT * FROM \"/etc/passwd\"", f"SELECT * FROM \"{secret_dir}\"",
                  "SELECT * FROM read_parquet('/etc/passwd')",
                  "SELECT * FROM read_csv('/etc/passwd')",
                  "SELECT pg_read_file('/etc/passwd')",
                  f"SELECT * FROM delta_scan('{secret_dir}')",
                  "COPY clinic.secret TO '/tmp/x'"):
        response = sql(clinic, "nobody", query)
        assert 400 <= response.status < 500, (query, response.status, response.body)
        assert b"root:" not in response.body and b"device-00" not in response.body


# ---------------------------------------------------------------- PostgreSQL and Flight SQL

def pg_connect(clinic, caller: str, principal: str):
    return psycopg.connect(f"postgresql://{principal}@127.0.0.1:{clinic['pg_port']}/lake",
                           password=clinic["tokens"][caller], autocommit=True)


def test_postgres_sessions_see_only_granted_tables(clinic):
    with pg_connect(clinic, "researcher", "rita") as connection:
        listed = {f"{schema}.{name}" for schema, name in connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables")}
        assert "clinic.secret" not in listed and "clinic.visits" in listed
        relnames = {row[0] for row in connection.execute("SELECT relname FROM pg_catalog.pg_class")}
        assert "secret" not in relnames and "visits" in relnames
        masked = {row[0] for row in connection.execute(
            "SELECT DISTINCT session_id FROM clinic.visits")}
        assert masked == {"redacted"}
        errors = []
        for name in (HIDDEN, UNKNOWN):
            with pytest.raises(psycopg.Error) as failure:
                connection.execute(f"SELECT * FROM {name}")
            errors.append((failure.value.sqlstate, str(failure.value)))
        assert errors[0][0] == errors[1][0]
        assert errors[0][1].replace("secret", "nosuch") == errors[1][1]
    with pg_connect(clinic, "site", "sam") as connection:
        assert connection.execute(
            "SELECT count(DISTINCT device_id) FROM clinic.visits").fetchone()[0] == 1
    psql = subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(clinic["pg_port"]), "-U",
                           "rita", "-d", "lake", "-A", "-c", r"\dt clinic.*"],
                          env={"PGPASSWORD": clinic["tokens"]["researcher"],
                               "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=30)
    assert psql.returncode == 0, psql.stderr
    assert "clinic|visits|table" in psql.stdout and "secret" not in psql.stdout
    described = []
    for name in (HIDDEN, UNKNOWN):
        result = subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(clinic["pg_port"]),
                                 "-U", "rita", "-d", "lake", "-A", "-c", rf"\d {name}"],
                                env={"PGPASSWORD": clinic["tokens"]["researcher"],
                                     "PATH": "/usr/bin:/bin"},
                                capture_output=True, text=True, timeout=30)
        described.append((result.returncode, result.stdout, result.stderr))
    assert "session_id" not in described[0][1] + described[0][2]
    assert (described[0][0], described[0][1].replace("secret", "nosuch"),
            described[0][2].replace("secret", "nosuch")) == described[1]


def flight_connect(clinic, caller: str):
    header = adbc_driver_flightsql.DatabaseOptions.AUTHORIZATION_HEADER.value
    return flight_sql.connect(f"grpc://127.0.0.1:{clinic['flight_port']}",
                              db_kwargs={header: f"Bearer {clinic['tokens'][caller]}"},
                              autocommit=True)


def test_flight_sql_lists_and_queries_only_granted_tables(clinic):
    with flight_connect(clinic, "researcher") as connection:
        objects = connection.adbc_get_objects(depth="tables").read_all().to_pylist()
        listed = {f"{schema['db_schema_name']}.{table['table_name']}"
                  for catalog in objects for schema in catalog["catalog_db_schemas"] or []
                  for table in schema["db_schema_tables"] or []}
        assert "clinic.visits" in listed and "scratch" in {n.split(".")[-1] for n in listed}
        assert not any("secret" in name for name in listed), listed
        for name in ("secret", "nosuch"):
            with pytest.raises(adbc_driver_manager.Error):
                connection.adbc_get_table_schema(name, db_schema_filter="clinic")
        with connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT session_id FROM clinic.visits")
            assert cursor.fetch_arrow_table().column(0).to_pylist() == ["redacted"]
        messages = []
        for name in (HIDDEN, UNKNOWN):
            with pytest.raises(adbc_driver_manager.Error) as failure:
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT * FROM {name}")
                    cursor.fetch_arrow_table()
            messages.append(str(failure.value))
        assert messages[0].replace("secret", "nosuch") == messages[1]
    with flight_connect(clinic, "clinician") as connection:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {HIDDEN}")
            assert cursor.fetch_arrow_table().column(0)[0].as_py() > 0
