"""The catalog as the jobs see it: the manifest of the catalog linked into nlk
(`nlk catalog manifest`), so a job reads its sources and writes its outputs where the catalog
declares them, with the declared schemas, and only if the catalog lets Spark write them.

One writer per table (docs/spark.md): a job writes only tables the catalog declares with writer
"spark", and only if the table, when it exists, carries the property neuralake.writer=spark.
Tables it creates get that property, which nlk honours even without the catalog.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

WRITER_PROPERTY = "neuralake.writer"
SPARK_WRITER = "spark"

REPO_ROOT = Path(__file__).resolve().parents[2]


class CatalogError(RuntimeError):
    """The catalog cannot be loaded, or does not declare what a job needs."""


class WriterRuleError(RuntimeError):
    """A job was asked to write a table another engine writes."""


@dataclass(frozen=True)
class CatalogTable:
    name: str  # database.table
    kind: str  # delta, parquet or function
    uri: str | None  # resolved against the catalog root; None for function tables
    writer: str | None
    schema: dict | None  # Delta schema JSON, which is also Spark's StructType JSON
    partition_columns: list[str] = field(default_factory=list)
    description: str = ""
    sources: list[str] = field(default_factory=list)
    job: str = ""

    def spark_schema(self):
        from pyspark.sql.types import StructType

        if self.schema is None:
            raise CatalogError(f"{self.name} declares no schema; a job cannot create it")
        return StructType.fromJson(self.schema)


def nlk_binary() -> str:
    """$NLK_BIN, else `nlk` on PATH, else the build tree's."""
    candidates = [os.environ.get("NLK_BIN", ""), shutil.which("nlk") or "",
                  str(REPO_ROOT / "build" / "tools" / "nlk")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise CatalogError("nlk not found: set NLK_BIN, put nlk on PATH, or build it "
                       "(cmake --build build --target nlk); the jobs read the catalog through it")


def _run_nlk(arguments: list[str]) -> subprocess.CompletedProcess:
    command = [nlk_binary(), *arguments]
    result = subprocess.run(command, capture_output=True, timeout=300, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise CatalogError(f"`{' '.join(command)}` failed: "
                           f"{result.stderr.decode(errors='replace').strip()}")
    return result


class Catalog:
    def __init__(self, manifest: dict, root: str | None):
        self.root = root
        self.manifest = manifest
        self.tables: dict[str, CatalogTable] = {}
        for catalog in manifest.get("catalogs", []):
            for database in catalog.get("databases", []):
                for entry in database.get("tables", []):
                    lineage = entry.get("lineage") or {}
                    table = CatalogTable(
                        name=entry["qualified_name"], kind=entry["kind"],
                        uri=entry.get("resolved_uri"), writer=entry.get("writer"),
                        schema=entry.get("schema"),
                        partition_columns=list(entry.get("partition_columns", [])),
                        description=entry.get("description", ""),
                        sources=list(lineage.get("sources", [])), job=lineage.get("job", ""))
                    self.tables[table.name] = table

    @classmethod
    def load(cls, root: str | None = None, manifest_path: str | None = None) -> "Catalog":
        """From a manifest file, else from `nlk catalog manifest --root ROOT` (without a root,
        nlk's default: $NLK_CATALOG_ROOT, else the working directory)."""
        if manifest_path:
            text = Path(manifest_path).read_text()
        else:
            text = _run_nlk(["catalog", "manifest"] + (["--root", root] if root else [])).stdout
        try:
            manifest = json.loads(text)
        except json.JSONDecodeError as error:
            raise CatalogError(f"the catalog manifest is not JSON: {error}") from None
        if manifest.get("format") != "neuralake-catalog-manifest":
            raise CatalogError("not a neuralake catalog manifest")
        return cls(manifest, root or manifest.get("root"))

    def table(self, name: str) -> CatalogTable:
        try:
            return self.tables[name]
        except KeyError:
            raise CatalogError(f"the catalog declares no table {name} (it has: "
                               f"{', '.join(sorted(self.tables))})") from None

    def read(self, spark, name: str, version: int | None = None):
        """A catalog table as a DataFrame; Delta tables at `version` when given. Function tables
        are computed by nlk, which holds the catalog's code."""
        table = self.table(name)
        if table.kind == "delta":
            reader = spark.read.format("delta")
            if version is not None:
                reader = reader.option("versionAsOf", version)
            return reader.load(table.uri)
        if table.kind == "parquet":
            return spark.read.parquet(table.uri)
        return self._read_function_table(spark, table)

    def _read_function_table(self, spark, table: CatalogTable):
        import pyarrow.ipc

        arguments = ["sql", "--catalog"] + (["--root", self.root] if self.root else [])
        arguments += ["--format", "arrow", f"SELECT * FROM {table.name}"]
        rows = pyarrow.ipc.open_stream(_run_nlk(arguments).stdout).read_all()
        # Reference tables are small: rows travel through the driver.
        return spark.createDataFrame(rows.to_pylist(), schema=table.spark_schema())


def check_spark_may_write(spark, table: CatalogTable) -> None:
    """Raises WriterRuleError unless the catalog and the table itself let Spark write it."""
    from delta.tables import DeltaTable

    if table.writer != SPARK_WRITER:
        raise WriterRuleError(
            f"the catalog declares {table.name} as written by {table.writer}, so Spark jobs do "
            "not write it: one engine writes each table (docs/spark.md)")
    if table.kind != "delta":
        raise WriterRuleError(f"{table.name} is a {table.kind} table; the jobs write Delta tables")
    if not DeltaTable.isDeltaTable(spark, table.uri):
        return
    properties = spark.sql(f"DESCRIBE DETAIL delta.`{table.uri}`").collect()[0]["properties"]
    writer = (properties or {}).get(WRITER_PROPERTY)
    if writer != SPARK_WRITER:
        found = f"{WRITER_PROPERTY}={writer}" if writer else f"no {WRITER_PROPERTY} property"
        raise WriterRuleError(
            f"{table.name} at {table.uri} has {found}, so Spark jobs do not write it: one engine "
            "writes each table (docs/spark.md). If Spark is to own it, set the property with "
            f"ALTER TABLE delta.`{table.uri}` SET TBLPROPERTIES ('{WRITER_PROPERTY}' = "
            f"'{SPARK_WRITER}') once nothing else writes it")


def create_if_missing(spark, table: CatalogTable) -> bool:
    """Creates the table as declared (schema, partitions, description) and marks it as Spark's.
    True when it was created."""
    from delta.tables import DeltaTable

    if DeltaTable.isDeltaTable(spark, table.uri):
        return False
    builder = (DeltaTable.createIfNotExists(spark).location(table.uri)
               .addColumns(table.spark_schema()).property(WRITER_PROPERTY, SPARK_WRITER)
               .comment(table.description))
    if table.partition_columns:
        builder = builder.partitionedBy(*table.partition_columns)
    builder.execute()
    return True
