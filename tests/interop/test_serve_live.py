"""`nlk serve` while a table grows: the freshness histogram on /metrics.

Run:  .venv/bin/python -m pytest tests/interop/test_serve_live.py   (NLK_BIN=build/tools/nlk)
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from serve_harness import start_nlk_serve

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

