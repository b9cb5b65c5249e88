"""Summarise attribute values per source: counts, quantiles and histograms.

A key is *document-level* when every span it has covers its whole document (`[0, len(text),
score]`); its value per document is that score. Other keys are summarised per document by
their number of spans and their highest span score. Quantiles are exact (numpy's linear
interpolation between order statistics), so the values of every key are held in memory:
8 bytes per document and key.
"""

from __future__ import annotations

import fnmatch
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dolmakit.audit import charts
from dolmakit.audit.html import esc, page, table
from dolmakit.errors import DolmakitError
from dolmakit.io import storage
from dolmakit.io.atomic import write_bytes_atomic
from dolmakit.io.attributes import read_with_attributes
from dolmakit.io.paths import attribute_runs, expand_inputs, split_dataset_path
from dolmakit.io.rejects import Rejects
from dolmakit.io.units import counted
from dolmakit.run.backends import Backend, SerialBackend
from dolmakit.run.progress import Tally

ALL_SOURCES = "(all)"
NO_SOURCE = "(none)"
QUANTILES = (0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0)


@dataclass(frozen=True)
class StatsConfig:
    """What to summarise: attribute keys (exact names or glob patterns; empty: all), bins."""

    attributes: tuple[str, ...] = ()
    bins: int = 20

    def wants(self, key: str) -> bool:
        """Return true if `key` is selected."""
        return not self.attributes or any(fnmatch.fnmatchcase(key, p) for p in self.attributes)


@dataclass
class _Partial:
    """Values of one key in one source, gathered from one file (picklable)."""

    documents: int = 0
    document_level: bool = True
    values: array[float] = field(default_factory=lambda: array("d"))
    span_counts: array[int] = field(default_factory=lambda: array("q"))


@dataclass
class _FileStats:
    documents: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    keys: dict[tuple[str, str], _Partial] = field(default_factory=dict)


@dataclass(frozen=True)
class AttributeStats:
    """One attribute key in one source (or in all sources together)."""

    key: str
    source: str
    document_level: bool
    documents: int
    values: np.ndarray[Any, np.dtype[np.float64]]
    span_counts: np.ndarray[Any, np.dtype[np.int64]]

    @property
    def with_spans(self) -> int:
        """Return the number of documents with at least one span."""
        return int(np.count_nonzero(self.span_counts))

    @property
    def spans(self) -> int:
        """Return the total number of spans."""
        return int(self.span_counts.sum())

    def quantiles(self) -> dict[float, float]:
        """Return {q: value} of the per-document values (empty when there are none)."""
        if not len(self.values):
            return {}
        qs = np.quantile(self.values, QUANTILES)
        return {q: float(v) for q, v in zip(QUANTILES, qs, strict=True)}

    @property
    def mean(self) -> float | None:
        """Return the mean per-document value, or None without values."""
        return float(self.values.mean()) if len(self.values) else None

    def histogram(self, edges: np.ndarray[Any, np.dtype[np.float64]]) -> list[int]:
        """Return the number of values in each bin of `edges` (last bin closed)."""
        counts, _ = np.histogram(self.values, bins=edges)
        return [int(c) for c in counts]


@dataclass
class StatsReport:
    """Everything `dolmakit stats` found: documents per source and per-key summaries."""

    root: Path
    runs: list[str]
    config: StatsConfig
    documents: dict[str, int]
    rejected: int
    attributes: list[AttributeStats]

    def key_names(self) -> list[str]:
        """Return the attribute keys found, sorted."""
        return sorted({a.key for a in self.attributes})

    def of(self, key: str) -> list[AttributeStats]:
        """Return the summaries of `key`: each source, then all sources together."""
        return [a for a in self.attributes if a.key == key]

    def edges(self, key: str) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Return `bins + 1` histogram edges spanning all values of `key`, shared by sources."""
        total = next(a for a in self.of(key) if a.source == ALL_SOURCES)
        if not len(total.values):
            return np.linspace(0.0, 1.0, self.config.bins + 1)
        low, high = float(total.values.min()), float(total.values.max())
        if low == high:
            low, high = low - 0.5, high + 0.5
        return np.linspace(low, high, self.config.bins + 1)


def resolve_target(path: str | Path) -> tuple[Path, list[str]]:
    """Return (dataset, runs) for a dataset folder or one `<dataset>/attributes/<run>` folder."""
    target = storage.location(path).resolve()
    if not target.is_dir():
        raise DolmakitError(f"{path}: no such folder (give a dataset or an attribute run folder)")
    if target.parent.name == "attributes" and (target.parent.parent / "documents").is_dir():
        return target.parent.parent, [target.name]
    if (target / "documents").is_dir():
        attrs = target / "attributes"
        runs = sorted(p.name for p in attrs.iterdir() if p.is_dir()) if attrs.is_dir() else []
        if not runs:
            raise DolmakitError(f"{attrs}: no attribute runs; run `dolmakit tag` first")
        return target, runs
    raise DolmakitError(
        f"{path}: neither a dataset (a folder with documents/) nor an attribute run folder"
        " (<dataset>/attributes/<run>)"
    )


def compute_stats(
    path: str | Path,
    config: StatsConfig = StatsConfig(),
    *,
    backend: Backend | None = None,
) -> StatsReport:
    """Summarise the attributes of a dataset (all runs) or of one attribute run, per source."""
    if config.bins < 1:
        raise DolmakitError("--bins must be at least 1")
    dataset, runs = resolve_target(path)
    jobs: list[tuple[Path, tuple[str, ...], StatsConfig]] = []
    for doc_file in expand_inputs([dataset / "documents"]):
        file_runs = tuple(r for r in attribute_runs(doc_file) if r in runs)
        if file_runs:
            jobs.append((doc_file, file_runs, config))
    if not jobs:
        raise DolmakitError(f"{dataset}: no document file has attributes of {', '.join(runs)}")
    results: list[_FileStats | None] = [None] * len(jobs)
    for index, result in (backend or SerialBackend()).map(_file_stats, jobs):
        results[index] = result
    return _merge(dataset, runs, config, [r for r in results if r is not None])


def _file_stats(job: tuple[Path, tuple[str, ...], StatsConfig]) -> _FileStats:
    doc_file, runs, config = job
    out = _FileStats()
    rejects = Rejects()
    folder_source = _folder_source(doc_file)
    tally = Tally()
    for _, doc, attrs in read_with_attributes(doc_file, runs, rejects):
        source = doc.source or folder_source
        out.documents[source] = out.documents.get(source, 0) + 1
        length = len(doc.text)
        tally.add(length)
        for key, spans in attrs.items():
            if not config.wants(key):
                continue
            part = out.keys.get((key, source))
            if part is None:
                part = out.keys[(key, source)] = _Partial()
            part.documents += 1
            if not spans:
                part.span_counts.append(0)
                continue
            if len(spans) != 1 or spans[0][0] != 0 or spans[0][1] != length:
                part.document_level = False
            part.span_counts.append(len(spans))
            part.values.append(max(float(s[2]) for s in spans))
    tally.flush()
    out.rejected = rejects.total
    return out


def _folder_source(doc_file: Path) -> str:
    """Return the first folder below documents/ (Dolma's convention), for lines without source."""
    _, rel = split_dataset_path(doc_file)
    return rel.parts[0] if len(rel.parts) > 1 else NO_SOURCE


def _merge(
    dataset: Path, runs: list[str], config: StatsConfig, results: Iterable[_FileStats]
) -> StatsReport:
    documents: dict[str, int] = {}
    rejected = 0
    merged: dict[tuple[str, str], list[_Partial]] = {}
    for result in results:
        rejected += result.rejected
        for source, count in result.documents.items():
            documents[source] = documents.get(source, 0) + count
        for pair, part in result.keys.items():
            merged.setdefault(pair, []).append(part)
    level = {key: True for key, _ in merged}
    for (key, _), parts in merged.items():
        level[key] = level[key] and all(p.document_level for p in parts)
    stats: list[AttributeStats] = []
    for key in sorted(level):
        sources = sorted(s for k, s in merged if k == key)
        per_source = [_combine(key, s, level[key], merged[(key, s)]) for s in sources]
        stats.extend(per_source)
        stats.append(_combine_stats(key, level[key], per_source))
    return StatsReport(dataset, runs, config, dict(sorted(documents.items())), rejected, stats)


def _combine(key: str, source: str, doc_level: bool, parts: Sequence[_Partial]) -> AttributeStats:
    values = np.concatenate([np.frombuffer(p.values, dtype=np.float64) for p in parts])
    counts = np.concatenate([np.frombuffer(p.span_counts, dtype=np.int64) for p in parts])
    return AttributeStats(key, source, doc_level, sum(p.documents for p in parts), values, counts)


def _combine_stats(key: str, doc_level: bool, parts: Sequence[AttributeStats]) -> AttributeStats:
    return AttributeStats(
        key,
        ALL_SOURCES,
        doc_level,
        sum(p.documents for p in parts),
        np.concatenate([p.values for p in parts]),
        np.concatenate([p.span_counts for p in parts]),
    )


_BLOCKS = " ▁▂▃▄▅▆▇█"


def sparkline(counts: Sequence[int]) -> str:
    """Return a one-line histogram: one block character per bin, scaled to the largest."""
    top = max(counts) if counts else 0
    if top == 0:
        return " " * len(counts)
    return "".join(_BLOCKS[0 if c == 0 else max(1, round(8 * c / top))] for c in counts)


def format_report(report: StatsReport) -> str:
    """Return the terminal report: per key, a table of sources and a histogram line."""
    lines = [
        f"dataset: {report.root}   runs: {', '.join(report.runs)}",
        "documents: "
        + ", ".join(f"{s} {n:,}" for s, n in report.documents.items())
        + f"   (total {sum(report.documents.values()):,}"
        + (f", {counted(report.rejected, 'unreadable line')} skipped)" if report.rejected else ")"),
    ]
    if not report.attributes:
        lines.append("no attribute matches " + ", ".join(report.config.attributes))
    width = max([len(a.source) for a in report.attributes] + [6])
    for key in report.key_names():
        rows = report.of(key)
        doc_level = rows[0].document_level
        kind = "document-level score" if doc_level else "spans; value = highest span score"
        lines.extend(["", f"{key}  ({kind})"])
        head = f"  {'source':<{width}} {'docs':>8} "
        head += "" if doc_level else f"{'w/spans':>8} {'spans':>8} "
        head += " ".join(f"{_qname(q):>8}" for q in QUANTILES) + f" {'mean':>8}"
        lines.append(head)
        for row in rows:
            text = f"  {row.source:<{width}} {row.documents:>8,} "
            if not doc_level:
                text += f"{row.with_spans:>8,} {row.spans:>8,} "
            quants = row.quantiles()
            text += " ".join(f"{_num(quants.get(q)):>8}" for q in QUANTILES)
            text += f" {_num(row.mean):>8}"
            lines.append(text)
        edges = report.edges(key)
        total = rows[-1]
        lines.append(
            f"  histogram {_num(float(edges[0]))} |{sparkline(total.histogram(edges))}|"
            f" {_num(float(edges[-1]))}  ({report.config.bins} bins, all sources)"
        )
    return "\n".join(lines)


def _qname(q: float) -> str:
    return {0.0: "min", 1.0: "max"}.get(q, f"p{round(q * 100)}")


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}"


def stats_charts(report: StatsReport) -> dict[str, Any]:
    """Return {key: matplotlib Figure}: a histogram per key, one line per source."""
    figures: dict[str, Any] = {}
    for key in report.key_names():
        edges = report.edges(key)
        rows = [r for r in report.of(key) if r.source != ALL_SOURCES]
        label = "score" if rows[0].document_level else "highest span score"
        figures[key] = charts.histogram_chart(
            [float(e) for e in edges],
            {r.source: r.histogram(edges) for r in rows},
            title=key,
            xlabel=label,
        )
    return figures


def write_png(report: StatsReport, folder: str | Path) -> list[Path]:
    """Write one PNG histogram per key into `folder`; return the paths."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for key, fig in stats_charts(report).items():
        path = out / f"{key}.png"
        write_bytes_atomic(path, charts.png(fig))
        paths.append(path)
    return paths


def write_html(report: StatsReport, path: str | Path) -> Path:
    """Write one self-contained HTML page: per key, its table and histogram (inline SVG)."""
    sections = [
        "<p>Dataset <code>"
        + esc(str(report.root))
        + "</code>, attribute runs "
        + esc(", ".join(report.runs))
        + ".</p>",
        table(["source", "documents"], [[s, f"{n:,}"] for s, n in report.documents.items()]),
    ]
    figures = stats_charts(report)
    for key in report.key_names():
        rows = report.of(key)
        head = ["source", "docs", "with spans", "spans", *map(_qname, QUANTILES), "mean"]
        body = [
            [
                r.source,
                f"{r.documents:,}",
                f"{r.with_spans:,}",
                f"{r.spans:,}",
                *(_num(r.quantiles().get(q)) for q in QUANTILES),
                _num(r.mean),
            ]
            for r in rows
        ]
        kind = "document-level score" if rows[0].document_level else "highest span score"
        sections.append(f"<h2>{esc(key)}</h2><p>{kind}</p>")
        sections.append(table(head, body))
        sections.append(f'<figure class="chart">{charts.svg(figures[key])}</figure>')
    out = Path(path)
    write_bytes_atomic(out, page("dolmakit stats", sections).encode())
    return out
