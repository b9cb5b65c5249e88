"""Stream documents from JSONL (plain, .gz, .zst) and Parquet files, with line numbers.

Memory stays flat: files are read in 1 MiB chunks (or Parquet row batches). Every line is
either yielded as a document or handed to `Rejects` with its reason.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import msgspec
import zstandard

from dolmakit.document import (
    MAX_NESTING,
    Document,
    NestingError,
    document_from_dict,
)
from dolmakit.io import storage
from dolmakit.io.compression import CorruptStreamError, iter_chunks
from dolmakit.io.rejects import Rejects

DEFAULT_MAX_LINE_BYTES = 64 << 20
MAX_LINE_ENV = "DOLMAKIT_MAX_LINE_BYTES"


def max_line_bytes_default() -> int:
    """Return the line size limit: $DOLMAKIT_MAX_LINE_BYTES (set by --max-line-bytes) or 64 MiB.

    An environment variable, so that worker processes started by any backend inherit it.
    """
    value = os.environ.get(MAX_LINE_ENV)
    return int(value) if value else DEFAULT_MAX_LINE_BYTES


_decoder = msgspec.json.Decoder()


def iter_lines(
    path: str | Path, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> Iterator[tuple[int, bytes | None]]:
    """Yield (line number, line bytes without newline); None for a line over the size limit.

    Raises EOFError for a truncated compressed file after yielding the lines before the cut.
    """
    lineno = 0
    pending: list[bytes] = []
    pending_len = 0
    oversized = False
    for chunk in iter_chunks(path):
        parts = chunk.split(b"\n")
        last = parts.pop()
        if parts:
            first = parts[0]
            if pending or oversized:
                lineno += 1
                over = oversized or pending_len + len(first) > max_line_bytes
                yield lineno, None if over else b"".join([*pending, first])
                pending, pending_len, oversized = [], 0, False
                parts = parts[1:]
            if parts and max(map(len, parts)) <= max_line_bytes:
                # Common case: no line of this chunk is over the limit; iterate in C.
                yield from enumerate(parts, lineno + 1)
                lineno += len(parts)
            else:
                for part in parts:
                    lineno += 1
                    yield lineno, None if len(part) > max_line_bytes else part
        if last and not oversized:
            pending.append(last)
            pending_len += len(last)
            if pending_len > max_line_bytes:
                pending, pending_len, oversized = [], 0, True
    if pending or oversized:
        lineno += 1
        yield lineno, None if oversized else b"".join(pending)


def read_documents(
    path: str | Path,
    rejects: Rejects | None = None,
    *,
    max_line_bytes: int | None = None,
) -> Iterator[tuple[int, Document]]:
    """Yield (line number, document) for every valid line; hand the others to `rejects`."""
    rejects = rejects if rejects is not None else Rejects()
    if max_line_bytes is None:
        max_line_bytes = max_line_bytes_default()
    name = str(path)
    if name.endswith(".parquet"):
        yield from _read_parquet(name, rejects)
        return
    lineno = 0
    try:
        for lineno, line in iter_lines(name, max_line_bytes):
            doc = _parse_line(name, lineno, line, max_line_bytes, rejects)
            if doc is not None:
                yield lineno, doc
    except READ_ERRORS as exc:
        rejects.add(name, lineno + 1, file_problem(exc))


READ_ERRORS = (EOFError, CorruptStreamError, zstandard.ZstdError, zlib.error, OSError)
"""What reading a file's bytes may raise: truncation, corrupt compression, I/O."""


FILE_REASONS = ("truncated file", "unreadable file")
"""The reject reasons (classes) file_problem gives: the file could not be read on."""


def unreadable(documents: int, rejected: Mapping[str, int]) -> bool:
    """Return true when a file gave no document because it could not be read at all.

    `rejected` counts a shard's rejects by reason class (`Rejects.counts`). Stages write no
    output for such a file: an empty one would look like a complete result.
    """
    return documents == 0 and any(rejected.get(reason) for reason in FILE_REASONS)


def file_problem(exc: BaseException) -> str:
    """Name why a file could not be read to its end (for an exception of READ_ERRORS)."""
    if isinstance(exc, EOFError):
        return f"truncated file: {exc}"
    return f"unreadable file: {exc}"


def _parse_line(
    name: str, lineno: int, line: bytes | None, max_line_bytes: int, rejects: Rejects
) -> Document | None:
    if line is None:
        rejects.add(name, lineno, f"line too long: over {max_line_bytes} bytes")
        return None
    if not line.strip():
        rejects.add(name, lineno, "blank line: no JSON object")
        return None
    try:
        obj = _decoder.decode(line)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        rejects.add(name, lineno, line_problem(line, lineno, exc))
        return None
    try:
        return document_from_dict(obj, len(line), line)
    except NestingError as exc:
        rejects.add(name, lineno, f"{TOO_DEEP}: {exc}")
        return None
    except ValueError as exc:
        rejects.add(name, lineno, f"invalid document: {exc}")
        return None


UTF8_BOM = b"\xef\xbb\xbf"
TOO_DEEP = "JSON nested too deeply"
DECODER_TOO_DEEP = f"{TOO_DEEP}: objects and arrays nest more than {MAX_NESTING} levels deep"


def line_problem(line: bytes, lineno: int, exc: BaseException) -> str:
    """Name why a line did not decode, in our own words (never a JSON library's wording).

    Only called on the error path, so checking the bytes again costs nothing on good input.
    """
    if line.startswith(UTF8_BOM):
        where = "at the start of the file" if lineno == 1 else "at the start of the line"
        return f"UTF-8 byte order mark {where}: JSON Lines files must not begin with one"
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"invalid UTF-8: byte {bad.start} (0x{line[bad.start]:02x})"
    if isinstance(exc, RecursionError):
        return DECODER_TOO_DEEP
    return f"invalid JSON: {exc}"


JSON_COLUMNS_KEY = b"dolmakit.json_columns"


def _read_parquet(name: str, rejects: Rejects) -> Iterator[tuple[int, Document]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pfile = pq.ParquetFile(storage.open_random(name))
    except (OSError, pa.ArrowInvalid) as exc:
        rejects.add(name, 0, f"unreadable file: {exc}")
        return
    meta = pfile.schema_arrow.metadata or {}
    json_columns = set(meta.get(JSON_COLUMNS_KEY, b"").decode().split(","))
    row = 0
    try:
        for batch in pfile.iter_batches(batch_size=4096):
            for obj in batch.to_pylist():
                row += 1
                try:
                    yield row, document_from_dict(_parquet_row(obj, json_columns))
                except NestingError as exc:
                    rejects.add(name, row, f"{TOO_DEEP}: {exc}")
                except RecursionError:
                    rejects.add(name, row, DECODER_TOO_DEEP)
                except ValueError as exc:
                    rejects.add(name, row, f"invalid document: {exc}")
    except (OSError, pa.ArrowInvalid) as exc:
        rejects.add(name, row + 1, f"unreadable file: {exc}")


def _parquet_row(obj: dict[str, Any], json_columns: set[str]) -> dict[str, Any]:
    """Undo the writer's JSON encoding of free-form columns; drop null optional fields."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key in json_columns:
            if value is None:
                continue
            value = msgspec.json.decode(value)
            if key == "extra":
                out.update(value)
                continue
        elif value is None and key != "id" and key != "text":
            continue
        out[key] = value
    return out
