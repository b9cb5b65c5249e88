"""The on-disk index of a MinHash run: one folder of arrays per document shard.

Layout of `<index>/`:
    index.json                 config fields that decide signatures, and the shards in
                               canonical order: [{key, path, dir, docs}]
    <key>/meta.msgpack         document ids and sources, in line order
    <key>/numbers.npz          line, length (characters), shingles (count), attr (score/NaN)
    <key>/sig.npy              (docs x num_perm) uint32 signatures
    <key>/shingles.npy         sorted distinct shingle hashes of all documents, concatenated
    <key>/offsets.npy          (docs + 1) int64 offsets into shingles.npy
    <key>/bands-PPPP.npz       bucket keys (uint64) and rows (uint32) of partition PPPP

A document's global number is `(shard number << 32) | row`, shard numbers following the
order of `index.json`, so sorting numbers gives canonical order (sorted path, then line).
An index of an earlier run is reused by an incremental run: its shards come first.
"""

from __future__ import annotations

import hashlib
import mmap
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from dolmakit.errors import ConfigError
from dolmakit.io import storage
from dolmakit.io.arrays import load_npy, load_npz, save_npy, save_npz
from dolmakit.io.atomic import write_bytes_atomic

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]
INDEX_FILE = "index.json"
ROW_BITS = np.uint64(32)
ROW_MASK = np.uint64(0xFFFFFFFF)


def shard_key(path: Path) -> str:
    """Return a file-name-safe key for a document file: a path hash plus its readable tail."""
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    tail = re.sub(r"[^A-Za-z0-9_.-]", "_", "-".join(path.parts[-2:]))
    return f"{digest}-{tail}"[:96]


def partition_name(part: int) -> str:
    """Return the file name of one band partition."""
    return f"bands-{part:04d}.npz"


@dataclass(frozen=True)
class ShardEntry:
    """One indexed document file: its key, path, array folder and number of documents."""

    key: str
    path: str
    dir: str
    docs: int


def save_array(path: Path, array: npt.NDArray[Any]) -> None:
    """Write one .npy array atomically (locally or on s3://)."""
    save_npy(path, array)


def save_arrays(path: Path, **arrays: npt.NDArray[Any]) -> None:
    """Write an uncompressed .npz of named arrays atomically (locally or on s3://)."""
    save_npz(path, **arrays)


def save_meta(path: Path, ids: list[str], sources: list[str | None]) -> None:
    """Write the ids and sources of a shard's documents."""
    write_bytes_atomic(path, msgspec.msgpack.encode({"ids": ids, "sources": sources}))


def load_meta(shard_dir: Path) -> tuple[list[str], list[str | None]]:
    """Return (ids, sources) of a shard, in row order."""
    data = msgspec.msgpack.decode((shard_dir / "meta.msgpack").read_bytes())
    return data["ids"], data["sources"]


class _Ids(msgspec.Struct):
    ids: list[str]


class _Sources(msgspec.Struct):
    sources: list[str | None]


def load_ids(shard_dir: Path) -> list[str]:
    """Return the ids of a shard's documents only (the sources are skipped, not decoded)."""
    return msgspec.msgpack.decode((shard_dir / "meta.msgpack").read_bytes(), type=_Ids).ids


def load_sources(shard_dir: Path) -> list[str | None]:
    """Return the sources of a shard's documents only (the ids are skipped, not decoded)."""
    data = (shard_dir / "meta.msgpack").read_bytes()
    return msgspec.msgpack.decode(data, type=_Sources).sources


def load_numbers(shard_dir: Path) -> dict[str, npt.NDArray[Any]]:
    """Return the per-document numeric columns of a shard."""
    with load_npz(shard_dir / "numbers.npz") as data:
        return {name: data[name] for name in data.files}


def write_index(index_dir: Path, fields: dict[str, Any], shards: list[ShardEntry]) -> None:
    """Write index.json: the signature options and the shards in canonical order."""
    body = {"config": fields, "shards": [asdict(s) for s in shards]}
    write_bytes_atomic(index_dir / INDEX_FILE, msgspec.json.encode(body))


def read_index(index_dir: Path, fields: dict[str, Any]) -> list[ShardEntry]:
    """Return the shards of an earlier run's index; ConfigError if its options differ."""
    path = index_dir / INDEX_FILE
    if not path.is_file():
        raise ConfigError(f"{index_dir}: no MinHash index here (expected {INDEX_FILE})")
    body = msgspec.json.decode(path.read_bytes())
    recorded = body.get("config", {})
    diff = sorted(k for k in fields if recorded.get(k) != fields[k])
    if diff:
        detail = ", ".join(f"{k}: index {recorded.get(k)!r}, now {fields[k]!r}" for k in diff)
        raise ConfigError(f"{path}: the index was built with other options ({detail})")
    return [ShardEntry(**s) for s in body["shards"]]


def _drop_pages(array: npt.NDArray[Any]) -> None:
    """Take a memory-mapped array's pages out of this process's resident set (MADV_DONTNEED).

    The file is read-only and mapped shared, so nothing is lost: the pages stay in the page
    cache and a later read maps them back. Arrays that are not memory maps are left alone.
    """
    mapping = getattr(array, "_mmap", None)
    if isinstance(mapping, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        mapping.madvise(mmap.MADV_DONTNEED)


class SignatureStore:
    """Read rows of signatures and shingle sets of many shards by global document number.

    Arrays are memory-mapped (an s3:// index's are read whole, once per shard, and cached);
    what a read returns is always a copy. With `release=True` every
    read ends by dropping the mapped pages it touched from the resident set, so the process's
    RSS counts what it holds (the copies), not the clean index pages it read on the way; for
    the long-lived driver (peak RSS was mostly such pages, docs/benchmarks-dedup.md).
    """

    def __init__(self, shards: list[ShardEntry], *, release: bool = False) -> None:
        self.shards = shards
        self.release = release
        self._sigs: dict[int, U32] = {}
        self._shingles: dict[int, tuple[U32, npt.NDArray[np.int64]]] = {}

    def _released(self) -> None:
        if self.release:
            for sig in self._sigs.values():
                _drop_pages(sig)
            for values, _ in self._shingles.values():
                _drop_pages(values)

    def _sig(self, shard: int) -> U32:
        if shard not in self._sigs:
            folder = storage.location(self.shards[shard].dir)
            self._sigs[shard] = load_npy(folder / "sig.npy", mmap=True)
        return self._sigs[shard]

    def signatures(self, numbers: U64) -> U32:
        """Return the signatures of documents, in the order given."""
        shard_of = (numbers >> ROW_BITS).astype(np.int64)
        rows = (numbers & ROW_MASK).astype(np.int64)
        width = self._sig(int(shard_of[0])).shape[1] if len(numbers) else 0
        out = np.empty((len(numbers), width), dtype=np.uint32)
        for shard in np.unique(shard_of):
            mask = shard_of == shard
            out[mask] = self._sig(int(shard))[rows[mask]]
        self._released()
        return out

    def _shingle_arrays(self, shard: int) -> tuple[U32, npt.NDArray[np.int64]]:
        if shard not in self._shingles:
            folder = storage.location(self.shards[shard].dir)
            self._shingles[shard] = (
                load_npy(folder / "shingles.npy", mmap=True),
                load_npy(folder / "offsets.npy"),
            )
        return self._shingles[shard]

    def shingle_counts(self, numbers: U64) -> npt.NDArray[np.int64]:
        """Return the number of distinct shingle hashes of each document, in the order given."""
        shard_of = (numbers >> ROW_BITS).astype(np.int64)
        rows = (numbers & ROW_MASK).astype(np.int64)
        counts = np.empty(len(numbers), dtype=np.int64)
        for shard in np.unique(shard_of).tolist():
            mask = shard_of == shard
            offsets = self._shingle_arrays(shard)[1]
            counts[mask] = offsets[rows[mask] + 1] - offsets[rows[mask]]
        return counts

    def shingle_sets(self, numbers: U64) -> tuple[U32, npt.NDArray[np.int64]]:
        """Return the shingle hashes of documents, concatenated in the order given, and offsets.

        Document i's hashes are `values[offsets[i]:offsets[i + 1]]`.
        """
        shard_of = (numbers >> ROW_BITS).astype(np.int64)
        rows = (numbers & ROW_MASK).astype(np.int64)
        starts = np.empty(len(numbers), dtype=np.int64)
        sizes = np.empty(len(numbers), dtype=np.int64)
        for shard in np.unique(shard_of).tolist():
            mask = shard_of == shard
            offsets = self._shingle_arrays(shard)[1]
            starts[mask] = offsets[rows[mask]]
            sizes[mask] = offsets[rows[mask] + 1] - starts[mask]
        out_offsets = np.zeros(len(numbers) + 1, dtype=np.int64)
        np.cumsum(sizes, out=out_offsets[1:])
        values = np.empty(int(out_offsets[-1]), dtype=np.uint32)
        for shard in np.unique(shard_of).tolist():
            mask = shard_of == shard
            source = ragged_ranges(starts[mask], sizes[mask])
            target = ragged_ranges(out_offsets[:-1][mask], sizes[mask])
            values[target] = self._shingle_arrays(shard)[0][source]
        self._released()
        return values, out_offsets

    def shingles(self, number: int) -> U32:
        """Return the sorted distinct shingle hashes of one document."""
        shard, row = number >> 32, number & 0xFFFFFFFF
        values, offsets = self._shingle_arrays(shard)
        out = np.array(values[offsets[row] : offsets[row + 1]])
        self._released()
        return out


def ragged_ranges(
    starts: npt.NDArray[np.int64], sizes: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Return the concatenation of `range(start, start + size)` for each pair, vectorised."""
    total = int(sizes.sum())
    if not total:
        return np.empty(0, dtype=np.int64)
    shift = starts - (np.cumsum(sizes) - sizes)
    return np.repeat(shift, sizes) + np.arange(total, dtype=np.int64)
