"""Running the jobs of jobs/ inside a test's own SparkSession (one JVM for the whole suite),
through the same code path as `scripts/spark.sh submit` minus spark-submit."""

from __future__ import annotations

import importlib.util
import sys

from nlkcli import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "jobs"))
from neuralake_jobs import catalog as job_catalog  # noqa: E402
from neuralake_jobs import runner  # noqa: E402

JOBS = ("downsample", "firing_rates", "session_summaries")


def load_job(name: str):
    spec = importlib.util.spec_from_file_location(f"job_{name}", REPO_ROOT / "jobs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_job(spark, root, name: str, full: bool = False, manifest: str | None = None):
    """The job's results, one per output (runner.Result)."""
    catalog = job_catalog.Catalog.load(str(root), manifest)
    module = load_job(name)
    return [runner.run_output(spark, catalog, module.JOB, module.JOB_PATH, output, full)
            for output in module.OUTPUTS]
