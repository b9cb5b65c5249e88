"""Write and read the mixer's files (arrays, Parquet tables, spill runs) locally or on s3://.

Every function takes a location (`dolmakit.storage`): local files go through the same calls
as before (numpy and pyarrow on the path, the builtin `open`), so local bytes do not change;
objects go through `storage` streams. Writes are atomic: a reader never sees a partial file.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from dolmakit import storage
from dolmakit.atomic import atomic_open, atomic_path
from dolmakit.errors import StorageError
from dolmakit.storage import RemotePath

RUN_BUFFER = 1 << 16
FETCH_THREADS = 8


def save_npz(path: Path, **arrays: Any) -> None:
    """Write arrays to an uncompressed `.npz` file atomically (`np.savez`)."""
    if isinstance(path, RemotePath):
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        with atomic_open(path) as out:
            out.write(buffer.getvalue())
        return
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        np.savez(out, **arrays)


def load_npz(path: Path) -> Any:
    """Open an `.npz` file (`np.load`); an object is read whole into memory first."""
    if isinstance(path, RemotePath):
        return np.load(io.BytesIO(path.read_bytes()))
    return np.load(path)


def write_table(table: Any, path: Path, **options: Any) -> None:
    """Write a pyarrow table as Parquet atomically (`pq.write_table` with `options`)."""
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        if isinstance(tmp, RemotePath):
            with storage.open_arrow_output(tmp) as out:
                pq.write_table(table, out, **options)
        else:
            pq.write_table(table, tmp, **options)


def read_table(path: Path, **options: Any) -> Any:
    """Read a Parquet file or object into a pyarrow table (`pq.read_table` with `options`)."""
    import pyarrow.parquet as pq

    return pq.read_table(storage.open_random(path), **options)


def parquet_rows(path: Path) -> int:
    """Return the number of rows a Parquet file's footer records."""
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(storage.open_random(path)).metadata.num_rows)


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
