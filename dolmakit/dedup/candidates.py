"""Bucket partitions to verified edges: the step that runs in parallel, one partition each.

Interface (what a distributed backend maps): `PartitionEdges(...)(part)` reads partition
`part` of every shard's band files, pairs documents that share a bucket key, verifies each
pair and writes `edges-PPPP.npz` (pairs: E x 2 uint64 document numbers, first < second;
similarity: float64; verified: bool) into the work folder; it returns the numbers of
candidate and verified pairs. Partitions are independent; the same pair may come out of
several partitions and is merged later. The result depends only on the index, never on the
order of work.

`DistinctPairs(files, buckets)(bucket)` counts the distinct candidate and verified pairs of
one hash bucket of the pairs over all edge files: mapped over the buckets (in parallel, by
any backend), it counts the pairs without holding all of them in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dolmakit.dedup.index import ROW_BITS, ShardEntry, SignatureStore, partition_name, save_arrays
from dolmakit.dedup.lsh import bucket_pairs, unique_pairs
from dolmakit.dedup.minhash import estimate_jaccard
from dolmakit.dedup.shingles import jaccard_many
from dolmakit.io import storage
from dolmakit.io.arrays import load_npz

U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
# Shingle hashes (of both sides) gathered per verification chunk: about 50 bytes each in
# temporaries, so ~6 MB whatever the documents' lengths (a chunk holds at least one pair).
SHINGLES_PER_CHUNK = 131072
_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)


def edges_name(part: int) -> str:
    """Return the file name of one partition's verified edges."""
    return f"edges-{part:04d}.npz"


def similarities(pairs: U64, store: SignatureStore, verify: str) -> F64:
    """Return the Jaccard of each pair: exact on shingle hashes, or estimated on signatures."""
    if not len(pairs):
        return np.empty(0, dtype=np.float64)
    if verify == "exact":
        out = np.empty(len(pairs), dtype=np.float64)
        sizes = store.shingle_counts(pairs[:, 0]) + store.shingle_counts(pairs[:, 1])
        ends = np.cumsum(sizes)
        start = 0
        while start < len(pairs):
            done = int(ends[start - 1]) if start else 0
            stop = max(start + 1, int(np.searchsorted(ends, done + SHINGLES_PER_CHUNK, "right")))
            chunk = pairs[start:stop]
            a, a_offsets = store.shingle_sets(chunk[:, 0])
            b, b_offsets = store.shingle_sets(chunk[:, 1])
            out[start:stop] = jaccard_many(a, a_offsets, b, b_offsets)
            start = stop
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
            path = storage.location(shard.dir) / partition_name(part)
            with load_npz(path) as data:
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
            storage.location(self.work_dir) / edges_name(part),
            pairs=pairs,
            similarity=sims,
            verified=keep,
        )
        return len(pairs), int(keep.sum())


def pair_bucket(pairs: U64, buckets: int) -> npt.NDArray[np.int64]:
    """Return each pair's bucket in 0..buckets-1: a hash of both document numbers."""
    with np.errstate(over="ignore"):
        mixed = (pairs[:, 0] * _M1) ^ pairs[:, 1]
        mixed = (mixed ^ (mixed >> np.uint64(31))) * _M2
    bucket: npt.NDArray[np.int64] = ((mixed >> np.uint64(32)) % np.uint64(buckets)).astype(np.int64)
    return bucket


@dataclass(frozen=True)
class DistinctPairs:
    """Count the distinct candidate and verified pairs of one bucket (a picklable callable).

    `files`: the edge files of all partitions. A pair's bucket depends only on the pair, so
    every copy of a pair falls into the same bucket and the counts of all buckets add up to
    the distinct totals. Memory: one edge file plus one bucket's share of all pairs.
    """

    files: tuple[str, ...]
    buckets: int

    def __call__(self, bucket: int) -> tuple[int, int]:
        candidates, verified = [], []
        for path in self.files:
            with load_npz(path) as data:
                pairs = data["pairs"].reshape(-1, 2).astype(np.uint64, copy=False)
                ok = data["verified"]
            mine = pair_bucket(pairs, self.buckets) == bucket
            candidates.append(pairs[mine])
            verified.append(pairs[mine & ok])
        empty = np.empty((0, 2), dtype=np.uint64)
        return (
            len(unique_pairs(np.concatenate(candidates) if candidates else empty)),
            len(unique_pairs(np.concatenate(verified) if verified else empty)),
        )
