"""Turn documents into the sets of hashes of their word n-gram shingles.

Definition (reproducible with the `xxhash` package alone): each token (see
`dolmakit.dedup.normalize`) is hashed once, `t = xxh32(token.encode("utf-8"), seed=0)`; a
shingle of `n` consecutive tokens has the key `struct.pack("<nI", t_1, ..., t_n)` (the token
hashes as little-endian uint32) and the hash `xxh32(key, seed=0)`. A document with fewer than
`n` tokens (but at least one) has one shingle, all its tokens; a document without tokens has
none. `shingle_keys` yields these keys, so datasketch's
`MinHash(hashfunc=xxhash.xxh32_intdigest).update_batch(list(shingle_keys(text, n)))` sees
exactly the hashes dolmakit uses.

Why not xxh32 of the shingle's text: joining, encoding and hashing every shingle string cost
~125 us per 2 KB document (one Python call per shingle); hashing each token once (memoised:
text repeats words) and the fixed-width keys in one vectorised pass over a batch of documents
costs a fraction of that (numbers in docs/benchmarks-dedup.md). Two shingles share a key
exactly when their tokens share hashes, so Jaccard values are those of the token n-grams up
to 32-bit hash collisions, as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import chain

import numpy as np
import numpy.typing as npt

from dolmakit.dedup.normalize import tokens
from dolmakit.dedup.xxh32 import xxh32_words

U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]
# Token hashes memoised per process; cleared when full (values never depend on it).
_CACHE_MAX = 1 << 19


class _TokenHashes(dict[str, int]):
    """Memoised xxh32 of tokens: a miss computes and stores, a hit is one dict lookup."""

    def __missing__(self, token: str) -> int:
        import xxhash

        value: int = xxhash.xxh32_intdigest(token.encode())
        self[token] = value
        return value


_TOKEN_HASHES = _TokenHashes()


def shingles(text: str, n: int) -> Iterator[str]:
    """Yield the word n-gram shingles of a text after normalisation (with repeats), as text."""
    words = tokens(text)
    if not words:
        return
    if len(words) < n:
        yield " ".join(words)
        return
    yield from map(" ".join, zip(*(words[i:] for i in range(n)), strict=False))


def shingle_keys(text: str, n: int) -> Iterator[bytes]:
    """Yield the byte key of each shingle (with repeats): its token hashes, little-endian."""
    import xxhash

    hashes = [xxhash.xxh32_intdigest(w.encode()) for w in tokens(text)]
    if not hashes:
        return
    width = min(n, len(hashes))
    for start in range(len(hashes) - width + 1):
        yield np.array(hashes[start : start + width], dtype="<u4").tobytes()


def batch_shingle_hashes(texts: Sequence[str], n: int) -> tuple[U32, I64]:
    """Return the sorted distinct shingle hashes of many texts, concatenated, and offsets.

    Document `i`'s hashes are `values[offsets[i]:offsets[i + 1]]`.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    words = [tokens(text) for text in texts]
    counts = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    if len(_TOKEN_HASHES) > _CACHE_MAX:
        _TOKEN_HASHES.clear()
    hashes = np.fromiter(
        map(_TOKEN_HASHES.__getitem__, chain.from_iterable(words)),
        dtype=np.uint32,
        count=int(counts.sum()),
    )
    first_token = np.cumsum(counts) - counts
    docs, keys = [], []
    # Documents with n tokens or more: one window per start position.
    windows = np.where(counts >= n, counts - n + 1, 0)
    total = int(windows.sum())
    if total:
        doc = np.repeat(np.arange(len(texts), dtype=np.int64), windows)
        start = np.repeat(first_token - (np.cumsum(windows) - windows), windows)
        start += np.arange(total, dtype=np.int64)
        docs.append(doc)
        keys.append(xxh32_words([hashes[start + j] for j in range(n)]))
    # Shorter documents: one shingle of all their tokens, hashed per width.
    short = (counts > 0) & (counts < n)
    for width in np.unique(counts[short]).tolist():
        doc = np.flatnonzero(short & (counts == width))
        docs.append(doc)
        keys.append(xxh32_words([hashes[first_token[doc] + j] for j in range(width)]))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    if not docs:
        return np.empty(0, dtype=np.uint32), offsets
    combined = (np.concatenate(docs).astype(np.uint64) << np.uint64(32)) | np.concatenate(keys)
    combined.sort()
    distinct = combined[np.concatenate(([True], combined[1:] != combined[:-1]))]
    per_doc = np.bincount((distinct >> np.uint64(32)).astype(np.int64), minlength=len(texts))
    np.cumsum(per_doc, out=offsets[1:])
    return (distinct & np.uint64(0xFFFFFFFF)).astype(np.uint32), offsets


def shingle_hashes(text: str, n: int) -> U32:
    """Return the sorted, distinct shingle hashes of one text (uint32)."""
    return batch_shingle_hashes([text], n)[0]


def jaccard(a: U32, b: U32) -> float:
    """Return |a ∩ b| / |a ∪ b| of two sorted distinct hash arrays (1.0 when both are empty)."""
    if not len(a) and not len(b):
        return 1.0
    common = len(np.intersect1d(a, b, assume_unique=True))
    return common / (len(a) + len(b) - common)
