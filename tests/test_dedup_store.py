"""SignatureStore: reads by document number, with and without releasing mapped pages."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from dolmakit.dedup.index import ShardEntry, SignatureStore


def _shard(folder: Path, sets: list[list[int]], width: int = 4) -> ShardEntry:
    """Write one shard's sig.npy, shingles.npy and offsets.npy for the given shingle sets."""
    folder.mkdir(parents=True)
    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in sets], out=offsets[1:])
    values = np.array([v for s in sets for v in s], dtype=np.uint32)
    sig = np.arange(len(sets) * width, dtype=np.uint32).reshape(len(sets), width)
    np.save(folder / "shingles.npy", values)
    np.save(folder / "offsets.npy", offsets)
    np.save(folder / "sig.npy", sig)
    return ShardEntry(folder.name, str(folder), str(folder), len(sets))


@pytest.mark.parametrize("release", [False, True])
def test_store_reads_rows_by_number(tmp_path: Path, release: bool) -> None:
    shards = [
        _shard(tmp_path / "a", [[1, 5, 9], [], [2]]),
        _shard(tmp_path / "b", [[7, 8], [3, 4, 6, 10]]),
    ]
    store = SignatureStore(shards, release=release)
    # (shard << 32) | row, in a mixed order, with a repeat.
    numbers = np.array([(1 << 32) | 1, 0, 2, (1 << 32) | 0, 0], dtype=np.uint64)
    values, offsets = store.shingle_sets(numbers)
    got = [values[offsets[i] : offsets[i + 1]].tolist() for i in range(len(numbers))]
    assert got == [[3, 4, 6, 10], [1, 5, 9], [2], [7, 8], [1, 5, 9]]
    assert store.shingle_counts(numbers).tolist() == [4, 3, 1, 2, 3]
    sigs = store.signatures(numbers)
    assert sigs[:, 0].tolist() == [4, 0, 8, 0, 0]  # row r of each shard starts at 4 * r
    one = store.shingles((1 << 32) | 1)
    assert one.tolist() == [3, 4, 6, 10]
    assert not isinstance(one, np.memmap) and one.base is None  # a copy, not a view of the map
    assert store.shingles(1).tolist() == []


def _rss_file_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1])
    raise AssertionError("no RssFile in /proc/self/status")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_release_keeps_index_pages_out_of_rss(tmp_path: Path) -> None:
    # 64 MB of shingle hashes in one document set per 4,096 values.
    docs, per_doc = 4096, 4096
    folder = tmp_path / "big"
    folder.mkdir()
    np.save(folder / "shingles.npy", np.arange(docs * per_doc, dtype=np.uint32))
    np.save(folder / "offsets.npy", np.arange(0, docs * per_doc + 1, per_doc, dtype=np.int64))
    np.save(folder / "sig.npy", np.zeros((docs, 1), dtype=np.uint32))
    shard = ShardEntry("big", str(folder), str(folder), docs)
    numbers = np.arange(docs, dtype=np.uint64)
    growth = {}
    for release in (False, True):
        store = SignatureStore([shard], release=release)
        before = _rss_file_kb()
        for start in range(0, docs, 512):  # read everything, chunk by chunk
            values, _ = store.shingle_sets(numbers[start : start + 512])
            assert int(values[0]) == start * per_doc
        growth[release] = _rss_file_kb() - before
        del store
    # Without release the 64 MB of mapped pages stay resident; with it, at most a few pages.
    assert growth[False] > 48 * 1024
    assert growth[True] < 8 * 1024
