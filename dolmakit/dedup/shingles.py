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
~125 us per 2 KB document (a join, an encode and a hash call per shingle). Hashing each token
once (~14 us) and all fixed-width keys of a batch of documents in one vectorised pass (a few
us per document) is several times cheaper (docs/benchmarks-dedup.md). Two shingles have the
same key exactly when their tokens have the same hashes, so Jaccard values are those of the
token n-grams up to 32-bit hash collisions, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import chain

import numpy as np
import numpy.typing as npt

from dolmakit.dedup.normalize import batch_normal_parts, tokens
from dolmakit.dedup.xxh32 import xxh32_words
from dolmakit.native import load_native

U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]


# The compiled word hasher, or None (not built, or DOLMAKIT_PURE_PYTHON=1).
_word_hashes: Callable[[bytes], bytes] | None = getattr(
    load_native("_textstats"), "word_hashes", None
)


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

    hashes = [xxhash.xxh32_intdigest(w.encode("utf-8", "surrogatepass")) for w in tokens(text)]
    if not hashes:
        return
    width = min(n, len(hashes))
    for start in range(len(hashes) - width + 1):
        yield np.array(hashes[start : start + width], dtype="<u4").tobytes()


def batch_token_hashes(texts: Sequence[str]) -> tuple[U32, I64]:
    """Return the xxh32 hashes of every text's tokens, concatenated, and each text's count.

    Equal to hashing `batch_token_bytes(texts)` token by token; where the compiled extension
    is built, a text's normalised bytes are split and hashed in one pass.
    """
    import xxhash

    parts = batch_normal_parts(texts)
    if _word_hashes is None:
        words = [p.split() if isinstance(p, bytes) else p for p in parts]
        counts = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        # One C-level pass over the tokens (measured faster than memoising them in a dict).
        hashes = np.fromiter(
            map(xxhash.xxh32_intdigest, chain.from_iterable(words)),
            dtype=np.uint32,
            count=int(counts.sum()),
        )
        return hashes, counts
    blocks = [
        _word_hashes(p)
        if isinstance(p, bytes)
        else np.fromiter(map(xxhash.xxh32_intdigest, p), dtype="<u4", count=len(p)).tobytes()
        for p in parts
    ]
    counts = np.fromiter(map(len, blocks), dtype=np.int64, count=len(blocks)) // 4
    return np.frombuffer(b"".join(blocks), dtype="<u4").astype(np.uint32), counts


def batch_shingle_hashes(texts: Sequence[str], n: int) -> tuple[U32, I64]:
    """Return the sorted distinct shingle hashes of many texts, concatenated, and offsets.

    Document `i`'s hashes are `values[offsets[i]:offsets[i + 1]]`.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    hashes, counts = batch_token_hashes(texts)
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


def jaccard_many(a: U32, a_offsets: I64, b: U32, b_offsets: I64) -> npt.NDArray[np.float64]:
    """Return the Jaccard of set i of `a` with set i of `b`, for every i, in one pass.

    Set i of `a` is `a[a_offsets[i]:a_offsets[i + 1]]` (sorted, distinct), likewise for `b`.
    Each value is tagged with its set number in the high 32 bits, which keeps both
    concatenations sorted; one binary search of a's tagged values in b's counts the common
    ones. Equals `jaccard` of each pair (1.0 when both are empty).
    """
    n = len(a_offsets) - 1
    a_sizes, b_sizes = np.diff(a_offsets), np.diff(b_offsets)
    tag = np.uint64(32)
    a_keys = (np.repeat(np.arange(n, dtype=np.uint64), a_sizes) << tag) | a
    b_keys = (np.repeat(np.arange(n, dtype=np.uint64), b_sizes) << tag) | b
    where = np.searchsorted(b_keys, a_keys)
    found = where < len(b_keys)
    found[found] = b_keys[where[found]] == a_keys[found]
    common = np.bincount((a_keys[found] >> tag).astype(np.int64), minlength=n)
    union = a_sizes + b_sizes - common
    out = np.ones(n, dtype=np.float64)
    np.divide(common, union, out=out, where=union > 0)
    return out
