"""What a dedup run reports: the summary (printed and `summary.json`) and `clusters.parquet`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from dolmakit.dedup.index import load_meta, load_numbers
from dolmakit.io import storage
from dolmakit.io.arrays import write_table
from dolmakit.io.atomic import write_bytes_atomic
from dolmakit.io.duplicate_ids import IdTable, find_duplicate_ids
from dolmakit.io.rejects import OnError
from dolmakit.io.units import counted
from dolmakit.run.runner import RunSummary

CLUSTER_COLUMNS = (
    "cluster",
    "path",
    "line",
    "id",
    "source",
    "keeper",
    "removed",
    "similarity",
    "paragraph",
    "start",
    "end",
)


@dataclass
class DedupSummary:
    """Totals of one dedup run; `removed` documents carry the `duplicate` attribute."""

    run: str
    method: str
    report_dir: Path
    documents: int = 0
    clusters: int = 0
    in_clusters: int = 0
    removed: int = 0
    chained_clusters: int = 0
    candidate_pairs: int = 0
    verified_pairs: int = 0
    indexed_documents: int = 0
    per_source: dict[str, dict[str, int]] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    read: RunSummary[Any] | None = None
    warnings: list[str] = field(default_factory=list)

    def set_per_source(
        self, documents: Sequence[Mapping[str, int]], removed: Mapping[str, int]
    ) -> None:
        """Set the documents and removed documents of every source, sorted by source."""
        total: Counter[str] = Counter()
        for per_shard in documents:
            total.update(per_shard)
        self.per_source = {
            s: {"documents": total[s], "removed": removed.get(s, 0)} for s in sorted(total)
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form written to summary.json."""
        out = {
            "run": self.run,
            "method": self.method,
            "documents": self.documents,
            "clusters": self.clusters,
            "documents_in_clusters": self.in_clusters,
            "removed": self.removed,
            "chained_clusters": self.chained_clusters,
            "candidate_pairs": self.candidate_pairs,
            "verified_pairs": self.verified_pairs,
            "indexed_documents": self.indexed_documents,
            "per_source": self.per_source,
            "config": self.config,
            **self.extra,
        }
        if self.read is not None:
            out["lines_read"] = self.read.read
            out["rejected"] = dict(sorted(self.read.rejected.items()))
        return out

    def write(self) -> Path:
        """Write summary.json into the report folder and return its path."""
        path = self.report_dir / "summary.json"
        write_bytes_atomic(path, msgspec.json.format(msgspec.json.encode(self.to_dict())) + b"\n")
        return path

    def lines(self) -> list[str]:
        """Return the human summary printed by the command line.

        Nothing is removed here: duplicates are only marked, and the mixer drops them.
        """
        out = self.read.lines() if self.read is not None else []
        what = "paragraph" if self.method == "exact-paragraph" else "document"
        out.append(
            f"dedup {self.method} ({self.run}): {counted(self.documents, 'document')},"
            f" {counted(self.clusters, 'cluster')} of {counted(self.in_clusters, what)},"
            f" {_marked(self.removed, what)}"
        )
        if self.indexed_documents:
            out.append(f"  compared against {counted(self.indexed_documents, 'indexed document')}")
        if self.method == "minhash":
            out.append(
                f"  {counted(self.candidate_pairs, 'candidate pair')},"
                f" {self.verified_pairs:,} verified;"
                f" {counted(self.chained_clusters, 'chained cluster')}"
            )
        for source, counts in self.per_source.items():
            out.append(
                f"  {source or '(no source)'}: {counted(counts['documents'], 'document')},"
                f" {_marked(counts['removed'], what)}"
            )
        out.extend(f"  warning: {w}" for w in self.warnings)
        out.append(f"  report: {self.report_dir}")
        return out


def _marked(n: int, what: str) -> str:
    """Return e.g. '1 document marked as a duplicate' or '30 documents marked as duplicates'."""
    return f"{counted(n, what)} marked as " + ("a duplicate" if n == 1 else "duplicates")


def write_clusters(path: Path, columns: dict[str, list[Any]]) -> None:
    """Write clusters.parquet: one row per cluster member (document or paragraph)."""
    import pyarrow as pa

    types = {
        "cluster": pa.int64(),
        "path": pa.string(),
        "line": pa.int64(),
        "id": pa.string(),
        "source": pa.string(),
        "keeper": pa.bool_(),
        "removed": pa.bool_(),
        "similarity": pa.float64(),
        "paragraph": pa.int64(),
        "start": pa.int64(),
        "end": pa.int64(),
    }
    schema = pa.schema([pa.field(name, types[name]) for name in CLUSTER_COLUMNS if name in columns])
    table = pa.Table.from_pydict({n: columns[n] for n in schema.names}, schema=schema)
    write_table(table, path, compression="zstd")


def duplicate_ids(
    shards: Sequence[tuple[str | Path, str | Path]], summary: DedupSummary, on_error: OnError
) -> None:
    """Count documents whose (source, id) an earlier one had, over (input, shard folder) pairs.

    The count goes to the summary (`duplicate_ids`, per source) and its warning to the
    printed lines; under on_error 'fail' a repeat stops the run before any attribute is written.
    """

    def table(i: int) -> IdTable:
        path, folder = shards[i]
        ids, sources = load_meta(storage.location(folder))
        lines = load_numbers(storage.location(folder))["line"]
        return IdTable(str(path), lines, ids, sources)

    found = find_duplicate_ids(len(shards), table)
    found.check(on_error)
    summary.extra["duplicate_ids"] = {"total": found.total, "per_source": found.by_source}
    if (message := found.message()) is not None:
        summary.warnings.append(message)
