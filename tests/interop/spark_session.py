"""The one place that knows how to start Spark with Delta Lake for the interop tests.

Used by conftest.py (one session per pytest run) and by `scripts/spark.sh verify`, which runs this
file with --smoke: start a session, write and read a Delta table in a temp dir, print timings.

The jars (delta-spark, hadoop-aws, the AWS SDK) come from `scripts/spark.sh install` (Maven, into
var/jars) and go on the class path: Spark's own --packages resolver may not reach the registry
here. The Delta and S3 settings are the jobs' own (jobs/neuralake_jobs/session.py), so a test
session reads MinIO exactly as the jobs do.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "jobs"))

from neuralake_jobs import session as job_session  # noqa: E402


class SparkUnavailable(Exception):
    """Spark or the jars are not installed (the message says how to install them)."""


def spark_class_path() -> str:
    """The jars: $NLK_SPARK_CLASSPATH (colon separated) or the manifest spark.sh wrote."""
    env = os.environ.get("NLK_SPARK_CLASSPATH", "").strip()
    if env:
        jars = [j for j in env.split(":") if j]
    else:
        manifest = Path(os.environ.get("NLK_SPARK_JARS_DIR", REPO_ROOT / "var" / "jars")) / "jars.manifest"
        if not manifest.is_file():
            raise SparkUnavailable(f"no Spark jars ({manifest} missing); run: scripts/spark.sh install")
        jars = [line.strip() for line in manifest.read_text().splitlines() if line.strip()]
    missing = [j for j in jars if not Path(j).is_file()]
    if missing or not any("delta-spark" in Path(j).name for j in jars):
        raise SparkUnavailable(f"Spark jars missing ({', '.join(missing) or 'no delta-spark jar'}); "
                               "run: scripts/spark.sh install")
    return ":".join(jars)


def _find_java_home() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and Path(home, "bin", "java").exists():
        return home
    import shutil
    java = shutil.which("java")
    if not java:
        return None
    return str(Path(java).resolve().parent.parent)


def make_spark_session(work_dir: str | os.PathLike, app_name: str = "nlk-interop"):
    """A small local-mode SparkSession with Delta Lake. Raises SparkUnavailable if not installed."""
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession
    except ImportError as e:
        raise SparkUnavailable(f"pyspark is not installed ({e}); run: scripts/spark.sh install") from e
    try:
        import delta  # noqa: F401  (delta-spark's Python API: DeltaTable)
    except ImportError as e:
        raise SparkUnavailable(f"delta-spark is not installed ({e}); run: scripts/spark.sh install") from e
    class_path = spark_class_path()
    java_home = _find_java_home()
    if java_home is None:
        raise SparkUnavailable("no java on PATH; Spark 4 needs Java 17")
    os.environ.setdefault("JAVA_HOME", java_home)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

    work_dir = Path(work_dir)
    (work_dir / "warehouse").mkdir(parents=True, exist_ok=True)
    builder = (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.driver.memory", "1g")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.warehouse.dir", str(work_dir / "warehouse"))
        .config("spark.sql.catalogImplementation", "in-memory")
        # Small tables: reconstructing a snapshot with the default 50 partitions is slow.
        .config("spark.databricks.delta.snapshotPartitions", "2")
        .config("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    )
    settings = {**job_session.class_path_settings(class_path), **job_session.session_settings()}
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _smoke() -> int:
    with tempfile.TemporaryDirectory(prefix="nlk-spark-smoke-") as tmp:
        t0 = time.monotonic()
        spark = make_spark_session(tmp, "nlk-spark-smoke")
        t1 = time.monotonic()
        path = str(Path(tmp) / "smoke_table")
        df = spark.range(0, 100).selectExpr("id", "cast(id % 3 as string) as part", "id * 1.5 as x")
        df.write.format("delta").partitionBy("part").save(path)
        spark.sql(f"DELETE FROM delta.`{path}` WHERE id < 10")
        t2 = time.monotonic()
        got = spark.read.format("delta").load(path)
        n = got.count()
        s = got.agg({"id": "sum"}).collect()[0][0]
        t3 = time.monotonic()
        version = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").agg({"version": "max"}).collect()[0][0]
        spark.stop()
        t4 = time.monotonic()
        expected_sum = sum(range(10, 100))
        ok = n == 90 and s == expected_sum and version == 1
        print(f"spark smoke: session start {t1 - t0:.1f}s, write+delete {t2 - t1:.1f}s, "
              f"read {t3 - t2:.1f}s, stop {t4 - t3:.1f}s; rows={n} sum={s} version={version} "
              f"-> {'OK' if ok else 'FAILED'}")
        return 0 if ok else 1


if __name__ == "__main__":
    if "--smoke" in sys.argv[1:]:
        try:
            sys.exit(_smoke())
        except SparkUnavailable as e:
            print(f"spark smoke: {e}", file=sys.stderr)
            sys.exit(1)
    print(__doc__)
