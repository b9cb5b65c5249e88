"""`dolmakit audit contamination`: which benchmark examples a finished mix contains.

Every shard is checked against the manifest's sha256 (a changed shard is an error: run
`audit verify`), then read in batches and matched against the index with the tagger's rule
(`dolmakit.contamination.match`). Per benchmark: examples found, their share of the
benchmark's detectable examples, the sources and documents they are in, the longest
overlaps. `ok` is False when a share exceeds `max_share`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dolmakit.audit.folder import open_mix
from dolmakit.contamination.lookup import open_index
from dolmakit.contamination.match import DEFAULT_MIN_COVERAGE, check_min_coverage, match_texts
from dolmakit.errors import ConfigError, DolmakitError
from dolmakit.io.arrays import read_table
from dolmakit.io.digest import file_sha256
from dolmakit.io.reader import read_documents
from dolmakit.io.rejects import Rejects
from dolmakit.io.units import counted
from dolmakit.run.backends import Backend, SerialBackend

_BATCH = 512
_SNIPPET = 160


@dataclass(frozen=True)
class Occurrence:
    """Where one example was found: the document and how much of the example it holds."""

    example_id: str
    number: int
    coverage: float
    words: int
    source: str
    document: str
    shard: int
    row: int
    input: str
    snippet: str


@dataclass
class BenchmarkFinding:
    """One benchmark's contamination in the mix."""

    name: str
    examples: int
    detectable: int
    found: int = 0
    documents: int = 0
    sources: dict[str, int] = field(default_factory=dict)
    longest: list[Occurrence] = field(default_factory=list)

    @property
    def share(self) -> float:
        """Return the found share of the benchmark's detectable examples."""
        return self.found / self.detectable if self.detectable else 0.0


@dataclass
class ContaminationReport:
    """The audit's result; `ok` is False when a benchmark's share exceeds `max_share`."""

    mix: str
    index: str
    index_sha256: str
    n: int
    min_coverage: float
    max_share: float | None
    documents: int
    benchmarks: list[BenchmarkFinding]
    mix_record: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        """Return True unless some benchmark's share is above `max_share`."""
        return self.max_share is None or all(b.share <= self.max_share for b in self.benchmarks)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        out = asdict(self)
        for bench, raw in zip(self.benchmarks, out["benchmarks"], strict=True):
            raw["share"] = bench.share
        out["ok"] = self.ok
        return out


@dataclass(frozen=True)
class _ShardJob:
    path: str
    shard: int
    index: str
    min_coverage: float


def _scan_shard(job: _ShardJob) -> list[tuple[int, int, float, int, str]]:
    """Return (row, example, coverage, words, snippet) for every present example of a shard."""
    index = open_index(job.index)
    found: list[tuple[int, int, float, int, str]] = []
    rejects = Rejects(on_error="fail")
    for rows, texts in _batches(read_documents(job.path, rejects)):
        for row, text, result in zip(
            rows, texts, match_texts(index, texts, job.min_coverage), strict=True
        ):
            for hit in result.hits:
                start, end = max(hit.regions, key=lambda r: r[1] - r[0])
                snippet = " ".join(text[start:end].split())
                if len(snippet) > _SNIPPET:
                    snippet = snippet[: _SNIPPET - 3] + "..."
                found.append((row, hit.example, hit.coverage, hit.words, snippet))
    return found


def _batches(items: Iterator[tuple[int, Any]]) -> Iterator[tuple[list[int], list[str]]]:
    rows: list[int] = []
    texts: list[str] = []
    for row, (_, doc) in enumerate(items):
        rows.append(row)
        texts.append(doc.text)
        if len(texts) >= _BATCH:
            yield rows, texts
            rows, texts = [], []
    if texts:
        yield rows, texts


def audit_contamination(
    mix_dir: str | Path,
    index: str | Path,
    *,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
    max_share: float | None = None,
    top: int = 5,
    backend: Backend | None = None,
) -> ContaminationReport:
    """Return the benchmark examples found in the mix at `mix_dir`, per benchmark."""

    check_min_coverage(min_coverage)
    if max_share is not None and not 0.0 <= max_share <= 1.0:
        raise ConfigError(f"--max-share {max_share}: use a share in [0, 1]")
    mix = open_mix(mix_dir)
    manifest = mix.manifest
    opened = open_index(index)
    folder = mix.folder
    for record in manifest.shards:
        if file_sha256(folder / record.path) != record.sha256:
            raise DolmakitError(
                f"{folder / record.path}: sha256 differs from the manifest; run "
                "`dolmakit audit verify` first"
            )
    table = read_table(folder / manifest.index.path, columns=["shard", "row", "source", "id"])
    where: dict[tuple[int, int], tuple[str, str]] = {}
    paths = read_table(folder / manifest.index.path, columns=["path", "line"]).to_pydict()
    cols = table.to_pydict()
    for i, (s, r) in enumerate(zip(cols["shard"], cols["row"], strict=True)):
        where[(s, r)] = (cols["source"][i], cols["id"][i])
    keys = zip(cols["shard"], cols["row"], strict=True)
    places = zip(paths["path"], paths["line"], strict=True)
    inputs = {key: f"{p}:{ln}" for key, (p, ln) in zip(keys, places, strict=True)}
    jobs = [
        _ShardJob(str(folder / rec.path), i, str(opened.path), min_coverage)
        for i, rec in enumerate(manifest.shards)
    ]
    findings = _findings(opened)
    best: dict[int, Occurrence] = {}
    docs_hit: list[set[tuple[int, int]]] = [set() for _ in findings]
    examples_hit: list[dict[str, set[int]]] = [{} for _ in findings]
    for i, rows in (backend or SerialBackend()).map(_scan_shard, jobs):
        for row, example, coverage, words, snippet in rows:
            b = int(opened.example_benchmark[example])
            source, doc_id = where.get((i, row), ("?", "?"))
            docs_hit[b].add((i, row))
            examples_hit[b].setdefault(source, set()).add(example)
            occ = Occurrence(
                opened.example_id[example],
                int(opened.example_number[example]),
                coverage,
                words,
                source,
                doc_id,
                i,
                row,
                inputs.get((i, row), "?"),
                snippet,
            )
            old = best.get(example)
            if old is None or (occ.words, occ.coverage) > (old.words, old.coverage):
                best[example] = occ
    for b, finding in enumerate(findings):
        mine = [e for e in best if int(opened.example_benchmark[e]) == b]
        finding.found = len(mine)
        finding.documents = len(docs_hit[b])
        finding.sources = {s: len(e) for s, e in sorted(examples_hit[b].items())}
        ranked = sorted(
            (best[e] for e in mine), key=lambda o: (-o.words, -o.coverage, o.example_id)
        )
        finding.longest = ranked[:top]
    return ContaminationReport(
        mix=str(folder),
        index=str(opened.path),
        index_sha256=opened.sha256,
        n=opened.n,
        min_coverage=min_coverage,
        max_share=max_share,
        documents=sum(r.documents for r in manifest.shards),
        benchmarks=findings,
        mix_record=list(manifest.contamination or []),
    )


def _findings(index: Any) -> list[BenchmarkFinding]:
    out = []
    for b, record in enumerate(index.record["benchmarks"]):
        counts = record["examples"]
        skipped = sum(s["count"] for s in record["rows_skipped"].values())
        out.append(
            BenchmarkFinding(
                name=index.benchmark_names[b],
                examples=sum(counts.values()) + skipped,
                detectable=counts["indexed"],
            )
        )
    return out


def format_report(report: ContaminationReport) -> str:
    """Return the report as text: a line per benchmark, its sources, its longest overlaps."""
    lines = [
        f"mix {report.mix}: {report.documents:,} documents against index {report.index} "
        f"(sha256 {report.index_sha256[:12]}, n={report.n}, min coverage {report.min_coverage})"
    ]
    for rec in report.mix_record:
        same = "this index" if rec.get("sha256") == report.index_sha256 else "another index"
        lines.append(
            f"  the mix was built with contamination run {rec.get('run')!r}: "
            f"{rec.get('index')} ({same})"
        )
    for b in report.benchmarks:
        flag = ""
        if report.max_share is not None and b.share > report.max_share:
            flag = f"  ABOVE --max-share {report.max_share:g}"
        lines.append(
            f"{b.name}: {b.found:,} of {b.detectable:,} detectable examples found "
            f"({b.share:.1%}; {b.examples:,} in the benchmark) in {b.documents:,} documents{flag}"
        )
        for source, count in b.sources.items():
            lines.append(f"  source {source}: {counted(count, 'example')}")
        for o in b.longest:
            lines.append(
                f"  {o.example_id} (#{o.number}): {o.words} words, coverage {o.coverage:.2f}, "
                f"document {o.document} ({o.source}, shard {o.shard} row {o.row}, from {o.input})"
            )
            lines.append(f'    "{o.snippet}"')
    lines.append("ok" if report.ok else "FAILED: a benchmark's share is above --max-share")
    return "\n".join(lines)
