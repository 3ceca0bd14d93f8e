"""Catalog tables declared in Python, without a C++ build.

A table is a decorated function, as in Neuralink's datarepo: the decorator holds what the site
and the query service show (description, owner, tags, ...) and, through ``source=``, where the
data is::

    from neuralake.catalog import Catalog, DeltaSource, table

    @table(database="ephys", description="One row per sorted unit", owner="ephys-team",
           tags=["sorted"], source=DeltaSource("ephys/units", partition_columns=["date"]))
    def units():
        '''Units from the nightly spike sorting.'''

    lab = Catalog("lab", description="The lab's recordings", tables=[units])
    lab.write_manifest("catalog.json", root="/data/lake")

The manifest is the format of ``nlk catalog manifest`` (docs/catalog.md), written by the C++
catalog code itself: the declarations go to it through the binding, are validated by the rules
that check a catalog declared in C++ (``ValidateCatalog``) and come back as the canonical JSON.
``nlk serve --catalog-manifest FILE`` serves the tables and ``nlk catalog site --manifest FILE``
shows them. A function without ``source=`` is a function table: Python code computes its rows
(:meth:`DeclaredTable.read`), so a manifest lists it but a server has no rows for it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Callable, Iterable, Mapping, Sequence

from neuralake import _core

_MANIFEST_FORMAT = "neuralake-catalog-manifest"
_MANIFEST_FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class DeltaSource:
    """A Delta table at `uri`: absolute, or relative to the catalog root. `writer` is the one
    engine that commits to it ("nlk" or "spark", docs/spark.md)."""

    uri: str
    partition_columns: Sequence[str] = ()
    writer: str = "nlk"

    kind = "delta"


@dataclasses.dataclass(frozen=True)
class ParquetSource:
    """A directory of Parquet files at `uri`, hive-partitioned (``col=value/``) by
    `partition_columns` when given."""

    uri: str
    partition_columns: Sequence[str] = ()
    writer: str = "nlk"

    kind = "parquet"


@dataclasses.dataclass(frozen=True)
class DocsFilter:
    """An example filter for the site and the snippets (a predicate that is also valid SQL)."""

    filter: str
    description: str = ""


@dataclasses.dataclass(frozen=True)
class ComputedColumn:
    name: str
    expression: str
    description: str = ""


@dataclasses.dataclass(frozen=True)
class Deprecation:
    message: str
    replacement: str = ""
    since: str = ""


@dataclasses.dataclass(frozen=True)
class ColumnPolicy:
    """A column's classification ("public", "pii", "phi") and, for PII and PHI columns, its
    mask: a SQL expression read instead of the value, or "deny" (reads NULL). Groups in
    `unmasked_groups` read the real values."""

    column: str
    classification: str = ""
    mask: str = ""
    unmasked_groups: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class RowFilter:
    """Members of `group` read only the rows where `predicate` (SQL) holds."""

    group: str
    predicate: str


def _read_grants(principals: Iterable[str], groups: Iterable[str]) -> dict[str, list[str]]:
    return {"principals": list(principals), "groups": list(groups)}


class DeclaredTable:
    """A function declared as a catalog table by :func:`table`. Calling it calls the function."""

    def __init__(self, function: Callable[..., Any], declaration: dict[str, Any],
                 database: str, source: DeltaSource | ParquetSource | None):
        self.function = function
        self.declaration = declaration
        self.database = database
        self.source = source
        self.__doc__ = function.__doc__
        self.__name__ = function.__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    @property
    def name(self) -> str:
        return self.declaration["name"]

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.name}"

    def read(self, root: str | os.PathLike[str] | None = None, **read_options: Any):
        """The table's rows as a pyarrow Table: a Delta source read with
        :meth:`neuralake.Table.to_arrow` (`read_options` are its keyword arguments), a Parquet
        source through :func:`neuralake.sql`, a function table by calling the function.
        Relative URIs are resolved against `root`."""
        if self.source is None:
            return self.function()
        uri = self.source.uri
        if root is not None and "://" not in uri and not uri.startswith("/"):
            uri = os.path.join(os.fspath(root), uri)
        from neuralake import Table, sql

        if self.source.kind == "delta":
            return Table(uri).to_arrow(**read_options)
        return sql(f'SELECT * FROM "{self.name}"', tables={self.name: uri})


def _schema_json(schema: Any) -> Any:
    """A declared schema as Delta schema JSON: a pyarrow Schema is converted by the C++ schema
    mapping (the types a Delta table would store); a dict is taken as Delta schema JSON."""
    if schema is None or isinstance(schema, Mapping):
        return schema
    if not hasattr(schema, "__arrow_c_schema__"):
        raise TypeError("schema must be a pyarrow.Schema or a Delta schema JSON object")
    return json.loads(_core.delta_schema_json(schema.__arrow_c_schema__()))


def table(
    *,
    database: str,
    description: str,
    name: str | None = None,
    source: DeltaSource | ParquetSource | None = None,
    owner: str = "",
    tags: Iterable[str] = (),
    data_input: str = "",
    latency: str = "",
    update_frequency: str = "",
    freshness_slo_seconds: int = 0,
    example_notebook: str = "",
    schema: Any = None,
    unique_columns: Iterable[str] = (),
    docs_filters: Iterable[DocsFilter] = (),
    computed_columns: Iterable[ComputedColumn] = (),
    deprecation: Deprecation | None = None,
    lineage_sources: Iterable[str] = (),
    lineage_job: str = "",
    retention_column: str = "",
    retention_days: int = 0,
    classification: str = "",
    read_principals: Iterable[str] = (),
    read_groups: Iterable[str] = (),
    column_policies: Iterable[ColumnPolicy] = (),
    row_filters: Iterable[RowFilter] = (),
) -> Callable[[Callable[..., Any]], DeclaredTable]:
    """Declares the decorated function as table `database`.`name` (`name` defaults to the
    function's name). The fields are those of the C++ ``catalog::Table`` (docs/catalog.md);
    nothing is checked here: :class:`Catalog` has the C++ validation check them all at once."""

    def declare(function: Callable[..., Any]) -> DeclaredTable:
        kind = source.kind if source is not None else "function"
        declaration = {
            "name": name or function.__name__,
            "kind": kind,
            "uri": source.uri if source is not None else None,
            "description": description,
            "owner": owner,
            "tags": list(tags),
            "data_input": data_input,
            "freshness": {
                "latency": latency,
                "update_frequency": update_frequency,
                "slo_seconds": freshness_slo_seconds,
            },
            "example_notebook": example_notebook,
            "partition_columns": list(source.partition_columns) if source is not None else [],
            "unique_columns": list(unique_columns),
            "docs_filters": [dataclasses.asdict(item) for item in docs_filters],
            "computed_columns": [dataclasses.asdict(item) for item in computed_columns],
            "deprecation": dataclasses.asdict(deprecation) if deprecation else None,
            "writer": source.writer if source is not None else None,
            "retention": (
                {"column": retention_column, "keep_days": retention_days}
                if retention_column or retention_days
                else None
            ),
            "lineage": (
                {"sources": list(lineage_sources), "job": lineage_job}
                if lineage_sources or lineage_job
                else None
            ),
            "classification": classification,
            "read": _read_grants(read_principals, read_groups),
            "column_policies": [
                {**dataclasses.asdict(item), "unmasked_groups": list(item.unmasked_groups)}
                for item in column_policies
            ],
            "row_filters": [dataclasses.asdict(item) for item in row_filters],
            "schema": _schema_json(schema),
        }
        return DeclaredTable(function, declaration, database, source)

    return declare


class Catalog:
    """A catalog of declared tables, grouped into databases by their ``database=``.
    `databases` optionally describes each database: ``{"ephys": "Sorted units and ..."}``."""

    def __init__(
        self,
        name: str,
        tables: Iterable[DeclaredTable],
        description: str = "",
        databases: Mapping[str, str] | None = None,
        database_readers: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
    ):
        """`database_readers` grants read on every table of a database:
        ``{"ephys": {"groups": ["researchers"], "principals": ["alice"]}}``."""
        self.name = name
        self.description = description
        self.tables = list(tables)
        self.database_descriptions = dict(databases or {})
        self.database_readers = {
            database: _read_grants(readers.get("principals", ()), readers.get("groups", ()))
            for database, readers in (database_readers or {}).items()
        }

    def declarations(self, root: str = "") -> dict[str, Any]:
        """The declarations in manifest form (what the C++ reader takes), before validation."""
        databases: dict[str, list[dict[str, Any]]] = {}
        for name in list(self.database_descriptions) + list(self.database_readers):
            databases.setdefault(name, [])
        for declared in self.tables:
            databases.setdefault(declared.database, []).append(declared.declaration)
        return {
            "format": _MANIFEST_FORMAT,
            "format_version": _MANIFEST_FORMAT_VERSION,
            "root": root,
            "catalogs": [
                {
                    "name": self.name,
                    "description": self.description,
                    "databases": [
                        {
                            "name": database,
                            "description": self.database_descriptions.get(database, ""),
                            "read": self.database_readers.get(
                                database, _read_grants((), ())),
                            "tables": tables,
                        }
                        for database, tables in databases.items()
                    ],
                }
            ],
        }

    def problems(self) -> list[str]:
        """Every problem the C++ validation finds, one sentence each; empty when valid."""
        return _core.manifest_problems(json.dumps(self.declarations()))

    def manifest(self, root: str | os.PathLike[str] = "") -> str:
        """The manifest JSON, as ``nlk catalog manifest --root ROOT`` writes it. Raises
        :class:`neuralake.InvalidArgumentError` listing every problem when a declaration is
        invalid. A local `root` is made absolute."""
        root_text = os.fspath(root)
        if root_text and "://" not in root_text:
            root_text = os.path.abspath(root_text)
        return _core.build_manifest(json.dumps(self.declarations(root_text)), root_text)

    def write_manifest(self, path: str | os.PathLike[str],
                       root: str | os.PathLike[str] = "") -> None:
        text = self.manifest(root)
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)

    def find(self, qualified_name: str) -> DeclaredTable:
        for declared in self.tables:
            if declared.qualified_name == qualified_name:
                return declared
        raise KeyError(f"no table {qualified_name} in catalog {self.name}")
