"""The package imports wherever it is installed relative to pyarrow: next to it in one
site-packages (as pip installs it), or in another directory than the pyarrow it uses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import neuralake


def test_imports_from_a_directory_without_pyarrow_beside_it(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(os.path.dirname(neuralake.__file__), elsewhere / "neuralake",
                    ignore=shutil.ignore_patterns("__pycache__"))
    script = textwrap.dedent(f"""
        import pyarrow as pa
        import neuralake
        assert neuralake.__file__.startswith({str(elsewhere)!r}), neuralake.__file__
        table = neuralake.write_table({str(tmp_path / "t")!r}, pa.table({{"x": [1, 2]}}))
        assert table.to_arrow(filter="x = 2").num_rows == 1
    """)
    environment = dict(os.environ, PYTHONPATH=str(elsewhere))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, env=environment, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
