"""`nlk serve` access control: bearer tokens (`nlk auth token`), the loopback-only default, Host
and Origin checks against DNS rebinding and cross-site requests, and PostgreSQL logins with
tokens as passwords.

Run:  .venv/bin/python -m pytest tests/interop/test_serve_auth.py   (NLK_BIN=build/tools/nlk)
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import time
from pathlib import Path

import adbc_driver_flightsql
import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import psycopg
import pytest

import nlkcli
from serve_harness import free_port, raw_exchange, start_nlk_serve

ENDPOINTS = [
    ("POST", "/api/sql", "SELECT count(*) FROM samples"),
    ("GET", "/api/tables/samples?limit=1", None),
    ("GET", "/api/schema", None),
    ("GET", "/api/schema/samples", None),
]


def create_token(tokens: Path, principal: str, *groups: str) -> str:
    args = ["auth", "token", "create", "--tokens", str(tokens), "--principal", principal]
    for group in groups:
        args += ["--group", group]
    result = nlkcli.run_nlk(*args)
    token = result.stdout.strip()
    assert token.startswith("nlk_") and "\n" not in token
    return token


def token_id(token: str) -> str:
    return token.split("_")[1]


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("auth")
    nlkcli.run_nlk("datagen", "--table", str(root / "samples"), "--devices", "1", "--channels",
                   "2", "--duration", "1", "--rate", "50")
    return root


@pytest.fixture(scope="module")
def secured(lake):
    tokens = lake / "tokens.tsv"
    alice = create_token(tokens, "alice", "lab")
    revoked = create_token(tokens, "mallory")
    nlkcli.run_nlk("auth", "token", "revoke", token_id(revoked), "--tokens", str(tokens))
    pg_port = free_port()
    flight_port = free_port()
    server = start_nlk_serve(["-t", f"samples={lake / 'samples'}", "--tokens", str(tokens),
                              "-p", f"127.0.0.1:{pg_port}", "--addr-flight-sql",
                              f"127.0.0.1:{flight_port}"], lake)
    yield {"server": server, "tokens": tokens, "alice": alice, "revoked": revoked,
           "pg_port": pg_port, "flight_port": flight_port}
    server.stop()


def post(server, query: str, headers: dict):
    return server.request("POST", "/api/sql", query, headers=headers)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_token_file_keeps_hashes_not_tokens(secured):
    text = secured["tokens"].read_text()
    assert secured["alice"] not in text
    assert secured["alice"].split("_")[2] not in text
    assert (secured["tokens"].stat().st_mode & 0o777) == 0o600
    listing = nlkcli.run_nlk("auth", "token", "list", "--tokens", str(secured["tokens"])).stdout
    rows = [line.split("\t") for line in listing.strip().splitlines()[1:]]
    assert {row[1] for row in rows} == {"alice", "mallory"}
    assert [row[4] != "-" for row in rows if row[1] == "mallory"] == [True]


def test_every_data_endpoint_needs_a_valid_token(secured):
    server = secured["server"]
    bad = "nlk_000000000000_" + "0" * 64
    for method, path, body in ENDPOINTS:
        refused = []
        for headers in ({}, bearer(secured["revoked"]), bearer(bad), {"Authorization": "Basic x"},
                        bearer(secured["alice"][:-1] + "x")):
            response = server.request(method, path, body, headers=headers)
            assert response.status == 401, (path, headers, response.body)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert b"samples" not in response.body
            refused.append(response.body)
        # Missing, unknown and revoked tokens are told apart only by what was sent.
        assert refused[1] == refused[2] == refused[4]
        ok = server.request(method, path, body, headers=bearer(secured["alice"]))
        assert ok.status == 200, (path, ok.body)


def test_health_public_metrics_need_a_token(secured):
    server = secured["server"]
    assert server.get("/health").status == 200
    assert server.get("/metrics").status == 401
    metrics = server.request("GET", "/metrics", headers=bearer(secured["alice"]))
    assert metrics.status == 200 and b"nlk_http_requests_total" in metrics.body
    assert server.get("/ui").status == 200


def test_revocation_applies_to_a_running_server(secured, lake):
    server = secured["server"]
    late = create_token(secured["tokens"], "carol")
    deadline = time.monotonic() + 10
    while post(server, "SELECT 1", bearer(late)).status != 200:
        assert time.monotonic() < deadline, "a new token was not accepted within 10 s"
        time.sleep(0.2)
    nlkcli.run_nlk("auth", "token", "revoke", token_id(late), "--tokens", str(secured["tokens"]))
    deadline = time.monotonic() + 10
    while post(server, "SELECT 1", bearer(late)).status != 401:
        assert time.monotonic() < deadline, "a revoked token was still accepted after 10 s"
        time.sleep(0.2)
    again = nlkcli.run_nlk("auth", "token", "revoke", token_id(late), "--tokens",
                           str(secured["tokens"]), check=False)
    assert again.returncode != 0 and "revoked already" in again.stderr


def test_unreadable_tokens_file_refuses_everyone(lake):
    tokens = lake / "broken-tokens.tsv"
    token = create_token(tokens, "dave")
    server = start_nlk_serve(["-t", f"samples={lake / 'samples'}", "--tokens", str(tokens)], lake)
    try:
        assert post(server, "SELECT 1", bearer(token)).status == 200
        tokens.write_text(tokens.read_text() + "garbage line\n")
        deadline = time.monotonic() + 10
        while post(server, "SELECT 1", bearer(token)).status != 401:
            assert time.monotonic() < deadline, "a broken tokens file kept tokens working"
            time.sleep(0.2)
        assert server.alive()
    finally:
        server.stop()


def test_dns_rebinding_and_foreign_origins_are_refused(secured):
    server = secured["server"]
    alice = bearer(secured["alice"])
    rebound = post(server, "SELECT 1", {**alice, "Host": f"evil.example:{server.port}"})
    assert rebound.status == 403 and rebound.json()["error"] == "host_not_allowed"
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", "[::1]"):
        assert post(server, "SELECT 1", {**alice, "Host": host}).status == 200, host
    # A cross-site text/plain POST needs no preflight in a browser: it must not run at all.
    foreign = post(server, "SELECT 1", {**alice, "Origin": "http://evil.example",
                                               "Content-Type": "text/plain"})
    assert foreign.status == 403 and foreign.json()["error"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in foreign.headers
    same = post(server, "SELECT 1", {**alice, "Origin": f"http://127.0.0.1:{server.port}"})
    assert same.status == 200
    plain = post(server, "SELECT 1", alice)
    assert "access-control-allow-origin" not in plain.headers


def test_allowed_origins_get_cors_and_preflight(lake):
    server = start_nlk_serve(["-t", f"samples={lake / 'samples'}", "--allow-origin",
                              "https://grafana.example.org"], lake)
    try:
        origin = {"Origin": "https://grafana.example.org"}
        preflight = server.request("OPTIONS", "/api/sql", headers={
            **origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization"})
        assert preflight.status == 204
        assert preflight.headers["access-control-allow-origin"] == "https://grafana.example.org"
        assert "Authorization" in preflight.headers["access-control-allow-headers"]
        response = post(server, "SELECT 1", origin)
        assert response.status == 200
        assert response.headers["access-control-allow-origin"] == "https://grafana.example.org"
        assert response.headers["vary"] == "Origin"
        other = post(server, "SELECT 1", {"Origin": "https://grafana.example.org.evil"})
        assert other.status == 403
    finally:
        server.stop()


def test_listening_beyond_loopback_needs_auth_or_explicit_insecurity(lake):
    port = free_port()
    refused = subprocess.run([str(nlkcli.nlk_path()), "serve", "-t",
                              f"samples={lake / 'samples'}", "-a", f"0.0.0.0:{port}"],
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0
    assert "without authentication" in refused.stderr and "--insecure-no-auth" in refused.stderr
    pg_refused = subprocess.run([str(nlkcli.nlk_path()), "serve", "-t",
                                 f"samples={lake / 'samples'}", "-a", f"127.0.0.1:{port}", "-p",
                                 f"0.0.0.0:{free_port()}"], capture_output=True, text=True,
                                timeout=30)
    assert pg_refused.returncode != 0 and "PostgreSQL" in pg_refused.stderr
    process = subprocess.Popen([str(nlkcli.nlk_path()), "serve", "-t",
                                f"samples={lake / 'samples'}", "-a", f"0.0.0.0:{port}",
                                "--insecure-no-auth"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if b"200 OK" in raw_exchange(port, b"GET /health HTTP/1.0\r\n\r\n", wait=1):
                    break
            except OSError:
                pass
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert "--insecure-no-auth" in stderr


def test_postgres_logins_use_tokens_as_passwords(secured):
    port = secured["pg_port"]
    url = f"postgresql://alice@127.0.0.1:{port}/lake"
    with psycopg.connect(url, password=secured["alice"]) as connection:
        assert connection.execute("SELECT count(*) FROM samples").fetchone()[0] == 100
    for user, password in (("alice", secured["revoked"]), ("mallory", secured["revoked"]),
                           ("bob", secured["alice"]), ("alice", "wrong")):
        with pytest.raises(psycopg.OperationalError) as failure:
            psycopg.connect(f"postgresql://{user}@127.0.0.1:{port}/lake", password=password)
        assert "password authentication failed" in str(failure.value)
    psql = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "alice", "-d",
                           "lake", "-At", "-c", "SELECT count(*) FROM samples"],
                          env={"PGPASSWORD": secured["alice"], "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=30)
    assert psql.returncode == 0, psql.stderr
    assert psql.stdout.strip() == "100"


def commit_infos(table: Path) -> list[dict]:
    infos = []
    for commit in sorted((table / "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            if "commitInfo" in action:
                infos.append(action["commitInfo"])
    return infos


def test_commits_record_who_made_them(tmp_path):
    table = tmp_path / "audited"
    nlkcli.run_nlk("datagen", "--table", str(table), "--devices", "1", "--channels", "1",
                   "--duration", "1", "--rate", "10", env={"NLK_PRINCIPAL": "svc-ingest"})
    nlkcli.run_nlk("optimize", str(table), env={"NLK_PRINCIPAL": "svc-compactor"})
    nlkcli.run_nlk("datagen", "--table", str(table), "--devices", "1", "--channels", "1",
                   "--duration", "1", "--rate", "10", env={"NLK_PRINCIPAL": ""})
    infos = commit_infos(table)
    assert infos[0]["userId"] == infos[0]["userName"] == "svc-ingest"
    assert {info["userName"] for info in infos[1:-1]} <= {"svc-compactor"}
    assert infos[-1]["userName"] == pwd.getpwuid(os.geteuid()).pw_name


def test_flight_sql_calls_need_a_token(secured):
    uri = f"grpc://127.0.0.1:{secured['flight_port']}"
    header = adbc_driver_flightsql.DatabaseOptions.AUTHORIZATION_HEADER.value
    with flight_sql.connect(uri, db_kwargs={header: f"Bearer {secured['alice']}"},
                            autocommit=True) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) AS n FROM samples")
            assert cursor.fetch_arrow_table().column("n")[0].as_py() == 100
    for kwargs in ({}, {"db_kwargs": {header: f"Bearer {secured['revoked']}"}}):
        with pytest.raises(adbc_driver_manager.Error) as failure:
            with flight_sql.connect(uri, autocommit=True, **kwargs) as connection:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM samples")
                    cursor.fetch_arrow_table()
        assert "UNAUTHENTICATED" in str(failure.value) or "token" in str(failure.value)
