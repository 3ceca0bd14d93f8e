"""Dual-engine benchmark: the same queries in Spark SQL (on the standalone cluster of
scripts/spark.sh) and in nlk (`nlk sql`, one process per query, and `nlk serve`, a warm server),
on the same Delta tables written by `nlk datagen`, at several sizes; then the ELT jobs' rows per
second with one and with two workers.

    .venv/bin/python bench/dual_engine_bench.py [--scales 1000000,10000000,100000000]
        [--repeats 3] [--jobs-scale 1000000] [--out bench/data/dual_engine.json]

Needs nlk (NLK_BIN or build/tools/nlk) and `scripts/spark.sh install`. The tables go under
bench/data/dual_engine/ (ignored by git); the largest is deleted after its queries. The cluster is
started and stopped by the benchmark, on the ports of NLK_SPARK_MASTER_PORT,
NLK_SPARK_MASTER_UI_PORT and NLK_SPARK_WORKER_UI_PORT (defaults 17077, 18080, 18081), each worker
with 1 core and NLK_SPARK_WORKER_MEMORY (default 2g).

Medians of --repeats runs; the engines alternate within each repetition. Spark is timed in one
long-lived application (session start excluded, like nlk serve's), `nlk sql` including its
process start and table open, which is what a one-off query costs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "jobs"))
SPARK_SH = REPO / "scripts" / "spark.sh"
NLK = os.environ.get("NLK_BIN", str(REPO / "build" / "tools" / "nlk"))
DATA = REPO / "bench" / "data" / "dual_engine"
DEVICES, CHANNELS, RATE = 2, 32, 1000  # 64 rows per millisecond
ROWS_PER_SECOND = DEVICES * CHANNELS * RATE
START = "2026-01-01T00:00:00Z"
SERVE_PORT = int(os.environ.get("NLK_BENCH_SERVE_PORT", "18700"))


def queries(seconds: float) -> dict[str, str]:
    """The five queries, over a table of `seconds` of data from START."""
    middle = int(seconds / 2 * 1000)  # ms
    lookup = f"TIMESTAMP '2026-01-01 00:{middle // 60000:02d}:{middle % 60000 // 1000:02d}.{middle % 1000:03d}'"
    tenth = max(1, int(seconds / 10))
    range_start = f"TIMESTAMP '2026-01-01 00:00:00'"
    range_end = f"TIMESTAMP '2026-01-01 {tenth // 3600:02d}:{tenth % 3600 // 60:02d}:{tenth % 60:02d}'"
    return {
        "point lookup": "SELECT voltage_uv FROM samples WHERE device_id = 'device-001' AND "
                        f"channel = 3 AND timestamp = {lookup}",
        "time-range scan": f"SELECT count(*) AS n, avg(voltage_uv) AS mean FROM samples WHERE "
                           f"timestamp >= {range_start} AND timestamp < {range_end}",
        "per-channel aggregate": "SELECT device_id, channel, count(*) AS n, avg(voltage_uv) AS "
                                 "mean, min(voltage_uv) AS low, max(voltage_uv) AS high FROM "
                                 "samples GROUP BY device_id, channel",
        "join with channel map": "SELECT e.region, count(*) AS n, avg(s.voltage_uv) AS mean FROM "
                                 "samples s JOIN electrodes e ON s.device_id = e.device_id AND "
                                 "s.channel = e.channel GROUP BY e.region",
        "moving average": "SELECT count(*) AS n, max(ma) AS high FROM (SELECT avg(voltage_uv) "
                          "OVER (PARTITION BY device_id, channel ORDER BY timestamp ROWS BETWEEN "
                          "9 PRECEDING AND CURRENT ROW) AS ma FROM samples WHERE device_id = "
                          "'device-001' AND channel = 3) t",
    }


def run(command: list[str], timeout: float = 3600, env: dict | None = None, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            env=env, stdin=subprocess.DEVNULL, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return result


def generate(root: Path, rows: int) -> float:
    """The raw tables for `rows` samples, and the electrode map (the catalog's function table,
    written once as Parquet so that every engine reads the same file); returns the seconds of
    data."""
    seconds = rows / ROWS_PER_SECOND
    for kind in ("samples", "spikes", "band_power"):
        run([NLK, "datagen", "--kind", kind, "--devices", str(DEVICES), "--channels",
             str(CHANNELS), "--rate", str(RATE), "--duration", f"{seconds:.3f}", "--start", START,
             "--table", str(root / "neural" / kind), "--partition-by", "date"])
    run([NLK, "sql", "--catalog", "--root", str(root), "--format", "parquet", "--out",
         str(root / "electrodes.parquet"), "SELECT * FROM neural.electrodes"])
    return seconds


class Cluster:
    def __init__(self, workers: int):
        self.env = dict(os.environ,
                        NLK_SPARK_DIR=str(DATA / "spark"),
                        NLK_SPARK_WORKER_MEMORY=os.environ.get("NLK_SPARK_WORKER_MEMORY", "2g"),
                        NLK_SPARK_DRIVER_MEMORY=os.environ.get("NLK_SPARK_DRIVER_MEMORY", "2g"),
                        NLK_SPARK_MASTER_PORT=os.environ.get("NLK_SPARK_MASTER_PORT", "17077"),
                        NLK_SPARK_MASTER_UI_PORT=os.environ.get("NLK_SPARK_MASTER_UI_PORT", "18080"),
                        NLK_SPARK_WORKER_UI_PORT=os.environ.get("NLK_SPARK_WORKER_UI_PORT", "18081"),
                        NLK_BIN=NLK)
        self.workers = workers
        self.url = f"spark://127.0.0.1:{self.env['NLK_SPARK_MASTER_PORT']}"

    def __enter__(self):
        run([str(SPARK_SH), "cluster", "start", "--workers", str(self.workers)], env=self.env,
            timeout=300)
        return self

    def __exit__(self, *exc):
        subprocess.run([str(SPARK_SH), "cluster", "stop"], env=self.env, capture_output=True,
                       timeout=120)


def spark_session(cluster: Cluster):
    """A long-lived application on the cluster, with the jars and settings of spark.sh."""
    from neuralake_jobs.session import class_path_settings, session_settings
    from pyspark.sql import SparkSession

    manifest = Path(os.environ.get("NLK_SPARK_JARS_DIR", REPO / "var" / "jars")) / "jars.manifest"
    class_path = ":".join(line for line in manifest.read_text().split() if line)
    os.environ.setdefault("SPARK_CONF_DIR", str(REPO / "scripts" / "spark-conf"))
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (SparkSession.builder.master(cluster.url).appName("neuralake-dual-engine-bench")
               .config("spark.driver.memory", cluster.env["NLK_SPARK_DRIVER_MEMORY"])
               .config("spark.executor.memory", cluster.env["NLK_SPARK_WORKER_MEMORY"])
               .config("spark.pyspark.python", sys.executable)
               .config("spark.ui.showConsoleProgress", "false"))
    for key, value in {**class_path_settings(class_path), **session_settings()}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def table_arguments(root: Path) -> list[str]:
    return [f"samples={root / 'neural' / 'samples'}", f"electrodes={root / 'electrodes.parquet'}"]


class Serve:
    def __init__(self, root: Path):
        self.root = root

    def __enter__(self):
        tables = [argument for table in table_arguments(self.root) for argument in ("-t", table)]
        self.process = subprocess.Popen(
            [NLK, "serve", *tables, "-a", f"127.0.0.1:{SERVE_PORT}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{SERVE_PORT}/health", timeout=2).read()
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nlk serve did not start: {self.process.stderr.read()}")
                time.sleep(0.2)

    def query(self, sql: str):
        request = urllib.request.Request(f"http://127.0.0.1:{SERVE_PORT}/api/sql",
                                         data=sql.encode(), method="POST")
        with urllib.request.urlopen(request, timeout=3600) as response:
            return json.loads(response.read())

    def __exit__(self, *exc):
        self.process.send_signal(signal.SIGTERM)
        self.process.communicate(timeout=60)


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def bench_queries(spark, root: Path, rows: int, seconds: float, repeats: int) -> list[dict]:
    spark.read.format("delta").load(str(root / "neural" / "samples")).createOrReplaceTempView(
        "samples")
    spark.read.parquet(str(root / "electrodes.parquet")).createOrReplaceTempView("electrodes")
    tables = [argument for table in table_arguments(root) for argument in ("--table", table)]
    results = []
    with Serve(root) as serve:
        for name, sql in queries(seconds).items():
            nlk_sql = [NLK, "sql", *tables, "--format", "csv", sql]
            # One untimed run each: JIT, caches and the OS page cache, for all three alike.
            spark.sql(sql).collect()
            serve.query(sql)
            run(nlk_sql)
            times = {"spark": [], "nlk sql": [], "nlk serve": []}
            for repeat in range(repeats):
                order = ["spark", "nlk sql", "nlk serve"]
                order = order[repeat % 3:] + order[:repeat % 3]
                for engine in order:
                    if engine == "spark":
                        times[engine].append(timed(lambda: spark.sql(sql).collect()))
                    elif engine == "nlk sql":
                        times[engine].append(timed(lambda: run(nlk_sql)))
                    else:
                        times[engine].append(timed(lambda: serve.query(sql)))
            medians = {engine: statistics.median(values) for engine, values in times.items()}
            results.append({"rows": rows, "query": name, "seconds": medians, "runs": times})
            print(f"{rows:>11,} {name:<22} " + "  ".join(
                f"{engine} {value * 1000:9.1f} ms" for engine, value in medians.items()),
                flush=True)
    return results


def bench_jobs(root: Path, rows: int, workers: int) -> list[dict]:
    results = []
    with Cluster(workers) as cluster:
        for job in ("downsample", "firing_rates", "session_summaries"):
            started = time.perf_counter()
            output = run([str(SPARK_SH), "submit", f"jobs/{job}.py", "--root", str(root),
                          "--full"], env=cluster.env, cwd=REPO).stdout
            seconds = time.perf_counter() - started
            # What the job itself took (its outputs' lines end "(N s)"), without spark-submit's
            # JVM and session start.
            in_job = sum(float(line.rsplit("(", 1)[1].split(" s)")[0])
                         for line in output.splitlines() if line.endswith(" s)"))
            # Input rows: what the job reads (samples for two of them, spikes for firing rates).
            source = "spikes" if job == "firing_rates" else "samples"
            count = int(run([NLK, "table", "read", str(root / "neural" / source), "--format",
                             "count"]).stdout.strip())
            if job == "session_summaries":
                count += int(run([NLK, "table", "read", str(root / "neural" / "band_power"),
                                  "--format", "count"]).stdout.strip())
            results.append({"job": job, "workers": workers, "input_rows": count,
                            "seconds": seconds, "rows_per_second": count / seconds,
                            "job_seconds": in_job, "job_rows_per_second": count / in_job})
            print(f"{job:<18} {workers} worker(s): {count:,} input rows in {seconds:.1f} s "
                  f"= {count / seconds:,.0f} rows/s with spark-submit, {in_job:.1f} s = "
                  f"{count / in_job:,.0f} rows/s in the job", flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="1000000,10000000,100000000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs-scale", type=int, default=1000000,
                        help="rows of samples for the ELT job runs (0: skip them)")
    parser.add_argument("--workers", type=int, default=2, help="workers for the query runs")
    parser.add_argument("--out", default=str(REPO / "bench" / "data" / "dual_engine.json"))
    arguments = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    out = Path(arguments.out)
    report = json.loads(out.read_text()) if out.exists() else {"queries": [], "jobs": []}
    scales = [int(scale) for scale in arguments.scales.split(",") if scale]
    for rows in scales:
        root = DATA / f"lake-{rows}"
        seconds = rows / ROWS_PER_SECOND
        if not (root / "neural" / "samples" / "_delta_log").exists():
            shutil.rmtree(root, ignore_errors=True)
            generated = timed(lambda: generate(root, rows))
            print(f"generated {rows:,} samples in {generated:.0f} s", flush=True)
        with Cluster(arguments.workers) as cluster:
            spark = spark_session(cluster)
            try:
                report["queries"] = [entry for entry in report["queries"] if entry["rows"] != rows]
                report["queries"] += bench_queries(spark, root, rows, seconds, arguments.repeats)
            finally:
                spark.stop()
        out.write_text(json.dumps(report, indent=1))
        if rows >= 100_000_000:
            shutil.rmtree(root)
    if arguments.jobs_scale:
        root = DATA / f"lake-{arguments.jobs_scale}"
        if not (root / "neural" / "samples" / "_delta_log").exists():
            generate(root, arguments.jobs_scale)
        report["jobs"] = []
        for workers in (1, 2):
            report["jobs"] += bench_jobs(root, arguments.jobs_scale, workers)
        out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
