"""Checks of a table that several processes write at once, for ingest_maintenance.sh.

  table_check.py reader URI --stop-file F [--hold-seconds S]
      Until F exists: open the latest snapshot with delta-rs, wait up to S seconds (a slow query),
      read every data file, and check that the snapshot holds each sample at most once and never
      fewer rows than the previous one.
      One line per scan on stdout; exits 1 if any scan failed or broke those rules.

  table_check.py verify URI --expected DIR [--after-final-vacuum]
      After every process stopped: the table holds exactly the rows of the Parquet files in DIR
      (what the producers sent), each once; every live file exists; the log has OPTIMIZE commits
      whose actions all say dataChange=false, append commits whose adds say dataChange=true and
      VACUUM END commits; vacuum deleted files that were added once. --after-final-vacuum: no
      data file is left that the latest snapshot does not reference (orphans of killed
      compactors included). Prints a JSON summary, problems included.

A sample's identity is (device_id, channel, timestamp): distinct producer runs use distinct start
times, so the datagen sequence alone is not unique. S3 tables (s3://bucket/prefix) use the AWS_*
variables of scripts/minio.sh env.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.fs as pafs

KEY = ["device_id", "channel", "timestamp"]


def storage_options(uri: str) -> dict | None:
    if not uri.startswith("s3://"):
        return None
    return {
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
        "AWS_ALLOW_HTTP": "true",
    }


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """An independent view of the table's store (not nlk's), and the root path within it."""
    if uri.startswith("s3://"):
        endpoint = urlparse(os.environ["AWS_ENDPOINT_URL"])
        fs = pafs.S3FileSystem(access_key=os.environ["AWS_ACCESS_KEY_ID"],
                               secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                               region=os.environ.get("AWS_REGION", "us-east-1"),
                               endpoint_override=endpoint.netloc, scheme=endpoint.scheme)
        return fs, uri[len("s3://"):].rstrip("/")
    return pafs.LocalFileSystem(), str(Path(uri.removeprefix("file://")).resolve())


def read_keys(uri: str, hold_seconds: float) -> tuple[int, pa.Table]:
    """The latest snapshot's version and sample keys, read `hold_seconds` after the snapshot was
    loaded, as a slow query would: its files must outlive it for the whole retention."""
    from deltalake import DeltaTable
    table = DeltaTable(uri, storage_options=storage_options(uri))
    time.sleep(hold_seconds)
    return table.version(), table.to_pyarrow_table(columns=KEY)


def distinct_rows(keys: pa.Table) -> int:
    return keys.group_by(KEY).aggregate([]).num_rows


def reader(args) -> int:
    stop = Path(args.stop_file)
    scans = failures = previous_rows = 0
    while not stop.exists():
        started = time.monotonic()
        try:
            version, keys = read_keys(args.uri, random.uniform(0, args.hold_seconds))
        except Exception as error:  # noqa: BLE001 - any failure of a scan is the finding
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            if "no log files" in message.lower() or "not a delta table" in message.lower():
                time.sleep(0.2)  # the writer has not created the table yet
                continue
            failures += 1
            print(f"FAILED scan {scans + 1}: {type(error).__name__}: {message}", flush=True)
            time.sleep(0.2)
            continue
        scans += 1
        rows, distinct = keys.num_rows, distinct_rows(keys)
        problems = []
        if distinct != rows:
            problems.append(f"{rows - distinct} duplicated samples")
        if rows < previous_rows:
            problems.append(f"{previous_rows - rows} samples vanished since the previous scan")
        previous_rows = max(previous_rows, rows)
        failures += bool(problems)
        print(f"{'FAILED' if problems else 'ok'} scan {scans}: version {version}, {rows} rows, "
              f"{time.monotonic() - started:.2f} s{': ' + '; '.join(problems) if problems else ''}",
              flush=True)
        time.sleep(0.3)
    print(f"reader: {scans} scans, {failures} failed", flush=True)
    return 1 if failures or scans == 0 else 0


def log_actions(fs: pafs.FileSystem, root: str) -> list[tuple[int, list[dict]]]:
    """Every JSON commit that is still in the log, in version order, as parsed actions."""
    selector = pafs.FileSelector(f"{root}/_delta_log")
    commits = []
    for info in fs.get_file_info(selector):
        name = info.base_name
        if name.endswith(".json") and name[:-5].isdigit() and len(name) == 25:
            with fs.open_input_stream(info.path) as stream:
                text = stream.read().decode()
            commits.append((int(name[:-5]), [json.loads(line) for line in text.splitlines() if line]))
    return sorted(commits)


def data_files(fs: pafs.FileSystem, root: str) -> set[str]:
    selector = pafs.FileSelector(root, recursive=True)
    files = set()
    for info in fs.get_file_info(selector):
        if info.type != pafs.FileType.File:
            continue
        relative = info.path[len(root) + 1:]
        if relative.startswith("_delta_log/") or any(part.startswith((".", "_"))
                                                     for part in relative.split("/")):
            continue
        files.add(relative)
    return files


def verify(args) -> int:
    from deltalake import DeltaTable
    problems: list[str] = []
    summary: dict = {"table": args.uri}

    table = DeltaTable(args.uri, storage_options=storage_options(args.uri))
    summary["version"] = table.version()
    expected = pq.read_table(args.expected)
    actual = table.to_pyarrow_table(columns=expected.column_names)
    rows, distinct = actual.num_rows, distinct_rows(actual.select(KEY))
    summary.update(rows=rows, distinct_samples=distinct, expected_rows=expected.num_rows)
    if rows != distinct:
        problems.append(f"{rows - distinct} duplicated samples")
    if distinct != expected.num_rows:
        problems.append(f"{distinct} distinct samples, {expected.num_rows} produced")
    order = [(column, "ascending") for column in KEY]
    if not actual.cast(expected.schema).sort_by(order).equals(expected.sort_by(order)):
        problems.append("the rows differ from the produced ones")

    fs, root = filesystem(args.uri)
    live = {unquote(path) for path in table.file_uris()}
    live = {path.split(root + "/", 1)[1] if root + "/" in path else path for path in live}
    on_store = data_files(fs, root)
    missing = live - on_store
    orphans = on_store - live
    summary.update(live_files=len(live), files_on_store=len(on_store), unreferenced_files=len(orphans))
    if not args.uri.startswith("s3://"):
        # A local store writes each file under a hidden temporary name first; a process killed
        # mid-write leaves it behind (invisible to readers, and to vacuum).
        summary["temporary_files"] = sum(
            1 for info in fs.get_file_info(pafs.FileSelector(root, recursive=True))
            if info.base_name.startswith(".nlk-tmp-"))
    if missing:
        problems.append(f"{len(missing)} live files missing from the store, e.g. {sorted(missing)[0]}")
    if args.after_final_vacuum and orphans:
        problems.append(f"{len(orphans)} unreferenced files left after the final vacuum, "
                        f"e.g. {sorted(orphans)[0]}")

    operations: dict[str, int] = {}
    ever_added: set[str] = set()
    for version, actions in log_actions(fs, root):
        info = next((a["commitInfo"] for a in actions if "commitInfo" in a), {})
        operation = info.get("operation", "?")
        operations[operation] = operations.get(operation, 0) + 1
        for action in actions:
            for kind in ("add", "remove"):
                if kind not in action:
                    continue
                change = action[kind].get("dataChange")
                if kind == "add":
                    ever_added.add(unquote(action[kind]["path"]))
                if operation == "OPTIMIZE" and change is not False:
                    problems.append(f"version {version}: OPTIMIZE {kind} with dataChange={change}")
                if operation != "OPTIMIZE" and kind == "add" and change is not True:
                    problems.append(f"version {version}: {operation} add with dataChange={change}")
    vacuumed = ever_added - on_store
    # Written but never committed: left by a compactor killed between writing a bin and
    # committing it (or by an abandoned commit); only vacuum removes them.
    never_committed = on_store - ever_added
    summary.update(operations=operations, files_ever_added=len(ever_added),
                   vacuumed_files=len(vacuumed), never_committed_files=len(never_committed))
    if operations.get("OPTIMIZE", 0) == 0:
        problems.append("no OPTIMIZE commit in the log")
    if not vacuumed:
        problems.append("vacuum deleted none of the files the log ever added")
    if operations.get("VACUUM END", 0) == 0:
        problems.append("no VACUUM END commit in the log")

    summary["problems"] = problems
    print(json.dumps(summary))
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    read = commands.add_parser("reader")
    read.add_argument("uri")
    read.add_argument("--stop-file", required=True)
    read.add_argument("--hold-seconds", type=float, default=0.0,
                      help="read each snapshot's files up to this long after loading it")
    check = commands.add_parser("verify")
    check.add_argument("uri")
    check.add_argument("--expected", required=True, help="directory of the produced Parquet files")
    check.add_argument("--after-final-vacuum", action="store_true")
    args = parser.parse_args()
    return reader(args) if args.command == "reader" else verify(args)


if __name__ == "__main__":
    sys.exit(main())
