"""Stream plain, gzip and zstd files, chosen by the file name's last extension.

Readers yield decompressed chunks and raise `EOFError` when a compressed file ends inside a
frame or member: zstandard's and gzip's stream readers otherwise end a truncated file quietly.
Bytes that are not valid compressed data (corrupt, or another format under the name) raise
`CorruptStreamError`.
Files may be local or objects (`s3://`); `dolmakit.io.storage` hands over their raw bytes.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import zstandard

from dolmakit.io import storage

ZSTD_LEVEL = 3
GZIP_LEVEL = 6
CHUNK_BYTES = 1 << 20


class CorruptStreamError(Exception):
    """Report bytes that do not decompress: a corrupt frame or member, or not that format."""


def compression_of(path: str | Path) -> str:
    """Return 'zst', 'gz' or '' from the file name's last extension."""
    name = str(path)
    if name.endswith((".zst", ".zstd")):
        return "zst"
    if name.endswith(".gz"):
        return "gz"
    return ""


def iter_chunks(path: str | Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Yield the decompressed content of a file in chunks; EOFError if it is truncated."""
    kind = compression_of(path)
    with storage.open_read(path) as raw:
        if kind == "zst":
            yield from _zstd_chunks(raw, chunk_bytes)
        elif kind == "gz":
            yield from _gzip_chunks(raw, chunk_bytes)
        else:
            while chunk := raw.read(chunk_bytes):
                yield chunk


def _zstd_chunks(raw: BinaryIO, chunk_bytes: int) -> Iterator[bytes]:
    dctx = zstandard.ZstdDecompressor()
    dobj = dctx.decompressobj()
    in_frame = False
    while data := raw.read(chunk_bytes):
        while data:
            in_frame = True
            try:
                out = dobj.decompress(data)
            except zstandard.ZstdError as exc:
                raise CorruptStreamError(f"corrupt zstd data ({exc})") from exc
            if out:
                yield out
            if not dobj.eof:
                break
            # A frame ended: what follows belongs to the next frame (multi-frame files).
            data = dobj.unused_data
            dobj = dctx.decompressobj()
            in_frame = False
    if in_frame:
        raise EOFError("compressed stream ended early (truncated .zst file)")


def _gzip_chunks(raw: BinaryIO, chunk_bytes: int) -> Iterator[bytes]:
    dobj = zlib.decompressobj(wbits=31)
    in_member = False
    while data := raw.read(chunk_bytes):
        while data:
            in_member = True
            try:
                out = dobj.decompress(data)
            except zlib.error as exc:
                raise CorruptStreamError(f"corrupt gzip data ({exc})") from exc
            if out:
                yield out
            if not dobj.eof:
                break
            data = dobj.unused_data
            dobj = zlib.decompressobj(wbits=31)
            in_member = False
    if in_member:
        raise EOFError("compressed stream ended early (truncated .gz file)")


def open_write(path: str | Path, kind_of: str | Path | None = None) -> BinaryIO:
    """Open a file for streaming binary writes, compressing by the extension of `kind_of`.

    `kind_of` defaults to `path`; temporary files pass their final name.
    """
    kind = compression_of(kind_of if kind_of is not None else path)
    raw = storage.open_write(path)
    if kind == "zst":
        cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
        return cctx.stream_writer(raw, closefd=True)
    if kind == "gz":
        return _GzipWriter(raw)  # type: ignore[return-value]
    return raw


class _GzipWriter:
    """Write a gzip member and close the underlying file with it (GzipFile leaves it open)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        # mtime=0 and an empty name in the header keep output bytes reproducible.
        self._gz = gzip.GzipFile(
            filename="", fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL, mtime=0
        )

    def write(self, data: bytes) -> int:
        return self._gz.write(data)

    def close(self) -> None:
        self._gz.close()
        self._raw.close()

    def __enter__(self) -> _GzipWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
