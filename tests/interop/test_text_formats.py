"""Values that text formats find awkward, from a table delta-rs wrote, in every text format of
`nlk table read` and of `nlk serve`: binary as lowercase hex, NaN and the infinities as null in
JSON and as NaN/Infinity/-Infinity elsewhere, decimals at their scale, dates and timestamps
before 1970, timestamps without a zone, and nested values as JSON (README, "Text output").
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from serve_harness import start_nlk_serve

UTC = dt.timezone.utc
NAN, INF = float("nan"), float("inf")

COLUMNS = ["id", "b", "dec", "f", "d", "ts", "ntz", "l", "s", "m"]
ROWS = [
    {"id": 0, "b": b"\x00\xff\x7f", "dec": Decimal("1.50"), "f": NAN, "d": dt.date(1969, 12, 31),
     "ts": -1, "ntz": -1, "l": [1, 2], "s": {"x": 1, "y": "a,\"b"}, "m": [("k", 1)]},
    {"id": 1, "b": b"", "dec": Decimal("-0.05"), "f": INF, "d": dt.date(1900, 1, 1),
     "ts": -1_500_000, "ntz": -1_500_000, "l": [], "s": {"x": None, "y": "c"}, "m": []},
    {"id": 2, "b": None, "dec": None, "f": -INF, "d": None, "ts": None, "ntz": None, "l": None,
     "s": None, "m": None},
    {"id": 3, "b": bytes(range(16)), "dec": Decimal("12345678.90"), "f": 0.1,
     "d": dt.date(2026, 1, 1), "ts": 1_767_225_600_000_001, "ntz": 1_767_225_600_000_001,
     "l": [None], "s": {"x": 2, "y": None}, "m": [("a", None), ("b", 2)]},
]


def arrow_table() -> pa.Table:
    def column(name):
        return [row[name] for row in ROWS]
    return pa.table({
        "id": pa.array(column("id"), pa.int64()),
        "b": pa.array(column("b"), pa.binary()),
        "dec": pa.array(column("dec"), pa.decimal128(10, 2)),
        "f": pa.array(column("f"), pa.float64()),
        "d": pa.array(column("d"), pa.date32()),
        "ts": pa.array(column("ts"), pa.timestamp("us", tz="UTC")),
        "ntz": pa.array(column("ntz"), pa.timestamp("us")),
        "l": pa.array(column("l"), pa.list_(pa.int32())),
        "s": pa.array(column("s"), pa.struct([("x", pa.int32()), ("y", pa.string())])),
        "m": pa.array(column("m"), pa.map_(pa.string(), pa.int32())),
    })


def timestamp_text(micros: int, zoned: bool) -> str:
    """ISO 8601 with the fraction in whole groups of three digits, as arrow-rs (ROAPI) writes."""
    instant = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=micros)
    text = instant.strftime("%Y-%m-%dT%H:%M:%S")
    if instant.microsecond:
        fraction = f"{instant.microsecond:06d}"
        text += "." + (fraction[:3] if fraction.endswith("000") else fraction)
    return text + ("Z" if zoned else "")


def expected_text(name: str, value):
    """The documented text of one non-null value (as CSV and the text table write it)."""
    if name == "b":
        return value.hex()
    if name in ("ts", "ntz"):
        return timestamp_text(value, zoned=name == "ts")
    if name == "d":
        return value.isoformat()
    if name in ("dec", "id"):
        return str(value)
    if name == "f":
        return "NaN" if math.isnan(value) else "Infinity" if value == INF else \
            "-Infinity" if value == -INF else value
    return expected_json(name, value)


def expected_json(name: str, value):
    """The documented JSON value, as Python data."""
    if value is None:
        return None
    if name == "f":
        return value if math.isfinite(value) else None
    if name == "dec":
        return float(value)
    if name == "m":
        return dict(value)
    if name in ("l", "s", "id"):
        return value
    return expected_text(name, value)


def check_text_cell(name: str, cell: str, value, what: str) -> None:
    want = expected_text(name, value)
    if name == "f" and isinstance(want, float):
        assert float(cell) == want, f"{what}: {name} = {cell!r}, want {want!r}"
    elif name in ("l", "s", "m"):
        assert json.loads(cell) == want, f"{what}: {name} = {cell!r}, want JSON {want!r}"
    else:
        assert cell == want, f"{what}: {name} = {cell!r}, want {want!r}"


def check_json_rows(records: list, what: str) -> None:
    assert [list(r) for r in records] == [COLUMNS] * len(ROWS), f"{what}: keys in schema order"
    for row, record in zip(ROWS, records):
        for name in COLUMNS:
            assert record[name] == expected_json(name, row[name]), \
                f"{what}: row {row['id']} {name} = {record[name]!r}"


def check_csv(text: str, what: str) -> None:
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == COLUMNS, f"{what}: header"
    assert len(lines) == len(ROWS) + 1, f"{what}: {len(lines) - 1} rows"
    for row, cells in zip(ROWS, lines[1:]):
        for name, cell in zip(COLUMNS, cells):
            if row[name] is None:
                assert cell == "", f"{what}: row {row['id']} {name} is NULL, got {cell!r}"
            else:
                check_text_cell(name, cell, row[name], f"{what} row {row['id']}")
    # Quoted fields keep empty bytes apart from NULL: row 1 has b'' (""), row 2 NULL (nothing).
    assert text.splitlines()[2].split(",")[1] == '""', f"{what}: empty bytes are quoted"
    assert text.splitlines()[3].split(",")[1] == "", f"{what}: NULL is an empty field"


def check_text_table(text: str, what: str) -> None:
    lines = text.splitlines()
    assert [c.strip() for c in lines[0].split(" | ")] == COLUMNS, f"{what}: header"
    assert lines[-1] == f"({len(ROWS)} rows)"
    for row, line in zip(ROWS, lines[2:-1]):
        cells = [c.strip() for c in line.split(" | ")]
        assert len(cells) == len(COLUMNS), f"{what}: {line!r}"
        for name, cell in zip(COLUMNS, cells):
            if row[name] is None:
                assert cell == "NULL", f"{what}: row {row['id']} {name} is NULL, got {cell!r}"
            else:
                check_text_cell(name, cell, row[name], f"{what} row {row['id']}")


@pytest.fixture(scope="module")
def awkward_table(tmp_path_factory) -> Path:
    from deltalake import write_deltalake
    path = tmp_path_factory.mktemp("text_formats") / "awkward"
    write_deltalake(str(path), arrow_table())
    return path


@pytest.mark.parametrize("output", ["csv", "json", "ndjson", "table"])
def test_table_read_text_formats(awkward_table, run_nlk, output):
    proc = run_nlk("table", "read", awkward_table, "--format", output)
    what = f"nlk table read --format {output}"
    if output == "csv":
        check_csv(proc.stdout, what)
    elif output == "json":
        check_json_rows(json.loads(proc.stdout), what)
    elif output == "ndjson":
        check_json_rows([json.loads(line) for line in proc.stdout.splitlines()], what)
    else:
        check_text_table(proc.stdout, what)


def test_serve_text_formats(awkward_table, tmp_path):
    server = start_nlk_serve(["-t", f"awkward={awkward_table}"], tmp_path)
    try:
        query = "SELECT * FROM awkward ORDER BY id"
        for accept in ("application/json", "application/x-ndjson", "text/csv"):
            response = server.sql(query, accept=accept)
            what = f"nlk serve, Accept: {accept}"
            assert response.status == 200, f"{what}: {response.body[:300]!r}"
            text = response.body.decode()
            if accept == "text/csv":
                check_csv(text, what)
            elif accept == "application/json":
                check_json_rows(json.loads(text), what)
            else:
                check_json_rows([json.loads(line) for line in text.splitlines()], what)
        rest = server.get("/api/tables/awkward?sort=id")
        assert rest.status == 200
        check_json_rows(rest.json(), "nlk serve REST /api/tables")
    finally:
        server.stop()
