"""Keep a dolmakit process from importing pandas, which pyarrow loads only to look at it.

On its first array or table, pyarrow imports pandas (about 0.2 CPU seconds, more than some
stages' work on a small shard) to see whether its input is a pandas object; dolmakit never
hands it one. `skip_pandas_probe` makes that first look find no pandas: when pyarrow is
imported, one empty array is built while an import of pandas fails. pyarrow remembers "no
pandas" for that look only; any later use that needs pandas (`Table.to_pandas`, a DataFrame
given to `pa.table`) imports it then, as usual. Installed by the command line's entry points
and in pool workers, never by `import dolmakit`, so a library user's process is untouched.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any


def skip_pandas_probe() -> None:
    """Make pyarrow's first pandas check, when pyarrow is imported, fail without pandas."""
    if "pyarrow" in sys.modules or "pandas" in sys.modules:
        return  # too late to matter, or pandas is here anyway
    if not any(isinstance(finder, _PyarrowFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PyarrowFinder())


class _PyarrowFinder(importlib.abc.MetaPathFinder):
    """Find pyarrow as usual; after it has run, let it look for pandas while pandas is away."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "pyarrow":
            return None
        sys.meta_path.remove(self)  # once; the other finders find pyarrow
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _ProbingLoader(spec.loader)
        return spec


class _ProbingLoader(importlib.abc.Loader):
    """Run pyarrow's own loader, then build one empty array with pandas unimportable."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self.loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        if "pandas" in sys.modules:
            return
        block = _NoPandas()
        sys.meta_path.insert(0, block)
        try:
            module.array([])
        except Exception:  # another pyarrow version: it simply looks later
            pass
        finally:
            sys.meta_path.remove(block)


class _NoPandas(importlib.abc.MetaPathFinder):
    """Fail every import of pandas while installed."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == "pandas" or fullname.startswith("pandas."):
            raise ModuleNotFoundError("pandas is not needed here", name=fullname)
        return None
