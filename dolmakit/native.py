"""Load dolmakit's optional compiled modules (`_textstats`, `_suffix`, `_bpe`), or None for Python.

Each compiled module has a pure-Python reference that defines its results; callers use the
reference when this returns None: when the extension is not built, or when the environment
variable DOLMAKIT_PURE_PYTHON is 1.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

PURE_PYTHON_ENV = "DOLMAKIT_PURE_PYTHON"


def load_native(name: str) -> ModuleType | None:
    """Return the compiled module `dolmakit.<name>`, or None to use its pure-Python reference."""
    if os.environ.get(PURE_PYTHON_ENV) == "1":
        return None
    try:  # lazy: the C extensions are optional
        return importlib.import_module(f"dolmakit.{name}")
    except ImportError:
        return None
