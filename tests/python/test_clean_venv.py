"""The package builds from the repository's files and imports in a fresh virtual environment
that has only what PyPI provides (pyarrow and the build tools), with no project venv on its
path."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
import venv
from pathlib import Path

import pyarrow
import pytest

from conftest import ROOT

BUILD_TIMEOUT = float(os.environ.get("NLK_PACKAGE_BUILD_TIMEOUT", "2400"))
# The repository's files are copied into TREE and the fresh venv made at TREE/.venv: the same
# layout as the checkout (its .venv, its build-python/), so the compiler sees the same relative
# paths as there and ccache (CCACHE_BASEDIR) reuses the objects of the checkout's builds. A
# cold cache compiles the C++ layers once.
TREE = ROOT / "build-python-clean"


def run(arguments: list[str], timeout: float, cwd: Path | None = None,
        env: dict[str, str] | None = None) -> str:
    result = subprocess.run(arguments, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                            env=env)
    assert result.returncode == 0, (
        f"{' '.join(arguments)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
        f"{result.stderr[-3000:]}")
    return result.stdout


def copy_repository(destination: Path) -> None:
    """The files git tracks or would track (not ignored), as they are in the working tree."""
    listing = run(["git", "-C", str(ROOT), "ls-files", "--cached", "--others",
                   "--exclude-standard", "-z"], timeout=60)
    for name in filter(None, listing.split("\0")):
        source = ROOT / name
        if not source.is_file():
            continue  # deleted in the working tree, not yet in the index
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


@pytest.mark.slow
def test_wheel_builds_and_imports_in_a_clean_venv(tmp_path):
    if TREE.exists():
        shutil.rmtree(TREE)
    copy_repository(TREE)
    environment = venv.EnvBuilder(with_pip=True, clear=True)
    environment.create(TREE / ".venv")
    python = str(TREE / ".venv" / "bin" / "python")
    run([python, "-m", "pip", "install", "-q", "scikit-build-core>=0.10", "nanobind>=2.0",
         f"pyarrow=={pyarrow.__version__}"], timeout=600)
    # CXX=c++: the compiler CMake picks for build/, as scripts/run-integration-tests.sh sets it.
    build_environment = dict(os.environ, CXX=os.environ.get("CXX", "c++"))
    run([python, "-m", "pip", "install", "-q", "--no-build-isolation", str(TREE)],
        timeout=BUILD_TIMEOUT, env=build_environment)

    script = textwrap.dedent(f"""
        import pyarrow as pa
        import neuralake
        assert neuralake.__file__.startswith({str(TREE / ".venv")!r}), neuralake.__file__
        uri = {str(tmp_path / "t")!r}
        table = neuralake.write_table(uri, pa.table({{"x": [1, 2, 3]}}))
        table.append(pa.table({{"x": [4]}}))
        rows = neuralake.Table(uri).to_arrow(filter="x > 2")
        assert sorted(rows.column("x").to_pylist()) == [3, 4], rows
        print("ok")
    """)
    # From a directory outside the tree, with nothing of the project on the path.
    clean = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    assert run([python, "-c", script], timeout=120, cwd=tmp_path, env=clean).strip() == "ok"
