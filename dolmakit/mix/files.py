"""Read the mixer's spill runs and list its shards, locally or on s3://.

The array and Parquet helpers the mixer uses live in `dolmakit.io.arrays` (shared with dedup)
and are re-exported here. Every function takes a location (`dolmakit.io.storage`): local files
are opened with the builtin `open`; objects are fetched in ranged requests.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from dolmakit.errors import StorageError
from dolmakit.io import storage
from dolmakit.io.arrays import load_npz, parquet_rows, read_table, save_npz, write_table
from dolmakit.io.storage import RemotePath

__all__ = [
    "load_npz",
    "open_blocks",
    "parquet_rows",
    "read_table",
    "save_npz",
    "shard_files",
    "write_table",
]
RUN_BUFFER = 1 << 16
FETCH_THREADS = 8


def open_blocks(blocks: Sequence[tuple[Path, int, int, int]]) -> list[BinaryIO]:
    """Open byte ranges of files for reading lines: (path, offset, length, file size) each.

    A local file is opened and positioned at `offset` (reading may go past the block). An
    object's block is fetched whole with one ranged request, up to FETCH_THREADS at once, on
    a handle kept per (object, size) in this process, so a worker writing many parts from the
    same runs asks for each object's size once. A short block is an error naming the object.
    """
    if not any(isinstance(path, RemotePath) for path, *_ in blocks):
        return [_open_at(path, offset) for path, offset, _, _ in blocks]

    def fetch(block: tuple[Path, int, int, int]) -> BinaryIO:
        path, offset, length, size = block
        if not isinstance(path, RemotePath):
            return _open_at(path, offset)
        try:
            data = bytes(_remote_file(str(path), size).read_at(length, offset))
        except OSError as exc:
            raise storage.storage_error(path, exc) from None
        if len(data) != length:
            raise StorageError(
                f"{path}: expected {length:,} bytes at offset {offset:,}, got {len(data):,}"
                " (the file changed during the build)"
            )
        return io.BytesIO(data)

    with ThreadPoolExecutor(min(FETCH_THREADS, len(blocks))) as pool:
        return list(pool.map(fetch, blocks))


def _open_at(path: Path, offset: int) -> BinaryIO:
    handle = open(path, "rb", buffering=RUN_BUFFER)  # noqa: SIM115 - the caller closes it
    handle.seek(offset)
    return handle


@functools.lru_cache(maxsize=4096)
def _remote_file(uri: str, size: int) -> Any:
    """Return a random-access handle on an object of `size` bytes (sizes key the cache)."""
    return storage.open_random(uri)


def shard_files(mix_dir: Path) -> list[Path]:
    """Return the files (objects) directly in `mix_dir` whose name starts with `shard-`."""
    if not mix_dir.is_dir():
        return []
    return sorted((p for p in mix_dir.iterdir() if p.name.startswith("shard-")), key=str)
