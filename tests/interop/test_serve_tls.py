"""`nlk serve` over TLS: HTTPS with keep-alive, TLS 1.2+ only, plain HTTP on the TLS port refused
in plain words, certificates reloaded when their files change (a broken pair keeps the old one
and shows on /metrics), client certificates (mTLS) as an identity, PostgreSQL clients with
sslmode=verify-full and Flight SQL over grpc+tls. The certificates are made by the openssl
command line in a temporary directory.

Run:  .venv/bin/python -m pytest tests/interop/test_serve_tls.py   (NLK_BIN=build/tools/nlk)
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
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

RELOAD_WAIT = 10.0  # the server looks at the files at most once a second


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.pem"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj",
            f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    return cert, key


def make_cert(directory: Path, name: str, subject: str, ca: tuple[Path, Path],
              extensions: str) -> tuple[Path, Path]:
    key, csr, cert = (directory / f"{name}.key", directory / f"{name}.csr",
                      directory / f"{name}.pem")
    ext = directory / f"{name}.ext"
    ext.write_text(extensions + "\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(csr), "-subj", subject, cwd=directory)
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
            "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext),
            cwd=directory)
    return cert, key


SERVER_EXT = "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth"
CLIENT_EXT = "extendedKeyUsage=clientAuth"


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("pki")
    ca = make_ca(d, "server-ca")
    client_ca = make_ca(d, "client-ca")
    other_ca = make_ca(d, "other-ca")
    return {
        "dir": d,
        "ca": ca[0],
        "client_ca": client_ca[0],
        "server": make_cert(d, "server", "/CN=localhost", ca, SERVER_EXT),
        "server2": make_cert(d, "server2", "/CN=localhost/O=second", ca, SERVER_EXT),
        "alice": make_cert(d, "alice", "/CN=alice/OU=lab/OU=neuro", client_ca, CLIENT_EXT),
        "bad_cn": make_cert(d, "badcn", "/CN=not a principal!", client_ca, CLIENT_EXT),
        "stranger": make_cert(d, "stranger", "/CN=alice", other_ca, CLIENT_EXT),
    }


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tls")
    nlkcli.run_nlk("datagen", "--table", str(root / "samples"), "--devices", "1", "--channels",
                   "2", "--duration", "1", "--rate", "50")
    return root


def client_context(pki: dict, cert: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki["ca"]))
    if cert:
        context.load_cert_chain(str(pki[cert][0]), str(pki[cert][1]))
    return context


def tls_args(cert: Path, key: Path) -> list[str]:
    return ["--tls-cert", str(cert), "--tls-key", str(key)]


@pytest.fixture(scope="module")
def https(pki, lake):
    """A server with tokens and TLS (the live certificate files are copies the tests replace),
    with PostgreSQL and Flight SQL listeners."""
    cert, key = lake / "live.pem", lake / "live.key"
    cert.write_bytes(pki["server"][0].read_bytes())
    key.write_bytes(pki["server"][1].read_bytes())
    tokens = lake / "tokens.tsv"
    token = nlkcli.run_nlk("auth", "token", "create", "--tokens", str(tokens), "--principal",
                           "alice").stdout.strip()
    pg_port, flight_port = free_port(), free_port()
    server = start_nlk_serve(["-t", f"samples={lake / 'samples'}", "--tokens", str(tokens),
                              *tls_args(cert, key), "-p", f"127.0.0.1:{pg_port}",
                              "--addr-flight-sql", f"127.0.0.1:{flight_port}"], lake,
                             ssl_context=client_context(pki))
    yield {"server": server, "token": token, "cert": cert, "key": key, "pg_port": pg_port,
           "flight_port": flight_port}
    server.stop()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def peer_certificate(port: int, context: ssl.SSLContext) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.getpeercert(binary_form=True)


def der(pem: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem.read_text())


def test_https_queries_with_keep_alive(https):
    server = https["server"]
    connection = server.connection()
    try:
        for _ in range(3):
            connection.request("POST", "/api/sql", body="SELECT count(*) AS n FROM samples",
                               headers=bearer(https["token"]))
            response = connection.getresponse()
            assert response.status == 200
            assert b"100" in response.read()
            assert response.getheader("Connection") == "keep-alive"
        # One TLS session for the three requests.
        assert connection.sock is not None
    finally:
        connection.close()
    assert server.get("/api/schema").status == 401


def test_curl_verifies_the_certificate(https, pki):
    port = https["server"].port
    ok = subprocess.run(["curl", "-sS", "--cacert", str(pki["ca"]), "-H",
                         f"Authorization: Bearer {https['token']}", "--data",
                         "SELECT count(*) AS n FROM samples",
                         f"https://localhost:{port}/api/sql"],
                        capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    assert "100" in ok.stdout
    # Without the CA curl does not trust the server.
    untrusted = subprocess.run(["curl", "-sS", f"https://localhost:{port}/health"],
                               capture_output=True, text=True, timeout=30)
    assert untrusted.returncode != 0


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_old_tls_versions_are_refused(https, pki, version):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(str(pki["ca"]))
    context.set_ciphers("DEFAULT@SECLEVEL=0")
    context.minimum_version = version
    context.maximum_version = version
    with pytest.raises(ssl.SSLError) as failure:
        peer_certificate(https["server"].port, context)
    # The server answers the old hello with a protocol_version alert.
    assert "ALERT_PROTOCOL_VERSION" in str(failure.value), failure.value
    modern = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    modern.load_verify_locations(str(pki["ca"]))
    modern.maximum_version = ssl.TLSVersion.TLSv1_2
    assert peer_certificate(https["server"].port, modern)


def test_plain_http_on_the_tls_port_is_told_so(https):
    answer = raw_exchange(https["server"].port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"https://" in answer and b"Connection: close" in answer
    # Garbage that is neither TLS nor HTTP is refused the same way, and the server stays up.
    answer = raw_exchange(https["server"].port, b"\x00\x01\x02garbage\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert https["server"].get("/health").status == 200


def test_handshake_that_never_comes_is_dropped(https):
    with socket.create_connection(("127.0.0.1", https["server"].port), timeout=30) as raw:
        raw.sendall(b"\x16\x03\x01")  # the first bytes of a TLS record, then silence
        started = time.monotonic()
        assert raw.recv(100) == b""
        assert time.monotonic() - started < 15  # header_timeout is 10 s


def replace_atomically(target: Path, data: bytes) -> None:
    temporary = target.with_suffix(".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)


def metric(server, token: str, name: str) -> float:
    body = server.request("GET", "/metrics", headers=bearer(token)).body.decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def wait_for_peer(port: int, context: ssl.SSLContext, expected: bytes) -> None:
    deadline = time.monotonic() + RELOAD_WAIT
    while peer_certificate(port, context) != expected:
        assert time.monotonic() < deadline, "the new certificate was not served in time"
        time.sleep(0.2)


def test_certificates_reload_and_a_broken_pair_keeps_the_old_one(https, pki):
    server, port = https["server"], https["server"].port
    context = client_context(pki)
    assert peer_certificate(port, context) == der(pki["server"][0])
    kept_alive = server.connection()
    kept_alive.request("GET", "/health")
    assert kept_alive.getresponse().read()
    try:
        # A new pair: new connections get it; the open connection keeps working.
        replace_atomically(https["key"], pki["server2"][1].read_bytes())
        replace_atomically(https["cert"], pki["server2"][0].read_bytes())
        wait_for_peer(port, context, der(pki["server2"][0]))
        kept_alive.request("GET", "/health")
        assert kept_alive.getresponse().status == 200
        failures = metric(server, https["token"], "nlk_tls_reload_failures_total")
        # A certificate without its key: refused, the previous pair stays in use.
        replace_atomically(https["cert"], pki["server"][0].read_bytes())
        deadline = time.monotonic() + RELOAD_WAIT
        while metric(server, https["token"], "nlk_tls_reload_failures_total") == failures:
            assert time.monotonic() < deadline, "the broken pair was not noticed"
            time.sleep(0.2)
        assert metric(server, https["token"], "nlk_tls_reload_error") == 1
        assert peer_certificate(port, context) == der(pki["server2"][0])
        assert "TLS reload failed" in server.log_text()
        # The matching key arrives: the pair loads and the error clears.
        replace_atomically(https["key"], pki["server"][1].read_bytes())
        wait_for_peer(port, context, der(pki["server"][0]))
        assert metric(server, https["token"], "nlk_tls_reload_error") == 0
        assert metric(server, https["token"], "nlk_tls_reloads_total") >= 2
    finally:
        kept_alive.close()


def test_postgres_verify_full(https, pki):
    port, token = https["pg_port"], https["token"]
    url = (f"postgresql://alice@localhost:{port}/lake?sslmode=verify-full"
           f"&sslrootcert={pki['ca']}")
    with psycopg.connect(url, password=token) as connection:
        assert connection.info.pgconn.ssl_in_use
        assert connection.execute("SELECT count(*) FROM samples").fetchone()[0] == 100
    psql = subprocess.run(["psql", f"host=localhost port={port} user=alice dbname=lake "
                           f"sslmode=verify-full sslrootcert={pki['ca']}", "-At", "-c",
                           "SELECT count(*) FROM samples"],
                          env={"PGPASSWORD": token, "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=30)
    assert psql.returncode == 0, psql.stderr
    assert psql.stdout.strip() == "100"
    # A client that will not use TLS is refused before it can send a password.
    with pytest.raises(psycopg.OperationalError) as failure:
        psycopg.connect(f"postgresql://alice@127.0.0.1:{port}/lake?sslmode=disable",
                        password=token)
    assert "requires TLS" in str(failure.value)
    # verify-full checks the name: the certificate is not for 127.0.0.2.
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"postgresql://alice@127.0.0.2:{port}/lake?sslmode=verify-full"
                        f"&sslrootcert={pki['ca']}", password=token, connect_timeout=5)


def test_postgres_refuses_bytes_sent_before_the_tls_answer(https):
    ssl_request = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")
    startup = b"\x00\x00\x00\x08\x00\x03\x00\x00"
    answer = raw_exchange(https["pg_port"], ssl_request + startup)
    assert b"unencrypted data after SSL request" in answer


def test_flight_sql_over_tls(https, pki):
    uri = f"grpc+tls://localhost:{https['flight_port']}"
    header = adbc_driver_flightsql.DatabaseOptions.AUTHORIZATION_HEADER.value
    roots = adbc_driver_flightsql.DatabaseOptions.TLS_ROOT_CERTS.value
    with flight_sql.connect(uri, db_kwargs={header: f"Bearer {https['token']}",
                                            roots: pki["ca"].read_text()},
                            autocommit=True) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) AS n FROM samples")
            assert cursor.fetch_arrow_table().column("n")[0].as_py() == 100
    # Plain gRPC to the TLS port fails.
    with pytest.raises(adbc_driver_manager.Error):
        with flight_sql.connect(f"grpc://127.0.0.1:{https['flight_port']}",
                                db_kwargs={header: f"Bearer {https['token']}"},
                                autocommit=True) as connection:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetch_arrow_table()


@pytest.fixture(scope="module")
def mtls(pki, lake):
    """Client certificates as the only credential, listening beyond loopback (allowed: mTLS
    counts as authentication)."""
    port, pg_port = free_port(), free_port()
    log = lake / f"mtls-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(nlkcli.nlk_path()), "serve", "-t", f"samples={lake / 'samples'}",
             *tls_args(*pki["server"]), "--tls-client-ca", str(pki["client_ca"]), "-a",
             f"0.0.0.0:{port}", "-p", f"0.0.0.0:{pg_port}"], stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    context = client_context(pki, "alice")
    deadline = time.monotonic() + 30
    while True:
        try:
            peer_certificate(port, context)
            break
        except OSError:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    yield {"port": port, "pg_port": pg_port, "log": log}
    process.terminate()
    process.wait(timeout=10)


def https_status(port: int, context: ssl.SSLContext, path: str = "/api/schema") -> int:
    connection = http.client.HTTPSConnection("localhost", port, timeout=10, context=context)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def test_mtls_certificate_is_the_credential(mtls, pki):
    port = mtls["port"]
    assert https_status(port, client_context(pki, "alice")) == 200
    # A certificate whose CN is no valid principal verifies, but names nobody.
    assert https_status(port, client_context(pki, "bad_cn")) == 401
    # No certificate, or one from a CA the server does not trust: the handshake fails.
    for context in (client_context(pki), client_context(pki, "stranger")):
        with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
            https_status(port, context)


def test_mtls_postgres_user_is_the_certificate_principal(mtls, pki):
    alice_cert, alice_key = pki["alice"]
    base = (f"host=localhost port={mtls['pg_port']} dbname=lake sslmode=verify-full "
            f"sslrootcert={pki['ca']} sslcert={alice_cert} sslkey={alice_key}")
    with psycopg.connect(base + " user=alice") as connection:
        assert connection.execute("SELECT count(*) FROM samples").fetchone()[0] == 100
    with pytest.raises(psycopg.OperationalError) as failure:
        psycopg.connect(base + " user=bob")
    assert 'the certificate is for "alice"' in str(failure.value)


def test_mtls_with_tokens_accepts_either(pki, lake):
    tokens = lake / "either-tokens.tsv"
    token = nlkcli.run_nlk("auth", "token", "create", "--tokens", str(tokens), "--principal",
                           "bob").stdout.strip()
    server = start_nlk_serve(["-t", f"samples={lake / 'samples'}", "--tokens", str(tokens),
                              *tls_args(*pki["server"]), "--tls-client-ca",
                              str(pki["client_ca"])], lake, ssl_context=client_context(pki))
    try:
        port = server.port
        assert https_status(port, client_context(pki, "alice")) == 200
        assert server.get("/api/schema").status == 401
        assert server.request("GET", "/api/schema", headers=bearer(token)).status == 200
        # A token decides when one is sent, even over a verified certificate.
        connection = http.client.HTTPSConnection("localhost", port, timeout=10,
                                                 context=client_context(pki, "alice"))
        connection.request("GET", "/api/schema", headers=bearer("nlk_0_bad"))
        assert connection.getresponse().status == 401
        connection.close()
    finally:
        server.stop()


def test_bad_tls_settings_fail_at_start(pki, lake):
    def serve(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(nlkcli.nlk_path()), "serve", "-t",
                               f"samples={lake / 'samples'}", "-a", f"127.0.0.1:{free_port()}",
                               *args], capture_output=True, text=True, timeout=30)

    mismatched = serve("--tls-cert", str(pki["server"][0]), "--tls-key", str(pki["server2"][1]))
    assert mismatched.returncode != 0 and "does not match" in mismatched.stderr
    missing = serve("--tls-cert", str(pki["server"][0]))
    assert missing.returncode != 0 and "--tls-key" in missing.stderr
    version = serve(*tls_args(*pki["server"]), "--tls-min-version", "1.1")
    assert version.returncode != 0 and "1.2 or 1.3" in version.stderr
    no_file = serve("--tls-cert", str(lake / "nope.pem"), "--tls-key", str(pki["server"][1]))
    assert no_file.returncode != 0 and "cannot be loaded" in no_file.stderr
    ca_only = serve("--tls-client-ca", str(pki["client_ca"]))
    assert ca_only.returncode != 0 and "need TLS" in ca_only.stderr
    # Beyond loopback, TLS alone is not authentication.
    beyond = subprocess.run([str(nlkcli.nlk_path()), "serve", "-t", f"samples={lake / 'samples'}",
                             "-a", f"0.0.0.0:{free_port()}", *tls_args(*pki["server"])],
                            capture_output=True, text=True, timeout=30)
    assert beyond.returncode != 0 and "without authentication" in beyond.stderr


def test_yaml_config_sets_tls(pki, lake):
    config = lake / "tls.yml"
    config.write_text(f"tables:\n  - name: samples\n    uri: {lake / 'samples'}\n"
                      f"tls:\n  cert: {pki['server'][0]}\n  key: {pki['server'][1]}\n"
                      f"  min_version: '1.3'\n")
    server = start_nlk_serve(["-c", str(config)], lake, ssl_context=client_context(pki))
    try:
        context = client_context(pki)
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises(ssl.SSLError):
            peer_certificate(server.port, context)
        assert server.get("/health").status == 200
    finally:
        server.stop()
    config.write_text(f"tables:\n  - name: samples\n    uri: {lake / 'samples'}\n"
                      f"tls:\n  certificate: x\n")
    bad = subprocess.run([str(nlkcli.nlk_path()), "serve", "-c", str(config)],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "tls.certificate: unknown setting" in bad.stderr



def test_refusals_reach_tls_clients(pki, lake):
    """A connection the server refuses (too many from one address) is told why over TLS."""
    server = start_nlk_serve(["-t", f"samples={lake / 'samples'}", *tls_args(*pki["server"]),
                              "--max-connections-per-address", "1"], lake,
                             ssl_context=client_context(pki))
    try:
        held = server.connection()
        held.request("GET", "/health")
        assert held.getresponse().read() == b"OK"
        refused = server.get("/health")
        assert refused.status == 429 and refused.json()["error"] == "too_many_connections"
        held.close()
    finally:
        server.stop()


def test_client_certificates_are_held_to_the_catalog_grants(pki, lake):
    """A certificate's principal and groups (CN, OUs) get the catalog's grants on every listener
    that can see them (HTTP, PostgreSQL); Flight SQL, which cannot, holds no grant."""
    for name in ("lab_data", "other_data"):
        nlkcli.run_nlk("datagen", "--table", str(lake / name), "--devices", "1", "--channels",
                       "1", "--duration", "1", "--rate", "10")
    manifest = lake / "mtls-manifest.json"
    manifest.write_text(json.dumps({
        "format": "neuralake-catalog-manifest", "format_version": 1, "root": str(lake),
        "catalogs": [{"name": "trial", "databases": [{"name": "ephys", "tables": [
            {"name": "lab_data", "kind": "delta", "uri": "lab_data", "description": "lab rows",
             "read": {"groups": ["lab"], "principals": []}},
            {"name": "other_data", "kind": "delta", "uri": "other_data",
             "description": "another group's rows", "read": {"groups": ["other"],
                                                             "principals": []}},
        ]}]}],
    }))
    port, pg_port, flight_port = free_port(), free_port(), free_port()
    log = lake / f"mtls-grants-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(nlkcli.nlk_path()), "serve", "--catalog-manifest", str(manifest), "-t",
             f"samples={lake / 'samples'}", *tls_args(*pki["server"]), "--tls-client-ca",
             str(pki["client_ca"]), "-a", f"127.0.0.1:{port}", "-p", f"127.0.0.1:{pg_port}",
             "--addr-flight-sql", f"127.0.0.1:{flight_port}"], stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        context = client_context(pki, "alice")  # CN=alice, OU=lab, OU=neuro
        deadline = time.monotonic() + 30
        while True:
            try:
                peer_certificate(port, context)
                break
            except OSError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)

        def http_sql(query: str) -> tuple[int, bytes]:
            connection = http.client.HTTPSConnection("localhost", port, timeout=10,
                                                     context=context)
            try:
                connection.request("POST", "/api/sql", body=query)
                response = connection.getresponse()
                return response.status, response.read()
            finally:
                connection.close()

        assert http_sql("SELECT count(*) AS n FROM ephys.lab_data")[0] == 200
        hidden = http_sql("SELECT count(*) AS n FROM ephys.other_data")
        unknown = http_sql("SELECT count(*) AS n FROM ephys.nones_data")
        assert hidden[0] == unknown[0] == 404
        assert hidden[1].replace(b"other_data", b"nones_data") == unknown[1]

        alice_cert, alice_key = pki["alice"]
        with psycopg.connect(f"host=localhost port={pg_port} dbname=lake user=alice "
                             f"sslmode=verify-full sslrootcert={pki['ca']} sslcert={alice_cert} "
                             f"sslkey={alice_key}", autocommit=True) as connection:
            assert connection.execute("SELECT count(*) FROM ephys.lab_data").fetchone()[0] == 10
            with pytest.raises(psycopg.errors.UndefinedTable):
                connection.execute("SELECT count(*) FROM ephys.other_data")
            listed = {row[0] for row in connection.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables")}
            assert "ephys.lab_data" in listed and "ephys.other_data" not in listed

        roots = adbc_driver_flightsql.DatabaseOptions.TLS_ROOT_CERTS.value
        chain = adbc_driver_flightsql.DatabaseOptions.MTLS_CERT_CHAIN.value
        private = adbc_driver_flightsql.DatabaseOptions.MTLS_PRIVATE_KEY.value
        with flight_sql.connect(f"grpc+tls://localhost:{flight_port}",
                                db_kwargs={roots: pki["ca"].read_text(),
                                           chain: alice_cert.read_text(),
                                           private: alice_key.read_text()},
                                autocommit=True) as connection:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) AS n FROM samples")
                assert cursor.fetch_arrow_table().column("n")[0].as_py() == 100
                with pytest.raises(adbc_driver_manager.Error):
                    cursor.execute("SELECT count(*) AS n FROM ephys.lab_data")
                    cursor.fetch_arrow_table()
    finally:
        process.terminate()
        process.wait(timeout=10)
