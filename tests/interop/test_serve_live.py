"""`nlk serve` while a table grows: the freshness histogram on /metrics, and the live status
page at /ui in headless Chromium (numbers move, the signal is charted, phone width fits).

Run:  .venv/bin/python -m pytest tests/interop/test_serve_live.py   (NLK_BIN=build/tools/nlk)
"""

from __future__ import annotations

import datetime
import os
import re
import threading
import time
from pathlib import Path

import pytest

from browser import Browser, chromium_path
from serve_harness import start_nlk_serve
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
    server = start_nlk_serve(["-t", f"samples={samples}", "-t", f"samples_dead_letters={dead_letters}"],
                             tmp_path)
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
            assert tables == ["samples", "samples_dead_letters"]
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
