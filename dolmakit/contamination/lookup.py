"""Open a benchmark index and look n-gram hashes up in it, many at a time.

Opening checks the index's format, normalisation, hash and the sha256 of every file against
`index.json`, so an index built by another normalisation, or changed since, is refused
before any document is tagged. Lookups are `np.searchsorted` over the sorted hashes, after a
bitmap prefilter on the top bits of each hash that lets almost every non-matching n-gram out
without a binary search (docs/contamination.md has the measurements).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dolmakit.contamination.index import ARRAYS, FORMAT, INDEX_JSON
from dolmakit.contamination.ngrams import HASH, NORMALISATION
from dolmakit.errors import DolmakitError

# Bits of the prefilter per indexed n-gram (rounded up to a power of two): about 1 byte.
_FILTER_BITS_PER_NGRAM = 8
_MIN_FILTER_BITS = 6


class BenchmarkIndexError(DolmakitError):
    """Report an index that cannot be used: missing, changed, or of another normalisation."""


@dataclass(frozen=True)
class Hits:
    """Matches of a lookup: query `query[i]` equals index entry `entry[i]`."""

    query: npt.NDArray[np.int64]
    entry: npt.NDArray[np.int64]


class BenchmarkIndex:
    """An opened index: its record, sha256, arrays and example table."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        meta = self.path / INDEX_JSON
        try:
            raw = meta.read_bytes()
            record = json.loads(raw)
        except FileNotFoundError:
            raise BenchmarkIndexError(
                f"{self.path}: not a benchmark index (no {INDEX_JSON}; build one with "
                "`dolmakit contamination index`)"
            ) from None
        except (OSError, ValueError) as exc:
            raise BenchmarkIndexError(f"{meta}: cannot read: {exc}") from None
        self.sha256 = hashlib.sha256(raw).hexdigest()
        self.record: dict[str, Any] = record
        _check_record(meta, record)
        self.n = int(record["n"])
        arrays = {}
        for key in ARRAYS:
            arrays[key] = self._load(f"{key}.npy")
        self.hashes: npt.NDArray[np.uint64] = arrays["ngrams"]
        self.examples: npt.NDArray[np.uint32] = arrays["examples"]
        self.positions: npt.NDArray[np.uint16] = arrays["positions"]
        self.common: npt.NDArray[np.uint64] = arrays["common"]
        table = self._table()
        self.benchmark_names: list[str] = [b["name"] for b in record["benchmarks"]]
        bench_index = {name: i for i, name in enumerate(self.benchmark_names)}
        self.example_benchmark = np.array(
            [bench_index[b] for b in table["benchmark"]], dtype=np.int64
        )
        self.example_number = np.asarray(table["number"], dtype=np.int64)
        self.example_id: list[str] = list(table["id"])
        self.example_words = np.asarray(table["words"], dtype=np.int64)
        self.coverable = np.asarray(table["coverable"], dtype=np.int64)
        self.status: list[str] = list(table["status"])
        self._shift, self._filter = _prefilter(self.hashes)

    def _load(self, name: str) -> Any:
        path = self.path / name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise BenchmarkIndexError(f"{path}: cannot read: {exc}") from None
        if hashlib.sha256(data).hexdigest() != self.record["files"].get(name):
            raise BenchmarkIndexError(
                f"{path}: sha256 differs from {INDEX_JSON}: the index was changed"
            )
        import io

        return np.load(io.BytesIO(data), allow_pickle=False)

    def _table(self) -> dict[str, list[Any]]:
        import pyarrow.parquet as pq

        path = self.path / "examples.parquet"
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise BenchmarkIndexError(f"{path}: cannot read: {exc}") from None
        if digest != self.record["files"].get("examples.parquet"):
            raise BenchmarkIndexError(
                f"{path}: sha256 differs from {INDEX_JSON}: the index was changed"
            )
        return pq.read_table(path).to_pydict()  # type: ignore[no-any-return]

    @property
    def nbytes(self) -> int:
        """Return the memory the lookup arrays take (hashes, ids, positions, prefilter)."""
        return int(
            self.hashes.nbytes + self.examples.nbytes + self.positions.nbytes + self._filter.nbytes
        )

    def lookup(self, queries: npt.NDArray[np.uint64]) -> Hits:
        """Return every (query, index entry) pair with equal hashes, queries in order."""
        if queries.size == 0 or self.hashes.size == 0:
            empty = np.zeros(0, dtype=np.int64)
            return Hits(empty, empty)
        top = (queries >> np.uint64(self._shift)).astype(np.int64)
        maybe = np.flatnonzero(self._filter[top >> 3] & (1 << (top & 7)).astype(np.uint8))
        if maybe.size == 0:
            empty = np.zeros(0, dtype=np.int64)
            return Hits(empty, empty)
        q = queries[maybe]
        lo = np.searchsorted(self.hashes, q, side="left")
        found = lo < self.hashes.size
        found[found] = self.hashes[lo[found]] == q[found]
        if not found.any():
            empty = np.zeros(0, dtype=np.int64)
            return Hits(empty, empty)
        maybe, lo, q = maybe[found], lo[found], q[found]
        hi = np.searchsorted(self.hashes, q, side="right")
        counts = hi - lo
        query = np.repeat(maybe, counts)
        first = np.repeat(lo - np.cumsum(counts) + counts, counts)
        entry = first + np.arange(query.size, dtype=np.int64)
        return Hits(query.astype(np.int64), entry.astype(np.int64))


def _check_record(meta: Path, record: Any) -> None:
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise BenchmarkIndexError(f"{meta}: not a {FORMAT} index")
    for key, ours in (("normalisation", NORMALISATION), ("hash", HASH)):
        if record.get(key) != ours:
            raise BenchmarkIndexError(
                f"{meta}: built with {key} {record.get(key)!r}, but this dolmakit matches with "
                f"{ours!r}: rebuild it with `dolmakit contamination index`"
            )


def _prefilter(hashes: npt.NDArray[np.uint64]) -> tuple[int, npt.NDArray[np.uint8]]:
    """Return (shift, bitmap): bit `h >> shift` is set for every indexed hash h."""
    bits = max(_MIN_FILTER_BITS, int(hashes.size * _FILTER_BITS_PER_NGRAM - 1).bit_length())
    shift = 64 - bits
    top = (hashes >> np.uint64(shift)).astype(np.int64)
    bitmap = np.zeros(1 << (bits - 3), dtype=np.uint8)
    np.bitwise_or.at(bitmap, top >> 3, (1 << (top & 7)).astype(np.uint8))
    return shift, bitmap


def open_index(path: str | Path) -> BenchmarkIndex:
    """Return the index at `path`, opened once per process for the same `index.json` bytes."""
    meta = Path(path) / INDEX_JSON
    try:
        digest = hashlib.sha256(meta.read_bytes()).hexdigest()
    except OSError:
        return BenchmarkIndex(path)  # raises the error naming the problem
    return _open(str(Path(path).resolve()), digest)


@functools.cache
def _open(path: str, digest: str) -> BenchmarkIndex:
    index = BenchmarkIndex(path)
    if index.sha256 != digest:
        raise BenchmarkIndexError(f"{path}: {INDEX_JSON} changed while it was opened")
    return index
