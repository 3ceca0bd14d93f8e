"""Fuzzing the authenticated `nlk serve` (a tokens file), over plain HTTP and over TLS: malformed
request lines, huge headers and bodies, invalid UTF-8, bad chunked encoding, and slow clients
(slowloris). Every answer is a 4xx or 5xx (or the connection closes), the server stays up and
keeps serving a legitimate client, and its memory stays bounded.

Seeded and bounded (NLK_FUZZ_CASES inputs per transport, default 150; 127.0.0.1 only); a failure
prints the seed and the input. NLK_FUZZ_SEED changes the seed.

Run:  .venv/bin/python -m pytest tests/interop/test_serve_security_fuzz.py   (NLK_BIN=build/tools/nlk)
"""

from __future__ import annotations

import os
import random
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

import nlkcli
from serve_harness import rss_bytes, start_nlk_serve

SEED = int(os.environ.get("NLK_FUZZ_SEED", "20261207"))
CASES = int(os.environ.get("NLK_FUZZ_CASES", "150"))
MAX_BODY = 65536
MAX_HEADER = 16 << 10
HEADER_TIMEOUT_MS = 2000
# Growth of the server's RSS over the whole run that counts as bounded (a leak of even a few KB
# per input would pass it only for tiny inputs; the huge inputs are megabytes each).
RSS_GROWTH_LIMIT = 96 << 20


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("secfuzz")
    nlkcli.run_nlk("datagen", "--table", str(root / "samples"), "--devices", "1", "--channels",
                   "2", "--duration", "1", "--rate", "50")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(root / "key.pem"),
                    "-out", str(root / "cert.pem"), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return root


@pytest.fixture(scope="module", params=["http", "https"])
def target(request, lake):
    tokens = lake / f"tokens-{request.param}.tsv"
    token = nlkcli.run_nlk("auth", "token", "create", "--tokens", str(tokens), "--principal",
                           "fuzzer").stdout.strip()
    args = ["-t", f"samples={lake / 'samples'}", "--tokens", str(tokens), "--max-body-bytes",
            str(MAX_BODY), "--header-timeout-ms", str(HEADER_TIMEOUT_MS), "--query-timeout-ms",
            "5000"]
    context = None
    if request.param == "https":
        args += ["--tls-cert", str(lake / "cert.pem"), "--tls-key", str(lake / "key.pem")]
        context = ssl.create_default_context(cafile=str(lake / "cert.pem"))
    server = start_nlk_serve(args, lake, ssl_context=context)
    yield {"server": server, "token": token, "context": context}
    server.stop()


def connect(target, timeout: float = 10.0) -> socket.socket:
    raw = socket.create_connection(("127.0.0.1", target["server"].port), timeout=timeout)
    if target["context"] is None:
        return raw
    return target["context"].wrap_socket(raw, server_hostname="127.0.0.1")


def exchange(target, payload: bytes, wait: float = 5.0) -> bytes:
    """Sends `payload`, then ends the sending side (so a kept-alive connection ends after its
    answers), and returns what the server sends before closing or going quiet."""
    with connect(target, wait) as connection:
        try:
            connection.sendall(payload)
            # The TCP half-close itself: ssl.SSLSocket.shutdown would drop the TLS layer.
            socket.socket.shutdown(connection, socket.SHUT_WR)
        except OSError:
            pass  # the server may answer and close before reading everything
        data = b""
        while True:
            try:
                chunk = connection.recv(65536)
            except (socket.timeout, ConnectionResetError, ssl.SSLError, OSError):
                break
            if not chunk:
                break
            data += chunk
        return data


def statuses(answer: bytes) -> list[int]:
    """The status codes of every response in `answer` (pipelined inputs may get several)."""
    found, position = [], 0
    while (position := answer.find(b"HTTP/1.1 ", position)) >= 0:
        code = answer[position + 9:position + 12]
        if code.isdigit():
            found.append(int(code))
        position += 9
    return found


def random_bytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.randrange(256) for _ in range(n))


def invalid_utf8(rng: random.Random) -> bytes:
    return rng.choice([b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80",
                       b"\xe2\x28\xa1", b"\x80"]) * rng.randint(1, 20)


def make_input(rng: random.Random, token: str) -> bytes:
    """One hostile request. Those that carry the valid token are malformed in a way the server
    must refuse (invalid UTF-8 SQL, broken framing, oversized parts)."""
    bad = "nlk_" + "".join(rng.choice("0123456789abcdef") for _ in range(12)) + "_" + "0" * 64
    auth = rng.choice([b"", f"Authorization: Bearer {bad}\r\n".encode(),
                       b"Authorization: Basic \xff\xfe\r\n", b"Authorization: Bearer\r\n"])
    kind = rng.randrange(10)
    if kind == 0:  # a malformed request line
        return rng.choice([b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b" / HTTP/1.1\r\n\r\n",
                           b"GET /api/sql HTTP/1.1 extra\r\n\r\n", b"\r\n\r\n\r\n",
                           random_bytes(rng, rng.randint(1, 200)) + b"\r\n\r\n",
                           b"G\x00ET / HTTP/1.1\r\n\r\n"])
    if kind == 1:  # a huge request line
        return b"GET /" + b"a" * rng.choice([MAX_HEADER, 4 * MAX_HEADER]) + b" HTTP/1.1\r\n\r\n"
    if kind == 2:  # huge or many headers
        if rng.random() < 0.5:
            return b"GET /health HTTP/1.1\r\nX-Big: " + b"b" * (2 * MAX_HEADER) + b"\r\n\r\n"
        return b"GET /health HTTP/1.1\r\n" + b"".join(
            b"X-%d: v\r\n" % i for i in range(MAX_HEADER // 8)) + b"\r\n"
    if kind == 3:  # a body beyond the limit, declared or sent
        size = rng.choice([MAX_BODY + 1, 4 * MAX_BODY, 10**12])
        head = (b"POST /api/sql HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth +
                f"Authorization: Bearer {token}\r\n".encode() * rng.randint(0, 1) +
                b"Content-Length: %d\r\n\r\n" % size)
        return head + b"x" * min(size, MAX_BODY + 100)
    if kind == 4:  # bad chunked encoding
        chunks = rng.choice([b"zz\r\nabc\r\n0\r\n\r\n", b"5\r\nab\r\n0\r\n\r\n",
                             b"ffffffffffffffffff\r\nx\r\n", b"-1\r\nx\r\n0\r\n\r\n",
                             b"3\r\nabc0\r\n\r\n", b"10000000\r\n" + b"x" * 100])
        return (b"POST /api/sql HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                f"Authorization: Bearer {token}\r\n".encode() +
                b"Transfer-Encoding: chunked\r\n\r\n" + chunks)
    if kind == 5:  # invalid UTF-8 in the SQL of an authenticated request
        body = b"SELECT '" + invalid_utf8(rng) + b"' FROM samples"
        return (b"POST /api/sql HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                f"Authorization: Bearer {token}\r\n".encode() +
                b"Content-Length: %d\r\n\r\n" % len(body) + body)
    if kind == 6:  # invalid UTF-8 in the path, headers or body, unauthenticated
        return (b"POST /api/" + invalid_utf8(rng) + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth +
                b"X-Name: " + invalid_utf8(rng) + b"\r\nContent-Length: 4\r\n\r\n\xff\xfe\xfd\xfc")
    if kind == 7:  # conflicting or broken framing
        return rng.choice([
            b"POST /api/sql HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
            b"POST /api/sql HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"POST /api/sql HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n",
            b"POST /api/sql HTTP/1.1\r\nTransfer-Encoding: gzip, chunked, identity\r\n\r\n",
            b"GET /api/schema HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + auth,
            b"GET /api/schema HTTP/1.1\r\n Folded: header\r\n\r\n",
        ])
    if kind == 8:  # every endpoint without a valid token
        path = rng.choice([b"/api/sql", b"/api/tables/samples", b"/api/schema", b"/metrics",
                           b"/api/schema/samples", b"/api/tables/../../etc/passwd", b"/ui/x"])
        return (rng.choice([b"GET ", b"POST ", b"DELETE ", b"PUT "]) + path +
                b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + b"Content-Length: 0\r\n\r\n")
    # Random mutations of an authenticated request's framing.
    base = bytearray(b"POST /api/sql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 8\r\n\r\n"
                     b"SELECT 1")
    for _ in range(rng.randint(1, 6)):
        base[rng.randrange(len(base))] = rng.randrange(256)
    return bytes(base)


def assert_healthy(target) -> None:
    server = target["server"]
    assert server.alive(), server.log_text()
    response = server.request("POST", "/api/sql", "SELECT count(*) AS n FROM samples",
                              headers={"Authorization": f"Bearer {target['token']}"}, timeout=10)
    assert response.status == 200, response.body


def test_hostile_requests_get_errors_only(target):
    rng = random.Random(SEED)
    server = target["server"]
    assert_healthy(target)
    rss_before = rss_bytes(server.process.pid)
    answered = 0
    for case in range(CASES):
        payload = make_input(rng, target["token"])
        answer = exchange(target, payload, wait=HEADER_TIMEOUT_MS / 1000 + 3)
        codes = statuses(answer)
        answered += bool(codes)
        context = f"seed {SEED} case {case}: {payload[:300]!r} -> {answer[:300]!r}"
        assert all(400 <= code <= 599 for code in codes), context
        if case % 25 == 0:
            assert_healthy(target)
    assert_healthy(target)
    # Most inputs get an answer (the rest a closed connection): the run checked responses.
    assert answered > CASES // 2, f"only {answered} of {CASES} inputs were answered"
    growth = rss_bytes(server.process.pid) - rss_before
    assert growth < RSS_GROWTH_LIMIT, f"RSS grew by {growth / 2**20:.0f} MB over {CASES} inputs"


def test_slow_clients_do_not_hold_the_server(target):
    """Slowloris: many connections trickling a request's headers. Each is cut off after the
    header timeout, and a normal client is served at once meanwhile."""
    stop = threading.Event()
    dropped = []

    def trickle() -> None:
        try:
            with connect(target, timeout=30) as connection:
                connection.sendall(b"POST /api/sql HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                started = time.monotonic()
                while not stop.is_set():
                    connection.sendall(b"X-a: b\r\n")
                    time.sleep(0.5)
                    if time.monotonic() - started > 30:
                        return
        except OSError:
            dropped.append(time.monotonic())

    threads = [threading.Thread(target=trickle, daemon=True) for _ in range(40)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    served = time.monotonic()
    assert_healthy(target)
    assert time.monotonic() - served < 2
    for thread in threads:
        thread.join(timeout=30)
    stop.set()
    assert len(dropped) == len(threads), f"{len(dropped)} of {len(threads)} slow clients dropped"
    # header_timeout, plus the time to write the 408 and notice the close.
    assert max(dropped) - started < HEADER_TIMEOUT_MS / 1000 + 10
    assert_healthy(target)


def test_a_slow_handshake_or_silent_connection_is_dropped(target):
    with socket.create_connection(("127.0.0.1", target["server"].port), timeout=30) as raw:
        started = time.monotonic()
        assert raw.recv(100) == b""
        assert time.monotonic() - started < HEADER_TIMEOUT_MS / 1000 + 5
    assert_healthy(target)
