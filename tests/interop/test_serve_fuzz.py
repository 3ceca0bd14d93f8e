"""Randomised robustness tests of `nlk serve`: mutated raw HTTP requests, random REST query
strings and random or mutated SQL. Whatever arrives, the server answers with a well-formed
response whose status fits the input (never a 5xx for user input), or closes the connection,
and it keeps serving everyone else.

The runs are seeded and bounded (a few hundred inputs each, against 127.0.0.1 only); a failure
prints the seed and the input that caused it. NLK_FUZZ_SEED and NLK_FUZZ_CASES change the seed
and the number of inputs.

Run:  .venv/bin/python -m pytest tests/interop/test_serve_fuzz.py   (NLK_BIN=build/tools/nlk)
"""

from __future__ import annotations

import os
import random
import urllib.parse
from pathlib import Path

import pytest

from serve_harness import raw_exchange, start_nlk_serve

SEED = int(os.environ.get("NLK_FUZZ_SEED", "20261125"))
CASES = int(os.environ.get("NLK_FUZZ_CASES", "300"))

# Statuses a client may cause. 503 only under overload, which sequential requests never cause.
# 403: a mutated Host header that names another site (host_not_allowed).
USER_STATUSES = {200, 400, 403, 404, 405, 408, 411, 413, 414, 415, 431, 501, 505}
COLUMNS = ["timestamp", "device_id", "channel", "sequence", "voltage_uv", "nope", "", "*",
           "\"device_id\"", "a.b"]
OPERATORS = ["", "eq", "lt", "lte", "gt", "gte", "gteq", "lteq", "neq", "ne", "in", "like",
             "bogus"]
VALUES = ["1", "-1", "0", "2", "'device-001'", "'", "''", "'2026-01-01T00:00:00Z'", "1e309",
          "NaN", "99999999999999999999999", "'\u00e9\u6f22'", "null", "true", "%00", "1,2",
          "(1)", "'a''b'", "\\", ""]


@pytest.fixture(scope="module")
def server(tmp_path_factory, run_nlk):
    base: Path = tmp_path_factory.mktemp("fuzz")
    table = base / "samples"
    run_nlk("datagen", "--table", table, "--devices", 2, "--channels", 4, "--rate", 10,
            "--duration", 3, "--start", "2026-01-01T00:00:00Z")
    srv = start_nlk_serve(["-t", f"samples={table}", "-t",
                           f"mem={table},use_memory_table=true", "--max-result-rows", "5000",
                           "--max-body-bytes", "65536", "--header-timeout-ms", "2000",
                           "--query-timeout-ms", "5000"], base)
    yield srv
    srv.stop()


def status_of(answer: bytes) -> int | None:
    if not answer.startswith(b"HTTP/1.1 "):
        return None
    return int(answer[9:12])


def check(server, status: int | None, what: str, allow_close: bool = False) -> None:
    if status is None and allow_close:
        return
    assert status in USER_STATUSES, f"seed {SEED}: status {status} for {what!r}"
    assert server.alive(), f"seed {SEED}: server died on {what!r}\n{server.log_text()}"


VALID_REQUESTS = [
    b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /api/tables/samples?limit=3&sort=-channel HTTP/1.1\r\nHost: x\r\n"
    b"Accept: text/csv\r\n\r\n",
    b"POST /api/sql HTTP/1.1\r\nHost: x\r\nContent-Length: 35\r\n\r\n"
    b"SELECT count(*) FROM samples LIMIT 1",
    b"POST /api/sql HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"8\r\nSELECT 1\r\n0\r\n\r\n",
    b"GET /api/schema/samples HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n",
]


def mutate(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(7)
        position = rng.randrange(len(data) + 1)
        if choice == 0 and data:  # flip a byte
            data[min(position, len(data) - 1)] = rng.randrange(256)
        elif choice == 1:  # insert random bytes
            data[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif choice == 2:  # delete a span
            del data[position:position + rng.randint(1, 16)]
        elif choice == 3:  # truncate
            del data[position:]
        elif choice == 4:  # insert a structural token
            token = rng.choice([b"\r\n", b"\r\n\r\n", b":", b" ", b"\x00", b"%", b"?", b"&",
                                b"Content-Length: 99999999999999999999\r\n",
                                b"Content-Length: -5\r\n", b"Transfer-Encoding: chunked\r\n",
                                b"ffffffffffffffff\r\n"])
            data[position:position] = token
        elif choice == 5:  # duplicate a span
            span = data[position:position + rng.randint(1, 32)]
            data[position:position] = span
        else:  # a very long run
            data[position:position] = bytes([rng.randrange(32, 127)]) * rng.choice([256, 9000])
    return bytes(data)


def test_mutated_raw_requests(server):
    rng = random.Random(SEED)
    for case in range(CASES):
        payload = mutate(rng, rng.choice(VALID_REQUESTS))
        answer = raw_exchange(server.port, payload, wait=10, half_close=True)
        # Without a complete request the server may close without answering, or answer 400/408.
        check(server, status_of(answer), payload[:300], allow_close=True)
        if answer:
            assert answer.startswith(b"HTTP/1.1 "), f"seed {SEED}: not HTTP: {answer[:200]!r}"
        if case % 50 == 0:
            assert server.get("/health").status == 200
    assert server.get("/api/tables/samples?limit=1").status == 200


def random_rest_query(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(0, 5)):
        kind = rng.randrange(6)
        if kind == 0:
            parts.append("columns=" + ",".join(rng.sample(COLUMNS, rng.randint(1, 3))))
        elif kind == 1:
            parts.append(f"filter[{rng.choice(COLUMNS)}]{rng.choice(OPERATORS)}="
                         f"{rng.choice(VALUES)}")
        elif kind == 2:
            parts.append("sort=" + ",".join(rng.choice(["", "-", "+"]) + rng.choice(COLUMNS)
                                            for _ in range(rng.randint(1, 3))))
        elif kind == 3:
            parts.append(f"limit={rng.choice(['0', '1', '10', '-1', 'x', '1e3', '99999999999'])}")
        elif kind == 4:
            parts.append(f"{rng.choice(['offset', 'page'])}="
                         f"{rng.choice(['0', '1', '-3', 'q', '4294967296'])}")
        else:
            parts.append(rng.choice(["filter", "filter[", "filter[]=1", "=", "&&", "%zz",
                                     "columns=", "sort="]))
    query = "&".join(parts)
    return urllib.parse.quote(query, safe="=&[],-+'%")


def test_random_rest_queries(server):
    rng = random.Random(SEED + 1)
    seen = set()
    for _ in range(CASES):
        table = rng.choice(["samples", "samples", "mem", "missing", "sam%00ples"])
        path = f"/api/tables/{table}?{random_rest_query(rng)}"
        response = server.get(path, accept=rng.choice([None, "text/csv",
                                                       "application/vnd.apache.arrow.stream",
                                                       "application/vnd.apache.parquet",
                                                       "application/json", "bogus/type"]))
        check(server, response.status, path)
        if response.status >= 400:
            body = response.json()
            assert body["code"] == response.status and body["error"] and body["message"], path
        seen.add(response.status)
    assert 200 in seen and 400 in seen and 404 in seen


SQL_PIECES = ["SELECT", "*", "count(*)", "device_id", "channel", "voltage_uv", "FROM", "samples",
              "mem", "WHERE", "GROUP BY", "ORDER BY", "LIMIT", "1", "-1", "(", ")", ",", "AND",
              "OR", "NOT", "=", "<", "'x'", "NULL", "JOIN", "ON", "UNION", "ALL", "WITH", "AS",
              "OVER", "PARTITION BY", "CASE", "WHEN", "THEN", "END", "CAST", "INTERVAL '1 s'",
              "avg(voltage_uv)", "row_number()", "DISTINCT", "HAVING", "IN", "EXISTS", "::",
              "text", "int", "1e400", "DROP TABLE samples", "INSERT INTO", ";", "$1", "/*",
              "--", "'", "\"", "\u00e9", "\x00"]

VALID_SQL = [
    "SELECT device_id, channel, avg(voltage_uv) AS v FROM samples GROUP BY device_id, channel "
    "ORDER BY v DESC LIMIT 5",
    "SELECT * FROM samples WHERE channel IN (1, 2) AND voltage_uv BETWEEN -10 AND 10 LIMIT 20",
    "WITH s AS (SELECT channel, voltage_uv FROM mem) SELECT channel, count(*) FROM s "
    "GROUP BY channel",
    "SELECT channel, sum(voltage_uv) OVER (PARTITION BY channel ORDER BY timestamp ROWS "
    "BETWEEN 2 PRECEDING AND CURRENT ROW) FROM samples LIMIT 50",
    "SELECT date_trunc('second', timestamp) AS s, count(*) FROM samples GROUP BY 1 ORDER BY 1",
]


def random_sql(rng: random.Random) -> str:
    if rng.random() < 0.5:
        tokens = VALID_SQL[rng.randrange(len(VALID_SQL))].split(" ")
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(len(tokens) + 1)
            action = rng.randrange(3)
            if action == 0:
                tokens.insert(position, rng.choice(SQL_PIECES))
            elif action == 1 and tokens:
                del tokens[min(position, len(tokens) - 1)]
            elif tokens:
                tokens[min(position, len(tokens) - 1)] = rng.choice(SQL_PIECES)
        return " ".join(tokens)
    return " ".join(rng.choice(SQL_PIECES) for _ in range(rng.randint(1, 14)))


def test_random_sql(server):
    rng = random.Random(SEED + 2)
    seen = set()
    for _ in range(CASES):
        query = random_sql(rng)
        response = server.sql(query)
        check(server, response.status, query)
        if response.status != 200:
            body = response.json()
            assert body["code"] == response.status and body["message"], query
        seen.add(response.status)
    assert 200 in seen and 400 in seen
    assert server.sql("SELECT count(*) AS n FROM samples").json() == [{"n": 240}]
