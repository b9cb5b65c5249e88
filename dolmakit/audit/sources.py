"""List a mix's sources from its manifest: shares, documents, tokens, repeats, the funnel."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dolmakit.io.units import counted
from dolmakit.mix.manifest import Manifest, read_manifest

# A clause removes duplicates when it names a deduplication attribute run or key.
DEDUP_CLAUSE = re.compile(r"dedup|duplicate|minhash", re.IGNORECASE)


@dataclass(frozen=True)
class FunnelStep:
    """Documents left after one step of a source's funnel."""

    step: str
    documents: int


@dataclass(frozen=True)
class SourceRow:
    """One source of a mix, as `audit sources` shows it."""

    name: str
    declared_share: float | None
    realised_share: float
    documents: int
    tokens: int
    tokens_available: int
    repeated: int
    input_files: int
    read: int
    rejected_lines: int
    passed: int
    sampled: int
    not_sampled: int
    rejected_by_clause: tuple[tuple[str, int], ...]
    duplicates_removed: int
    licence: str
    notes: str
    rate: float = 0.0

    def funnel(self) -> list[FunnelStep]:
        """Return the funnel: read, after each clause, sampled, emitted (copies counted)."""
        steps = [FunnelStep("read", self.read)]
        left = self.read
        for clause, rejected in self.rejected_by_clause:
            left -= rejected
            steps.append(FunnelStep(f"passes {clause}", left))
        steps.append(FunnelStep("sampled", self.sampled))
        steps.append(FunnelStep("emitted (with repeats)", self.documents))
        return steps


def is_dedup_clause(clause: str) -> bool:
    """Return true if a filter clause removes duplicates (it names a dedup run or key)."""
    return bool(DEDUP_CLAUSE.search(clause))


def source_rows(manifest: Manifest) -> list[SourceRow]:
    """Return one row per source, in spec order."""
    rows = []
    for section in manifest.sources:
        funnel = section.funnel
        by_clause = tuple(zip(section.clauses, funnel.rejected_by_clause, strict=True))
        rows.append(
            SourceRow(
                name=section.name,
                declared_share=section.declared_share,
                realised_share=section.realised_share,
                documents=funnel.emitted_documents,
                tokens=funnel.tokens_emitted,
                tokens_available=funnel.tokens_available,
                repeated=funnel.repeated,
                input_files=section.files,
                read=funnel.read,
                rejected_lines=funnel.rejected_lines,
                passed=funnel.passed,
                sampled=funnel.sampled,
                not_sampled=funnel.not_sampled,
                rejected_by_clause=by_clause,
                duplicates_removed=sum(n for c, n in by_clause if is_dedup_clause(c)),
                licence=section.licence,
                notes=section.notes,
                rate=section.rate,
            )
        )
    return rows


def mix_sources(mix_dir: str | Path) -> list[SourceRow]:
    """Return the per-source table of the mix in `mix_dir`."""
    return source_rows(read_manifest(mix_dir))


def sources_json(rows: list[SourceRow]) -> list[dict[str, Any]]:
    """Return the rows as JSON-ready objects, each with its funnel."""
    out = []
    for row in rows:
        obj = asdict(row)
        obj["rejected_by_clause"] = [
            {"clause": c, "documents": n} for c, n in row.rejected_by_clause
        ]
        obj["funnel"] = [asdict(step) for step in row.funnel()]
        out.append(obj)
    return out


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def format_sources(rows: list[SourceRow]) -> str:
    """Return the table and each source's funnel, for a terminal."""
    head = ("source", "declared", "realised", "documents", "tokens", "repeated", "files")
    table = [
        (
            r.name,
            _pct(r.declared_share) if r.declared_share is not None else f"rate {r.rate:g}",
            _pct(r.realised_share),
            f"{r.documents:,}",
            f"{r.tokens:,}",
            f"{r.repeated:,}",
            f"{r.input_files:,}",
        )
        for r in rows
    ]
    total_docs = sum(r.documents for r in rows)
    total_tokens = sum(r.tokens for r in rows)
    table.append(
        ("total", "", "100.00%" if rows else "-", f"{total_docs:,}", f"{total_tokens:,}", "", "")
    )
    widths = [max(len(line[i]) for line in [head, *table]) for i in range(len(head))]
    lines = []
    for line in [head, *table]:
        cells = [line[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    for r in rows:
        lines.append("")
        lines.append(
            f"{r.name}: funnel"
            + (f" ({counted(r.rejected_lines, 'unreadable line')})" if r.rejected_lines else "")
        )
        steps = r.funnel()
        width = max(len(s.step) for s in steps)
        for step in steps:
            lines.append(f"  {step.step:<{width}}  {step.documents:>10,}")
    return "\n".join(lines)
