"""`nlk table read --metrics`: the files and row groups a read pruned, skipped and read, as one
line on stderr in the words of `nlk sql --metrics`."""

from __future__ import annotations

import re

METRICS = re.compile(r"files: (\d+) total, (\d+) pruned by partition, (\d+) skipped by stats, "
                     r"(\d+) skipped by limit, (\d+) read; row groups: (\d+) total, (\d+) pruned; "
                     r"rows scanned: (\d+); bytes scanned: (\d+)")


def test_table_read_metrics(run_nlk, tmp_path):
    """Three files, one per commit: two on 2026-01-01, one on 2026-01-02. A partition filter
    prunes, a filter on the timestamp skips by statistics, and the figures say so."""
    table = tmp_path / "samples"
    for start, seed in (("2026-01-01T00:00:00Z", 1), ("2026-01-01T00:00:10Z", 2),
                        ("2026-01-02T00:00:00Z", 3)):
        run_nlk("datagen", "--kind", "samples", "--devices", 1, "--channels", 2, "--rate", 10,
                "--duration", 5, "--start", start, "--seed", seed, "--table", table,
                *(["--partition-by", "date"] if seed == 1 else []))

    def metrics(*options):
        proc = run_nlk("table", "read", table, "--format", "count", "--metrics", *options)
        match = METRICS.search(proc.stderr)
        assert match, f"no metrics line on stderr: {proc.stderr!r}"
        return int(proc.stdout), [int(g) for g in match.groups()]

    rows, figures = metrics("--filter", "date = '2026-01-02'")
    assert rows == 100
    assert figures[:5] == [3, 2, 0, 0, 1], figures
    assert figures[7] == 100, "rows scanned"

    rows, figures = metrics("--filter", "timestamp >= '2026-01-01 00:00:11' AND "
                                        "timestamp < '2026-01-01 00:00:12'")
    assert rows == 20
    assert figures[:5] == [3, 0, 2, 0, 1], figures
    assert figures[5] >= 1 and figures[8] > 0, "one file opened, its bytes counted"
