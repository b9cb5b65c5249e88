"""Build a mix's span index, `dolmakit index MIX_DIR`: sharded suffix arrays over UTF-8 bytes.

Two passes, each a runner stage with completion records under `<mix>/index/.work/`, so a
killed build, rerun, redoes only unfinished shards and ends with the same bytes:

1. per mix shard (checked against its sha256 in the manifest): its documents' UTF-8 text,
   each followed by SEPARATOR, and a table of (row, id, bytes) per document;
2. per index shard: consecutive documents in mix order, up to `shard_bytes` of text (a
   document is never split; one longer than the limit gets a shard of its own), concatenated
   into `text-NNNNN.bin`, its suffix array `sa-NNNNN.bin` (pydivsufsort, int32) and its
   position map `docs-NNNNN.parquet` (start offset, mix shard, row, id per document).

Memory per worker is about five times one index shard's text (the text and its int32 suffix
array, both memory maps of their output files, so their pages are the kernel's to write back),
whatever the size of the mix; the index on disk is text + suffix array + position map, about
5 bytes per byte of text. `index.json`, written last, records every file's sha256 and the mix
it was built from.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import mmap
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import msgspec
import numpy as np

from dolmakit.errors import DolmakitError
from dolmakit.io.arrays import read_table, write_table
from dolmakit.io.atomic import atomic_open, atomic_path, write_bytes_atomic
from dolmakit.io.compression import iter_chunks
from dolmakit.io.digest import file_sha256
from dolmakit.io.lock import exclusive
from dolmakit.io.reader import read_documents
from dolmakit.io.rejects import Rejects
from dolmakit.run.options import RunOptions, or_default
from dolmakit.run.progress import Tally, advance
from dolmakit.run.runner import RunSummary, ShardJob, ShardResult, run_shards
from dolmakit.trace.layout import (
    INDEX_FORMAT,
    INDEX_MANIFEST,
    MAX_SHARD_BYTES,
    SEPARATOR,
    WORK_DIR,
    MixFacts,
    damaged_files,
    documents_name,
    index_dir,
    mix_facts,
    read_index_manifest,
    stale_reasons,
    suffix_array_name,
    text_name,
    write_index_manifest,
)
from dolmakit.trace.suffix import NATIVE

# `--shard-size auto` (the default): AUTO_MIN_BYTES per index shard, more for a mix with over
# AUTO_MAX_SHARDS of them, up to AUTO_MAX_BYTES. Suffix sorting is fastest per byte at tens of
# MiB (O(n log n), cache misses), a query costs a binary search per index shard.
AUTO_MIN_BYTES = 32 << 20
AUTO_MAX_SHARDS = 64
AUTO_MAX_BYTES = 1 << 30
_SEPARATOR = bytes([SEPARATOR])
_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[[9, 10, 11, 12, 13, 32, SEPARATOR]] = True
_WORD_CHUNK = 1 << 18  # cache-sized: the lookups and compares stay in L2
_BATCH_BYTES = 1 << 20  # compressed bytes per decoded batch: a few MiB of documents at once


@dataclass(frozen=True)
class IndexOptions:
    """How the index is cut: at most `shard_bytes` of text per index shard (< 2 GiB).

    None (`--shard-size auto`) picks the size from the mix's text: see `shard_limit`.
    """

    shard_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.shard_bytes is not None and not 1 <= self.shard_bytes <= MAX_SHARD_BYTES:
            raise DolmakitError(
                f"--shard-size {self.shard_bytes:,}: must be between 1 byte and"
                f" {MAX_SHARD_BYTES:,} bytes (int32 positions)"
            )

    def recorded(self) -> dict[str, Any]:
        """Return the options as recorded in index.json."""
        return {
            "positions": "int32",
            "separator": SEPARATOR,
            "shard_bytes": "auto" if self.shard_bytes is None else self.shard_bytes,
            "unit": "utf-8 bytes",
        }

    def shard_limit(self, text_bytes: int) -> int:
        """Return the text per index shard for a mix of `text_bytes` of text.

        Auto: AUTO_MIN_BYTES (32 MiB), or the mix's text over AUTO_MAX_SHARDS (64) when
        that is more, at most AUTO_MAX_BYTES (1 GiB): a mix of up to 2 GiB of text gets
        32 MiB shards, one of 64 GiB or more 1 GiB shards.
        """
        if self.shard_bytes is not None:
            return self.shard_bytes
        wanted = -(-text_bytes // AUTO_MAX_SHARDS)
        return min(AUTO_MAX_BYTES, max(AUTO_MIN_BYTES, wanted))


@dataclass
class IndexResult:
    """What `build_index` did."""

    mix_dir: Path
    index_dir: Path
    manifest: dict[str, Any]
    up_to_date: bool = False
    runs: list[RunSummary[Any]] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Return a human summary: shards, documents, text and index bytes."""
        totals = self.manifest["totals"]
        text, size = totals["text_bytes"], totals["index_bytes"]
        what = (
            f"{_count(len(self.manifest['shards']), 'index shard')}"
            f" over {totals['documents']:,} documents,"
            f" {text:,} bytes of text, {size:,} bytes on disk"
            f" ({size / max(text, 1):.2f} bytes per byte of text)"
        )
        if self.up_to_date:
            return [f"index up to date: {what} -> {self.index_dir}"]
        return [f"index: {what} -> {self.index_dir}"]


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class _Segment:
    """Pass 1 options: a mix shard and the size and sha256 its manifest records."""

    number: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class _Piece:
    """Documents [first, last) of mix shard `number`: bytes [start, end) of its segment."""

    number: int
    first: int
    last: int
    start: int
    end: int


@dataclass(frozen=True)
class _ShardPlan:
    """Pass 2 options: index shard `number` and the pieces of segments it concatenates."""

    number: int
    pieces: tuple[_Piece, ...]
    segments: Path


class IndexFile(msgspec.Struct, frozen=True, omit_defaults=True):
    """One file of an index shard, as the index manifest lists it (`rows`: the table's)."""

    path: str
    bytes: int
    sha256: str
    role: str
    rows: int | None = None


class IndexShardStats(msgspec.Struct, frozen=True):
    """One index shard as the index manifest lists it: its counts, mix shards and files."""

    number: int
    documents: int
    text_bytes: int
    words: int
    mix_shards: list[int]
    files: list[IndexFile]


def _segment_paths(work: Path, number: int) -> tuple[Path, Path]:
    folder = work / "segments"
    return folder / f"m-{number:05d}.text", folder / f"m-{number:05d}.docs.parquet"


class _Line(msgspec.Struct):
    """The two fields of a mix shard's line that the index keeps (others are skipped)."""

    id: str
    text: str


_LINES = msgspec.json.Decoder(type=_Line)


class _NotPlain(Exception):
    """A mix shard line the fast reader does not take as it is (blank, malformed, odd type)."""


def _line_batches(path: Path) -> Iterator[list[_Line]]:
    """Yield a JSONL mix shard's lines, decoded a few MiB at a time; _NotPlain on any oddity.

    Every line must be one JSON object with string `id` and `text`: then line numbers are
    1, 2, ... in order, as `read_documents` numbers them.
    """
    pending = b""
    for chunk in iter_chunks(path, _BATCH_BYTES):
        data = pending + chunk if pending else chunk
        cut = data.rfind(b"\n") + 1
        if cut:
            yield _decode_lines(memoryview(data)[:cut], data.count(b"\n", 0, cut))
        pending = data[cut:]
    if pending:
        yield _decode_lines(memoryview(pending), 1)


def _decode_lines(data: memoryview, lines: int) -> list[_Line]:
    try:
        items = _LINES.decode_lines(data)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise _NotPlain(str(exc)) from None
    if len(items) != lines:
        raise _NotPlain("blank lines")
    return items


def _fast_segment(path: Path, out: BinaryIO) -> tuple[list[int], list[str], list[int]]:
    """Write the documents' text of a JSONL mix shard; return (rows, ids, bytes per doc)."""
    ids: list[str] = []
    lengths: list[int] = []
    for items in _line_batches(path):
        if not items:
            continue
        data = [line.text.encode("utf-8", "surrogatepass") for line in items]
        out.write(_SEPARATOR.join(data))
        out.write(_SEPARATOR)
        ids.extend([line.id for line in items])
        sizes = [len(d) + 1 for d in data]
        lengths.extend(sizes)
        advance(len(items), sum(sizes) - len(items))
    return list(range(1, len(ids) + 1)), ids, lengths


def _read_segment(
    path: Path, out: BinaryIO, rejects: Rejects
) -> tuple[list[int], list[str], list[int]]:
    """Write the documents' text of any mix shard through `read_documents` (the slow path)."""
    rows: list[int] = []
    ids: list[str] = []
    lengths: list[int] = []
    tally = Tally()
    for row, doc in read_documents(path, rejects):
        data = doc.text.encode("utf-8", "surrogatepass")
        out.write(data)
        out.write(_SEPARATOR)
        rows.append(row)
        ids.append(doc.id)
        lengths.append(len(data) + 1)
        tally.add(len(data))
    tally.flush()
    return rows, ids, lengths


def _extract(job: ShardJob[_Segment], rejects: Rejects) -> ShardResult[None]:
    """Pass 1: write a mix shard's documents' text and its (row, id, bytes) table.

    JSONL shards (what the mixer writes) are decoded in batches, keeping only `id` and
    `text`; a shard with any line that reader would treat otherwise (a blank or malformed
    line, another field type) and Parquet shards go through `read_documents`. Both give
    the same bytes.
    """
    import pyarrow as pa

    segment = job.options
    size = job.input.stat().st_size if job.input.is_file() else None
    if size is None:
        raise DolmakitError(f"{job.input}: mix shard missing; run dolmakit audit verify")
    if size != segment.bytes or file_sha256(job.input) != segment.sha256:
        raise DolmakitError(
            f"{job.input}: the mix shard does not match its manifest (sha256 or size differs);"
            " run dolmakit audit verify"
        )
    text_out, docs_out = job.outputs
    with atomic_open(text_out) as out:
        try:
            if str(job.input).endswith(".parquet"):
                raise _NotPlain("parquet")
            rows, ids, lengths = _fast_segment(job.input, out)
        except _NotPlain:
            out.seek(0)
            out.truncate()
            rows, ids, lengths = _read_segment(job.input, out, rejects)
    table = pa.table(
        {
            "row": pa.array(rows, pa.int64()),
            "id": pa.array(ids, pa.string()),
            "bytes": pa.array(lengths, pa.int64()),
        }
    )
    write_table(table, docs_out)
    return ShardResult(
        key=job.key, read=len(rows), written=len(rows), text_bytes=sum(lengths), stats=None
    )


def count_words(data: Any) -> int:
    """Return the number of whitespace-separated words (runs of non-space bytes) of a buffer.

    The separator byte counts as whitespace. Compiled when `dolmakit._suffix` is built;
    `count_words_reference` defines it.
    """
    if NATIVE is not None:
        return int(NATIVE.count_words(data, SEPARATOR))
    return count_words_reference(data)


def count_words_reference(data: Any) -> int:
    """Return what `count_words` returns, with numpy (the pure-Python reference)."""
    words = 0
    previous_space = True
    with memoryview(data) as view:
        for start in range(0, len(view), _WORD_CHUNK):
            chunk = np.frombuffer(view[start : start + _WORD_CHUNK], dtype=np.uint8)
            space = _WHITESPACE[chunk]
            del chunk
            words += int(np.count_nonzero(space[:-1] > space[1:]))
            words += int(previous_space and not space[0])
            previous_space = bool(space[-1])
    return words


def _reserve(handle: Any, size: int) -> None:
    """Give the open file `handle` `size` bytes of disk before it is memory-mapped.

    A page of a map that the disk has no room for kills the process with SIGBUS when it is
    written; reserving the blocks first makes a full disk an ENOSPC here, which the atomic
    write turns into one line naming the file. File systems without fallocate get a sparse
    file (truncate), as before.
    """
    handle.truncate(size)
    if size:
        try:
            os.posix_fallocate(handle.fileno(), 0, size)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise


def _one_thread(library: Any) -> None:
    """Make libdivsufsort sort on one thread (its wheel is built with OpenMP).

    Its OpenMP sort gains nothing here: 64 MiB of text took 6.8-7.6 s of wall time and
    6.6-6.9 user s with two threads, 6.8-7.0 s and 6.5-6.6 user s with one. With one thread a
    pool of workers does not start a thread per core in each worker. A library without the
    setter is left as it is.
    """
    with contextlib.suppress(AttributeError):
        library.omp_set_num_threads(1)


def _write_suffix_array(path: Path, text: Any) -> IndexFile:
    """Sort the suffixes of `text` straight into the file `path` (int32); return its record.

    libdivsufsort writes into a memory map of the (temporary) file, so the suffix array is
    neither allocated on the heap nor copied by a write: the kernel writes its pages back.
    """
    from pydivsufsort.dll import libdivsufsort

    _one_thread(libdivsufsort)
    n = len(text)
    size = 4 * n
    with atomic_path(path) as tmp, open(tmp, "w+b") as handle:
        _reserve(handle, size)
        with mmap.mmap(handle.fileno(), size) as mapped:
            out = (ctypes.c_int32 * n).from_buffer(mapped)
            inp = (ctypes.c_uint8 * n).from_buffer(text)
            status = libdivsufsort.divsufsort(inp, out, ctypes.c_int32(n))
            del out, inp
            if status:
                raise DolmakitError(f"{path}: libdivsufsort failed with status {status}")
            digest = hashlib.sha256(mapped).hexdigest()
    return IndexFile(path.name, size, digest, "suffix_array")


def _concatenate(plan: _ShardPlan, text: memoryview) -> dict[str, list[Any]]:
    """Copy the plan's pieces of segment text into `text`; return the position map's columns."""
    columns: dict[str, list[Any]] = {"start": [], "shard": [], "row": [], "id": []}
    at = 0
    for piece in plan.pieces:
        text_path, docs_path = _segment_paths(plan.segments, piece.number)
        size = piece.end - piece.start
        with open(text_path, "rb") as handle:
            handle.seek(piece.start)
            if handle.readinto(text[at : at + size]) != size:
                raise DolmakitError(f"{text_path}: shorter than recorded; rerun dolmakit index")
        table = read_table(docs_path).slice(piece.first, piece.last - piece.first)
        lengths = table.column("bytes").to_numpy()
        columns["start"].extend((at + np.concatenate(([0], np.cumsum(lengths)[:-1]))).tolist())
        columns["shard"].extend([piece.number] * len(lengths))
        columns["row"].extend(table.column("row").to_pylist())
        columns["id"].extend(table.column("id").to_pylist())
        at += size
    return columns


def _build_shard(job: ShardJob[_ShardPlan], rejects: Rejects) -> ShardResult[IndexShardStats]:
    """Pass 2: concatenate the plan's pieces, sort their suffixes, write the three files.

    The text is assembled in a memory map of its own output file and sorted from there:
    besides the page cache, a worker holds no copy of the text or of its suffix array.
    """
    import pyarrow as pa

    plan = job.options
    text_out, sa_out, docs_out = job.outputs
    total = sum(p.end - p.start for p in plan.pieces)
    with atomic_path(text_out) as tmp, open(tmp, "w+b") as handle:
        _reserve(handle, total)
        with mmap.mmap(handle.fileno(), total) as text:
            with memoryview(text) as view:
                columns = _concatenate(plan, view)
            files = [
                IndexFile(text_out.name, total, hashlib.sha256(text).hexdigest(), "text"),
                _write_suffix_array(sa_out, text),
            ]
            words = count_words(text)
    table = pa.table(
        {
            "start": pa.array(columns["start"], pa.int64()),
            "shard": pa.array(columns["shard"], pa.int32()),
            "row": pa.array(columns["row"], pa.int64()),
            "id": pa.array(columns["id"], pa.string()),
        }
    )
    write_table(table, docs_out)
    documents = table.num_rows
    files.append(
        IndexFile(
            docs_out.name, docs_out.stat().st_size, file_sha256(docs_out), "documents", documents
        )
    )
    advance(documents, total)
    first, last = plan.pieces[0].number, plan.pieces[-1].number
    stats = IndexShardStats(
        number=plan.number,
        documents=documents,
        text_bytes=total,
        words=words,
        mix_shards=[first, last],
        files=files,
    )
    return ShardResult(key=job.key, read=documents, written=documents, stats=stats)


def _plan(mix: MixFacts, work: Path, options: IndexOptions) -> tuple[int, list[tuple[_Piece, ...]]]:
    """Cut the mix's documents, in order, into index shards; return the limit and the cut.

    Each index shard holds at most `options.shard_limit(text of the mix)` bytes of text.
    """

    def sizes_of(number: int) -> Any:
        table = read_table(_segment_paths(work, number)[1], columns=["bytes"])
        return table.column("bytes").to_numpy()

    # one table at a time (a mix's tables may not fit in memory together): sum, then cut
    limit = options.shard_limit(sum(int(sizes_of(n).sum()) for n in range(len(mix.shards))))
    shards: list[tuple[_Piece, ...]] = []
    current: list[_Piece] = []
    used = 0
    for number in range(len(mix.shards)):
        sizes = sizes_of(number)
        offsets = np.concatenate(([0], np.cumsum(sizes)))
        first = 0
        while first < len(sizes):
            room = limit - used
            fits = int(np.searchsorted(offsets[first + 1 :] - offsets[first], room, "right"))
            if fits == 0 and used:
                shards.append(tuple(current))  # the next document does not fit: close
                current, used = [], 0
                continue
            last = first + max(fits, 1)  # a document over the limit gets a shard of its own
            current.append(_Piece(number, first, last, int(offsets[first]), int(offsets[last])))
            used += int(offsets[last] - offsets[first])
            first = last
            if first < len(sizes):
                shards.append(tuple(current))
                current, used = [], 0
    if current:
        shards.append(tuple(current))
    return limit, shards


def require_divsufsort() -> None:
    """Fail with the install hint when the suffix-array library is missing."""
    try:
        import pydivsufsort  # noqa: F401
    except ImportError:
        raise DolmakitError(
            "building a span index needs pydivsufsort: pip install 'dolmakit[trace]'"
        ) from None


def _up_to_date(folder: Path, mix: MixFacts, options: IndexOptions) -> dict[str, Any] | None:
    """Return the manifest of a complete index of this mix built with `options`, else None."""
    if not (folder / INDEX_MANIFEST).is_file():
        return None
    try:
        manifest = read_index_manifest(mix.mix_dir)
    except DolmakitError:
        return None
    if manifest.get("options") != options.recorded() or stale_reasons(manifest, mix):
        return None
    return None if damaged_files(folder, manifest) else manifest


def build_index(
    mix_dir: str | Path,
    options: IndexOptions | None = None,
    *,
    run_options: RunOptions | None = None,
    force: bool = False,
) -> IndexResult:
    """Build (or finish, or confirm) the span index of a mix under `<mix>/index/`.

    A complete index of the same mix and options is left as it is (unless `force`); an index
    of another mix version or other options is removed and rebuilt. Mix shards are never
    skipped: a bad line stops the build (`on_error` is taken as "fail"). The build holds the
    mix folder's lock.
    """
    run = or_default(run_options).replace(on_error="fail")
    options = options or IndexOptions()
    require_divsufsort()
    mix = mix_facts(mix_dir)
    with exclusive(mix.mix_dir, "span index build"):
        folder = index_dir(mix.mix_dir)
        if not force and (done := _up_to_date(folder, mix, options)) is not None:
            return IndexResult(mix.mix_dir, folder, done, up_to_date=True)
        if (folder / INDEX_MANIFEST).is_file() or force:
            shutil.rmtree(folder, ignore_errors=True)
        work = folder / WORK_DIR
        config = {"format": INDEX_FORMAT, "mix": mix.content_sha256, **options.recorded()}
        result = IndexResult(mix.mix_dir, folder, {})
        jobs = [
            ShardJob(
                key=f"m-{number:05d}",
                input=mix.shard_path(number),
                outputs=_segment_paths(work, number),
                options=_Segment(number, int(shard["bytes"]), str(shard["sha256"])),
            )
            for number, shard in enumerate(mix.shards)
        ]
        result.runs.append(
            run_shards(
                "index 1/2 (text)",
                jobs,
                _extract,
                record_dir=work / "records-1",
                config=config,
                stats=type(None),
                options=run,
            )
        )
        limit, plans = _plan(mix, work, options)
        plan_file = work / "plan.json"
        plan_bytes = repr(plans).encode()
        if not plan_file.is_file() or plan_file.read_bytes() != plan_bytes:
            write_bytes_atomic(plan_file, plan_bytes)
        plan_jobs = [
            ShardJob(
                key=f"i-{number:05d}",
                input=plan_file,
                outputs=(
                    folder / text_name(number),
                    folder / suffix_array_name(number),
                    folder / documents_name(number),
                ),
                options=_ShardPlan(number, pieces, work),
            )
            for number, pieces in enumerate(plans)
        ]
        summary = run_shards(
            "index 2/2 (suffix arrays)",
            plan_jobs,
            _build_shard,
            record_dir=work / "records-2",
            config=config,
            stats=IndexShardStats,
            options=run,
        )
        result.runs.append(summary)
        stats = [r.stats for r in summary.results]
        result.manifest = {
            "format": INDEX_FORMAT,
            "mix": {
                "name": mix.name,
                "version": mix.version,
                "content_sha256": mix.content_sha256,
                "shards": list(mix.shards),
            },
            "options": options.recorded(),
            "shard_bytes": limit,
            "shards": msgspec.to_builtins(stats),
            "totals": {
                "documents": sum(s.documents for s in stats),
                "text_bytes": sum(s.text_bytes for s in stats),
                "words": sum(s.words for s in stats),
                "index_bytes": sum(f.bytes for s in stats for f in s.files),
            },
        }
        write_index_manifest(folder, result.manifest)
        shutil.rmtree(work, ignore_errors=True)
        return result
