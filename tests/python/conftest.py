"""Fixtures for the Python package's tests: tables made with the nlk CLI, and the CLI's own
answers to compare the package with.

Run:  .venv/bin/python -m pytest tests/python   (with the package installed: docs/python.md)
Environment:
  NLK_BIN      the nlk CLI (default build/tools/nlk under the repo root)
  NLK_TIMEOUT  seconds one nlk call may take before it counts as hung (default 120)
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
NLK_BIN = os.environ.get("NLK_BIN", str(ROOT / "build" / "tools" / "nlk"))
TIMEOUT = float(os.environ.get("NLK_TIMEOUT", "120"))


def run_nlk(*arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [NLK_BIN, *arguments], capture_output=True, timeout=TIMEOUT
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"nlk {' '.join(arguments)} failed: {result.stderr.decode(errors='replace')}"
        )
    return result


def nlk_error(*arguments: str) -> str:
    """The message nlk prints for a failing command (without the "nlk: " prefix)."""
    result = run_nlk(*arguments, check=False)
    assert result.returncode != 0, f"nlk {' '.join(arguments)} unexpectedly succeeded"
    line = result.stderr.decode().strip().splitlines()[-1]
    assert line.startswith("nlk: "), line
    return line[len("nlk: "):]


def read_arrow_stream(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()


def parse_metrics(stderr: bytes) -> dict[str, int]:
    """The figures of nlk's --metrics line."""
    text = stderr.decode()
    figures = {}
    for key, pattern in {
        "files_total": r"files: (\d+) total",
        "files_pruned_by_partition": r"(\d+) pruned by partition",
        "files_skipped_by_stats": r"(\d+) skipped by stats",
        "files_read": r"(\d+) read;",
        "row_groups_total": r"row groups: (\d+) total",
        "row_groups_pruned": r"(\d+) pruned; rows",
        "rows_scanned": r"rows scanned: (\d+)",
        "bytes_scanned": r"bytes scanned: (\d+)",
    }.items():
        match = re.search(pattern, text)
        assert match, f"no {key} in {text!r}"
        figures[key] = int(match.group(1))
    return figures


def recordings(session: int, channels: range, rows_per_channel: int = 50) -> pa.Table:
    """Synthetic samples: one session's channels, each with a voltage ramp."""
    channel, sequence, voltage = [], [], []
    for c in channels:
        for s in range(rows_per_channel):
            channel.append(c)
            sequence.append(s)
            voltage.append(float(c * 1000 + s))
    n = len(channel)
    return pa.table(
        {
            "date": pa.array([f"2026-01-0{session}"] * n),
            "session": pa.array([session] * n, pa.int32()),
            "channel": pa.array(channel, pa.int32()),
            "sequence": pa.array(sequence, pa.int64()),
            "voltage_uv": pa.array(voltage, pa.float64()),
        }
    )


@pytest.fixture(scope="session")
def cli_table(tmp_path_factory) -> Path:
    """A Delta table written by the CLI: partitioned by date, four files of separate channel
    ranges, so a channel filter skips files by their statistics."""
    work = tmp_path_factory.mktemp("cli-table")
    uri = work / "samples"
    parts = [(1, range(0, 4)), (1, range(4, 8)), (2, range(0, 4)), (2, range(4, 8))]
    for index, (session, channels) in enumerate(parts):
        path = work / f"part{index}.parquet"
        pq.write_table(recordings(session, channels), path)
        if index == 0:
            run_nlk("table", "create", str(uri), "--input", str(path), "--partition-by", "date")
        else:
            run_nlk("table", "append", str(uri), "--input", str(path))
    return uri
