"""Incremental, idempotent runs of a derived table.

State: each job commit to an output table carries, in its commitInfo.userMetadata, the versions
of the source tables it has processed: {"job": NAME, "sources": {TABLE: {"table_id", "version"}}}.
The output table is its own checkpoint, committed atomically with the data, so a run killed
before its commit leaves the table and the state as they were, and a rerun with nothing new
changes nothing.

Scope: what changed in a source since the recorded version is read from the source's Delta log
(the commits in between): the time range covered by the files added with dataChange=true, taken
from their statistics. Compaction (dataChange=false) changes nothing. Anything the log cannot
bound (a removal of data, a schema change, a recreated source, log files already cleaned up,
files without statistics) makes the run recompute the whole output.

Idempotence: each run replaces exactly the part of the output it recomputes (replaceWhere on the
windows or sessions it touched), from the sources pinned at the versions it records, so the
output is a function of those versions however often and wherever a run was interrupted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .catalog import (Catalog, CatalogError, CatalogTable, check_spark_may_write,
                      create_if_missing)

# How far back in an output's history to look for the last job commit; other commits (an
# OPTIMIZE by Spark) may sit on top of it. Past this, the run recomputes everything.
HISTORY_SCAN = 100

MICROS_PER_MILLI = 1000


@dataclass
class SourceVersion:
    table_id: str
    version: int


@dataclass
class SourceChange:
    """What changed in one source since the output's recorded version."""
    name: str
    current: SourceVersion
    full: bool = False  # recompute everything
    reason: str = ""
    # [low, high) in microseconds since the epoch, covering every row added; None: no new rows.
    time_range: tuple[int, int] | None = None

    @property
    def changed(self) -> bool:
        return self.full or self.time_range is not None


@dataclass
class Scope:
    """What a run of one output recomputes: everything, or what the changed sources cover."""
    full: bool
    changes: dict[str, SourceChange] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.full or any(change.changed for change in self.changes.values())

    def earliest(self) -> int | None:
        """The earliest new timestamp over all changed sources (microseconds)."""
        lows = [c.time_range[0] for c in self.changes.values() if c.time_range is not None]
        return min(lows) if lows else None


def timestamp_literal(micros: int) -> str:
    """A SQL timestamp literal for a UTC instant (the session time zone is UTC)."""
    instant = datetime.fromtimestamp(micros // 1_000_000, tz=timezone.utc)
    return f"TIMESTAMP '{instant:%Y-%m-%d %H:%M:%S}.{micros % 1_000_000:06d}'"


def sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _micros(stat: str) -> int:
    parsed = datetime.fromisoformat(stat.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    delta = parsed - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def current_version(spark, uri: str) -> SourceVersion:
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{uri}`").collect()[0]
    history = spark.sql(f"DESCRIBE HISTORY delta.`{uri}` LIMIT 1").collect()[0]
    return SourceVersion(table_id=detail["id"], version=int(history["version"]))


def recorded_state(spark, output: CatalogTable, job: str) -> dict[str, SourceVersion] | None:
    """The source versions of the output's last commit by `job`, or None."""
    from delta.tables import DeltaTable

    if not DeltaTable.isDeltaTable(spark, output.uri):
        return None
    history = DeltaTable.forPath(spark, output.uri).history(HISTORY_SCAN)
    for row in history.select("version", "userMetadata").orderBy("version", ascending=False).collect():
        if not row["userMetadata"]:
            continue
        try:
            metadata = json.loads(row["userMetadata"])
        except json.JSONDecodeError:
            continue
        if metadata.get("job") != job:
            continue
        return {name: SourceVersion(state["table_id"], int(state["version"]))
                for name, state in metadata.get("sources", {}).items()}
    return None


def _commit_actions(spark, uri: str, first: int, last: int) -> list[dict] | None:
    """The actions of commits first..last of the table, or None if a commit file is gone."""
    jvm = spark.sparkContext._jvm
    log = jvm.org.apache.hadoop.fs.Path(uri.rstrip("/") + "/_delta_log")
    filesystem = log.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    paths = [f"{uri.rstrip('/')}/_delta_log/{version:020d}.json" for version in range(first, last + 1)]
    for path in paths:
        if not filesystem.exists(jvm.org.apache.hadoop.fs.Path(path)):
            return None
    lines = spark.read.text(paths).collect()
    return [json.loads(row["value"]) for row in lines if row["value"].strip()]


def source_change(spark, name: str, uri: str, recorded: SourceVersion | None,
                  time_column: str = "timestamp") -> SourceChange:
    current = current_version(spark, uri)
    change = SourceChange(name=name, current=current)
    if recorded is None:
        change.full, change.reason = True, "first run"
        return change
    if recorded.table_id != current.table_id:
        change.full, change.reason = True, "the source table was recreated"
        return change
    if recorded.version == current.version:
        return change
    if recorded.version > current.version:
        change.full, change.reason = True, "the source is older than the recorded version"
        return change
    actions = _commit_actions(spark, uri, recorded.version + 1, current.version)
    if actions is None:
        change.full, change.reason = True, "commits since the recorded version were cleaned up"
        return change
    low = high = None
    for action in actions:
        if "metaData" in action:
            change.full, change.reason = True, "the source's schema or partitioning changed"
            return change
        removed = action.get("remove")
        if removed is not None and removed.get("dataChange", True):
            change.full, change.reason = True, "rows were removed from the source"
            return change
        added = action.get("add")
        if added is None or not added.get("dataChange", True):
            continue
        stats = json.loads(added.get("stats") or "{}")
        minimum = (stats.get("minValues") or {}).get(time_column)
        maximum = (stats.get("maxValues") or {}).get(time_column)
        if stats.get("numRecords") == 0:
            continue
        if minimum is None or maximum is None:
            change.full, change.reason = True, f"an added file has no {time_column} statistics"
            return change
        # Delta keeps timestamp statistics in milliseconds: the true maximum may be up to a
        # millisecond later than the one recorded.
        file_low, file_high = _micros(minimum), _micros(maximum) + MICROS_PER_MILLI
        low = file_low if low is None else min(low, file_low)
        high = file_high if high is None else max(high, file_high)
    if low is not None:
        change.time_range = (low, high)
    return change


def scope_for(spark, catalog: Catalog, output: CatalogTable, job: str, sources: list[str],
              full: bool) -> Scope:
    from delta.tables import DeltaTable

    for name in sources:
        source = catalog.table(name)
        if source.kind == "delta" and not DeltaTable.isDeltaTable(spark, source.uri):
            raise CatalogError(f"the source table {name} does not exist at {source.uri}: write it "
                               "first (nlk ingest or nlk datagen), or give the right --root")
    recorded = None if full else recorded_state(spark, output, job)
    scope = Scope(full=full or recorded is None)
    for name in sources:
        source = catalog.table(name)
        if source.kind != "delta":
            continue  # reference tables (function tables) have no versions to follow
        previous = None if recorded is None else recorded.get(name)
        change = source_change(spark, name, source.uri, previous)
        scope.changes[name] = change
        scope.full = scope.full or change.full
    return scope


def state_metadata(job: str, scope: Scope) -> str:
    return json.dumps({"job": job, "sources": {
        name: {"table_id": change.current.table_id, "version": change.current.version}
        for name, change in scope.changes.items()}}, sort_keys=True)


def write_output(spark, output: CatalogTable, rows, replace_where: str | None, job: str,
                 scope: Scope) -> int:
    """Replaces the part of `output` that `replace_where` selects (all of it when None) with
    `rows`, cast to the declared schema, and records the processed source versions in the same
    commit. Returns the committed version."""
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    check_spark_may_write(spark, output)
    create_if_missing(spark, output)
    schema = output.spark_schema()
    rows = rows.select([F.col(column.name).cast(column.dataType).alias(column.name)
                        for column in schema.fields])
    writer = (rows.write.format("delta").mode("overwrite")
              .option("userMetadata", state_metadata(job, scope)))
    if output.partition_columns:
        writer = writer.partitionBy(*output.partition_columns)
    if replace_where is not None:
        writer = writer.option("replaceWhere", replace_where)
    writer.save(output.uri)
    return int(DeltaTable.forPath(spark, output.uri).history(1).collect()[0]["version"])


def describe(scope: Scope) -> str:
    parts = []
    for name, change in scope.changes.items():
        text = f"{name} v{change.current.version}"
        if change.full and change.reason:
            text += f" ({change.reason})"
        elif change.time_range is not None:
            text += f" (new rows from {timestamp_literal(change.time_range[0])[11:-1]})"
        parts.append(text)
    return ", ".join(parts)
