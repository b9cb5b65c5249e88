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
from dolmakit.io.reader import FILE_REASONS, read_documents
from dolmakit.io.rejects import Rejects


@dataclass(frozen=True)
class Inspected:
    """One document found by `inspect`, with where it is and its attributes."""

    path: Path
    line: int
    document: Document
    attributes: Attributes


@dataclass(frozen=True)
class Skipped:
    """A line (0: the whole file) that `inspect` could not show, and why."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: rejected: {self.reason}"


class _Collected(Rejects):
    """Rejects that also keep every rejected line, to be shown to the user."""

    def __init__(self, into: list[Skipped]) -> None:
        super().__init__()
        self.into = into

    def add(self, path: str, line: int, reason: str) -> None:
        super().add(path, line, reason)
        self.into.append(Skipped(path, line, reason))


class Inspection:
    """Iterate the documents `inspect` shows; then `problem()` says what it could not show.

    Rejected lines met on the way are kept in `skipped`, in reading order.
    """

    def __init__(
        self,
        sources: Sequence[str],
        *,
        ids: Sequence[str] = (),
        limit: int | None = 5,
        runs: Sequence[str] | None = None,
    ) -> None:
        self.sources = tuple(sources)
        self.ids = tuple(ids)
        self.limit = limit
        self.runs = runs
        self.skipped: list[Skipped] = []
        self.found: set[str] = set()
        self.shown = 0

    def __iter__(self) -> Iterator[Inspected]:
        wanted = set(self.ids)
        for path in expand_inputs(self.sources):
            file_runs = list(self.runs) if self.runs is not None else _runs_of(path)
            rejects = _Collected(self.skipped)
            if file_runs:
                rows = read_with_attributes(path, file_runs, rejects)
            else:
                rows = ((line, doc, {}) for line, doc in read_documents(path, rejects))
            for line, doc, attrs in rows:
                if wanted and doc.id not in wanted:
                    continue
                self.found.add(doc.id)
                self.shown += 1
                yield Inspected(path, line, doc, attrs)
                if self.limit is not None and self.shown >= self.limit:
                    return

    def problem(self) -> str | None:
        """Return why nothing (or not every id asked for) was shown, or None when all was."""
        stopped = self.limit is not None and self.shown >= self.limit
        missing = [i for i in self.ids if i not in self.found] if not stopped else []
        lines = f"{_count(self.skipped)} (listed above)"
        where = ", ".join(self.sources)
        if missing:
            which = ", ".join(repr(i) for i in missing)
            problem = f"no document with id {which} in {where}"
            return f"{problem}; {lines}, it may be among them" if self.skipped else problem
        if not self.shown and self.skipped:
            return f"no document to show in {where}: {lines}"
        return None


def _count(skipped: list[Skipped]) -> str:
    files = sum(1 for s in skipped if not s.line or s.reason.startswith(FILE_REASONS))
    lines = len(skipped) - files
    parts = [f"{lines:,} rejected line{'s' if lines != 1 else ''}"] if lines else []
    parts += [f"{files:,} unreadable file{'s' if files != 1 else ''}"] if files else []
    return " and ".join(parts)


def inspect_documents(
    sources: Sequence[str],
    *,
    ids: Sequence[str] = (),
    limit: int | None = 5,
    runs: Sequence[str] | None = None,
) -> Iterator[Inspected]:
    """Yield documents (optionally only `ids`) with the attributes of `runs` (default: all)."""
    yield from Inspection(sources, ids=ids, limit=limit, runs=runs)


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
