"""DELETE, UPDATE and MERGE: `nlk table delete|update|merge` against delta-rs's
`DeltaTable.delete|update|merge` on copies of the same table (the same rows, written once by nlk
and once by delta-rs).

Cases: DELETE of 1 % of the rows (one subject of 100, spread over every file) in copy-on-write
mode and in deletion-vector mode (delta-rs has no deletion-vector writes, so it rewrites), and
UPDATE of one session (contiguous rows), and a MERGE upsert of --merge-rows source rows (half of
them update rows spread over every file, half are new ids; UPDATE SET * / INSERT *). Each repetition works on fresh copies, alternating the
contenders; medians and the ratio (nlk / delta-rs) go to docs/benchmarks.md ("DELETE, UPDATE
and MERGE"). nlk is timed as a whole process (start-up included); delta-rs inside Python, the
operation only. Data lives under bench/data/dml (git-ignored).

    NLK_BIN=build/tools/nlk .venv/bin/python bench/dml_bench.py [--rows 1000000] [--files 10]
        [--repetitions 3] [--merge-rows 100000] [--no-publish]
    # the issue's size: --rows 10000000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
NLK = Path(os.environ.get("NLK_BIN", ROOT / "build" / "tools" / "nlk"))
PYTHON = sys.executable
sys.path.insert(0, str(ROOT / "bench"))

from bench_common import machine, replace_section  # noqa: E402

SUBJECTS = 100
SESSION_ROWS = 10_000

DELTARS_OPERATION = """
import json, sys, time
from deltalake import DeltaTable
table = DeltaTable(sys.argv[1])
started = time.perf_counter()
if sys.argv[2] == "delete":
    metrics = table.delete(sys.argv[3])
elif sys.argv[2] == "merge":
    import pyarrow.parquet as pq
    source = pq.read_table(sys.argv[3])
    started = time.perf_counter()
    (table.merge(source=source, predicate="t.id = s.id", source_alias="s", target_alias="t")
     .when_matched_update_all().when_not_matched_insert_all().execute())
else:
    metrics = table.update(updates={"value": "value * 2"}, predicate=sys.argv[3])
print(json.dumps({"seconds": time.perf_counter() - started}))
"""

DELETE_PREDICATE = "subject = 'S-17'"
UPDATE_SESSION = "session = 'sess-00042'"


def rows(first: int, count: int) -> pa.Table:
    return rows_for(range(first, first + count))


def rows_for(index) -> pa.Table:
    index = list(index)
    ids = pa.array(index, pa.int64())
    return pa.table({
        "id": ids,
        "subject": pa.array([f"S-{i % SUBJECTS}" for i in index]),
        "session": pa.array([f"sess-{i // SESSION_ROWS:05d}" for i in index]),
        "ts": pa.array([1_700_000_000_000_000 + i * 1000 for i in index], pa.timestamp("us", "UTC")),
        "value": pa.array([(i * 7919 % 10007) / 3.0 for i in index], pa.float64()),
    })


def make_templates(work: Path, total: int, files: int) -> dict[str, Path]:
    """One table per writer and mode, each written as `files` appends of consecutive ids."""
    from deltalake import write_deltalake
    templates = {"nlk": work / "nlk", "nlk-dv": work / "nlk-dv", "delta-rs": work / "delta-rs"}
    if all((path / "_delta_log").is_dir() for path in templates.values()):
        return templates
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    per_file = total // files
    for i in range(files):
        part = rows(i * per_file, per_file)
        source = work / f"part-{i}.parquet"
        pq.write_table(part, source)
        for name, extra in (("nlk", []), ("nlk-dv", ["--property", "delta.enableDeletionVectors=true"])):
            verb = ["create", str(templates[name]), "--input", str(source), *extra] if i == 0 else \
                ["append", str(templates[name]), "--input", str(source)]
            subprocess.run([NLK, "table", *verb], check=True, capture_output=True)
        write_deltalake(str(templates["delta-rs"]), part, mode="append")
        source.unlink()
    return templates


def merge_source(work: Path, total: int, count: int) -> Path:
    """`count` rows: the first half update existing ids spread evenly over the table, the second
    half insert ids past its end; values changed."""
    path = work / f"merge-source-{count}.parquet"
    if path.exists():
        return path
    half = count // 2
    step = max(1, total // max(1, half))
    existing = rows_for(range(0, min(total, half * step), step))
    source = pa.concat_tables([existing, rows(total, count - existing.num_rows)])
    source = source.set_column(source.schema.get_field_index("value"), "value",
                               pa.array([-1.0] * source.num_rows))
    pq.write_table(source, path)
    return path


MERGE_SOURCE: Path | None = None


def run_nlk(table: Path, operation: str) -> float:
    if operation == "merge":
        command = [NLK, "table", "merge", str(table), "--source", str(MERGE_SOURCE), "--on", "t.id = s.id",
                   "--when-matched", "UPDATE SET *", "--when-not-matched", "INSERT *"]
    elif operation == "delete":
        command = [NLK, "table", "delete", str(table), "--where", DELETE_PREDICATE]
    else:
        command = [NLK, "table", "update", str(table), "--set", "value = value * 2", "--where", UPDATE_SESSION]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def run_deltars(table: Path, operation: str) -> float:
    predicate = {"delete": DELETE_PREDICATE, "update": UPDATE_SESSION, "merge": str(MERGE_SOURCE)}[operation]
    done = subprocess.run([PYTHON, "-c", DELTARS_OPERATION, str(table), operation, predicate],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout)["seconds"]


# What limits nlk where delta-rs is faster (measured on the default size; see the table).
LIMITS = (
    "Where nlk is slower: copy-on-write reads and rewrites the touched files one after another on "
    "one thread (delta-rs runs the rewrite through DataFusion on every core), and it matches rows "
    "one at a time against the deletion vector; reading the files of one operation concurrently "
    "and matching with Arrow's vectorised filter are the next steps. Deletion vectors avoid the "
    "rewrite altogether: a few bytes per file instead of the file.")

CASES = [
    ("DELETE 1 % (copy-on-write)", "delete", "nlk"),
    ("DELETE 1 % (deletion vectors)", "delete", "nlk-dv"),
    ("UPDATE one session", "update", "nlk"),
    ("MERGE upsert (copy-on-write)", "merge", "nlk"),
    ("MERGE upsert (deletion vectors)", "merge", "nlk-dv"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--merge-rows", type=int, default=100_000, help="MERGE source rows")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "data" / "dml")
    parser.add_argument("--no-publish", action="store_true", help="print, do not edit docs")
    args = parser.parse_args()

    global MERGE_SOURCE
    templates = make_templates(args.work / f"{args.rows}-{args.files}", args.rows, args.files)
    MERGE_SOURCE = merge_source(args.work, args.rows, min(args.merge_rows, args.rows))
    scratch = args.work / "scratch"
    results = []
    for name, operation, nlk_template in CASES:
        times: dict[str, list[float]] = {"nlk": [], "delta-rs": []}
        for repetition in range(args.repetitions):
            order = ["nlk", "delta-rs"] if repetition % 2 == 0 else ["delta-rs", "nlk"]
            for contender in order:
                shutil.rmtree(scratch, ignore_errors=True)
                template = templates[nlk_template if contender == "nlk" else "delta-rs"]
                shutil.copytree(template, scratch)
                runner = run_nlk if contender == "nlk" else run_deltars
                times[contender].append(runner(scratch, operation))
        ours = statistics.median(times["nlk"])
        theirs = statistics.median(times["delta-rs"])
        results.append((name, ours, theirs))
        print(f"{name}: nlk {ours:.3f} s, delta-rs {theirs:.3f} s, ratio {ours / theirs:.2f}", flush=True)
    shutil.rmtree(scratch, ignore_errors=True)

    command = (f"NLK_BIN=build/tools/nlk .venv/bin/python bench/dml_bench.py --rows {args.rows} "
               f"--files {args.files} --repetitions {args.repetitions} --merge-rows {args.merge_rows}")
    lines = [
        "## DELETE, UPDATE and MERGE",
        "",
        f"{args.rows:,} rows in {args.files} files (5 columns), medians of {args.repetitions} "
        f"alternating repetitions on fresh copies, {machine()}. nlk is timed as a whole process "
        "(start-up included), delta-rs inside Python (the operation only). delta-rs has no "
        "deletion-vector writes, so its row is the same rewrite in both DELETE and both MERGE "
        f"cases. The MERGE source has {min(args.merge_rows, args.rows):,} rows: half update rows "
        "spread over every file, half are new.",
        "",
        "| operation | nlk (s) | delta-rs (s) | nlk / delta-rs |",
        "|---|---|---|---|",
    ]
    lines += [f"| {name} | {ours:.3f} | {theirs:.3f} | {ours / theirs:.2f} |" for name, ours, theirs in results]
    lines += ["", LIMITS, "", "Reproduce with:", "", f"    {command}", ""]
    section = "\n".join(lines)
    if args.no_publish:
        print(section)
    else:
        # "## DELETE" also finds the section under its earlier heading, "## DELETE and UPDATE".
        replace_section(ROOT / "docs" / "benchmarks.md", "## DELETE", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
