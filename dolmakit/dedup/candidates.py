"""Bucket partitions to verified edges: the step that runs in parallel, one partition each.

Interface (what a distributed backend maps): `PartitionEdges(...)(part)` reads partition
`part` of every shard's band files, pairs documents that share a bucket key, verifies each
pair and writes `edges-PPPP.npz` (pairs: E x 2 uint64 document numbers, first < second;
similarity: float64; verified: bool) into the work folder; it returns the numbers of
candidate and verified pairs. Partitions are independent; the same pair may come out of
several partitions and is merged later. The result depends only on the index, never on the
order of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from dolmakit.dedup.index import ROW_BITS, ShardEntry, SignatureStore, partition_name, save_arrays
from dolmakit.dedup.lsh import bucket_pairs
from dolmakit.dedup.minhash import estimate_jaccard
from dolmakit.dedup.shingles import jaccard_many

U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
# Pairs verified at once: bounds the gathered shingle hashes and keys (~10 MB).
PAIRS_PER_CHUNK = 512


def edges_name(part: int) -> str:
    """Return the file name of one partition's verified edges."""
    return f"edges-{part:04d}.npz"


def similarities(pairs: U64, store: SignatureStore, verify: str) -> F64:
    """Return the Jaccard of each pair: exact on shingle hashes, or estimated on signatures."""
    if not len(pairs):
        return np.empty(0, dtype=np.float64)
    if verify == "exact":
        out = np.empty(len(pairs), dtype=np.float64)
        for start in range(0, len(pairs), PAIRS_PER_CHUNK):
            chunk = pairs[start : start + PAIRS_PER_CHUNK]
            a, a_offsets = store.shingle_sets(chunk[:, 0])
            b, b_offsets = store.shingle_sets(chunk[:, 1])
            out[start : start + len(chunk)] = jaccard_many(a, a_offsets, b, b_offsets)
        return out
    return estimate_jaccard(store.signatures(pairs[:, 0]), store.signatures(pairs[:, 1]))


@dataclass(frozen=True)
class PartitionEdges:
    """Turn one band partition into verified edges (a picklable callable for any backend).

    `new_from`: shards numbered below it come from an earlier run's index; pairs of two such
    documents were settled then and are skipped.
    """

    shards: tuple[ShardEntry, ...]
    work_dir: str
    verify: str
    threshold: float
    new_from: int = 0

    def __call__(self, part: int) -> tuple[int, int]:
        keys, members = [], []
        for number, shard in enumerate(self.shards):
            path = Path(shard.dir) / partition_name(part)
            with np.load(path) as data:
                keys.append(data["keys"])
                members.append((np.uint64(number) << ROW_BITS) | data["rows"].astype(np.uint64))
        pairs = bucket_pairs(
            np.concatenate(keys) if keys else np.empty(0, np.uint64),
            np.concatenate(members) if members else np.empty(0, np.uint64),
        )
        if self.new_from:
            pairs = pairs[pairs[:, 1] >= (np.uint64(self.new_from) << ROW_BITS)]
        store = SignatureStore(list(self.shards))
        mode = "estimate" if self.verify == "none" else self.verify
        sims = similarities(pairs, store, mode)
        keep = np.ones(len(pairs), dtype=bool) if self.verify == "none" else sims >= self.threshold
        save_arrays(
            Path(self.work_dir) / edges_name(part), pairs=pairs, similarity=sims, verified=keep
        )
        return len(pairs), int(keep.sum())
