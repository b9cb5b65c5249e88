"""Open a mix's span index for queries, after checking that it is complete and current.

`SpanIndex` answers over all index shards at once: the longest match of a byte string, how
often one occurs, where (up to a limit), and for an offset the document holding it, with its
provenance from the mix's `index.parquet` (source, input path and line).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dolmakit.errors import DolmakitError
from dolmakit.io.arrays import read_table
from dolmakit.trace.layout import (
    MixFacts,
    damaged_files,
    index_dir,
    mix_facts,
    read_index_manifest,
    stale_reasons,
)
from dolmakit.trace.suffix import IndexShard, Located


@dataclass(frozen=True)
class Provenance:
    """An output document of the mix and the input document it came from."""

    shard: int
    shard_path: str
    row: int
    id: str
    source: str
    path: str
    line: int


class SpanIndex:
    """A complete, current span index of one mix, memory-mapped."""

    def __init__(self, mix: MixFacts, manifest: dict[str, Any]) -> None:
        self.mix = mix
        self.manifest = manifest
        self.folder = index_dir(mix.mix_dir)
        self.words = max(int(manifest["totals"]["words"]), 1)
        self.shards: list[IndexShard] = []
        self._tables: list[Any] = []
        for entry in manifest["shards"]:
            files = {f["role"]: self.folder / f["path"] for f in entry["files"]}
            table = read_table(files["documents"])
            self._tables.append(table)
            starts = table.column("start").to_numpy()
            self.shards.append(IndexShard(files["text"], files["suffix_array"], starts))
        self._origins: Any = None
        self._origin_keys: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)

    def close(self) -> None:
        """Release every memory map."""
        for shard in self.shards:
            shard.close()

    def longest_match(self, query: bytes) -> int:
        """Return the length of the longest prefix of `query` occurring anywhere in the mix."""
        return max((s.longest_match(query) for s in self.shards), default=0)

    def count(self, key: bytes) -> int:
        """Return how many times `key` occurs in the mix's text."""
        return sum(s.count(key) for s in self.shards)

    def occurrences(self, key: bytes, limit: int) -> list[tuple[int, int]]:
        """Return up to `limit` (index shard, offset) pairs where `key` occurs, shard by shard."""
        found: list[tuple[int, int]] = []
        for number, shard in enumerate(self.shards):
            if len(found) >= limit:
                break
            found.extend((number, p) for p in shard.positions(key, limit - len(found)))
        return found

    def locate(self, shard: int, offset: int) -> Located:
        """Return the document of index shard `shard` that holds `offset`."""
        return self.shards[shard].locate(offset)

    def text_of(self, shard: int, located: Located) -> bytes:
        """Return the UTF-8 bytes of a located document."""
        return self.shards[shard].document_bytes(located)

    def provenance(self, shard: int, located: Located) -> Provenance:
        """Return the mix shard, row and id of a document, and its input path and line."""
        table = self._tables[shard]
        mix_shard = int(table.column("shard")[located.document].as_py())
        row = int(table.column("row")[located.document].as_py())
        doc_id = str(table.column("id")[located.document].as_py())
        source, path, line = self._origin(mix_shard, row)
        return Provenance(
            mix_shard, self.mix.shards[mix_shard]["path"], row, doc_id, source, path, line
        )

    def find_document(self, mix_shard: int, row: int) -> tuple[int, Located] | None:
        """Return the index shard and location of output document `mix_shard`:`row`."""
        key = _key(mix_shard, row)
        for number, table in enumerate(self._tables):
            keys = _keys(table)
            at = int(np.searchsorted(keys, key))
            if at < len(keys) and keys[at] == key:
                start = int(table.column("start")[at].as_py())
                return number, self.shards[number].locate(start)
        return None

    def _origin(self, mix_shard: int, row: int) -> tuple[str, str, int]:
        """Return (source, input path, input line) of an output document, from index.parquet.

        index.parquet is in output order, so its (shard, row) keys are sorted.
        """
        if self.mix.table is None:
            return "", "", 0
        if self._origins is None:
            self._origins = read_table(
                self.mix.mix_dir / self.mix.table,
                columns=["shard", "row", "source", "path", "line"],
            )
            self._origin_keys = _keys(self._origins)
        key = _key(mix_shard, row)
        at = int(np.searchsorted(self._origin_keys, key))
        if at >= len(self._origin_keys) or self._origin_keys[at] != key:
            return "", "", 0
        table = self._origins
        return (
            str(table.column("source")[at].as_py()),
            str(table.column("path")[at].as_py()),
            int(table.column("line")[at].as_py()),
        )


def _key(shard: int, row: int) -> int:
    return (shard << 40) | row


def _keys(table: Any) -> npt.NDArray[np.int64]:
    """Return shard << 40 | row for every row of a table with those columns."""
    shards = table.column("shard").to_numpy().astype(np.int64)
    keys: npt.NDArray[np.int64] = (shards << 40) | table.column("row").to_numpy().astype(np.int64)
    return keys


def open_index(mix_dir: str | Path) -> SpanIndex:
    """Open the span index of `mix_dir`; DolmakitError saying what is missing or stale."""
    mix = mix_facts(mix_dir)
    manifest = read_index_manifest(mix.mix_dir)
    reasons = stale_reasons(manifest, mix)
    if reasons:
        raise DolmakitError(
            f"{index_dir(mix.mix_dir)}: the index no longer matches the mix: {'; '.join(reasons)};"
            f" rebuild it: dolmakit index {mix_dir}"
        )
    damaged = damaged_files(index_dir(mix.mix_dir), manifest)
    if damaged:
        raise DolmakitError(
            f"{index_dir(mix.mix_dir)}: damaged index files: {', '.join(damaged)};"
            f" rebuild it: dolmakit index {mix_dir} --force"
        )
    return SpanIndex(mix, manifest)
