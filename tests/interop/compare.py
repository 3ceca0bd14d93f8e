"""Row-set comparison of pyarrow Tables for the interop tests.

Two readers of the same Delta table read the same Parquet bytes, so values must be identical:
floats are compared exactly (NaN equals NaN), nothing is rounded. What is allowed to differ
between readers is only representation:
  - string/large_string/string_view (and the binary ones) are the same type;
  - dictionary-encoded columns (some readers return partition columns that way) are decoded;
  - timestamps: any unit is brought to microseconds (Delta stores microseconds) and any time
    zone to UTC. Whether a column has a time zone at all is kept: Delta `timestamp` (an instant)
    and `timestamp_ntz` (wall-clock) must stay distinct, unless ignore_tz=True;
  - column order and row order.
Column names, the other types (int32 is not int64), null positions and values must match.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc


def _normalise_type(t: pa.DataType, ignore_tz: bool) -> pa.DataType:
    if pa.types.is_dictionary(t):
        return _normalise_type(t.value_type, ignore_tz)
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_timestamp(t):
        if t.tz is None or ignore_tz:
            return pa.timestamp("us")
        return pa.timestamp("us", tz="UTC")
    if pa.types.is_large_list(t) or pa.types.is_list_view(t) or pa.types.is_large_list_view(t):
        return pa.list_(_normalise_type(t.value_type, ignore_tz))
    if pa.types.is_list(t):
        return pa.list_(_normalise_type(t.value_type, ignore_tz))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _normalise_type(f.type, ignore_tz)) for f in t])
    return t


def _normalise_column(col: pa.ChunkedArray, ignore_tz: bool) -> pa.ChunkedArray:
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_timestamp(t):
        if t.tz is not None and ignore_tz:
            # Reinterpret the instant as UTC wall-clock (what the stored integer means).
            col = pc.cast(col, pa.timestamp(t.unit, tz="UTC"))
            col = col.cast(pa.int64()).cast(pa.timestamp(t.unit))
            t = col.type
        if t.unit == "ns":
            # Refuse silent truncation: a nanosecond value that is not whole microseconds differs.
            as_int = col.cast(pa.int64())
            whole_us = pc.multiply(pc.divide(as_int, 1000), 1000)
            rem = pc.sum(pc.not_equal(as_int, whole_us).cast(pa.int64()))
            if rem.as_py():
                raise AssertionError("timestamp column has sub-microsecond values; Delta stores microseconds")
    want = _normalise_type(col.type, ignore_tz)
    return col if col.type == want else col.cast(want)


def normalise(table: pa.Table, ignore_tz: bool = False) -> pa.Table:
    """The table with representation-only differences removed (see the module doc)."""
    cols = [_normalise_column(table.column(i), ignore_tz) for i in range(table.num_columns)]
    return pa.Table.from_arrays([c.combine_chunks() if c.num_chunks != 1 else c for c in cols],
                                names=table.column_names)


def _sortable(t: pa.DataType) -> bool:
    return not (pa.types.is_nested(t) or pa.types.is_null(t))


def sort_rows(table: pa.Table, key: Sequence[str] | None = None) -> pa.Table:
    """Rows in a total order: by `key` (then every other sortable column) or by all columns."""
    names = list(key) if key else []
    names += [n for n in table.column_names if n not in names and _sortable(table.schema.field(n).type)]
    if not names or table.num_rows == 0:
        return table
    return table.sort_by([(n, "ascending") for n in names], null_placement="at_end") \
        if _pyarrow_supports_null_placement() else table.sort_by([(n, "ascending") for n in names])


def _pyarrow_supports_null_placement() -> bool:
    import inspect
    try:
        return "null_placement" in inspect.signature(pa.Table.sort_by).parameters
    except (TypeError, ValueError):
        return False


def _same_value(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    if a is None or b is None:
        return a is None and b is None
    return type(a) is type(b) and a == b


def _describe(table: pa.Table, row: int, limit: int = 8) -> str:
    vals = {n: table.column(n)[row].as_py() for n in table.column_names[:limit]}
    return repr(vals)


def assert_same_rows(actual: pa.Table, expected: pa.Table, key: Iterable[str] | None = None, *,
                     ignore_tz: bool = False, check_types: bool = True,
                     what: str = "rows") -> None:
    """Assert the two tables hold the same multiset of rows (order-insensitive, exact values).

    key: columns to sort by first (all columns are used for the total order either way);
    ignore_tz: treat timestamp-with-zone and without as the same type (instant read as UTC);
    check_types: compare the normalised Arrow types of every column (default on).
    """
    key = list(key) if key else None
    a = normalise(actual, ignore_tz)
    e = normalise(expected, ignore_tz)
    missing = [n for n in e.column_names if n not in a.column_names]
    extra = [n for n in a.column_names if n not in e.column_names]
    assert not missing and not extra, (
        f"{what}: columns differ: missing {missing}, unexpected {extra} "
        f"(actual {a.column_names}, expected {e.column_names})")
    a = a.select(e.column_names)
    if check_types:
        diffs = [f"{n}: {a.schema.field(n).type} != {e.schema.field(n).type}"
                 for n in e.column_names if a.schema.field(n).type != e.schema.field(n).type]
        assert not diffs, f"{what}: column types differ (actual != expected): " + "; ".join(diffs)
    else:
        a = pa.Table.from_arrays(
            [a.column(n).cast(e.schema.field(n).type) if a.schema.field(n).type != e.schema.field(n).type
             else a.column(n) for n in e.column_names], names=e.column_names)
    assert a.num_rows == e.num_rows, f"{what}: {a.num_rows} rows, expected {e.num_rows}"
    a = sort_rows(a, key)
    e = sort_rows(e, key)
    for n in e.column_names:
        ca, ce = a.column(n), e.column(n)
        if ca.equals(ce):
            continue
        # Arrow's equality treats NaN != NaN: compare in Python to find the real first difference.
        va, ve = ca.to_pylist(), ce.to_pylist()
        for i, (x, y) in enumerate(zip(va, ve)):
            if not _same_value(x, y):
                raise AssertionError(
                    f"{what}: column {n!r} differs at sorted row {i}: actual {x!r}, expected {y!r}\n"
                    f"  actual row:   {_describe(a, i)}\n  expected row: {_describe(e, i)}")
