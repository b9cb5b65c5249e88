"""xxh32 (seed 0) of many fixed-width keys at once, vectorised with numpy.

A key is `k` 32-bit words, read as `4 * k` little-endian bytes; column `j` of the input holds
word `j` of every key. The result equals `xxhash.xxh32_intdigest(key_bytes)` bit for bit (a
test checks widths 1 to 12 against the xxhash package): the algorithm for inputs whose length
is a multiple of 4 is a fixed sequence of 32-bit multiply, add and rotate steps, so one numpy
operation handles every key of a batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

U32 = npt.NDArray[np.uint32]

_P1 = 0x9E3779B1
_P2 = 0x85EBCA77
_P3 = 0xC2B2AE3D
_P4 = 0x27D4EB2F
_P5 = 0x165667B1
_MASK = 0xFFFFFFFF


def _rotl(x: U32, r: int) -> U32:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def xxh32_words(columns: Sequence[U32]) -> U32:
    """Return xxh32 (seed 0) of each row of little-endian uint32 words given column by column."""
    k = len(columns)
    if k == 0:
        raise ValueError("xxh32_words needs at least one word per key")
    m = len(columns[0])
    p1, p2, p3, p4 = (np.uint32(p) for p in (_P1, _P2, _P3, _P4))
    i = 0
    with np.errstate(over="ignore"):
        if k >= 4:  # 16-byte stripes feed four accumulators
            acc = [
                np.full(m, (_P1 + _P2) & _MASK, dtype=np.uint32),
                np.full(m, _P2, dtype=np.uint32),
                np.zeros(m, dtype=np.uint32),
                np.full(m, (-_P1) & _MASK, dtype=np.uint32),
            ]
            while i + 4 <= k:
                for lane in range(4):
                    acc[lane] = _rotl(acc[lane] + columns[i + lane] * p2, 13) * p1
                i += 4
            h = _rotl(acc[0], 1) + _rotl(acc[1], 7) + _rotl(acc[2], 12) + _rotl(acc[3], 18)
            h += np.uint32((4 * k) & _MASK)
        else:
            h = np.full(m, (_P5 + 4 * k) & _MASK, dtype=np.uint32)
        for j in range(i, k):  # the remaining whole words
            h = _rotl(h + columns[j] * p3, 17) * p4
        h ^= h >> np.uint32(15)
        h *= p2
        h ^= h >> np.uint32(13)
        h *= p3
        h ^= h >> np.uint32(16)
    return h
