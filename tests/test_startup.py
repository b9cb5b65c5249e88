"""A dolmakit process uses pyarrow without importing pandas, and pandas still works after."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pandas")

CODE = """
import sys
from dolmakit.startup import skip_pandas_probe
skip_pandas_probe()
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
table = pa.table({"a": pa.array(np.arange(3)), "b": ["x", "y", "z"]})
pq.write_table(table, sys.argv[1])
assert pq.read_table(sys.argv[1]).num_rows == 3
print("pandas" in sys.modules)
import pandas as pd
print(pa.table(pd.DataFrame({"c": [1, 2]})).num_rows, type(table.to_pandas()).__name__)
"""


def test_pyarrow_works_without_pandas_and_pandas_works_later(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", CODE, str(tmp_path / "t.parquet")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["False", "2", "DataFrame"]


def test_a_process_that_has_pyarrow_already_is_left_alone() -> None:
    code = (
        "import sys, pyarrow\n"
        "from dolmakit.startup import skip_pandas_probe\n"
        "before = list(sys.meta_path)\n"
        "skip_pandas_probe()\n"
        "print(sys.meta_path == before)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
