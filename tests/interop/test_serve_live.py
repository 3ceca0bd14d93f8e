"""`nlk serve` while a table grows: the freshness histogram on /metrics, the live status page at
/ui in headless Chromium (numbers move, the signal is charted, phone width fits), and another
process's /metrics fetched for the page (`--status-metrics`, /ui/metrics/{name}): here a stand-in
for nlk ingest's endpoint whose counters grow with each scrape, and ones that refuse or hang.

Run:  .venv/bin/python -m pytest tests/interop/test_serve_live.py   (NLK_BIN=build/tools/nlk)
"""

from __future__ import annotations

import datetime
import http.server
import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from browser import Browser, chromium_path
import nlkcli
from serve_harness import free_port, start_nlk_serve
from test_catalog_site import make_dead_letters

DEVICES, CHANNELS, RATE, SECONDS = 2, 2, 10, 1


def datagen(run_nlk, table: Path, start: str) -> None:
    run_nlk("datagen", "--table", table, "--devices", DEVICES, "--channels", CHANNELS, "--rate",
            RATE, "--duration", SECONDS, "--start", start)


def freshness(server, table: str) -> dict[str, float]:
    """The samples of nlk_serve_freshness_seconds for `table`, keyed by suffix and bucket."""
    text = server.get("/metrics").body.decode()
    assert "# TYPE nlk_serve_freshness_seconds histogram" in text
    found = {}
    pattern = re.compile(r'^nlk_serve_freshness_seconds_(bucket|sum|count)\{table="'
                         + re.escape(table) + r'"(?:,le="([^"]+)")?\} (\S+)$')
    for line in text.splitlines():
        match = pattern.match(line)
        if match:
            key = match.group(1) if match.group(2) is None else f"le={match.group(2)}"
            found[key] = float(match.group(3))
    return found


def test_freshness_histogram_counts_each_refreshed_version(tmp_path, run_nlk):
    table = tmp_path / "growing"
    datagen(run_nlk, table, "2026-01-01T00:00:00Z")
    server = start_nlk_serve(["-t", f"growing={table}"], tmp_path)
    try:
        # The version loaded at start is not a refresh: nothing observed yet.
        assert freshness(server, "growing")["count"] == 0
        for appended in range(1, 4):
            datagen(run_nlk, table, f"2026-01-0{appended + 1}T00:00:00Z")
            deadline = time.monotonic() + 30  # hang guard
            while freshness(server, "growing")["count"] < appended:
                assert time.monotonic() < deadline, "the appended version was never refreshed"
                time.sleep(0.05)
        figures = freshness(server, "growing")
        assert figures["count"] == 3
        assert figures["le=+Inf"] == 3
        assert figures["sum"] >= 0
        buckets = [value for key, value in figures.items() if key.startswith("le=")]
        assert buckets == sorted(buckets), "buckets are cumulative"
    finally:
        server.stop()


# --- the status page --------------------------------------------------------------------------

@pytest.fixture
def browser():
    if chromium_path() is None:
        message = "chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("NLK_REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail(message + " and NLK_REQUIRE_BROWSER=1", pytrace=False)
        pytest.skip(message)
    with Browser() as page:
        yield page


def make_elt_runs(tmp_path: Path, run_nlk) -> Path:
    """A runs table as scripts/pipeline.sh keeps it: two runs of downsample (the newer one
    took 2.5 s) and a failed one of firing_rates."""
    def at(text):
        return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc)
    rows = pa.table({
        "job": ["downsample", "downsample", "firing_rates"],
        "started": pa.array([at("2026-01-01T00:00:00"), at("2026-01-01T00:01:00"),
                             at("2026-01-01T00:00:30")], pa.timestamp("us", tz="UTC")),
        "finished": pa.array([at("2026-01-01T00:00:04"), at("2026-01-01T00:01:02.500000"),
                              at("2026-01-01T00:00:31")], pa.timestamp("us", tz="UTC")),
        "exit_status": pa.array([0, 0, 1], pa.int32()),
    })
    pq.write_table(rows, tmp_path / "runs.parquet")
    run_nlk("table", "create", tmp_path / "elt_runs", "--input", tmp_path / "runs.parquet")
    return tmp_path / "elt_runs"


class Appender:
    """Appends a second of samples, stamped with the current time, until stopped: a table that
    grows as an ingesting one does."""

    def __init__(self, run_nlk, table: Path):
        self.run_nlk, self.table = run_nlk, table
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        try:
            while not self.stopping.is_set():
                start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
                self.run_nlk("datagen", "--table", self.table, "--devices", 1, "--channels", 2,
                             "--rate", 50, "--duration", 1,
                             "--start", start.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
                self.stopping.wait(0.3)
        except BaseException as error:  # reported by the test
            self.error = error

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(timeout=60)


def text(browser, element_id: str) -> str:
    return browser.evaluate(f"document.getElementById({element_id!r}).textContent")


def test_status_page_moves_while_the_table_grows(tmp_path, run_nlk, browser):
    samples = tmp_path / "samples"
    run_nlk("datagen", "--table", samples, "--devices", 1, "--channels", 2, "--rate", 50,
            "--duration", 1)
    dead_letters = tmp_path / "dead"
    make_dead_letters(dead_letters, run_nlk)
    dead_letters = dead_letters / "neural" / "samples_dead_letters"
    runs = make_elt_runs(tmp_path, run_nlk)
    server = start_nlk_serve(["-t", f"samples={samples}", "-t", f"samples_dead_letters={dead_letters}",
                              "-t", f"elt_runs={runs}"], tmp_path)
    try:
        page = server.get("/ui")
        assert page.status == 200 and page.content_type.startswith("text/html")
        assert b"http://" not in page.body and b"https://" not in page.body, "nothing from elsewhere"
        assert server.request("POST", "/ui", b"").status == 405
        with Appender(run_nlk, samples) as appender:
            browser.set_width(1280, 900)
            browser.open(f"http://127.0.0.1:{server.port}/ui")
            browser.wait_for("Number((/\\((\\d+) polls\\)/.exec("
                             "document.getElementById('state').textContent) || [])[1]) >= 2",
                             "two polls")
            first_rows = text(browser, "rows")
            first_version = browser.evaluate(
                "document.querySelector('#tables tr td:nth-child(2)').textContent")
            browser.wait_for(f"document.getElementById('rows').textContent !== {first_rows!r} && "
                             "document.getElementById('samples-rate').textContent !== '–'",
                             "the row count to move")
            browser.wait_for("document.querySelector('#tables tr td:nth-child(2)').textContent "
                             f"!== {first_version!r}", "the table version to move")
            browser.wait_for("document.getElementById('fresh-count').textContent !== '0' && "
                             "document.getElementById('fresh-p99').textContent !== '–'",
                             "freshness figures")
            browser.wait_for("/^\\d+ samples of channel 0/.test("
                             "document.getElementById('chart-summary').textContent)",
                             "the signal chart")
            assert appender.error is None, appender.error
            assert text(browser, "dead-letters") == "2"
            assert text(browser, "query-p50") != "–" and text(browser, "query-p99") != "–"
            assert "error" not in text(browser, "state")
            tables = browser.evaluate(
                "[...document.querySelectorAll('#tables tr td:first-child')].map(c => c.textContent)")
            assert tables == ["samples", "samples_dead_letters", "elt_runs"]
            # Each job's newest run, found by the name of the runs table.
            runs_rows = browser.evaluate("[...document.querySelectorAll('#runs tr')].map("
                                         "r => [...r.cells].map(c => c.textContent))")
            assert [(r[0], r[2], r[3]) for r in runs_rows] == [
                ("downsample", "2.5 s", "ok"), ("firing_rates", "1.0 s", "failed (exit 1)")]
            assert runs_rows[0][1].endswith(" ago")
            # Every control is labelled and reachable by keyboard.
            assert browser.evaluate("[...document.querySelectorAll('input, button')].every("
                                    "e => e.tabIndex >= 0 && (e.tagName === 'BUTTON' || e.labels.length))")
            browser.screenshot(tmp_path / "status-page.png")
            browser.set_width(390, 844, mobile=True)
            browser.wait_for("document.documentElement.scrollWidth <= window.innerWidth",
                             "the page to fit a phone")
            browser.screenshot(tmp_path / "status-page-phone.png")
            print(f"screenshots in {tmp_path}")
    finally:
        server.stop()


# --- other processes' /metrics, fetched for the page ------------------------------------------

class IngestMetrics:
    """An HTTP endpoint answering /metrics as nlk ingest does, its row and commit counters
    growing with each scrape (1000 rows and 2 commits a time)."""

    def __init__(self):
        self.scrapes = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/metrics":
                    self.send_error(404)
                    return
                owner.scrapes += 1
                body = ("# TYPE nlk_ingest_rows_committed_total counter\n"
                        f"nlk_ingest_rows_committed_total {owner.scrapes * 1000}\n"
                        "# TYPE nlk_ingest_commits_total counter\n"
                        f"nlk_ingest_commits_total {owner.scrapes * 2}\n").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_status_metrics_are_fetched_for_the_page(tmp_path, run_nlk):
    table = tmp_path / "samples"
    datagen(run_nlk, table, "2026-01-01T00:00:00Z")
    closed = free_port()  # nothing listens there
    with IngestMetrics() as ingest, socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections and never answers
        server = start_nlk_serve(
            ["-t", f"samples={table}", "--status-metrics", f"ingest=127.0.0.1:{ingest.port}",
             "--status-metrics", f"gone=127.0.0.1:{closed}",
             "--status-metrics", f"silent=127.0.0.1:{silent.getsockname()[1]}"], tmp_path)
        try:
            first = server.get("/ui/metrics/ingest")
            assert first.status == 200, first.body
            assert first.content_type.startswith("text/plain")
            assert b"nlk_ingest_rows_committed_total 1000\n" in first.body
            assert b"nlk_ingest_rows_committed_total 2000\n" in server.get("/ui/metrics/ingest").body

            unknown = server.get("/ui/metrics/nope")
            assert unknown.status == 404 and unknown.json()["error"] == "unknown_status_source"
            for name in ("gone", "silent"):
                failed = server.get(f"/ui/metrics/{name}", timeout=30)  # hang guard
                assert failed.status == 502, (name, failed.body)
                assert failed.json()["error"] == "status_source_unavailable"
                assert f"status source '{name}'" in failed.json()["message"]
            assert server.request("POST", "/ui/metrics/ingest", b"").status == 405
            assert server.get("/health").body.startswith(b"OK")  # serving goes on
        finally:
            server.stop()


@pytest.mark.parametrize("argument", ["ingest", "ingest=127.0.0.1", "=127.0.0.1:9464",
                                      "in/gest=127.0.0.1:9464", "ingest=127.0.0.1:99999",
                                      "ingest=:9464"])
def test_a_bad_status_metrics_argument_is_refused(tmp_path, argument):
    result = subprocess.run([str(nlkcli.nlk_path()), "serve", "-t", f"t={tmp_path}",
                             "--status-metrics", argument, "-a", "127.0.0.1:0"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "--status-metrics" in result.stderr and "NAME=HOST:PORT" in result.stderr, result.stderr


def test_status_page_shows_ingest_rates_from_its_metrics(tmp_path, run_nlk, browser):
    table = tmp_path / "samples"
    datagen(run_nlk, table, "2026-01-01T00:00:00Z")
    with IngestMetrics() as ingest:
        server = start_nlk_serve(
            ["-t", f"samples={table}", "--status-metrics", f"ingest=127.0.0.1:{ingest.port}"],
            tmp_path)
        try:
            browser.set_width(1280, 900)
            browser.open(f"http://127.0.0.1:{server.port}/ui")
            browser.wait_for("document.getElementById('rate-source').textContent"
                             ".includes(\"nlk ingest's /metrics (rows and commits)\")",
                             "rates from ingest's metrics")
            # The table does not grow here: any rate shown comes from ingest's counters.
            browser.wait_for("Number(document.getElementById('samples-rate').textContent"
                             ".replace(/,/g, '')) > 0 && "
                             "Number(document.getElementById('commit-rate').textContent) > 0",
                             "ingest's rates")
            scrapes = ingest.scrapes
            deadline = time.monotonic() + 30  # hang guard
            while ingest.scrapes < scrapes + 2:
                assert time.monotonic() < deadline, "the page stopped polling ingest's metrics"
                time.sleep(0.2)
            assert "error" not in text(browser, "state")
        finally:
            server.stop()


def test_status_page_works_with_a_token_and_says_when_it_has_none(tmp_path, run_nlk, browser):
    samples = tmp_path / "samples"
    run_nlk("datagen", "--table", samples, "--devices", 1, "--channels", 2, "--rate", 50,
            "--duration", 1)
    tokens = tmp_path / "tokens.tsv"
    token = run_nlk("auth", "token", "create", "--tokens", tokens, "--principal",
                    "viewer").stdout.strip()
    server = start_nlk_serve(["-t", f"samples={samples}", "--tokens", tokens], tmp_path)
    try:
        base = f"http://127.0.0.1:{server.port}/ui"
        browser.open(base)
        browser.wait_for("/needs a token/.test(document.getElementById('state').textContent)",
                         "the page to say it needs a token")
        # Another query string, so that the browser loads the page again (not a hash change).
        # (Not browser.open: the page takes the token out of its address at once.)
        browser.call("Page.navigate", url=f"{base}?table=samples#token={token}")
        browser.wait_for_page("ui?table=samples")
        browser.wait_for("Number((/\\((\\d+) polls\\)/.exec("
                         "document.getElementById('state').textContent) || [])[1]) >= 2",
                         "two polls with the token")
        assert browser.evaluate("location.hash") == "", "the token stays in the address bar"
        assert text(browser, "rows").replace(",", "") == "100"
    finally:
        server.stop()
