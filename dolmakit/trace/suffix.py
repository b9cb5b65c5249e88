"""One index shard, memory-mapped: its text, its suffix array and its position map.

The text is the shard's documents' UTF-8 bytes, each followed by SEPARATOR; the suffix array
lists every text offset in the lexicographic order of the suffixes starting there (int32,
little-endian). Lookups are binary searches over it that read a few pages of both files, so
an index larger than memory is queried without loading it.
"""

from __future__ import annotations

import mmap
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dolmakit.errors import DolmakitError
from dolmakit.native import load_native

# Longest-match searches compare at most this many bytes at first; a match reaching it is
# searched again with twice the window, so spans of any length are found.
FIRST_WINDOW = 1024


# The compiled searches (dolmakit._suffix), or None: `bound` and `longest_match` below.
NATIVE = load_native("_suffix")


@dataclass(frozen=True)
class Located:
    """Where a text offset falls: the document (its index in the shard) and its byte range."""

    document: int
    start: int
    end: int


def _map(path: Path) -> mmap.mmap:
    with open(path, "rb") as handle:
        if handle.seek(0, 2) == 0:
            raise DolmakitError(f"{path}: empty index file; rerun dolmakit index --force")
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


def _lcp(a: bytes, b: bytes) -> int:
    """Return the length of the longest common prefix of two byte strings."""
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n - 1  # a[:lo] == b[:lo] and a[:hi + 1] != b[:hi + 1]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def bound(text: Any, sa: Any, key: bytes, *, upper: bool) -> int:
    """Return the first rank whose suffix is >= `key` (> `key` if `upper`), on len(key) bytes.

    The reference for the compiled `dolmakit._suffix.bound`: Python's bytes order, a suffix
    shorter than `key` that begins it is smaller.
    """
    lo, hi, k = 0, len(sa), len(key)
    while lo < hi:
        mid = (lo + hi) // 2
        p = sa[mid]
        piece = text[p : p + k]
        if piece < key or (upper and piece == key):
            lo = mid + 1
        else:
            hi = mid
    return lo


def longest_match(text: Any, sa: Any, query: bytes) -> int:
    """Return the length of the longest prefix of `query` that occurs in `text`.

    One binary search: the suffixes sharing the longest prefix with `query` are the neighbours
    of the rank where `query` would be inserted. Keys are cut to a window that doubles while
    a match fills it, so a long query costs slices of the length matched, not of the query.
    """
    window = FIRST_WINDOW
    while True:
        key = query[:window]
        rank = bound(text, sa, key, upper=False)
        best = 0
        for r in (rank - 1, rank):
            if 0 <= r < len(sa):
                p = sa[r]
                best = max(best, _lcp(key, bytes(text[p : p + len(key)])))
        if best < len(key) or len(key) == len(query):
            return best
        window *= 2


class IndexShard:
    """Query one index shard: longest matches, occurrence ranges, documents of offsets."""

    def __init__(self, text: Path, suffix_array: Path, starts: npt.NDArray[np.int64]) -> None:
        self._text_map = _map(text)
        self._sa_map = _map(suffix_array)
        if sys.byteorder != "little":  # the files are little-endian int32
            raise DolmakitError("the span index needs a little-endian machine")
        self.text: Any = self._text_map
        self.sa = memoryview(self._sa_map).cast("i")
        self.size = len(self._text_map)
        if len(self.sa) != self.size:
            raise DolmakitError(
                f"{suffix_array}: {len(self.sa):,} positions for {self.size:,} text bytes;"
                " rerun dolmakit index --force"
            )
        self.starts = starts
        self._native = NATIVE

    def close(self) -> None:
        """Release the memory maps."""
        self.sa.release()
        self._sa_map.close()
        self._text_map.close()

    def lower_bound(self, key: bytes) -> int:
        """Return the first rank whose suffix is >= `key` (compared on len(key) bytes)."""
        if self._native is not None:
            return int(self._native.bound(self._text_map, self._sa_map, key, False))
        return bound(self.text, self.sa, key, upper=False)

    def upper_bound(self, key: bytes) -> int:
        """Return the first rank whose suffix's first len(key) bytes are > `key`."""
        if self._native is not None:
            return int(self._native.bound(self._text_map, self._sa_map, key, True))
        return bound(self.text, self.sa, key, upper=True)

    def longest_match(self, query: bytes) -> int:
        """Return the length of the longest prefix of `query` that occurs in the text."""
        if self._native is not None:
            return int(self._native.longest_match(self._text_map, self._sa_map, query))
        return longest_match(self.text, self.sa, query)

    def count(self, key: bytes) -> int:
        """Return how many times `key` occurs in the text."""
        return self.upper_bound(key) - self.lower_bound(key)

    def positions(self, key: bytes, limit: int) -> list[int]:
        """Return up to `limit` text offsets where `key` occurs, in suffix-array order."""
        lo = self.lower_bound(key)
        hi = min(self.upper_bound(key), lo + limit)
        return [self.sa[r] for r in range(lo, hi)]

    def locate(self, offset: int) -> Located:
        """Return the document holding text offset `offset` (the position map)."""
        document = int(np.searchsorted(self.starts, offset, side="right")) - 1
        start = int(self.starts[document])
        # every document is followed by its separator byte
        following = int(self.starts[document + 1]) if document + 1 < len(self.starts) else self.size
        return Located(document, start, following - 1)

    def document_bytes(self, located: Located) -> bytes:
        """Return a document's UTF-8 text (without its separator)."""
        return bytes(self.text[located.start : located.end])
