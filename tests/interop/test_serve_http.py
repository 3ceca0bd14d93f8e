"""`nlk serve` over HTTP: every endpoint and format, ROAPI's REST syntax, errors, limits, fresh
data, abuse, and the same answers as ROAPI for the same config.

Run:  .venv/bin/python -m pytest tests/interop/test_serve_http.py   (NLK_BIN=build-serve/tools/nlk)
"""

from __future__ import annotations

import io
import json
import socket
import struct
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

import serve_harness
from serve_harness import raw_exchange, start_nlk_serve, start_roapi, write_roapi_config

DEVICES, CHANNELS, RATE, SECONDS = 2, 4, 10, 3
ROWS_PER_WRITE = DEVICES * CHANNELS * RATE * SECONDS  # 240


def datagen(run_nlk, table: Path, start: str) -> None:
    run_nlk("datagen", "--table", table, "--devices", DEVICES, "--channels", CHANNELS, "--rate",
            RATE, "--duration", SECONDS, "--start", start)


@pytest.fixture(scope="module")
def data(tmp_path_factory, run_nlk):
    base = tmp_path_factory.mktemp("serve")
    samples = base / "samples"
    datagen(run_nlk, samples, "2026-01-01T00:00:00Z")  # version 0
    datagen(run_nlk, samples, "2026-01-01T00:01:00Z")  # version 1
    parquet = base / "samples.parquet"
    run_nlk("datagen", "--out", parquet, "--devices", DEVICES, "--channels", CHANNELS, "--rate",
            RATE, "--duration", SECONDS)
    return {"base": base, "samples": samples, "parquet": parquet}


@pytest.fixture(scope="module")
def expected(data) -> pa.Table:
    return DeltaTable(str(data["samples"])).to_pyarrow_table()


@pytest.fixture(scope="module")
def server(data):
    srv = start_nlk_serve(["-t", f"samples={data['samples']}",
                           "-t", f"mem={data['samples']},use_memory_table=true",
                           "-t", f"pq={data['parquet']},format=parquet"], data["base"])
    yield srv
    srv.stop()


def rows(response) -> list[dict]:
    assert response.status == 200, response.body[:500]
    return response.json()


def sql_available(server) -> bool:
    response = server.sql("SELECT 1")
    return not (response.status == 501 and response.json()["error"] == "sql_unavailable")


def skip_without_sql(server):
    if not sql_available(server):
        pytest.skip("the SQL engine (src/sql) is not linked into nlk serve yet")


# --- endpoints --------------------------------------------------------------------------------

def test_health(server):
    response = server.get("/health")
    assert response.status == 200 and response.body == b"OK"


def test_schema_has_roapi_shape(server):
    response = server.get("/api/schema")
    assert response.status == 200
    schemas = response.json()
    assert set(schemas) == {"samples", "mem", "pq"}
    fields = {f["name"]: f for f in schemas["samples"]["fields"]}
    assert fields["device_id"]["data_type"] == "Utf8"
    assert fields["channel"]["data_type"] == "Int32"
    assert fields["timestamp"]["data_type"] == {"Timestamp": ["Microsecond", "UTC"]}
    assert fields["voltage_uv"]["data_type"] == "Float32"
    assert fields["date"]["data_type"] == "Date32"
    assert set(fields["channel"]) == {"name", "data_type", "nullable", "dict_id", "dict_is_ordered",
                                      "metadata"}
    one = server.get("/api/schema/samples")
    assert one.status == 200 and one.json() == schemas["samples"]


def test_schema_of_unknown_table_is_404(server):
    response = server.get("/api/schema/nope")
    assert response.status == 404
    assert response.json()["error"] == "invalid_table"


@pytest.mark.parametrize("table", ["samples", "mem"])
def test_rest_columns_filter_sort_limit(server, expected, table):
    got = rows(server.get(f"/api/tables/{table}?columns=channel,voltage_uv,sequence"
                          "&filter[channel]gte=2&filter[device_id]='device-002'"
                          "&sort=-channel,sequence&limit=5"))
    mask = pc.and_(pc.greater_equal(expected["channel"], 2),
                   pc.equal(expected["device_id"], "device-002"))
    want = (expected.filter(mask).select(["channel", "voltage_uv", "sequence"])
            .sort_by([("channel", "descending"), ("sequence", "ascending")]).slice(0, 5))
    assert [r["channel"] for r in got] == want["channel"].to_pylist()
    assert [r["sequence"] for r in got] == want["sequence"].to_pylist()
    assert list(got[0]) == ["channel", "voltage_uv", "sequence"]


@pytest.mark.parametrize("op,function", [("", "equal"), ("eq", "equal"), ("lt", "less"),
                                         ("lte", "less_equal"), ("lteq", "less_equal"),
                                         ("gt", "greater"), ("gte", "greater_equal"),
                                         ("gteq", "greater_equal"), ("ne", "not_equal")])
@pytest.mark.parametrize("table", ["samples", "mem", "pq"])
def test_rest_filter_operators(server, expected, data, op, function, table):
    source = expected if table != "pq" else pq.read_table(data["parquet"])
    got = rows(server.get(f"/api/tables/{table}?filter[channel]{op}=1&columns=channel"))
    want = source.filter(getattr(pc, function)(source["channel"], 1))
    assert len(got) == want.num_rows > 0


def test_rest_filter_on_timestamp_string(server, expected):
    got = rows(server.get("/api/tables/samples?filter[timestamp]gte='2026-01-01T00:01:02Z'"
                          "&columns=timestamp"))
    assert len(got) == DEVICES * CHANNELS * RATE * 1
    stamps = {r["timestamp"] for r in got}
    assert "2026-01-01T00:01:02Z" in stamps and "2026-01-01T00:01:02.900Z" in stamps
    assert all(s.startswith("2026-01-01T00:01:02") for s in stamps)


def test_rest_page_and_offset(server):
    everything = rows(server.get("/api/tables/samples?sort=timestamp,device_id,channel"
                                 "&columns=sequence,device_id,channel"))
    page3 = rows(server.get("/api/tables/samples?sort=timestamp,device_id,channel"
                            "&columns=sequence,device_id,channel&limit=7&page=3"))
    assert page3 == everything[14:21]
    offset = rows(server.get("/api/tables/samples?sort=timestamp,device_id,channel"
                             "&columns=sequence,device_id,channel&limit=7&offset=5"))
    assert offset == everything[5:12]
    unsorted = rows(server.get("/api/tables/samples?limit=3&offset=2&columns=sequence"))
    assert len(unsorted) == 3


@pytest.mark.parametrize("query,status,code", [
    ("filter[nope]=1", 400, "invalid_filter"),
    ("columns=nope", 400, "invalid_projection"),
    ("sort=nope", 400, "invalid_sort"),
    ("filter[channel]foo=1", 400, "rest_query"),
    ("filter[device_id]=device-002", 400, "rest_query_value"),
    ("filter[channel]='abc'", 400, "invalid_filter"),
    ("limit=abc", 400, "invalid_numeric_param"),
    ("limit=-1", 400, "invalid_numeric_param"),
    ("page=2", 400, "rest_query"),
    ("version=99", 400, None),
    ("timestamp=yesterday", 400, "invalid_timestamp"),
    ("filter[channel]=%zz", 400, "rest_query"),
])
def test_rest_errors(server, query, status, code):
    response = server.get(f"/api/tables/samples?{query}")
    assert response.status == status, response.body
    body = response.json()
    assert body["code"] == status and body["message"]
    if code:
        assert body["error"] == code


def test_unknown_table_is_404(server):
    response = server.get("/api/tables/nope")
    assert response.status == 404
    assert response.json() == {"code": 404, "error": "invalid_table",
                               "message": response.json()["message"]}
    assert "samples" in response.json()["message"]


def test_unknown_endpoint_and_method(server):
    assert server.get("/api/nope").status == 404
    assert server.request("DELETE", "/api/tables/samples").status == 405
    assert server.get("/api/sql").status == 405


# --- formats ----------------------------------------------------------------------------------

@pytest.mark.parametrize("accept,content_type,reader", [
    ("text/csv", "text/csv", lambda b: pacsv.read_csv(io.BytesIO(b))),
    ("application/vnd.apache.arrow.stream", "application/vnd.apache.arrow.stream",
     lambda b: ipc.open_stream(b).read_all()),
    ("application/vnd.apache.arrow.file", "application/vnd.apache.arrow.file",
     lambda b: ipc.open_file(pa.BufferReader(b)).read_all()),
    ("application/parquet", "application/parquet", lambda b: pq.read_table(pa.BufferReader(b))),
    ("application/vnd.apache.parquet", "application/parquet",
     lambda b: pq.read_table(pa.BufferReader(b))),
])
def test_formats_by_accept(server, accept, content_type, reader):
    path = "/api/tables/samples?columns=sequence,channel&sort=sequence,channel&limit=50"
    as_json = rows(server.get(path))
    response = server.get(path, accept=accept)
    assert response.status == 200
    assert response.content_type == content_type
    table = reader(response.body)
    assert table.num_rows == 50
    assert table["sequence"].to_pylist() == [r["sequence"] for r in as_json]
    assert table["channel"].to_pylist() == [r["channel"] for r in as_json]


def test_default_and_unknown_accept_give_json(server):
    for accept in (None, "*/*", "text/html", "application/json;q=0.9"):
        response = server.get("/api/tables/samples?limit=1", accept=accept)
        assert response.status == 200 and response.content_type == "application/json"
        assert len(response.json()) == 1


def test_large_result_streams_in_chunks(server, expected):
    response = server.get("/api/tables/samples")  # JSON for every row: well under 1 MiB
    assert len(response.json()) == expected.num_rows
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    # Arrow stream of all rows, repeated via the memory table: the server decides to stream
    # once a response exceeds its buffer; either way the body must be complete and parseable.
    connection.sendall(b"GET /api/tables/mem HTTP/1.1\r\nHost: x\r\n"
                       b"Accept: application/vnd.apache.arrow.stream\r\nConnection: close\r\n\r\n")
    raw = b""
    while chunk := connection.recv(65536):
        raw += chunk
    connection.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"200 OK" in head.split(b"\r\n")[0]
    if b"chunked" in head.lower():
        decoded = b""
        while body:
            size_text, _, rest = body.partition(b"\r\n")
            size = int(size_text, 16)
            if size == 0:
                break
            decoded += rest[:size]
            body = rest[size + 2:]
        body = decoded
    assert ipc.open_stream(body).read_all().num_rows == expected.num_rows


# --- time travel, metrics ---------------------------------------------------------------------

@pytest.mark.parametrize("table", ["samples", "mem"])
def test_time_travel_by_version_and_timestamp(server, data, table):
    assert len(rows(server.get(f"/api/tables/{table}?columns=sequence"))) == 2 * ROWS_PER_WRITE
    assert len(rows(server.get(f"/api/tables/{table}?version=0&columns=sequence"))) == \
        ROWS_PER_WRITE
    # Without in-commit timestamps a version's time is its commit file's modification time.
    commit = data["samples"] / "_delta_log" / ("0" * 20 + ".json")
    v0_time = commit.stat().st_mtime_ns // 1_000_000
    at = rows(server.get(f"/api/tables/{table}?timestamp={v0_time}&columns=sequence"))
    assert len(at) == ROWS_PER_WRITE
    iso = (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(v0_time // 1000)) +
           f".{v0_time % 1000:03d}Z")
    assert len(rows(server.get(f"/api/tables/{table}?timestamp={iso}&columns=sequence"))) == \
        ROWS_PER_WRITE
    before = server.get(f"/api/tables/{table}?timestamp=2000-01-01T00:00:00Z")
    assert before.status == 400


def test_metrics_are_prometheus_text(server):
    server.get("/api/tables/samples?filter[channel]=1")
    text = server.get("/metrics").body.decode()
    assert 'nlk_http_requests_total{endpoint="tables",status="200"}' in text
    assert "nlk_http_request_duration_seconds_bucket{endpoint=\"tables\",le=\"+Inf\"}" in text
    assert 'nlk_table_snapshot_version{table="samples"} 1' in text
    assert 'nlk_table_snapshot_age_seconds{table="samples"}' in text
    for name in ("nlk_scan_rows_total", "nlk_scan_bytes_total", "nlk_scan_files_pruned_total",
                 "nlk_http_connections_open", "nlk_worker_queue_depth"):
        assert f"\n{name} " in text, name
    for line in text.splitlines():
        if line and not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])


# --- SQL --------------------------------------------------------------------------------------

def test_sql_endpoint(server, expected):
    skip_without_sql(server)
    got = rows(server.sql("SELECT channel, count(*) AS n FROM samples GROUP BY channel "
                          "ORDER BY channel"))
    assert [r["n"] for r in got] == [expected.num_rows // CHANNELS] * CHANNELS
    bad = server.sql("SELEC nonsense")
    assert bad.status == 400 and bad.json()["error"] == "plan_sql"
    missing = server.sql("SELECT * FROM nope")
    assert missing.status in (400, 404)
    ddl = server.sql("DROP TABLE samples")
    assert ddl.status == 400
    # The server stays read-only: write statements are refused, whatever nlk sql --write runs.
    for statement in ["DELETE FROM samples WHERE channel = 1", "UPDATE samples SET channel = 0",
                      "INSERT INTO samples SELECT * FROM samples"]:
        refused = server.sql(statement)
        assert refused.status == 400, statement
        assert "read-only" in refused.body.decode(), (statement, refused.body)
    assert rows(server.sql("SELECT count(*) AS n FROM samples"))[0]["n"] == expected.num_rows


# --- freshness --------------------------------------------------------------------------------

def test_appended_rows_are_visible_within_two_seconds(tmp_path, run_nlk):
    table = tmp_path / "fresh"
    datagen(run_nlk, table, "2026-01-01T00:00:00Z")
    batch = tmp_path / "batch.parquet"
    run_nlk("datagen", "--out", batch, "--devices", DEVICES, "--channels", CHANNELS, "--rate",
            RATE, "--duration", SECONDS, "--start", "2026-01-02T00:00:00Z")
    server = start_nlk_serve(["-t", f"fresh={table}", "-t", f"freshmem={table},use_memory_table=true"],
                             tmp_path)
    try:
        delays = []
        for round_number in range(1, 4):
            run_nlk("table", "append", table, "--input", batch)
            committed = time.monotonic()
            want = ROWS_PER_WRITE * (round_number + 1)
            for name in ("fresh", "freshmem"):
                while True:
                    got = rows(server.get(f"/api/tables/{name}?columns=sequence"))
                    if len(got) == want:
                        break
                    assert time.monotonic() - committed < 2.0, \
                        f"{name}: {len(got)} rows, {want} expected after 2 s"
                    time.sleep(0.02)
            delays.append(time.monotonic() - committed)
        assert max(delays) <= 2.0
    finally:
        server.stop()


# --- limits and abuse -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def limited(data):
    srv = start_nlk_serve(["-t", f"samples={data['samples']}",
                           "-t", f"mem={data['samples']},use_memory_table=true",
                           "--max-result-rows", "100", "--max-body-bytes", "4096",
                           "--header-timeout-ms", "1000", "--workers", "2", "--max-queued", "4",
                           "--query-timeout-ms", "3000",
                           # Every client here is 127.0.0.1, and one test opens 1000 sockets.
                           "--max-connections-per-address", "0"],
                          data["base"])
    yield srv
    srv.stop()


def test_result_row_limit_is_413(limited):
    for table in ("samples", "mem"):
        response = limited.get(f"/api/tables/{table}")
        assert response.status == 413
        assert response.json()["error"] == "result_too_large"
    assert len(rows(limited.get("/api/tables/samples?limit=100"))) == 100


def test_request_body_limit_is_413(limited):
    response = limited.request("POST", "/api/sql", body=b"x" * 100_000)
    assert response.status == 413
    assert response.json()["error"] == "payload_too_large"


def test_malformed_http_is_400_and_server_survives(limited):
    for garbage in (b"\x00\x01\x02garbage\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                    b"GET /health HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                    b"POST /api/sql HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
        answer = raw_exchange(limited.port, garbage)
        assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert limited.get("/health").status == 200


def test_oversized_headers_are_refused(limited):
    answer = raw_exchange(limited.port, b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 100_000 +
                          b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431")
    assert limited.alive()


def test_slow_request_times_out_with_408(limited):
    connection = socket.create_connection(("127.0.0.1", limited.port), timeout=10)
    try:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # never finished
        started = time.monotonic()
        answer = connection.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert time.monotonic() - started < 5
    finally:
        connection.close()


@pytest.mark.slow
def test_many_idle_connections_do_not_block_others(limited):
    sockets = []
    try:
        for _ in range(1000):
            sockets.append(socket.create_connection(("127.0.0.1", limited.port), timeout=5))
        started = time.monotonic()
        response = limited.get("/api/tables/samples?limit=1")
        assert response.status == 200
        assert time.monotonic() - started < 2
    finally:
        for s in sockets:
            s.close()
    assert limited.get("/health").status == 200


def test_overload_sheds_with_503_and_recovers(limited):
    # 2 workers + 4 queued: 40 concurrent slow-ish requests must see some 503s (never hang),
    # and the server answers normally afterwards.
    statuses = []
    lock = threading.Lock()

    def one():
        try:
            status = limited.get("/api/tables/mem?sort=-voltage_uv&limit=100", timeout=30).status
        except OSError:
            status = -1
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=one) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert set(statuses) <= {200, 503}, statuses
    assert 200 in statuses
    assert limited.get("/health").status == 200


def test_huge_result_query_is_cut_by_limits(limited):
    skip_without_sql(limited)
    # 480^3 = 110 M rows: the row limit (100) or the query timeout (3 s) must stop it.
    started = time.monotonic()
    response = limited.sql("SELECT * FROM samples a CROSS JOIN samples b CROSS JOIN samples c")
    assert response.status in (408, 413), response.body[:300]
    assert response.json()["error"] in ("query_timeout", "result_too_large")
    assert time.monotonic() - started < 60  # a hang guard
    assert limited.get("/health").status == 200


# --- cancellation -----------------------------------------------------------------------------

# 100,000 rows: a cross join of it is 10 G row pairs, minutes of work on two cores.
BIG_DEVICES, BIG_CHANNELS, BIG_RATE, BIG_SECONDS = 2, 4, 2500, 5
CROSS_JOIN_COUNT = "SELECT count(*) FROM big a CROSS JOIN big b"


@pytest.fixture(scope="module")
def big_table(tmp_path_factory, run_nlk) -> Path:
    table = tmp_path_factory.mktemp("big") / "big"
    run_nlk("datagen", "--table", table, "--devices", BIG_DEVICES, "--channels", BIG_CHANNELS,
            "--rate", BIG_RATE, "--duration", BIG_SECONDS)
    return table


def timed(call, *args, **kwargs):
    started = time.monotonic()
    response = call(*args, **kwargs)
    return response, time.monotonic() - started


def test_timed_out_join_stops_and_frees_its_worker(big_table, tmp_path):
    # Both workers run a cross join far longer than the 1 s query_timeout. The join must stop
    # at the timeout (its probe tasks used to run to their end: minutes) and free its worker.
    srv = start_nlk_serve(["-t", f"big={big_table}", "--workers", "2", "--query-timeout-ms",
                           "1000"], tmp_path)
    try:
        skip_without_sql(srv)
        answers = []

        def query():
            try:
                answers.append(timed(srv.sql, CROSS_JOIN_COUNT, timeout=60))
            except OSError as error:
                answers.append((error, None))

        threads = [threading.Thread(target=query) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
        assert len(answers) == 2
        for response, seconds in answers:
            assert not isinstance(response, Exception), response
            assert response.status == 408, response.body[:300]
            assert response.json()["error"] == "query_timeout"
            # A hang guard: the query stops at its timeout, not when the join is done.
            assert seconds < 15, f"408 after {seconds:.1f} s with a 1 s query_timeout"
        # The workers are free again.
        assert rows(srv.sql("SELECT count(*) AS n FROM big")) == [
            {"n": BIG_DEVICES * BIG_CHANNELS * BIG_RATE * BIG_SECONDS}]
    finally:
        srv.stop()


def test_limit_over_a_huge_join_stops_the_join(big_table, tmp_path):
    # LIMIT closes the join's plan after 3 rows; its running probe task must end with it.
    srv = start_nlk_serve(["-t", f"big={big_table}", "--query-timeout-ms", "120000"], tmp_path)
    try:
        skip_without_sql(srv)
        response, seconds = timed(srv.sql, "SELECT a.sequence AS x, b.channel AS y "
                                           "FROM big a CROSS JOIN big b LIMIT 3", timeout=60)
        assert response.status == 200, response.body[:300]
        assert len(response.json()) == 3
        assert seconds < 15, f"LIMIT 3 over a cross join took {seconds:.1f} s"
    finally:
        srv.stop()


def metric_value(server, line_prefix: str) -> float | None:
    for line in server.get("/metrics", timeout=10).body.decode().splitlines():
        if line.startswith(line_prefix + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def wait_for_metric(server, line_prefix: str, at_least: float, seconds: float = 20,
                    at_most: float | None = None) -> None:
    deadline = time.monotonic() + seconds
    while True:
        value = metric_value(server, line_prefix)
        if value is not None and value >= at_least and (at_most is None or value <= at_most):
            return
        assert time.monotonic() < deadline, f"{line_prefix} is {value}, expected {at_least}"
        time.sleep(0.05)


def test_health_and_metrics_answer_while_every_worker_is_busy(big_table, tmp_path):
    # One worker and no queue: a long query takes the worker, and another query is refused.
    # /health and /metrics must still answer at once (they never queue behind queries).
    srv = start_nlk_serve(["-t", f"big={big_table}", "--workers", "1", "--max-queued", "0",
                           "--query-timeout-ms", "5000"], tmp_path)
    try:
        skip_without_sql(srv)
        def long_query():
            while srv.sql(CROSS_JOIN_COUNT, timeout=60).status == 503:  # lost the race
                pass

        thread = threading.Thread(target=long_query)
        thread.start()
        deadline = time.monotonic() + 20
        while srv.sql("SELECT 1").status != 503:  # the worker is taken
            assert time.monotonic() < deadline, "the long query never took the worker"
            time.sleep(0.05)
        health, seconds = timed(srv.get, "/health", timeout=30)
        assert health.status == 200 and health.body == b"OK", health.body[:300]
        assert seconds < 5, f"/health took {seconds:.1f} s"
        metrics = srv.get("/metrics", timeout=30)
        assert metrics.status == 200
        assert "\nnlk_workers_busy 1\n" in metrics.body.decode()
        assert srv.request("POST", "/health").status == 405
        thread.join(timeout=60)
    finally:
        srv.stop()


def send_and_never_read(port: int, request: bytes) -> socket.socket:
    # The kernel holds a few MB for a client that does not read (its initial receive window
    # and the server's send buffer); the responses asked for here are several times that.
    connection = socket.create_connection(("127.0.0.1", port), timeout=30)
    connection.sendall(request)
    return connection


def read_http_body(connection: socket.socket) -> tuple[bytes, bytes]:
    """Reads a Connection: close response to its end; returns the head and the decoded body."""
    raw = b""
    while chunk := connection.recv(1 << 20):
        raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        decoded = b""
        while True:
            size_text, _, rest = body.partition(b"\r\n")
            size = int(size_text, 16)
            if size == 0:
                break
            decoded += rest[:size]
            body = rest[size + 2:]
        body = decoded
    return head, body


def test_clients_that_never_read_do_not_hold_workers(big_table, tmp_path):
    # Two workers and no queue. Four clients ask for every row (about 15 MB of JSON each) and
    # do not read. Their responses wait for them without a worker, so other queries and
    # /health are still answered; a slow client that reads at last gets its whole response.
    srv = start_nlk_serve(["-t", f"big={big_table}", "--workers", "2", "--max-queued", "0"],
                          tmp_path)
    slow = []
    try:
        request = b"GET /api/tables/big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        for _ in range(4):
            slow.append(send_and_never_read(srv.port, request))
            # The response has begun; then its worker must be free again, the rest of the
            # response waiting for the client.
            assert slow[-1].recv(12, socket.MSG_PEEK).startswith(b"HTTP/1.1 200")
            wait_for_metric(srv, "nlk_workers_busy", 0, at_most=0)
        health, seconds = timed(srv.get, "/health", timeout=30)
        assert health.status == 200 and seconds < 5
        for _ in range(3):
            answer, seconds = timed(srv.get, "/api/tables/big?columns=sequence&limit=2", timeout=30)
            assert answer.status == 200, answer.body[:300]
            assert len(answer.json()) == 2 and seconds < 5, f"{seconds:.1f} s"
        assert metric_value(srv, "nlk_responses_waiting_for_clients") == 4
        head, body = read_http_body(slow[0])
        assert head.startswith(b"HTTP/1.1 200")
        assert len(json.loads(body)) == BIG_DEVICES * BIG_CHANNELS * BIG_RATE * BIG_SECONDS
    finally:
        for connection in slow:
            connection.close()
        srv.stop()


def test_connections_per_address_are_limited(data, tmp_path):
    srv = start_nlk_serve(["-t", f"samples={data['samples']}", "--max-connections-per-address",
                           "4"], tmp_path)
    idle = []
    try:
        for _ in range(4):
            idle.append(socket.create_connection(("127.0.0.1", srv.port), timeout=10))
        refused = srv.get("/health")
        assert refused.status == 429, refused.body[:300]
        assert refused.json()["error"] == "too_many_connections"
        assert refused.headers.get("retry-after") == "1"
        idle.pop().close()
        deadline = time.monotonic() + 10
        while (status := srv.get("/health").status) != 200:  # once the server saw the close
            assert status == 429 and time.monotonic() < deadline
            time.sleep(0.05)
        # Free the remaining slots so that the health checks' own closes, which the server may
        # not have seen yet, cannot make the metrics request the fifth connection.
        while idle:
            idle.pop().close()
        deadline = time.monotonic() + 10
        while (metrics := srv.get("/metrics")).status != 200:
            assert metrics.status == 429 and time.monotonic() < deadline
            time.sleep(0.05)
        text = metrics.body.decode()
        assert 'nlk_requests_rejected_total{reason="too_many_connections_per_address"}' in text
    finally:
        for connection in idle:
            connection.close()
        srv.stop()


def test_client_gone_mid_stream_is_counted_apart_from_errors(big_table, tmp_path):
    srv = start_nlk_serve(["-t", f"big={big_table}"], tmp_path)
    try:
        connection = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        connection.sendall(b"GET /api/tables/big HTTP/1.1\r\nHost: x\r\n\r\n")
        assert connection.recv(4096).startswith(b"HTTP/1.1 200")  # streaming has begun
        # Leave with a reset, mid-stream.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
        wait_for_metric(srv, 'nlk_http_requests_total{endpoint="tables",status="499"}', 1)
        text = srv.get("/metrics").body.decode()
        assert 'nlk_http_requests_total{endpoint="tables",status="500"}' not in text
    finally:
        srv.stop()


def test_query_memory_limit_is_413_and_top_k_fits(data):
    srv = start_nlk_serve(["-t", f"samples={data['samples']}", "--max-query-memory-bytes",
                           "200000"], data["base"])
    try:
        skip_without_sql(srv)
        # 480 x 480 = 230,400 joined rows to sort: several MB, far over the 200 kB budget.
        query = ("SELECT a.sequence AS s, b.voltage_uv AS v FROM samples a CROSS JOIN samples b "
                 "ORDER BY v, s")
        response = srv.sql(query)
        assert response.status == 413, response.body[:300]
        body = response.json()
        assert body["error"] == "result_too_large" and "memory" in body["message"]
        # The same ordering with a LIMIT keeps only the top rows, within the budget.
        top = srv.sql(query + " LIMIT 3")
        assert top.status == 200, top.body[:300]
        assert len(top.json()) == 3
        assert srv.get("/health").status == 200
    finally:
        srv.stop()


# --- tables that cannot be served, memory tables, error messages -----------------------------

def wait_until(predicate, what: str, seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)


def small_table(run_nlk, path: Path, start: str = "2026-01-01T00:00:00Z") -> None:
    run_nlk("datagen", "--table", path, "--devices", 1, "--channels", 2, "--rate", 10,
            "--duration", 2, "--start", start)


def test_a_table_with_a_corrupt_log_does_not_stop_the_others(tmp_path, run_nlk):
    good, bad = tmp_path / "good", tmp_path / "bad"
    small_table(run_nlk, good)
    small_table(run_nlk, bad)
    small_table(run_nlk, bad, "2026-01-02T00:00:00Z")
    commit = bad / "_delta_log" / f"{1:020d}.json"
    intact = commit.read_bytes()
    commit.write_bytes(b'{"add": {"path": truncated')
    srv = start_nlk_serve(["-t", f"good={good}", "-t", f"bad={bad}"], tmp_path)
    try:
        assert len(rows(srv.get("/api/tables/good?columns=sequence"))) == 40
        for response in (srv.get("/api/tables/bad"), srv.sql("SELECT count(*) FROM bad"),
                         srv.get("/api/schema/bad")):
            assert response.status == 503, response.body[:300]
            body = response.json()
            assert body["error"] == "table_unavailable"
            assert "bad" in body["message"] and str(tmp_path) not in body["message"]
            assert response.headers.get("retry-after") == "1"
        health = srv.get("/health")
        assert health.status == 200
        text = health.body.decode()
        assert text.startswith("DEGRADED\n") and "table 'bad': unavailable" in text, text
        assert str(tmp_path) not in text
        metrics = srv.get("/metrics").body.decode()
        assert 'nlk_table_state{table="bad",state="unavailable"} 1' in metrics
        assert 'nlk_table_state{table="good",state="serving"} 1' in metrics
        assert set(srv.get("/api/schema").json()) == {"good"}
        assert srv.log_text().count("table 'bad'") == 1, srv.log_text()
        # Repaired, the table is picked up without a restart.
        commit.write_bytes(intact)
        wait_until(lambda: srv.get("/api/tables/bad?columns=sequence").status == 200,
                   "the repaired table is served")
        assert len(rows(srv.get("/api/tables/bad?columns=sequence"))) == 80
        assert srv.get("/health").body == b"OK"
    finally:
        srv.stop()


def test_a_table_not_created_yet_is_served_once_it_exists(tmp_path, run_nlk):
    present, later = tmp_path / "present", tmp_path / "later"
    small_table(run_nlk, present)
    srv = start_nlk_serve(["-t", f"present={present}", "-t", f"later={later}"], tmp_path)
    try:
        for response in (srv.get("/api/tables/later"), srv.sql("SELECT count(*) FROM later")):
            assert response.status == 404, response.body[:300]
            body = response.json()
            assert body["error"] == "table_not_created"
            assert "later" in body["message"] and "not created yet" in body["message"]
        assert srv.get("/health").body.decode().startswith("OK\ntable 'later': not created yet")
        metrics = srv.get("/metrics").body.decode()
        assert 'nlk_table_state{table="later",state="not_created"} 1' in metrics
        small_table(run_nlk, later)
        wait_until(lambda: srv.get("/api/tables/later?columns=sequence").status == 200,
                   "the new table is served")
        assert rows(srv.sql("SELECT count(*) AS n FROM later")) == [{"n": 40}]
        assert srv.get("/health").body == b"OK"
    finally:
        srv.stop()


def test_catalog_serve_before_ingest_created_the_dead_letters(tmp_path, run_nlk):
    # docs/catalog.md's first steps: the datagen tables exist, the dead-letter table does not.
    lake = tmp_path / "lake"
    run_nlk("datagen", "--kind", "samples", "--duration", "1", "--devices", "1", "--channels",
            "2", "--table", lake / "neural" / "samples", "--partition-by", "date")
    srv = start_nlk_serve(["--catalog", "--root", lake], tmp_path)
    try:
        assert rows(srv.sql("SELECT count(*) AS n FROM neural.samples"))[0]["n"] > 0
        missing = srv.get("/api/tables/neural.samples_dead_letters")
        assert missing.status == 404 and missing.json()["error"] == "table_not_created"
        assert "not created yet" in missing.json()["message"]
        # One warning per table that is not there yet (the dead letters, spikes, band power).
        log = srv.log_text()
        assert log.count("neural.samples_dead_letters") == 1, log
        assert "not created yet" in log
        run_nlk("datagen", "--kind", "samples", "--duration", "1", "--devices", "1",
                "--channels", "2", "--table", lake / "neural" / "samples_dead_letters")
        wait_until(lambda: srv.get("/api/tables/neural.samples_dead_letters?limit=1").status
                   == 200, "the dead-letter table is served once it exists")
    finally:
        srv.stop()


def test_memory_table_answers_sql_and_rest_from_memory(tmp_path, run_nlk):
    table = tmp_path / "mem"
    small_table(run_nlk, table)
    small_table(run_nlk, table, "2026-01-02T00:00:00Z")
    srv = start_nlk_serve(["-t", f"mem={table},use_memory_table=true"], tmp_path)
    try:
        # Both endpoints answer from the rows loaded at start, even once a file is gone.
        next(table.glob("*.parquet")).unlink()
        assert len(rows(srv.get("/api/tables/mem?columns=sequence"))) == 80
        assert rows(srv.sql("SELECT count(*) AS n FROM mem")) == [{"n": 80}]
        assert rows(srv.sql("SELECT count(*) AS n FROM mem WHERE channel = 1")) == [{"n": 40}]
    finally:
        srv.stop()


def test_errors_name_the_table_and_relative_file_not_server_paths(tmp_path, run_nlk):
    table = tmp_path / "files"
    small_table(run_nlk, table)
    srv = start_nlk_serve(["-t", f"files={table}"], tmp_path)
    try:
        data_file = next(table.glob("*.parquet"))
        data_file.unlink()
        for response in (srv.get("/api/tables/files"), srv.sql("SELECT * FROM files")):
            assert response.status == 500, response.body[:300]
            message = response.json()["message"]
            assert str(tmp_path) not in message, message
            assert "table 'files'" in message and data_file.name in message, message
    finally:
        srv.stop()


# --- compatibility with ROAPI -----------------------------------------------------------------

COMPAT_REQUESTS = [
    "/api/tables/samples?limit=5&sort=timestamp,device_id,channel",
    "/api/tables/samples?columns=device_id,channel,voltage_uv&filter[channel]=2"
    "&sort=timestamp,device_id",
    "/api/tables/samples?filter[channel]gte=1&filter[channel]lt=3&filter[device_id]='device-001'"
    "&sort=-timestamp,channel&limit=20",
    "/api/tables/samples?filter[timestamp]gte='2026-01-01T00:01:01Z'&columns=timestamp,sequence"
    "&sort=sequence&limit=10",
    "/api/tables/samples?sort=timestamp,device_id,channel&limit=10&page=4",
    "/api/tables/samples?filter[voltage_uv]lte=0&columns=timestamp,channel,device_id"
    "&sort=timestamp,channel,device_id&limit=15",
    "/api/tables/mem?columns=channel&filter[sequence]gteq=25&sort=channel&limit=8",
]


@pytest.fixture(scope="module")
def roapi_and_nlk(data):
    config_tables = [
        {"name": "samples", "uri": str(data["samples"]), "use_memory_table": False},
        {"name": "mem", "uri": str(data["samples"]), "use_memory_table": True},
    ]
    roapi_port, nlk_port = serve_harness.free_port(), serve_harness.free_port()
    roapi_config = write_roapi_config(data["base"] / "roapi.yml", config_tables, roapi_port)
    nlk_config = write_roapi_config(data["base"] / "nlk.yml", config_tables, nlk_port)
    roapi = start_roapi(roapi_config, roapi_port, data["base"])
    try:
        nlk = start_nlk_serve(["-c", nlk_config], data["base"], port=nlk_port)
    except BaseException:
        roapi.stop()
        raise
    yield roapi, nlk
    nlk.stop()
    roapi.stop()


@pytest.mark.parametrize("path", COMPAT_REQUESTS)
def test_same_rows_as_roapi(roapi_and_nlk, path):
    roapi, nlk = roapi_and_nlk
    theirs, ours = roapi.get(path), nlk.get(path)
    assert theirs.status == ours.status == 200, (theirs.body[:300], ours.body[:300])
    assert ours.json() == theirs.json()


def test_same_schema_as_roapi(roapi_and_nlk):
    roapi, nlk = roapi_and_nlk
    assert nlk.get("/api/schema").json() == roapi.get("/api/schema").json()
    assert nlk.get("/api/schema/samples").json() == roapi.get("/api/schema/samples").json()


@pytest.mark.parametrize("query", [
    "filter[nope]=1", "columns=nope", "sort=nope", "filter[channel]foo=1", "limit=abc",
])
def test_same_error_codes_as_roapi(roapi_and_nlk, query):
    roapi, nlk = roapi_and_nlk
    theirs, ours = roapi.get(f"/api/tables/samples?{query}"), nlk.get(f"/api/tables/samples?{query}")
    assert theirs.status == ours.status == 400
    assert ours.json()["error"] == theirs.json()["error"]


def test_same_sql_results_as_roapi(roapi_and_nlk):
    roapi, nlk = roapi_and_nlk
    skip_without_sql(nlk)
    for query in ("SELECT device_id, channel, count(*) AS n, min(sequence) AS first "
                  "FROM samples GROUP BY device_id, channel ORDER BY device_id, channel",
                  "SELECT sequence, voltage_uv FROM samples WHERE channel = 1 AND "
                  "device_id = 'device-002' ORDER BY sequence LIMIT 5"):
        theirs, ours = roapi.sql(query), nlk.sql(query)
        assert theirs.status == ours.status == 200, ours.body[:300]
        assert ours.json() == theirs.json()
