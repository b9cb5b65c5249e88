"""MinHash signatures, vectorised with numpy, bit-compatible with datasketch 2.x `affine32`.

Scheme (datasketch >= 2.0 default): each 32-bit shingle hash `h` is pre-mixed once with the
MurmurHash3 finalizer (fmix32), then permutation k maps it to `a_k * h + b_k mod 2**32`
(a_k odd, so a bijection); the signature is the minimum over shingles, per permutation.
The (a, b) parameters come from `numpy.random.RandomState(seed)` drawn in datasketch's order,
so a signature computed here equals `MinHash(num_perm, seed, hashfunc=xxh32_intdigest)`
updated with the same shingle keys (`shingles.shingle_keys`). An empty document's signature
is all 2**32 - 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from dolmakit.native import load_native

U32 = npt.NDArray[np.uint32]
EMPTY = np.uint32(0xFFFFFFFF)


# The compiled min-reduction, or None (not built, or DOLMAKIT_PURE_PYTHON=1).
_minhash_min: Callable[..., None] | None = getattr(load_native("_textstats"), "minhash_min", None)
# Cells of (permutation x shingle) products held at once: ~4 MB per chunk.
_CHUNK_CELLS = 1 << 20


def permutations(num_perm: int, seed: int) -> tuple[U32, U32]:
    """Return the affine permutation parameters (a, b), datasketch's draw for this seed."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def fmix32(h: U32) -> U32:
    """Apply the MurmurHash3 32-bit finalizer (a bijection) element-wise."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def signatures(hash_sets: Sequence[U32], a: U32, b: U32) -> U32:
    """Return the (documents x permutations) uint32 signatures of shingle-hash sets."""
    offsets = np.zeros(len(hash_sets) + 1, dtype=np.int64)
    np.cumsum([len(h) for h in hash_sets], out=offsets[1:])
    values = np.concatenate(hash_sets) if len(hash_sets) else np.empty(0, dtype=np.uint32)
    return signatures_flat(values.astype(np.uint32, copy=False), offsets, a, b)


def signatures_flat(values: U32, offsets: npt.NDArray[np.int64], a: U32, b: U32) -> U32:
    """Return the signatures of documents whose hashes are `values[offsets[i]:offsets[i+1]]`.

    The min-reduction runs in the compiled extension when it is built (one pass, no
    products in memory: several times faster), else in numpy (`signatures_numpy`); both
    give the same bits.
    """
    if _minhash_min is None:
        return signatures_numpy(values, offsets, a, b)
    n_docs, n_perm = len(offsets) - 1, len(a)
    out = np.full((n_docs, n_perm), EMPTY, dtype=np.uint32)
    mixed = fmix32(np.ascontiguousarray(values, dtype=np.uint32))
    _minhash_min(
        mixed,
        np.ascontiguousarray(offsets, dtype=np.int64),
        np.ascontiguousarray(a, dtype=np.uint32),
        np.ascontiguousarray(b, dtype=np.uint32),
        out,
    )
    return out


def signatures_numpy(values: U32, offsets: npt.NDArray[np.int64], a: U32, b: U32) -> U32:
    """Return what `signatures_flat` returns, with numpy only (the compiled path's reference)."""
    n_docs, n_perm = len(offsets) - 1, len(a)
    out = np.full((n_docs, n_perm), EMPTY, dtype=np.uint32)
    sizes = np.diff(offsets)
    nonempty = np.flatnonzero(sizes)
    if not len(nonempty):
        return out
    mixed = fmix32(values)
    ends = offsets[nonempty + 1]
    rows_per_chunk = max(_CHUNK_CELLS // n_perm, 1)
    start = 0
    # Chunks of whole documents of about rows_per_chunk shingles (4 MB of products: measured
    # faster than both 16 MB and 1 MB chunks on the 2-core dev machine).
    while start < len(nonempty):
        base = int(offsets[nonempty[start]])
        stop = int(np.searchsorted(ends, base + rows_per_chunk, side="right"))
        stop = max(stop, start + 1)
        docs = nonempty[start:stop]
        hashes = mixed[base : int(ends[stop - 1])]
        # Permutation-major layout: the min-reduction then runs along contiguous rows.
        products = np.multiply(a[:, None], hashes[None, :])
        products += b[:, None]
        out[docs] = np.minimum.reduceat(products, offsets[docs] - base, axis=1).T
        start = stop
    return out


def estimate_jaccard(sig_a: U32, sig_b: U32) -> npt.NDArray[np.float64]:
    """Return the fraction of equal signature values, row by row (the Jaccard estimate)."""
    equal: npt.NDArray[np.float64] = np.mean(sig_a == sig_b, axis=-1, dtype=np.float64)
    return equal
