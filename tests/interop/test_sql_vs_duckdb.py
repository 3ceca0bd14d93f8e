"""The SQL engine against DuckDB: the same queries over the same Delta tables must give the same
rows. DuckDB reads the tables' active Parquet files (deltalake's file_uris(); its delta extension
cannot be downloaded here), with hive partitioning for the partition columns.

Run:  .venv/bin/python -m pytest tests/interop/test_sql_vs_duckdb.py
"""

from __future__ import annotations

import json
import math
import random

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake

import nlkcli

pytestmark = pytest.mark.skipif(nlkcli.missing_reason() is not None,
                                reason=nlkcli.missing_reason() or "")

START_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z


def _samples(seed: int, devices: list[str], offset_s: int) -> pa.Table:
    rng = random.Random(seed)
    rows = []
    for device in devices:
        for channel in range(4):
            for step in range(50):
                voltage = None if (step + channel) % 17 == 0 else round(rng.gauss(0, 2), 4)
                rows.append({
                    "device_id": device,
                    "channel": channel,
                    "sequence": step + offset_s * 10,
                    "ts": START_US + (offset_s * 10 + step) * 100_000,
                    "voltage": voltage,
                    "label": None if step % 11 == 0 else f"l{step % 3}",
                })
    schema = pa.schema([("device_id", pa.string()), ("channel", pa.int32()),
                        ("sequence", pa.int64()), ("ts", pa.timestamp("us", tz="UTC")),
                        ("voltage", pa.float64()), ("label", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    base = tmp_path_factory.mktemp("sql_vs_duckdb")
    samples = str(base / "samples")
    write_deltalake(samples, _samples(1, ["dev-a", "dev-b"], 0), partition_by=["device_id"])
    write_deltalake(samples, _samples(2, ["dev-a", "dev-c"], 5), partition_by=["device_id"],
                    mode="append")
    devices = str(base / "devices")
    write_deltalake(devices, pa.table({"device_id": ["dev-a", "dev-b", "dev-z"],
                                       "site": ["lab", "clinic", "home"]}))
    connection = duckdb.connect()
    for name, uri in (("samples", samples), ("devices", devices)):
        files = DeltaTable(uri).file_uris()
        listed = ", ".join("'" + uri.replace("'", "''") + "'" for uri in files)
        connection.execute(f"CREATE VIEW {name} AS SELECT * FROM "
                           f"read_parquet([{listed}], hive_partitioning=true)")
    return {"samples": samples, "devices": devices, "duckdb": connection}


QUERIES = [
    "SELECT count(*) AS n FROM samples",
    "SELECT device_id, channel, count(*) AS n, count(voltage) AS nv, sum(voltage) AS s, "
    "avg(voltage) AS a, min(voltage) AS lo, max(voltage) AS hi FROM samples GROUP BY device_id, channel",
    "SELECT channel, stddev(voltage) AS sd, variance(voltage) AS var, stddev_pop(voltage) AS sdp "
    "FROM samples GROUP BY channel HAVING count(*) > 10",
    "SELECT device_id, count(DISTINCT channel) AS channels, count(DISTINCT label) AS labels "
    "FROM samples GROUP BY device_id",
    "SELECT DISTINCT device_id, label FROM samples WHERE label IS NOT NULL",
    "SELECT sequence, channel, voltage FROM samples WHERE channel IN (1, 2) AND voltage BETWEEN -1 AND 1 "
    "AND device_id = 'dev-a' ORDER BY sequence, channel LIMIT 15",
    "SELECT sequence, channel FROM samples WHERE device_id = 'dev-b' ORDER BY voltage DESC NULLS LAST, "
    "sequence, channel LIMIT 5 OFFSET 2",
    "SELECT device_id, sequence, channel, CASE WHEN voltage > 1 THEN 'high' WHEN voltage < -1 THEN 'low' "
    "ELSE 'mid' END AS level, coalesce(label, 'none') AS label, nullif(channel, 0) AS c "
    "FROM samples WHERE sequence < 5",
    "SELECT upper(label) AS u, length(label) AS len, count(*) AS n FROM samples WHERE label LIKE 'l%' "
    "GROUP BY upper(label), length(label)",
    "SELECT epoch_ms(date_trunc('second', ts)) AS second, count(*) AS n, round(avg(voltage), 6) AS a "
    "FROM samples GROUP BY 1",
    # extract(second) keeps the fraction in PostgreSQL (and here) but not in DuckDB: compare whole seconds.
    "SELECT floor(extract(second FROM ts)) AS s, extract(minute FROM ts) AS m, sequence FROM samples "
    "WHERE channel = 0 AND device_id = 'dev-c'",
    "SELECT count(*) AS n FROM samples WHERE ts >= TIMESTAMP '2026-01-01 00:00:02' "
    "AND ts < TIMESTAMP '2026-01-01 00:00:02' + INTERVAL '3 seconds'",
    "SELECT s.device_id, d.site, count(*) AS n FROM samples s JOIN devices d ON s.device_id = d.device_id "
    "GROUP BY s.device_id, d.site",
    "SELECT d.device_id, d.site, count(s.sequence) AS n FROM devices d LEFT JOIN samples s "
    "ON s.device_id = d.device_id GROUP BY d.device_id, d.site",
    "WITH per_channel AS (SELECT channel, avg(voltage) AS a FROM samples GROUP BY channel) "
    "SELECT channel FROM per_channel WHERE a > (-10)",
    "SELECT device_id FROM samples WHERE channel = 0 AND sequence = 1 "
    "UNION ALL SELECT device_id FROM devices",
    "SELECT device_id FROM samples UNION SELECT device_id FROM devices",
    "SELECT count(*) AS n FROM samples WHERE device_id IN (SELECT device_id FROM devices WHERE site = 'lab')",
    "SELECT count(*) AS n FROM samples s WHERE NOT EXISTS "
    "(SELECT 1 FROM devices d WHERE d.device_id = s.device_id)",
    "SELECT device_id, channel, sequence, row_number() OVER (PARTITION BY device_id, channel ORDER BY sequence) AS rn, "
    "lag(voltage) OVER (PARTITION BY device_id, channel ORDER BY sequence) AS previous, "
    "sum(voltage) OVER (PARTITION BY device_id, channel ORDER BY sequence ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS moving "
    "FROM samples WHERE sequence < 8",
    "SELECT channel, rank() OVER (ORDER BY count(*) DESC, channel) AS r FROM samples GROUP BY channel",
    # Top-k over the whole table (ties broken by the later keys so both engines agree).
    "SELECT device_id, sequence, channel, voltage FROM samples "
    "ORDER BY voltage DESC NULLS LAST, device_id, sequence, channel LIMIT 7",
    "SELECT device_id, channel, sequence, voltage, label FROM samples "
    "ORDER BY voltage NULLS LAST, device_id, sequence, channel LIMIT 5 OFFSET 3",
    "SELECT device_id, sequence, channel FROM samples "
    "ORDER BY label NULLS FIRST, ts DESC, device_id, channel LIMIT 12",
    # Scalar subqueries, in WHERE and in the select list.
    "SELECT device_id, sequence, channel FROM samples WHERE voltage > (SELECT avg(voltage) + 2 * "
    "stddev(voltage) FROM samples)",
    "SELECT device_id, count(*) AS n, (SELECT count(*) FROM devices) AS devices FROM samples GROUP BY device_id",
    "SELECT channel, avg(voltage) - (SELECT avg(voltage) FROM samples) AS delta FROM samples GROUP BY channel",
    # NOT IN: a NULL in the subquery means no row; a NULL tested value is never NOT IN.
    "SELECT count(*) AS n FROM samples WHERE label NOT IN (SELECT label FROM samples WHERE channel = 0)",
    "SELECT count(*) AS n FROM samples WHERE label NOT IN (SELECT label FROM samples WHERE label = 'l1')",
    "SELECT count(*) AS n FROM samples WHERE device_id NOT IN (SELECT device_id FROM devices)",
    # Zoned timestamp literals.
    "SELECT count(*) AS n FROM samples WHERE ts >= TIMESTAMPTZ '2026-01-01T00:00:02Z' "
    "AND ts < TIMESTAMPTZ '2026-01-01 00:00:04+00'",
    # A filter above UNION ALL reaches both sides.
    "SELECT device_id, n FROM (SELECT device_id, channel AS n FROM samples UNION ALL "
    "SELECT device_id, 99 AS n FROM devices) AS u WHERE device_id = 'dev-b' AND n > 2",
    # The rest of the list.
    "SELECT device_id, channel, count(*) AS n FROM samples GROUP BY device_id, channel "
    "HAVING count(*) > 60 ORDER BY device_id, channel LIMIT 3 OFFSET 1",
    "SELECT d.device_id, s.channel FROM samples s RIGHT JOIN devices d ON s.device_id = d.device_id "
    "AND s.sequence = 0 AND s.channel = 1",
    "SELECT d.device_id, d.site, s.n FROM (SELECT device_id, count(*) AS n FROM samples "
    "GROUP BY device_id) s FULL JOIN devices d ON s.device_id = d.device_id",
    "SELECT count(*) AS n FROM samples WHERE label ILIKE 'L%' AND label IS NOT NULL "
    "AND CAST(channel AS VARCHAR) IN ('1', '3')",
    "SELECT abs(voltage) AS a, sqrt(abs(voltage)) AS r, power(voltage, 2) AS p, ln(abs(voltage) + 1) AS l, "
    "sign(voltage) AS s, ceil(voltage) AS c, round(voltage, 1) AS r1 FROM samples "
    "WHERE device_id = 'dev-a' AND sequence < 3",
    "SELECT lower(device_id) AS l, substr(device_id, 5) AS s, replace(device_id, 'dev', 'd') AS r, "
    "concat(device_id, '/', site) AS c, device_id || '!' AS e, trim('  x  ') AS t FROM devices",
    "SELECT extract(epoch FROM ts) AS e, extract(hour FROM ts) AS h, epoch_ms(date_trunc('minute', ts)) AS m "
    "FROM samples WHERE sequence = 3 AND channel = 2",
    "SELECT count(*) AS n FROM samples WHERE ts - INTERVAL '1 second' >= TIMESTAMPTZ '2026-01-01 00:00:03Z'",
    "SELECT device_id, sequence, hex(device_id) AS h, hex(sequence - 100) AS s, hex(channel) AS c "
    "FROM samples WHERE sequence IN (0, 99) AND channel < 2",
    "SELECT device_id, sequence, channel, lead(voltage, 2) OVER (PARTITION BY device_id, channel "
    "ORDER BY sequence) AS next2, avg(voltage) OVER (PARTITION BY device_id, channel ORDER BY sequence "
    "ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) AS moving_avg FROM samples WHERE sequence < 10",
]


def _normalise(value):
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return round(value, 6) + 0.0
    return value


def _rows(records: list[dict], columns: list[str]):
    return [tuple(_normalise(record[column]) for column in columns) for record in records]


@pytest.mark.parametrize("query", QUERIES)
def test_same_rows_as_duckdb(tables, query):
    proc = nlkcli.run_nlk("sql", "--table", f"samples={tables['samples']}",
                          "--table", f"devices={tables['devices']}", query, "--format", "json")
    ours = json.loads(proc.stdout)
    cursor = tables["duckdb"].execute(query)
    columns = [description[0] for description in cursor.description]
    theirs = [dict(zip(columns, row)) for row in cursor.fetchall()]
    assert len(ours) == len(theirs), f"{len(ours)} rows vs DuckDB's {len(theirs)}"
    if ours:
        assert sorted(ours[0].keys()) == sorted(columns)
    ours_rows = _rows(ours, columns)
    theirs_rows = _rows(theirs, columns)
    if "ORDER BY" not in query.split(")")[-1]:
        ours_rows = sorted(ours_rows, key=repr)
        theirs_rows = sorted(theirs_rows, key=repr)
    assert ours_rows == theirs_rows


def test_bad_sql_fails_with_position(tables):
    proc = nlkcli.run_nlk("sql", "--table", f"samples={tables['samples']}",
                          "SELECT nosuch FROM samples", check=False)
    assert "SQL error at position 8" in proc.stderr
    proc = nlkcli.run_nlk("sql", "--table", f"samples={tables['samples']}",
                          "DELETE FROM samples", check=False)
    assert "read-only" in proc.stderr


# Numeric literals against int4, int8, float4 and float8 columns: random int8 literals (and a few
# beyond int8) and decimal literals, every comparison operator. Both engines compare a literal in
# the column's type, and integers against fractions exactly.
INT32_EDGES = [-2**31, 2**31 - 1, 0, 1, -1, 16_777_216, 16_777_217]
INT64_EDGES = [-2**63, 2**63 - 1, 2**53, 2**53 + 1, -(2**53) - 1, 0, 3_000_000_000, 4_000_000_000]
FLOAT_EDGES = [0.0, 0.1, -2.5, 16_777_216.0, 3e9, 1e300, float("inf"), float("-inf")]


@pytest.fixture(scope="module")
def numbers(tmp_path_factory):
    rng = random.Random(20260101)
    rows = []
    for index in range(400):
        def pick(edges, draw):
            if index % 29 == 0:
                return None
            return rng.choice(edges) if rng.random() < 0.2 else draw()
        rows.append({
            "i32": pick(INT32_EDGES, lambda: rng.randint(-2**31, 2**31 - 1)),
            "i64": pick(INT64_EDGES, lambda: rng.choice([rng.randint(-2**63, 2**63 - 1),
                                                          rng.randint(-10**6, 10**6),
                                                          2**53 + rng.randint(-8, 8)])),
            "f32": pick(FLOAT_EDGES, lambda: rng.uniform(-1e6, 1e6)),
            "f64": pick(FLOAT_EDGES, lambda: rng.choice([rng.uniform(-1e6, 1e6),
                                                          rng.uniform(-1e18, 1e18)])),
        })
    schema = pa.schema([("i32", pa.int32()), ("i64", pa.int64()), ("f32", pa.float32()),
                        ("f64", pa.float64())])
    table = pa.Table.from_pylist(rows, schema=schema)
    uri = str(tmp_path_factory.mktemp("sql_literals") / "numbers")
    write_deltalake(uri, table)
    connection = duckdb.connect()
    connection.register("numbers_arrow", table)
    connection.execute("CREATE VIEW numbers AS SELECT * FROM numbers_arrow")
    literals = set()
    for row in rows[:60]:
        for value in row.values():
            if value is None or (isinstance(value, float) and math.isinf(value)):
                continue
            literals.add(str(int(value)) if float(value).is_integer() and abs(value) < 2**63
                         else repr(float(value)))
    for _ in range(30):
        literals.add(str(rng.randint(-2**63, 2**63 - 1)))
        literals.add(str(rng.randint(-2**31, 2**31 - 1)))
        literals.add(f"{rng.randint(-10**7, 10**7)}.{rng.randint(0, 999999):06d}")
        literals.add(f"{2**53 + rng.randint(-8, 8)}.{rng.choice(['5', '25', '999'])}")
    literals.update({str(2**63), str(-(2**63) - 1), "99999999999999999999", "-2147483648.5",
                     "2147483647.5", "0.1", "-0.0"})
    # DuckDB reads exponents as DOUBLE; PostgreSQL and this engine read them as numbers: keep
    # to plain decimals.
    literals = sorted(literal for literal in literals if "e" not in literal and "inf" not in literal)
    return {"uri": uri, "duckdb": connection, "literals": literals}


def test_numeric_literals_match_duckdb(numbers):
    filters = [f"{column} {op} {literal}" for literal in numbers["literals"]
               for column in ("i32", "i64", "f32", "f64")
               for op in ("=", "<>", "<", "<=", ">", ">=")]
    for start in range(0, len(filters), 150):
        chunk = filters[start:start + 150]
        query = "SELECT " + ", ".join(
            f"count(*) FILTER (WHERE {condition}) AS c{index}"
            for index, condition in enumerate(chunk)) + " FROM numbers"
        proc = nlkcli.run_nlk("sql", "--table", f"numbers={numbers['uri']}", query,
                              "--format", "json")
        ours = json.loads(proc.stdout)[0]
        theirs = numbers["duckdb"].execute(query).fetchone()
        mismatches = [f"{condition}: {ours[f'c{index}']} vs DuckDB's {theirs[index]}"
                      for index, condition in enumerate(chunk)
                      if ours[f"c{index}"] != theirs[index]]
        assert not mismatches, "\n".join(mismatches[:20])


@pytest.mark.parametrize("expression", [
    "3000000000 + 1", "9007199254740993", "-9223372036854775808", "9223372036854775807",
    "9007199254740993 - 9007199254740992", "2147483647 + 1::bigint",
    "CAST('9007199254740993' AS BIGINT)", "2.5::int", "(-2.5)::int", "16777217 * 1.0",
])
def test_literal_arithmetic_matches_duckdb(numbers, expression):
    query = f"SELECT {expression} AS v"
    proc = nlkcli.run_nlk("sql", "--table", f"numbers={numbers['uri']}", query, "--format", "json")
    ours = json.loads(proc.stdout)[0]["v"]
    theirs = numbers["duckdb"].execute(query).fetchone()[0]
    assert ours == theirs, f"{expression}: {ours!r} vs DuckDB's {theirs!r}"


def test_unnamed_and_duplicate_columns_are_named_uniquely_in_every_format(tables, tmp_path):
    """Two count(*) columns would be two "count" keys, of which JSON readers keep one."""
    query = ("SELECT count(*), count(DISTINCT device_id), min(channel) AS count, 1, 2 "
             "FROM samples")
    expected = ["count", "count_1", "count_2", "?column?", "?column?_1"]
    table = f"samples={tables['samples']}"
    for fmt in ("json", "ndjson"):
        proc = nlkcli.run_nlk("sql", "--table", table, query, "--format", fmt)
        text = proc.stdout.strip()
        record = json.loads(text)[0] if fmt == "json" else json.loads(text.splitlines()[0])
        assert list(record.keys()) == expected, fmt
    proc = nlkcli.run_nlk("sql", "--table", table, query, "--format", "csv")
    assert proc.stdout.splitlines()[0] == ",".join(f'"{name}"' for name in expected)
    for fmt, read in (("arrow-file", lambda path: pa.ipc.open_file(path).schema),
                      ("parquet", pq.read_schema)):
        path = tmp_path / f"out.{fmt}"
        nlkcli.run_nlk("sql", "--table", table, query, "--format", fmt, "--out", str(path))
        assert read(str(path)).names == expected, fmt


def test_a_parquet_file_is_a_table(tmp_path):
    path = tmp_path / "devices.parquet"
    pq.write_table(pa.table({"device_id": ["dev-a", "dev-b"], "site": ["x", "y"]}), path)
    proc = nlkcli.run_nlk("sql", "--table", f"devices={path}",
                          "SELECT count(*) AS n FROM devices", "--format", "json")
    assert json.loads(proc.stdout) == [{"n": 2}]
