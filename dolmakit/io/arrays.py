"""Write and read numpy arrays (`.npy`, `.npz`) and Parquet tables locally or on s3://.

Every function takes a location (`dolmakit.io.storage`): local files go through the same calls
as before (numpy and pyarrow on the path or an open file), so local bytes do not change;
objects go through `storage` streams, whole objects being read into memory (there is no
memory map of an object). Writes are atomic: a reader never sees a partial file.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dolmakit.io import storage
from dolmakit.io.atomic import atomic_open, atomic_path
from dolmakit.io.storage import RemotePath


def save_npy(path: str | Path, array: npt.NDArray[Any]) -> None:
    """Write one array to a `.npy` file atomically (`np.save`)."""
    loc = storage.location(path)
    if isinstance(loc, RemotePath):
        buffer = io.BytesIO()
        np.save(buffer, array)
        with atomic_open(loc) as out:
            out.write(buffer.getvalue())
        return
    with atomic_path(loc) as tmp, open(tmp, "wb") as out:
        np.save(out, array)


def save_npz(path: str | Path, **arrays: Any) -> None:
    """Write arrays to an uncompressed `.npz` file atomically (`np.savez`)."""
    loc = storage.location(path)
    if isinstance(loc, RemotePath):
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        with atomic_open(loc) as out:
            out.write(buffer.getvalue())
        return
    with atomic_path(loc) as tmp, open(tmp, "wb") as out:
        np.savez(out, **arrays)


def load_npy(path: str | Path, *, mmap: bool = False) -> Any:
    """Read a `.npy` array; `mmap` maps a local file read-only, an object is read whole."""
    loc = storage.location(path)
    if isinstance(loc, RemotePath):
        return np.load(io.BytesIO(loc.read_bytes()))
    return np.load(loc, mmap_mode="r" if mmap else None)


def load_npz(path: str | Path) -> Any:
    """Open an `.npz` file (`np.load`, a context manager); an object is read whole first."""
    loc = storage.location(path)
    if isinstance(loc, RemotePath):
        return np.load(io.BytesIO(loc.read_bytes()))
    return np.load(loc)


def write_table(table: Any, path: str | Path, **options: Any) -> None:
    """Write a pyarrow table as Parquet atomically (`pq.write_table` with `options`)."""
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        if isinstance(tmp, RemotePath):
            with storage.open_arrow_output(tmp) as out:
                pq.write_table(table, out, **options)
        else:
            pq.write_table(table, tmp, **options)


@contextmanager
def parquet_writer(path: str | Path, schema: Any, **options: Any) -> Iterator[Any]:
    """Yield a `pq.ParquetWriter` whose file becomes `path` only if the block succeeds."""
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        if isinstance(tmp, RemotePath):
            with (
                storage.open_arrow_output(tmp) as out,
                pq.ParquetWriter(out, schema, **options) as writer,
            ):
                yield writer
        else:
            with pq.ParquetWriter(tmp, schema, **options) as writer:
                yield writer


def read_table(path: str | Path, **options: Any) -> Any:
    """Read a Parquet file or object into a pyarrow table (`pq.read_table` with `options`)."""
    import pyarrow.parquet as pq

    return pq.read_table(storage.open_random(path), **options)


def parquet_rows(path: str | Path) -> int:
    """Return the number of rows a Parquet file's footer records."""
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(storage.open_random(path)).metadata.num_rows)
