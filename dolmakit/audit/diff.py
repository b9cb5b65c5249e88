"""Compare two mixes: their specs, their sources' numbers, and the documents added or removed.

Documents are matched by (source, input path, id); a document whose number of copies changed
is counted apart from those added or removed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dolmakit.audit.folder import MixFolder, open_mix
from dolmakit.audit.sources import SourceRow, source_rows
from dolmakit.io.units import counted
from dolmakit.mix.files import read_table
from dolmakit.mix.manifest import Takedown

DocKey = tuple[str, str, str]
EXAMPLES = 5


@dataclass(frozen=True)
class SpecChange:
    """One spec field that differs: its dotted path and both values (None: absent)."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class SourceChange:
    """One source's numbers in both mixes (None: the source is not in that mix)."""

    name: str
    before: SourceRow | None
    after: SourceRow | None


@dataclass
class MixDiff:
    """What changed from mix A to mix B."""

    a: str
    b: str
    spec: list[SpecChange] = field(default_factory=list)
    sources: list[SourceChange] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    recopied: int = 0
    kept: int = 0
    added_examples: list[DocKey] = field(default_factory=list)
    removed_examples: list[DocKey] = field(default_factory=list)
    # Takedown requests B carries that A does not (B made from A by `dolmakit takedown`).
    takedowns: list[Takedown] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """Return true when specs and documents are the same."""
        return not (self.spec or self.added or self.removed or self.recopied)


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key in sorted(value):
            _flatten(value[key], f"{prefix}.{key}" if prefix else str(key), out)
    elif (
        isinstance(value, list)
        and value
        and all(isinstance(v, dict) and "name" in v for v in value)
    ):
        for item in value:
            _flatten(
                {k: v for k, v in item.items() if k != "name"}, f"{prefix}[{item['name']}]", out
            )
    else:
        out[prefix] = value


def spec_changes(a: dict[str, Any], b: dict[str, Any]) -> list[SpecChange]:
    """Return the differing fields of two specs; sources are matched by name."""
    flat_a: dict[str, Any] = {}
    flat_b: dict[str, Any] = {}
    _flatten(a, "", flat_a)
    _flatten(b, "", flat_b)
    return [
        SpecChange(key, flat_a.get(key), flat_b.get(key))
        for key in sorted(set(flat_a) | set(flat_b))
        if flat_a.get(key) != flat_b.get(key) or (key in flat_a) != (key in flat_b)
    ]


def _documents(mix: MixFolder) -> Counter[DocKey]:
    """Count copies of each (source, path, id) in the mix's index."""
    table = read_table(mix.folder / mix.manifest.index.path, columns=["source", "path", "id"])
    columns = [table.column(c).to_pylist() for c in ("source", "path", "id")]
    return Counter(zip(*columns, strict=True))


def diff_mixes(mix_a: str | Path, mix_b: str | Path, *, every: bool = False) -> MixDiff:
    """Compare mix A (before) with mix B (after); `every` lists all added and removed documents.

    Without `every`, the first EXAMPLES of each are kept as examples.
    """
    a, b = open_mix(mix_a), open_mix(mix_b)
    before, after = a.manifest, b.manifest
    result = MixDiff(f"{before.name} v{before.version}", f"{after.name} v{after.version}")
    result.spec = spec_changes(before.spec, after.spec)
    rows_a = {r.name: r for r in source_rows(before)}
    rows_b = {r.name: r for r in source_rows(after)}
    names = list(rows_a) + [n for n in rows_b if n not in rows_a]
    result.sources = [SourceChange(n, rows_a.get(n), rows_b.get(n)) for n in names]
    docs_a, docs_b = _documents(a), _documents(b)
    added = sorted(k for k in docs_b if k not in docs_a)
    removed = sorted(k for k in docs_a if k not in docs_b)
    result.added, result.removed = len(added), len(removed)
    shown = None if every else EXAMPLES
    result.added_examples, result.removed_examples = added[:shown], removed[:shown]
    seen = {t.list_sha256 + t.date + str(t.number) for t in before.takedowns or ()}
    result.takedowns = [
        t for t in after.takedowns or () if t.list_sha256 + t.date + str(t.number) not in seen
    ]
    common = [k for k in docs_a if k in docs_b]
    result.recopied = sum(1 for k in common if docs_a[k] != docs_b[k])
    result.kept = len(common)
    return result


def _signed(value: float, fmt: str) -> str:
    return ("+" if value > 0 else "") + format(value, fmt)


def format_diff(diff: MixDiff) -> str:
    """Return a terminal report of a diff."""
    lines = [f"{diff.a} -> {diff.b}", "", "spec:"]
    if not diff.spec:
        lines.append("  identical")
    for change in diff.spec:
        lines.append(f"  {change.field}: {change.before!r} -> {change.after!r}")
    lines.extend(["", "sources (documents, tokens, realised share):"])
    for s in diff.sources:
        if s.before is None or s.after is None:
            row = s.after or s.before
            assert row is not None
            state = "added" if s.before is None else "removed"
            lines.append(
                f"  {s.name}: {state} ({counted(row.documents, 'document')},"
                f" {counted(row.tokens, 'token')})"
            )
            continue
        b, a = s.before, s.after
        lines.append(
            f"  {s.name}: documents {b.documents:,} -> {a.documents:,}"
            f" ({_signed(a.documents - b.documents, ',')}),"
            f" tokens {b.tokens:,} -> {a.tokens:,} ({_signed(a.tokens - b.tokens, ',')}),"
            f" share {100 * b.realised_share:.2f}% -> {100 * a.realised_share:.2f}%"
        )
    lines.extend(
        [
            "",
            f"documents: {diff.added:,} added, {diff.removed:,} removed,"
            f" {diff.kept:,} in both ({diff.recopied:,} with a different number of copies)",
        ]
    )
    for t in diff.takedowns:
        lines.append(
            f"  takedown {t.number} ({t.reason}, {t.date}): {counted(t.documents, 'document')}"
            f" removed ({t.copies:,} output copies, {t.tokens:,} tokens); {t.kind} list sha256"
            f" {t.list_sha256[:16]}..., {t.entries_matched:,} of {t.entries:,} entries matched"
        )
    for title, examples in (("added", diff.added_examples), ("removed", diff.removed_examples)):
        for source, path, doc_id in examples:
            lines.append(f"  {title}: {doc_id}  ({source}, {path})")
    return "\n".join(lines)
