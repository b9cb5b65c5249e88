"""Find the kept copy of a removed duplicate in a dedup run's `clusters.parquet`.

A dedup run writes one row per cluster member (`cluster, path, line, id, source, keeper,
removed, ...`) into `<data root>/attributes/<run>/.dolmakit/clusters.parquet` (its default
report folder, docs/dedup.md). Paragraph-level runs add `paragraph`; their rows are skipped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dolmakit.io import storage
from dolmakit.mix.files import read_table

CLUSTERS_FILE = Path(".dolmakit") / "clusters.parquet"


def _matches(row_path: str, data_root: Path, relative: str) -> bool:
    path = storage.location(row_path)
    if path.is_absolute():
        try:
            return str(path.relative_to(data_root)) == relative
        except ValueError:
            return row_path.endswith("/" + relative)
    return row_path == relative or row_path.endswith("/" + relative)


def _shown(row: dict[str, Any], data_root: Path) -> str:
    path = storage.location(row["path"])
    if path.is_absolute():
        with contextlib.suppress(ValueError):
            path = path.relative_to(data_root)
    return f"{row['id']} ({path}:{row['line']})"


def kept_duplicate(
    data_root: Path, runs: Sequence[str], relative: str, line: int, doc_id: str
) -> str | None:
    """Return 'ID (PATH:LINE)' of the keeper of the document's cluster, or None if not found."""
    for run in runs:
        clusters = data_root / "attributes" / run / CLUSTERS_FILE
        if not clusters.is_file():
            continue
        rows = [
            r
            for r in read_table(clusters, filters=[("id", "=", doc_id)]).to_pylist()
            if r.get("paragraph") is None
            and int(r["line"]) == line
            and _matches(str(r["path"]), data_root, relative)
        ]
        if not rows or rows[0].get("keeper"):
            continue
        cluster = int(rows[0]["cluster"])
        keepers = [
            r
            for r in read_table(clusters, filters=[("cluster", "=", cluster)]).to_pylist()
            if r.get("keeper") and r.get("paragraph") is None
        ]
        if keepers:
            return _shown(keepers[0], data_root)
    return None
