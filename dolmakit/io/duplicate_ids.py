"""Document ids that repeat within a source: counted from 8-byte digests, shown with examples.

A stage gives the documents it read as one `IdTable` per shard, in canonical order (lines,
ids and sources, loaded one shard at a time). `find_duplicate_ids` keeps only the 8-byte
xxh3 digest of each (source, id) pair of the whole run: 8 bytes per document, and 16 more
per document for a moment while they are sorted (a hundred million documents: about 2.4 GB
at peak). A repeat is a document whose (source, id) an earlier document in canonical order
already had; the first occurrence is not counted. Two different pairs share a digest with
probability about n^2 / 2^65 (3e-8 for a million documents, 3e-4 for a hundred million): so
rarely that a count may, at worst, hold one repeat that is not one. Empty ids never get here:
the reader rejects them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt

from dolmakit.document import Document
from dolmakit.errors import DolmakitError
from dolmakit.io.atomic import write_bytes_atomic

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
EXAMPLES = 3


@dataclass(frozen=True)
class IdTable:
    """One shard's documents in row order: the file, each one's line, id and source."""

    file: str
    lines: Sequence[int] | I64
    ids: Sequence[str]
    sources: Sequence[str | None]

    def digests(self) -> U64:
        """Return the 8-byte digest of each document's (source, id), in row order."""
        import xxhash

        h = xxhash.xxh3_64_intdigest
        pairs = zip(self.sources, self.ids, strict=True)
        keys = (h(f"{source or ''}\0{doc_id}".encode()) for source, doc_id in pairs)
        return np.fromiter(keys, dtype=np.uint64, count=len(self.ids))


class IdRecorder:
    """Collect the line, id and source of each document a shard worker reads; save them."""

    def __init__(self) -> None:
        self.lines: list[int] = []
        self.ids: list[str] = []
        self.sources: list[str | None] = []

    def add(self, line: int, doc: Document) -> None:
        """Record one document read at `line`."""
        self.lines.append(line)
        self.ids.append(doc.id)
        self.sources.append(doc.source)

    def save(self, path: Path) -> None:
        """Write what was recorded to `path` (msgpack), atomically."""
        body = {"lines": self.lines, "ids": self.ids, "sources": self.sources}
        write_bytes_atomic(path, msgspec.msgpack.encode(body))


def load_recorded(path: Path, file: str) -> IdTable:
    """Return the table an `IdRecorder` saved at `path`, for the documents file `file`."""
    data = msgspec.msgpack.decode(path.read_bytes())
    return IdTable(file, data["lines"], data["ids"], data["sources"])


@dataclass
class DuplicateIds:
    """Repeated (source, id) pairs of one run: how many per source, and the first few."""

    total: int = 0
    by_source: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def message(self) -> str | None:
        """Return the warning (or error) line, None when no id repeats."""
        if not self.total:
            return None
        sources = ", ".join(f"{s or '(no source)'}: {n:,}" for s, n in self.by_source.items())
        shown = "; ".join(self.examples)
        more = "" if self.total <= len(self.examples) else "; ..."
        return (
            f"{self.total:,} document {'id repeats' if self.total == 1 else 'ids repeat'} "
            f"within a source ({sources}); lookups by id are ambiguous for them: {shown}{more}"
        )

    def check(self, on_error: str) -> str | None:
        """Raise DolmakitError with the message under on_error 'fail'; else return it."""
        text = self.message()
        if text is not None and on_error == "fail":
            raise DolmakitError(f"{text} (--on-error fail)")
        return text


def find_duplicate_ids(
    count: int, load: Callable[[int], IdTable], examples: int = EXAMPLES
) -> DuplicateIds:
    """Count documents whose (source, id) an earlier one had, over shards 0..count-1.

    `load(i)` gives shard i's table; it is called once per shard for the digests, and again
    only for shards that hold a repeat (for its source) or an example's occurrence.
    """
    parts = [load(i).digests() for i in range(count)]
    offsets = np.cumsum([0] + [len(p) for p in parts])
    digests = np.concatenate(parts) if parts else np.empty(0, dtype=np.uint64)
    del parts
    if len(digests) < 2:
        return DuplicateIds()
    order = np.argsort(digests, kind="stable")  # equal digests stay in canonical order
    ordered = digests[order]
    del digests
    repeat = np.concatenate(([False], ordered[1:] == ordered[:-1]))
    del ordered
    group_start = np.maximum.accumulate(np.where(repeat, 0, np.arange(len(order))))
    later = order[repeat]
    first = order[group_start[repeat]]
    del order, group_start, repeat
    found = DuplicateIds(total=len(later))
    if not found.total:
        return found
    shard_of = np.searchsorted(offsets, later, side="right") - 1
    sources: Counter[str] = Counter()
    for shard in np.unique(shard_of).tolist():
        table = load(shard)
        for row in (later[shard_of == shard] - offsets[shard]).tolist():
            sources[table.sources[row] or ""] += 1
    found.by_source = dict(sorted(sources.items()))
    pick = np.argsort(later, kind="stable")[:examples]
    tables: dict[int, IdTable] = {}

    def where(position: int) -> tuple[IdTable, int]:
        shard = int(np.searchsorted(offsets, position, side="right") - 1)
        if shard not in tables:
            tables[shard] = load(shard)
        return tables[shard], position - int(offsets[shard])

    for at in pick.tolist():
        (t1, r1), (t2, r2) = where(int(first[at])), where(int(later[at]))
        found.examples.append(
            f"id {t2.ids[r2]!r} at {t1.file}:{int(t1.lines[r1])} and {t2.file}:{int(t2.lines[r2])}"
        )
    return found


def recorded_duplicates(files: Sequence[tuple[str | Path, Path]], on_error: str) -> DuplicateIds:
    """Count repeats over what `IdRecorder`s saved: (documents file, saved path) in order.

    Raises DolmakitError under on_error 'fail' when an id repeats.
    """
    found = find_duplicate_ids(len(files), lambda i: load_recorded(files[i][1], str(files[i][0])))
    found.check(on_error)
    return found
