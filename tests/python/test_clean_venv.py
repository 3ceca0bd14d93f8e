"""The package builds from the repository and imports in a fresh virtual environment that has
only what PyPI provides (pyarrow and the build tools), with no project venv on its path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pyarrow
import pytest

from conftest import ROOT

# A cold build compiles the C++ layers; later builds reuse the build directory (and ccache).
BUILD_TIMEOUT = float(os.environ.get("NLK_PACKAGE_BUILD_TIMEOUT", "2400"))
# Fixed paths under the build tree rather than a temporary directory: the compiler sees the same
# include paths every run, so ccache (CCACHE_BASEDIR) and the incremental build both apply.
VENV = ROOT / "build-python-clean" / "venv"
BUILD_DIR = ROOT / "build-python-clean" / "build"


def run(arguments: list[str], timeout: float, cwd: Path | None = None) -> str:
    result = subprocess.run(arguments, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    assert result.returncode == 0, (
        f"{' '.join(arguments)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
        f"{result.stderr[-3000:]}")
    return result.stdout


@pytest.mark.slow
def test_wheel_builds_and_imports_in_a_clean_venv(tmp_path):
    if VENV.exists():
        shutil.rmtree(VENV)
    venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    python = str(VENV / "bin" / "python")
    run([python, "-m", "pip", "install", "-q", "scikit-build-core>=0.10", "nanobind>=2.0",
         f"pyarrow=={pyarrow.__version__}"], timeout=600)
    run([python, "-m", "pip", "install", "-q", "--no-build-isolation",
         f"--config-settings=build-dir={BUILD_DIR}", str(ROOT)], timeout=BUILD_TIMEOUT)

    script = textwrap.dedent(f"""
        import sys
        import pyarrow as pa
        import neuralake
        assert "{ROOT}" not in neuralake.__file__, neuralake.__file__
        uri = {str(tmp_path / "t")!r}
        table = neuralake.write_table(uri, pa.table({{"x": [1, 2, 3]}}))
        table.append(pa.table({{"x": [4]}}))
        rows = neuralake.Table(uri).to_arrow(filter="x > 2")
        assert sorted(rows.column("x").to_pylist()) == [3, 4], rows
        print("ok", neuralake.__file__)
    """)
    out = run([python, "-c", script], timeout=120, cwd=tmp_path)
    assert out.startswith("ok ")
    assert str(VENV) in out
