"""Band partitions to verified edges, in two steps that each run in parallel.

Interface (what a distributed backend maps): `PartitionEdges(...)(part)` reads partition
`part` of every shard's band files, pairs documents that share a bucket key and writes the
candidate pairs (`candidates-PPPP.npz`, pairs: E x 2 uint64 document numbers, first <
second) into the work folder. A pair shares several bands, so it comes out of several
partitions (about 6 times on the benchmark corpus); `VerifyBucket(...)(bucket)` then takes
the candidate pairs whose hash falls in one bucket from every partition's file, verifies
each distinct pair once and writes `edges-BBBB.npz` (pairs, similarity: float64, verified:
bool), returning the numbers of distinct candidate and verified pairs. A pair's bucket
depends only on the pair, so every pair is in exactly one edge file and the counts of all
buckets add up to the distinct totals. The result depends only on the index, never on the
order of work.
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


def edges_name(bucket: int) -> str:
    """Return the file name of one bucket's verified edges."""
    return f"edges-{bucket:04d}.npz"


def candidates_name(part: int) -> str:
    """Return the file name of one partition's candidate pairs."""
    return f"candidates-{part:04d}.npz"


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
    """Turn one band partition into candidate pairs (a picklable callable for any backend).

    `new_from`: shards numbered below it come from an earlier run's index; pairs of two such
    documents were settled then and are skipped. Returns the number of pairs written.
    """

    shards: tuple[ShardEntry, ...]
    work_dir: str
    new_from: int = 0

    def __call__(self, part: int) -> int:
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
        save_arrays(storage.location(self.work_dir) / candidates_name(part), pairs=pairs)
        return len(pairs)


def pair_bucket(pairs: U64, buckets: int) -> npt.NDArray[np.int64]:
    """Return each pair's bucket in 0..buckets-1: a hash of both document numbers."""
    with np.errstate(over="ignore"):
        mixed = (pairs[:, 0] * _M1) ^ pairs[:, 1]
        mixed = (mixed ^ (mixed >> np.uint64(31))) * _M2
    bucket: npt.NDArray[np.int64] = ((mixed >> np.uint64(32)) % np.uint64(buckets)).astype(np.int64)
    return bucket


@dataclass(frozen=True)
class VerifyBucket:
    """Verify the distinct candidate pairs of one bucket (a picklable callable).

    `files`: the candidate files of all partitions. Writes the bucket's edge file and
    returns (distinct candidate pairs, verified pairs). Memory: one candidate file plus
    one bucket's share of all candidate pairs.
    """

    shards: tuple[ShardEntry, ...]
    files: tuple[str, ...]
    work_dir: str
    buckets: int
    verify: str
    threshold: float

    def __call__(self, bucket: int) -> tuple[int, int]:
        mine = []
        for path in self.files:
            with load_npz(path) as data:
                pairs = data["pairs"].reshape(-1, 2).astype(np.uint64, copy=False)
            mine.append(pairs[pair_bucket(pairs, self.buckets) == bucket])
        pairs = unique_pairs(np.concatenate(mine) if mine else np.empty((0, 2), np.uint64))
        store = SignatureStore(list(self.shards))
        mode = "estimate" if self.verify == "none" else self.verify
        sims = similarities(pairs, store, mode)
        keep = np.ones(len(pairs), dtype=bool) if self.verify == "none" else sims >= self.threshold
        save_arrays(
            storage.location(self.work_dir) / edges_name(bucket),
            pairs=pairs,
            similarity=sims,
            verified=keep,
        )
        return len(pairs), int(keep.sum())
