"""MinHash signatures, vectorised with numpy, bit-compatible with datasketch 2.x `affine32`.

Scheme (datasketch >= 2.0 default): each 32-bit shingle hash `h` is pre-mixed once with the
MurmurHash3 finalizer (fmix32), then permutation k maps it to `a_k * h + b_k mod 2**32`
(a_k odd, so a bijection); the signature is the minimum over shingles, per permutation.
The (a, b) parameters come from `numpy.random.RandomState(seed)` drawn in datasketch's order,
so a signature computed here equals `MinHash(num_perm, seed, hashfunc=xxh32_intdigest)`
updated with the same shingles. An empty document's signature is all 2**32 - 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

U32 = npt.NDArray[np.uint32]
EMPTY = np.uint32(0xFFFFFFFF)
# Rows of (shingle x permutation) products held at once: bounds memory at ~16 MB per chunk.
_CHUNK_CELLS = 1 << 22


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
    n_docs, n_perm = len(hash_sets), len(a)
    out = np.full((n_docs, n_perm), EMPTY, dtype=np.uint32)
    nonempty = [i for i, h in enumerate(hash_sets) if len(h)]
    if not nonempty:
        return out
    sizes = np.array([len(hash_sets[i]) for i in nonempty], dtype=np.int64)
    rows_per_chunk = max(_CHUNK_CELLS // n_perm, 1)
    start = 0
    # Group whole documents into chunks of about rows_per_chunk shingles.
    ends = np.cumsum(sizes)
    while start < len(nonempty):
        base = ends[start - 1] if start else 0
        stop = int(np.searchsorted(ends, base + rows_per_chunk, side="right"))
        stop = max(stop, start + 1)
        docs = nonempty[start:stop]
        hashes = fmix32(np.concatenate([hash_sets[i] for i in docs]))
        # Permutation-major layout: the min-reduction then runs along contiguous rows.
        products = np.multiply(a[:, None], hashes[None, :])
        products += b[:, None]
        offsets = np.concatenate(([0], np.cumsum(sizes[start:stop])[:-1]))
        out[docs] = np.minimum.reduceat(products, offsets, axis=1).T
        start = stop
    return out


def estimate_jaccard(sig_a: U32, sig_b: U32) -> npt.NDArray[np.float64]:
    """Return the fraction of equal signature values, row by row (the Jaccard estimate)."""
    equal: npt.NDArray[np.float64] = np.mean(sig_a == sig_b, axis=-1, dtype=np.float64)
    return equal
