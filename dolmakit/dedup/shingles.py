"""Turn a document into the set of hashes of its word n-gram shingles.

A shingle is `n` consecutive tokens joined by one space, UTF-8 encoded and hashed with xxh32
(seed 0), exactly what datasketch receives when a user calls `MinHash.update(s.encode())` with
`hashfunc=xxhash.xxh32_intdigest`. A document with fewer than `n` tokens (but at least one)
has one shingle, all its tokens; a document without tokens has none.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from dolmakit.dedup.normalize import normalize_text, tokenize

U32 = npt.NDArray[np.uint32]


def shingles(text: str, n: int) -> Iterator[str]:
    """Yield the word n-gram shingles of a text after normalisation (with repeats)."""
    tokens = tokenize(normalize_text(text))
    if not tokens:
        return
    if len(tokens) < n:
        yield " ".join(tokens)
        return
    yield from map(" ".join, zip(*(tokens[i:] for i in range(n)), strict=False))


def shingle_hashes(text: str, n: int) -> U32:
    """Return the sorted, distinct xxh32 hashes of a text's shingles (uint32)."""
    import xxhash

    h = xxhash.xxh32_intdigest
    values = np.array([h(s.encode()) for s in shingles(text, n)], dtype=np.uint32)
    return np.unique(values)


def jaccard(a: U32, b: U32) -> float:
    """Return |a ∩ b| / |a ∪ b| of two sorted distinct hash arrays (1.0 when both are empty)."""
    if not len(a) and not len(b):
        return 1.0
    common = len(np.intersect1d(a, b, assume_unique=True))
    return common / (len(a) + len(b) - common)
