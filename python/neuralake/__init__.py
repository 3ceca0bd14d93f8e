"""Neuralake from Python: read, query, write and maintain Delta tables with the same C++ engine
as the ``nlk`` command line, and declare catalog tables without a C++ build.

    import neuralake

    samples = neuralake.Table("/data/lake/neural/samples")
    rows = samples.to_arrow(columns=["channel", "voltage_uv"], filter="channel = 3")
    top = neuralake.sql("SELECT channel, avg(voltage_uv) FROM s GROUP BY channel",
                        tables={"s": samples})

Rows cross between Python and C++ through the Arrow C stream interface, without copies; errors
of the core are raised as the exceptions of :mod:`neuralake.errors`. See docs/python.md.
"""

from __future__ import annotations

import datetime as _datetime
import json as _json
import os as _os
from typing import Any, Iterable, Mapping

import pyarrow as _pyarrow


def _load_arrow_libraries() -> None:
    """Loads the Arrow C++ libraries the extension links against from the pyarrow in use, so
    the extension shares them with pyarrow wherever pyarrow is installed. (Its RPATH finds them
    only when pyarrow sits next to this package.) Once loaded, the dynamic loader satisfies the
    extension's dependencies by their sonames; each is loaded privately (RTLD_LOCAL), so their
    symbols do not leak into other modules."""
    import ctypes
    import glob

    for name in ("arrow", "arrow_compute", "arrow_s3", "parquet", "arrow_acero", "arrow_dataset"):
        for directory in _pyarrow.get_library_dirs():
            candidates = sorted(glob.glob(_os.path.join(directory, f"lib{name}.so.*")), key=len)
            if candidates:
                ctypes.CDLL(candidates[0])
                break


_load_arrow_libraries()

from neuralake import _core, catalog, errors  # noqa: E402
from neuralake.errors import (
    CommitConflictError,
    InvalidArgumentError,
    NeuralakeError,
    NotFoundError,
    NotSupportedError,
    QueryCancelledError,
    ResourceLimitError,
    StorageError,
    TableNotFoundError,
)

__all__ = [
    "Table",
    "sql",
    "write_table",
    "catalog",
    "errors",
    "NeuralakeError",
    "InvalidArgumentError",
    "NotFoundError",
    "TableNotFoundError",
    "StorageError",
    "CommitConflictError",
    "NotSupportedError",
    "QueryCancelledError",
    "ResourceLimitError",
]


def _as_stream(data: Any) -> Any:
    """An "arrow_array_stream" capsule of `data`: a pyarrow Table, RecordBatch or
    RecordBatchReader, a Polars DataFrame, or anything else with ``__arrow_c_stream__``."""
    if isinstance(data, _pyarrow.RecordBatch):
        data = _pyarrow.Table.from_batches([data])
    elif type(data).__module__.startswith("polars") and hasattr(data, "to_arrow"):
        # Polars exports view types (string_view) through its own stream; to_arrow gives the
        # plain Arrow types Delta tables store, still without copying the buffers.
        data = data.to_arrow()
    if not hasattr(data, "__arrow_c_stream__"):
        raise TypeError(
            f"cannot write a {type(data).__name__}: give a pyarrow Table, RecordBatch or "
            "RecordBatchReader, a Polars DataFrame, or an object with __arrow_c_stream__"
        )
    return data.__arrow_c_stream__()


def _timestamp_ms(timestamp: _datetime.datetime | str | None) -> int | None:
    if timestamp is None:
        return None
    if isinstance(timestamp, str):
        timestamp = _datetime.datetime.fromisoformat(timestamp)
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=_datetime.timezone.utc)
    return int(timestamp.timestamp() * 1000)


class Table:
    """A Delta table at `uri` (a path, ``file://...`` or ``s3://...``), opened at its latest
    version; each read sees the version current when it starts unless given ``version=``.
    Raises :class:`TableNotFoundError` when there is no table at `uri`
    (create one with :func:`write_table`)."""

    def __init__(self, uri: str | _os.PathLike[str]):
        self._handle = _core.TableHandle.open(_os.fspath(uri))

    @classmethod
    def _wrap(cls, handle: Any) -> "Table":
        table = cls.__new__(cls)
        table._handle = handle
        return table

    def __repr__(self) -> str:
        return f"neuralake.Table({self.uri!r})"

    @property
    def uri(self) -> str:
        return self._handle.uri

    @property
    def version(self) -> int:
        """The latest committed version."""
        return self._handle.version()

    @property
    def schema(self) -> _pyarrow.Schema:
        """The table's schema at its latest version, as Arrow types."""
        return _pyarrow.schema(_SchemaCapsule(self._handle.schema(None)))

    def _scan(self, columns, filter, version, timestamp, limit):
        return self._handle.scan(
            list(columns) if columns is not None else [],
            filter,
            version,
            _timestamp_ms(timestamp),
            limit,
        )

    def scan(
        self,
        columns: Iterable[str] | None = None,
        filter: str | None = None,
        version: int | None = None,
        timestamp: _datetime.datetime | str | None = None,
        limit: int | None = None,
    ) -> _pyarrow.RecordBatchReader:
        """Rows as a stream of record batches, read as ``nlk table read`` reads them: `filter`
        (a predicate such as ``"channel = 3 AND voltage_uv > 100"``, the language of
        ``--filter`` and of a SQL WHERE clause) prunes partitions, skips files and row groups by
        their statistics and then filters rows; `columns` are the only ones decoded. Give
        `version` or `timestamp` to read an older version."""
        rows = self._scan(columns, filter, version, timestamp, limit)
        return _pyarrow.RecordBatchReader.from_stream(rows)

    def to_arrow(
        self,
        columns: Iterable[str] | None = None,
        filter: str | None = None,
        version: int | None = None,
        timestamp: _datetime.datetime | str | None = None,
        limit: int | None = None,
        with_metrics: bool = False,
    ):
        """The rows :meth:`scan` streams, as one pyarrow Table. With ``with_metrics=True``,
        returns ``(table, metrics)`` where `metrics` counts the files and row groups pruned,
        skipped and read (the figures of ``nlk table read --metrics``)."""
        rows = self._scan(columns, filter, version, timestamp, limit)
        table = _pyarrow.RecordBatchReader.from_stream(rows).read_all()
        return (table, rows.metrics()) if with_metrics else table

    def to_polars(self, **read_options: Any):
        """:meth:`to_arrow` as a Polars DataFrame (same keyword arguments)."""
        import polars

        return polars.from_arrow(self.to_arrow(**read_options))

    def history(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Commits, newest first: ``version``, ``timestamp`` (UTC datetime), ``operation`` and
        the whole ``commit_info`` as the log records it (None when a commit has none)."""
        entries = []
        for version, timestamp_ms, commit_info in self._handle.history(limit):
            info = _json.loads(commit_info) if commit_info is not None else None
            entries.append(
                {
                    "version": version,
                    "timestamp": _datetime.datetime.fromtimestamp(
                        timestamp_ms / 1000, tz=_datetime.timezone.utc
                    ),
                    "operation": info.get("operation") if info else None,
                    "commit_info": info,
                }
            )
        return entries

    def append(self, data: Any, schema_evolution: bool = False) -> dict[str, Any]:
        """Appends `data` as ``nlk table append`` does; returns the committed ``version``,
        ``files_added`` and ``rows_written``. New columns are refused unless
        `schema_evolution`."""
        return self._handle.append(_as_stream(data), schema_evolution)

    def overwrite(
        self, data: Any, where: str | None = None, schema_evolution: bool = False
    ) -> dict[str, Any]:
        """Replaces the table's rows with `data`, or with `where` (a predicate over partition
        columns) only the partitions it matches, as ``nlk table overwrite --where``."""
        return self._handle.overwrite(_as_stream(data), where, schema_evolution)

    def optimize(
        self,
        target_file_size: int = _core.DEFAULT_OPTIMIZE_TARGET_FILE_SIZE,
        min_files_per_bin: int = 2,
        where: str | None = None,
        sort_by: str | None = None,
    ) -> dict[str, Any]:
        """Compacts small files as ``nlk optimize`` does; returns its figures."""
        return self._handle.optimize(target_file_size, min_files_per_bin, where, sort_by)

    def vacuum(
        self,
        retention_hours: float | None = None,
        dry_run: bool = False,
        allow_short_retention: bool = False,
    ) -> dict[str, Any]:
        """Deletes files no version within the retention reads, as ``nlk vacuum`` does
        (default retention: the table's delta.deletedFileRetentionDuration, one week). With
        `dry_run`, lists them in ``deletable`` and deletes nothing."""
        retention_ms = None if retention_hours is None else int(retention_hours * 3600 * 1000)
        return self._handle.vacuum(retention_ms, allow_short_retention, dry_run)


class _SchemaCapsule:
    """Hands an "arrow_schema" capsule to pyarrow through the PyCapsule interface."""

    def __init__(self, capsule: Any):
        self._capsule = capsule

    def __arrow_c_schema__(self) -> Any:
        return self._capsule


def sql(
    query: str,
    tables: Mapping[str, "str | _os.PathLike[str] | Table"],
    with_metrics: bool = False,
):
    """Runs read-only SQL (the PostgreSQL dialect of ``nlk sql``) over `tables`, each name bound
    to a Table or a URI as ``nlk sql --table NAME=URI`` binds it: a Delta table, a Parquet file
    or a directory of Parquet files. Filters, projections and limits are pushed into the scans
    by the same engine. Returns a pyarrow Table, or ``(table, metrics)`` with
    ``with_metrics=True``."""
    bindings = []
    for name, table in tables.items():
        uri = table.uri if isinstance(table, Table) else _os.fspath(table)
        bindings.append((name, uri))
    rows = _core.sql(query, bindings)
    result = _pyarrow.RecordBatchReader.from_stream(rows).read_all()
    return (result, rows.metrics()) if with_metrics else result


def write_table(
    uri: str | _os.PathLike[str],
    data: Any,
    partition_by: Iterable[str] = (),
    mode: str = "error",
    name: str | None = None,
    description: str | None = None,
    properties: Mapping[str, str] | None = None,
) -> Table:
    """Writes `data` to the Delta table at `uri`. `mode` says what happens when a table is
    already there: ``"error"`` (raise), ``"append"`` or ``"overwrite"``; with no table there,
    every mode creates one as ``nlk table create`` does, partitioned by `partition_by`, with
    the given `name`, `description` and table `properties`."""
    if mode not in ("error", "append", "overwrite"):
        raise InvalidArgumentError(
            f"mode '{mode}' is not one of error, append, overwrite"
        )
    path = _os.fspath(uri)
    try:
        existing = Table(path)
    except TableNotFoundError:
        existing = None
    if existing is None:
        handle = _core.create_table(
            path,
            _as_stream(data),
            list(partition_by),
            dict(properties or {}),
            name,
            description,
        )
        return Table._wrap(handle)
    if mode == "error":
        raise InvalidArgumentError(
            f"a Delta table already exists at {path}: pass mode='append' or mode='overwrite'"
        )
    if mode == "append":
        existing.append(data)
    else:
        existing.overwrite(data)
    return existing
