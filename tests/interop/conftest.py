"""Fixtures for the interop tests: tables and readers of third-party tools against the nlk CLI.

Run:  scripts/spark.sh install && .venv/bin/python -m pytest tests/interop
Environment:
  NLK_BIN               the nlk CLI (default build/tools/nlk under the repo root)
  NLK_REQUIRE_SPARK=1   fail, instead of skip, the tests that need Spark when it is not installed
  NLK_TIMEOUT           seconds one nlk call may take before it counts as hung (default 120)
  NLK_TEST_S3_ENDPOINT  a MinIO/S3 endpoint (e.g. http://127.0.0.1:9000) for the S3 variants;
                        credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (default
                        minioadmin), bucket NLK_TEST_S3_BUCKET (default neuralake)
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import compare  # noqa: E402
import nlkcli  # noqa: E402
from producers import TableFactory  # noqa: E402
from spark_session import SparkUnavailable, make_spark_session  # noqa: E402

# One Spark session per pytest run (starting one costs ~4 s and ~1 GB); created on first use.
_spark_state: dict = {"session": None, "error": None, "start_seconds": None, "dir": None}
_factory_holder: list[TableFactory] = []


def _require_spark() -> bool:
    return os.environ.get("NLK_REQUIRE_SPARK", "") not in ("", "0")


def get_spark():
    """The shared SparkSession; skips (or fails with NLK_REQUIRE_SPARK=1) if Spark is missing."""
    if _spark_state["session"] is None and _spark_state["error"] is None:
        import tempfile
        work = Path(tempfile.mkdtemp(prefix="nlk-interop-spark-"))
        _spark_state["dir"] = work
        t0 = time.monotonic()
        try:
            _spark_state["session"] = make_spark_session(work)
            _spark_state["start_seconds"] = time.monotonic() - t0
        except SparkUnavailable as e:
            _spark_state["error"] = str(e)
    if _spark_state["error"] is not None:
        msg = f"Spark not available: {_spark_state['error']}"
        if _require_spark():
            pytest.fail(msg + " (NLK_REQUIRE_SPARK=1)", pytrace=False)
        pytest.skip(msg)
    return _spark_state["session"]


def pytest_configure(config):
    config.addinivalue_line("markers", "spark: needs Spark + delta-spark (scripts/spark.sh install)")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line("markers", "s3: needs an S3 endpoint (NLK_TEST_S3_ENDPOINT)")


def pytest_sessionfinish(session, exitstatus):
    spark = _spark_state.get("session")
    if spark is not None:
        spark.stop()
        _spark_state["session"] = None
    # The session's warehouse and scratch directory, made whether or not Spark started.
    if _spark_state.get("dir") is not None:
        shutil.rmtree(_spark_state["dir"], ignore_errors=True)
        _spark_state["dir"] = None


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    tr = terminalreporter
    if _spark_state.get("start_seconds") is not None:
        tr.write_line(f"interop: Spark session started in {_spark_state['start_seconds']:.1f}s")
    if _factory_holder and _factory_holder[0].timings:
        factory = _factory_holder[0]
        tr.section("third-party tables produced")
        for name, seconds in factory.timings.items():
            t = factory._tables[name]
            tr.write_line(f"{name} [{t.writer}, {seconds:.1f}s, {t.expected.num_rows} rows]: "
                          f"{t.log.describe()}")


# --- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def spark():
    return get_spark()


@pytest.fixture(scope="session")
def nlk() -> Path:
    """Path to the nlk CLI; a missing binary fails the test with how to build it."""
    reason = nlkcli.missing_reason()
    if reason:
        pytest.fail(reason, pytrace=False)
    return nlkcli.nlk_path()


@pytest.fixture(scope="session")
def run_nlk(nlk):
    """run_nlk(*args, check=True|False|None, timeout=None, env=None) -> CompletedProcess."""
    return nlkcli.run_nlk


@pytest.fixture(scope="session")
def interop_base(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("interop")


@pytest.fixture(scope="session")
def tables(interop_base) -> TableFactory:
    """tables.get(name) -> ProducedTable, produced once per session by delta-rs or Spark."""
    factory = TableFactory(interop_base / "foreign", get_spark)
    _factory_holder[:] = [factory]
    return factory


@pytest.fixture(scope="session")
def assert_same_rows():
    return compare.assert_same_rows


# --- S3 (MinIO) -------------------------------------------------------------------------------

def s3_settings() -> dict | None:
    endpoint = os.environ.get("NLK_TEST_S3_ENDPOINT")
    if not endpoint:
        return None
    return {
        "endpoint": endpoint,
        "bucket": os.environ.get("NLK_TEST_S3_BUCKET", "neuralake"),
        "key": os.environ.get("AWS_ACCESS_KEY_ID", "minioadmin"),
        "secret": os.environ.get("AWS_SECRET_ACCESS_KEY", "minioadmin"),
        "region": os.environ.get("AWS_REGION", "us-east-1"),
    }


class TableLocation:
    """Where a test table lives: a local directory or an S3 prefix, with what each tool needs."""

    def __init__(self, kind: str, uri: str, local_path: Path | None, nlk_env: dict,
                 storage_options: dict | None):
        self.kind = kind
        self.uri = uri
        self.local_path = local_path
        self.nlk_env = nlk_env
        self.storage_options = storage_options

    def __repr__(self):
        return f"TableLocation({self.kind}, {self.uri})"


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def table_location(request, tmp_path) -> TableLocation:
    """A fresh, empty table location: a local directory, or (when NLK_TEST_S3_ENDPOINT is set) a
    unique prefix in the MinIO bucket."""
    if request.param == "local":
        path = tmp_path / "table"
        return TableLocation("local", str(path), path, {}, None)
    return _s3_location()


@pytest.fixture
def s3_location() -> TableLocation:
    """A fresh prefix in the MinIO bucket; skips when NLK_TEST_S3_ENDPOINT is unset."""
    return _s3_location()


def _s3_location() -> TableLocation:
    s3 = s3_settings()
    if s3 is None:
        pytest.skip("NLK_TEST_S3_ENDPOINT is not set (start MinIO with scripts/minio.sh start)")
    uri = f"s3://{s3['bucket']}/interop/{uuid.uuid4().hex}/table"
    env = {"AWS_ENDPOINT_URL": s3["endpoint"], "AWS_ACCESS_KEY_ID": s3["key"],
           "AWS_SECRET_ACCESS_KEY": s3["secret"], "AWS_REGION": s3["region"], "AWS_ALLOW_HTTP": "true"}
    options = {"AWS_ENDPOINT_URL": s3["endpoint"], "AWS_ACCESS_KEY_ID": s3["key"],
               "AWS_SECRET_ACCESS_KEY": s3["secret"], "AWS_REGION": s3["region"], "AWS_ALLOW_HTTP": "true",
               "AWS_S3_ALLOW_UNSAFE_RENAME": "true"}
    return TableLocation("s3", uri, None, env, options)
