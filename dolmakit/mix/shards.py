"""Sorted spill runs of sampled documents, and their k-way merge into interleaved output shards.

Pass 2 writes, per input file, the copies it keeps sorted by (order key, line, repeat); the
merge reads all runs at once (one record buffered per run) and cuts shards by size. The order
key is a hash of (seed, source, id, repeat), so every shard mixes all sources, and the output
order depends on nothing but the spec and the inputs.
"""

from __future__ import annotations

import hashlib
import heapq
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from dolmakit.atomic import remove_stale_temporaries
from dolmakit.document import Document, document_from_dict
from dolmakit.writer import DocumentWriter, JsonlWriter

_HEADER = struct.Struct("<QqiqII")


@dataclass(frozen=True, order=True)
class Record:
    """One output copy: sorted by key, then job, line and repeat (unique within a mix)."""

    key: int
    job: int
    line: int
    repeat: int
    tokens: int = field(compare=False)
    doc_id: str = field(compare=False)
    payload: bytes = field(compare=False)


def write_run(path: Path, records: list[Record]) -> None:
    """Write records, already sorted, to a spill file (written whole, then renamed)."""
    from dolmakit.atomic import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb", buffering=1 << 20) as out:
        for r in records:
            ident = r.doc_id.encode()
            out.write(_HEADER.pack(r.key, r.line, r.repeat, r.tokens, len(ident), len(r.payload)))
            out.write(ident)
            out.write(r.payload)


def read_run(path: Path, job: int) -> Iterator[Record]:
    """Yield the records of a spill file in order."""
    size = _HEADER.size
    with open(path, "rb", buffering=1 << 20) as src:
        while header := src.read(size):
            key, line, repeat, tokens, id_len, length = _HEADER.unpack(header)
            ident = src.read(id_len).decode()
            yield Record(key, job, line, repeat, tokens, ident, src.read(length))


@dataclass
class ShardInfo:
    """One output shard as the manifest lists it."""

    path: str
    sha256: str = ""
    bytes: int = 0
    documents: int = 0
    tokens: int = 0
    sources: dict[str, int] = field(default_factory=dict)


class IndexWriter:
    """Write index.parquet (one row per output document, in output order) in row groups."""

    COLUMNS = ("shard", "row", "source", "path", "line", "id", "repeat", "tokens", "key")
    ROWS_PER_GROUP = 1 << 16

    def __init__(self, path: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from dolmakit.atomic import temporary_name

        self._pa = pa
        self.path = path
        self.rows = 0
        self._schema = pa.schema(
            [
                ("shard", pa.int32()),
                ("row", pa.int64()),
                ("source", pa.string()),
                ("path", pa.string()),
                ("line", pa.int64()),
                ("id", pa.string()),
                ("repeat", pa.int32()),
                ("tokens", pa.int64()),
                ("key", pa.uint64()),
            ]
        )
        self._tmp = temporary_name(path)
        self._writer = pq.ParquetWriter(self._tmp, self._schema, compression="zstd")
        self._columns: dict[str, list[object]] = {c: [] for c in self.COLUMNS}

    def add(self, shard: int, row: int, source: str, path: str, record: Record) -> None:
        """Append the index row of one output document."""
        cols = self._columns
        cols["shard"].append(shard)
        cols["row"].append(row)
        cols["source"].append(source)
        cols["path"].append(path)
        cols["line"].append(record.line)
        cols["id"].append(record.doc_id)
        cols["repeat"].append(record.repeat)
        cols["tokens"].append(record.tokens)
        cols["key"].append(record.key)
        self.rows += 1
        if len(cols["shard"]) >= self.ROWS_PER_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self._columns["shard"]:
            table = self._pa.Table.from_pydict(self._columns, schema=self._schema)
            self._writer.write_table(table)
            for column in self._columns.values():
                column.clear()

    def close(self) -> None:
        """Finish the file and rename it into place."""
        import os

        self._flush()
        self._writer.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        """Discard the partial file."""
        self._writer.close()
        self._tmp.unlink(missing_ok=True)


def file_sha256(path: Path) -> str:
    """Return the sha256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def shard_name(number: int, fmt: str) -> str:
    """Return the file name of output shard `number`."""
    return f"shard-{number:05d}.{fmt}"


def merge_runs(
    runs: Iterable[tuple[int, Path]],
    mix_dir: Path,
    fmt: str,
    shard_size: int,
    job_source: list[str],
    job_path: list[str],
    index: IndexWriter,
) -> list[ShardInfo]:
    """Merge sorted spill runs into shards of about `shard_size` bytes of JSON lines each.

    A shard is closed once its uncompressed JSON lines reach `shard_size`, so every shard but
    the last is at least that big. Shards left over from an earlier, larger build are removed.
    """
    streams = [read_run(path, job) for job, path in runs]
    shards: list[ShardInfo] = []
    writer: DocumentWriter | JsonlWriter | None = None
    info: ShardInfo | None = None
    size = 0
    row = 0
    decoder = msgspec.json.Decoder()
    try:
        for record in heapq.merge(*streams):
            if writer is None:
                name = shard_name(len(shards), fmt)
                remove_stale_temporaries(mix_dir / name)
                writer = (
                    DocumentWriter(mix_dir / name)
                    if fmt == "parquet"
                    else JsonlWriter(mix_dir / name)
                )
                info = ShardInfo(name)
                size = row = 0
            assert info is not None
            if isinstance(writer, JsonlWriter):
                writer.write_line(record.payload)
            else:
                writer.write(_document(decoder.decode(record.payload)))
            row += 1
            size += len(record.payload) + 1
            source = job_source[record.job]
            info.documents += 1
            info.tokens += record.tokens
            info.sources[source] = info.sources.get(source, 0) + 1
            index.add(len(shards), row, source, job_path[record.job], record)
            if size >= shard_size:
                writer.close()
                shards.append(_finish(mix_dir, info))
                writer, info = None, None
        if writer is not None:
            writer.close()
            assert info is not None
            shards.append(_finish(mix_dir, info))
            writer = None
    finally:
        if writer is not None:
            writer.abort()
    _remove_extra_shards(mix_dir, fmt, len(shards))
    return shards


def _document(obj: object) -> Document:
    return document_from_dict(obj)


def _finish(mix_dir: Path, info: ShardInfo) -> ShardInfo:
    path = mix_dir / info.path
    info.bytes = path.stat().st_size
    info.sha256 = file_sha256(path)
    info.sources = dict(sorted(info.sources.items()))
    return info


def _remove_extra_shards(mix_dir: Path, fmt: str, count: int) -> None:
    for path in mix_dir.glob("shard-*"):
        stem = path.name.split(".", 1)[0]
        number = stem.removeprefix("shard-")
        if not number.isdigit() or int(number) >= count or not path.name.endswith(fmt):
            path.unlink()
