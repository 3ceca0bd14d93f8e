"""The command line and the run loop every job shares.

A job declares its outputs; for each output the catalog says which tables it derives from
(lineage) and which job writes it. A run, for each output in turn: checks the job is the one the
catalog names, works out what changed in the sources since the output's last commit by this job,
recomputes that part from the sources pinned at their current versions, and replaces it in one
commit that also records those versions. See increment.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import Callable

from . import increment
from .catalog import Catalog, CatalogError, WriterRuleError
from .session import SettingsError, get_session


@dataclass
class Context:
    """What an output's computation gets: the sources pinned at the versions this run records."""
    spark: object
    catalog: Catalog
    scope: increment.Scope

    def read(self, name: str):
        change = self.scope.changes.get(name)
        return self.catalog.read(self.spark, name, change.current.version if change else None)


@dataclass
class Output:
    table: str
    # Returns the rows and the replaceWhere predicate they replace (None: the whole table).
    compute: Callable[[Context], tuple[object, str | None]]


@dataclass
class Result:
    table: str
    version: int | None  # None: nothing new, nothing written
    summary: str
    seconds: float


def run_output(spark, catalog: Catalog, job: str, job_path: str, output: Output,
               full: bool) -> Result:
    started = time.monotonic()
    table = catalog.table(output.table)
    if table.job != job_path:
        raise CatalogError(f"the catalog says {table.name} is written by "
                           f"{table.job or 'no job'}, not {job_path}")
    scope = increment.scope_for(spark, catalog, table, job, table.sources, full)
    if not scope.changed:
        return Result(table.name, None, f"up to date with {increment.describe(scope)}",
                      time.monotonic() - started)
    rows, replace_where = output.compute(Context(spark, catalog, scope))
    if scope.full:
        replace_where = None
    version = increment.write_output(spark, table, rows, replace_where, job, scope)
    what = "recomputed everything" if scope.full else f"replaced {replace_where}"
    return Result(table.name, version, f"{what} from {increment.describe(scope)}",
                  time.monotonic() - started)


def main(job: str, job_path: str, outputs: list[Output], description: str,
         argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=job_path, description=description)
    parser.add_argument("--root", help="catalog root the table URIs are relative to (default: "
                        "$NLK_CATALOG_ROOT, else the working directory), e.g. s3://neuralake/lake")
    parser.add_argument("--manifest", help="a manifest written by `nlk catalog manifest`, "
                        "instead of asking nlk")
    parser.add_argument("--full", action="store_true",
                        help="recompute the outputs from all the source data")
    arguments = parser.parse_args(argv)
    try:
        catalog = Catalog.load(arguments.root, arguments.manifest)
        spark = get_session(f"neuralake-{job}")
    except (CatalogError, SettingsError) as error:
        print(f"{job_path}: {error}", file=sys.stderr)
        return 1
    status = 0
    try:
        for output in outputs:
            result = run_output(spark, catalog, job, job_path, output, arguments.full)
            written = "unchanged" if result.version is None else f"version {result.version}"
            print(f"{result.table}: {written}, {result.summary} ({result.seconds:.1f} s)")
    except (CatalogError, WriterRuleError) as error:
        print(f"{job_path}: {error}", file=sys.stderr)
        status = 1
    finally:
        spark.stop()
    return status
