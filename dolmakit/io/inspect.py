"""Show documents of a file together with the attributes every run wrote for them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from dolmakit.document import Document
from dolmakit.errors import DolmakitError
from dolmakit.io.attributes import Attributes, read_with_attributes
from dolmakit.io.paths import attribute_runs, expand_inputs, split_dataset_path
from dolmakit.io.reader import read_documents
from dolmakit.io.rejects import Rejects


@dataclass(frozen=True)
class Inspected:
    """One document found by `inspect`, with where it is and its attributes."""

    path: Path
    line: int
    document: Document
    attributes: Attributes


def inspect_documents(
    sources: Sequence[str],
    *,
    ids: Sequence[str] = (),
    limit: int | None = 5,
    runs: Sequence[str] | None = None,
) -> Iterator[Inspected]:
    """Yield documents (optionally only `ids`) with the attributes of `runs` (default: all)."""
    wanted = set(ids)
    shown = 0
    for path in expand_inputs(sources):
        file_runs = list(runs) if runs is not None else _runs_of(path)
        rejects = Rejects()
        if file_runs:
            rows = read_with_attributes(path, file_runs, rejects)
        else:
            rows = ((line, doc, {}) for line, doc in read_documents(path, rejects))
        for line, doc, attrs in rows:
            if wanted and doc.id not in wanted:
                continue
            yield Inspected(path, line, doc, attrs)
            shown += 1
            if limit is not None and shown >= limit:
                return


def _runs_of(path: Path) -> list[str]:
    try:
        split_dataset_path(path)
    except DolmakitError:
        return []
    return attribute_runs(path)


def render(item: Inspected, max_chars: int = 600) -> str:
    """Format one document for a terminal: header, metadata, text excerpt, attributes."""
    width = min(shutil.get_terminal_size((100, 20)).columns, 120)
    doc = item.document
    lines = [
        "─" * width,
        f"{item.path}:{item.line}",
        f"id: {doc.id}   source: {doc.source}   chars: {len(doc.text):,}",
    ]
    if doc.metadata:
        lines.append(f"metadata: {msgspec.json.encode(doc.metadata).decode()}")
    text = doc.text if len(doc.text) <= max_chars else doc.text[:max_chars] + " […]"
    lines.append("")
    lines.extend("  " + t for t in text.splitlines())
    if item.attributes:
        lines.append("")
        lines.append("attributes:")
        key_width = max(len(k) for k in item.attributes)
        for key in sorted(item.attributes):
            spans = item.attributes[key]
            shown = ", ".join(_span(s) for s in spans[:4])
            more = f" … (+{len(spans) - 4} spans)" if len(spans) > 4 else ""
            lines.append(f"  {key:<{key_width}}  {shown}{more}")
    return "\n".join(lines)


def _span(span: Sequence[float]) -> str:
    start, end, score = span
    return f"[{int(start)}:{int(end)}] {score:g}"
