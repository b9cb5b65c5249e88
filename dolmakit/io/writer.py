"""Write documents (and any JSON lines) to JSONL (plain, .gz, .zst) or Parquet, atomically.

The file appears under its final name only after `close()`; an exception or a kill leaves
no partial file behind under that name. Paths may be local or `s3://` (dolmakit.io.storage).
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Self

import msgspec

from dolmakit.document import Document
from dolmakit.io import storage
from dolmakit.io.atomic import temporary_name, write_failure
from dolmakit.io.compression import open_write
from dolmakit.io.reader import JSON_COLUMNS_KEY

PARQUET_ROWS_PER_GROUP = 4096
_encoder = msgspec.json.Encoder()


class _Atomic(ABC):
    """Close (rename into place) on success, abort (delete) on an exception or a discard."""

    path: Path
    _discarded = False

    @abstractmethod
    def close(self) -> None:
        """Finish the file and rename it into place."""

    @abstractmethod
    def abort(self) -> None:
        """Discard the partial file."""

    def discard(self) -> None:
        """Make the `with` block end with no file at all: not this one, nor an earlier one."""
        self._discarded = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None and not self._discarded:
            try:
                self.close()
            except BaseException as failed:
                self._fail(failed)
        else:
            self.abort()
            if kind is None:
                storage.delete(self.path, missing_ok=True)
            elif exc is not None:
                failure = write_failure(exc, self.path)
                if failure is not None:
                    raise failure from None

    def _fail(self, exc: BaseException) -> None:
        """Abort after a failed close; a full disk becomes StorageError naming the file."""
        self.abort()
        failure = write_failure(exc, self.path)
        if failure is not None:
            raise failure from None
        raise exc


class JsonlWriter(_Atomic):
    """Write JSON objects one per line, compressed by the final name's extension."""

    def __init__(self, path: str | Path) -> None:
        self.path = storage.location(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = temporary_name(self.path)
        self._out: BinaryIO = open_write(self._tmp, kind_of=self.path)
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self.lines = 0
        self.bytes = 0

    def write(self, obj: Any) -> None:
        """Append one object as a JSON line."""
        self.write_line(_encoder.encode(obj))

    def write_line(self, line: bytes) -> None:
        """Append one already-encoded JSON line (without its newline)."""
        self._pending.append(line)
        self._pending_bytes += len(line) + 1
        self.lines += 1
        if self._pending_bytes >= 1 << 20:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._pending.append(b"")
            self._out.write(b"\n".join(self._pending))
            self.bytes += self._pending_bytes
            self._pending.clear()
            self._pending_bytes = 0

    def close(self) -> None:
        """Finish the file and rename it into place."""
        self._flush()
        self._out.close()
        storage.move(self._tmp, self.path)

    def abort(self) -> None:
        """Discard the partial file (closing it may fail again on a full disk)."""
        with contextlib.suppress(OSError, ValueError):
            self._out.close()
        storage.delete(self._tmp, missing_ok=True)


class ParquetDocumentWriter(_Atomic):
    """Write documents to Parquet; `metadata` and unknown fields are stored as JSON text."""

    def __init__(self, path: str | Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        self.path = storage.location(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = temporary_name(self.path)
        names = ["id", "text", "source", "added", "created", "metadata", "extra"]
        self._schema = pa.schema(
            [pa.field(n, pa.string(), nullable=n not in ("id", "text")) for n in names],
            metadata={JSON_COLUMNS_KEY: b"metadata,extra"},
        )
        # Objects are written through a stream that this writer closes; local files by path.
        self._sink: Any = (
            storage.open_arrow_output(self._tmp)
            if isinstance(self._tmp, storage.RemotePath)
            else None
        )
        where = self._sink if self._sink is not None else str(self._tmp)
        self._writer = pq.ParquetWriter(where, self._schema, compression="zstd")
        self._rows: dict[str, list[str | None]] = {n: [] for n in names}
        self.lines = 0
        self.bytes = 0

    def write(self, doc: Document) -> None:
        """Append one document."""
        rows = self._rows
        rows["id"].append(doc.id)
        rows["text"].append(doc.text)
        rows["source"].append(doc.source)
        rows["added"].append(doc.added)
        rows["created"].append(doc.created)
        meta = doc.metadata
        rows["metadata"].append(None if meta is None else _encoder.encode(meta).decode())
        rows["extra"].append(_encoder.encode(doc.extra).decode() if doc.extra else None)
        self.lines += 1
        self.bytes += len(doc.text)
        if len(rows["id"]) >= PARQUET_ROWS_PER_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self._rows["id"]:
            table = self._pa.Table.from_pydict(self._rows, schema=self._schema)
            self._writer.write_table(table)
            for column in self._rows.values():
                column.clear()

    def close(self) -> None:
        """Finish the file and rename it into place."""
        self._flush()
        self._writer.close()
        if self._sink is not None:
            self._sink.close()
        storage.move(self._tmp, self.path)

    def abort(self) -> None:
        """Discard the partial file (closing it may fail again on a full disk)."""
        try:
            self._writer.close()
            if self._sink is not None:
                self._sink.close()
        except (OSError, ValueError):
            pass
        storage.delete(self._tmp, missing_ok=True)


class DocumentWriter(_Atomic):
    """Write documents to a file whose format follows its name (.parquet or JSONL)."""

    def __init__(self, path: str | Path) -> None:
        self.path = storage.location(path)
        self._parquet = self.path.name.endswith(".parquet")
        self._impl: JsonlWriter | ParquetDocumentWriter = (
            ParquetDocumentWriter(path) if self._parquet else JsonlWriter(path)
        )

    @property
    def documents(self) -> int:
        """Return how many documents were written so far."""
        return self._impl.lines

    def write(self, doc: Document) -> None:
        """Append one document."""
        if isinstance(self._impl, ParquetDocumentWriter):
            self._impl.write(doc)
        else:
            self._impl.write(doc.to_dict() if doc.extra else doc)

    def close(self) -> None:
        """Finish the file and rename it into place."""
        self._impl.close()

    def abort(self) -> None:
        """Discard the partial file."""
        self._impl.abort()
