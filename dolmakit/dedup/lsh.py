"""LSH banding: choose bands x rows, hash bands to bucket keys, turn buckets into pairs.

Two documents become candidates when all `rows` values of at least one of `bands` bands of
their signatures agree; with Jaccard s this happens with probability 1 - (1 - s**r)**b.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]

# Buckets up to this size give all their pairs; larger ones a star from the first member
# (canonical order) plus the chain of consecutive members, 2k pairs instead of k^2/2.
ALL_PAIRS_MAX_BUCKET = 32
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)


def collision_probability(s: npt.ArrayLike, bands: int, rows: int) -> npt.NDArray[np.float64]:
    """Return 1 - (1 - s**rows)**bands, the chance that Jaccard-s documents become candidates."""
    s = np.asarray(s, dtype=np.float64)
    result: npt.NDArray[np.float64] = 1.0 - (1.0 - s**rows) ** bands
    return result


@functools.cache
def optimal_bands(
    threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5
) -> tuple[int, int]:
    """Return (bands, rows), bands * rows <= num_perm, minimising weighted FP and FN areas.

    The false-positive area is the integral of the collision probability over [0, threshold],
    the false-negative area that of its complement over [threshold, 1] (the criterion of
    datasketch's MinHashLSH; integrals here by Simpson's rule on 1,001 points). Ties keep the
    first (smallest bands) choice.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
    lo = np.linspace(0.0, threshold, 1001)
    hi = np.linspace(threshold, 1.0, 1001)
    best, choice = np.inf, (1, 1)
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp = _simpson(collision_probability(lo, bands, rows), lo)
            fn = _simpson(1.0 - collision_probability(hi, bands, rows), hi)
            error = fp_weight * fp + fn_weight * fn
            if error < best - 1e-12:
                best, choice = error, (bands, rows)
    return choice


def _simpson(y: npt.NDArray[np.float64], x: npt.NDArray[np.float64]) -> float:
    h = (x[-1] - x[0]) / (len(x) - 1)
    return float(h / 3 * (y[0] + y[-1] + 4 * y[1:-1:2].sum() + 2 * y[2:-1:2].sum()))


def _mix64(x: U64) -> U64:
    """Apply the splitmix64 finalizer element-wise (uint64 arithmetic wraps)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M2
    x = x ^ (x >> np.uint64(27))
    x = x * _M3
    return x ^ (x >> np.uint64(31))


def band_keys(sigs: U32, bands: int, rows: int) -> U64:
    """Return (documents x bands) 64-bit bucket keys; the band index is mixed into the key."""
    n = sigs.shape[0]
    keys = np.empty((n, bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for band in range(bands):
            key = np.full(n, np.uint64(band + 1) * _M1, dtype=np.uint64)
            for col in range(band * rows, (band + 1) * rows):
                key = _mix64(key ^ sigs[:, col].astype(np.uint64))
            keys[:, band] = key
    return keys


def bucket_pairs(keys: U64, members: U64) -> U64:
    """Return the distinct candidate pairs (E x 2, first < second) of equal-key members.

    `members` are global document numbers; the result is the same whatever the input order.
    """
    order = np.lexsort((members, keys))
    keys, members = keys[order], members[order]
    if len(keys) < 2:
        return np.empty((0, 2), dtype=np.uint64)
    starts_mask = np.concatenate(([True], keys[1:] != keys[:-1]))
    starts = np.flatnonzero(starts_mask)
    sizes = np.diff(np.append(starts, len(keys)))
    pairs: list[U64] = []
    for size in np.unique(sizes[(sizes >= 2) & (sizes <= ALL_PAIRS_MAX_BUCKET)]):
        first = starts[sizes == size]
        i, j = np.triu_indices(int(size), 1)
        pairs.append(
            np.stack(
                [members[(first[:, None] + i).ravel()], members[(first[:, None] + j).ravel()]],
                axis=1,
            )
        )
    big = sizes > ALL_PAIRS_MAX_BUCKET
    if big.any():
        bucket = np.repeat(np.arange(len(starts)), sizes)
        in_big = big[bucket]
        index = np.flatnonzero(in_big)
        first_of = starts[bucket[index]]
        not_first = index != first_of
        pairs.append(np.stack([members[first_of[not_first]], members[index[not_first]]], axis=1))
        consecutive = index[not_first]
        consecutive = consecutive[consecutive - 1 != first_of[not_first]]
        pairs.append(np.stack([members[consecutive - 1], members[consecutive]], axis=1))
    if not pairs:
        return np.empty((0, 2), dtype=np.uint64)
    return unique_pairs(np.concatenate(pairs))


def unique_pairs(pairs: U64) -> U64:
    """Return the distinct rows of an (E x 2) pair array, sorted."""
    if not len(pairs):
        return pairs.reshape(0, 2)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    pairs = pairs[order]
    keep = np.concatenate(([True], np.any(pairs[1:] != pairs[:-1], axis=1)))
    result: U64 = pairs[keep]
    return result
