"""Sorted spill runs of sampled documents, and their merge into interleaved output shards.

Pass 2 writes, per input file, the copies it keeps as JSON lines sorted by (order key, line,
repeat), with their keys, lengths and ids in a `.npz` beside them. The merge sorts all keys at
once (numpy), cuts the global order into shards by size, and writes the shards concurrently:
a shard is a contiguous range of the global order, so it takes a contiguous block of lines
from each run, and its bytes depend on nothing but the spec and the inputs, whichever worker
writes it. The order key is a hash of (seed, source, id, repeat), so every shard mixes all
sources.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import msgspec
import numpy as np

from dolmakit.document import document_from_dict
from dolmakit.io import storage
from dolmakit.io.atomic import atomic_open, atomic_path, remove_stale_temporaries
from dolmakit.io.compression import open_write
from dolmakit.io.digest import file_sha256
from dolmakit.io.storage import RemotePath
from dolmakit.io.writer import DocumentWriter
from dolmakit.mix.files import load_npz, open_blocks, save_npz, shard_files, write_table
from dolmakit.mix.manifest import Shard
from dolmakit.run.backends import Backend

META_FIELDS = ("key", "line", "repeat", "tokens", "length")


def write_run(
    path: Path,
    meta_path: Path,
    payloads: Sequence[bytes],
    meta: dict[str, Any],
    ids: Sequence[str],
) -> None:
    """Write sorted copies: JSON lines to `path`, keys, lengths and ids to `meta_path`."""
    save_npz(
        meta_path,
        **meta,
        length=np.array([len(p) for p in payloads], dtype=np.int64),
        ids=np.frombuffer(msgspec.msgpack.encode(list(ids)), dtype=np.uint8),
    )
    if isinstance(path, RemotePath):
        with atomic_open(path) as remote:
            remote.write(b"".join(p + b"\n" for p in payloads))
        return
    with atomic_path(path) as tmp, open(tmp, "wb", buffering=1 << 20) as out:
        for payload in payloads:
            out.write(payload)
            out.write(b"\n")


def read_run_meta(path: Path) -> dict[str, Any]:
    """Read the `.npz` of a spill run: arrays key, line, repeat, tokens, length; list ids."""
    with load_npz(path) as data:
        out: dict[str, Any] = {name: data[name] for name in META_FIELDS}
        out["ids"] = msgspec.msgpack.decode(data["ids"].tobytes())
    return out


PART_BYTES = 16 * 10**6


@dataclass(frozen=True)
class PartTask:
    """What a worker needs to write one part of a shard: where its lines are, in which order.

    A JSON-lines shard is cut into parts of about PART_BYTES of lines, each compressed on its
    own (a gzip member, a zstd frame) and written to `path`; the parts, concatenated, are the
    shard. A Parquet shard is one part written straight to `shard`.
    """

    path: Path
    shard: Path
    fmt: str
    # (run file, byte offset of its first line here, bytes of its lines here, run file bytes)
    runs: tuple[tuple[Path, int, int, int], ...]
    slots: bytes  # int32 array: for each output line, the index into `runs` it comes from


def write_part(task: PartTask) -> None:
    """Write one part of a shard (a whole Parquet shard) from the spill runs."""
    slots = np.frombuffer(task.slots, dtype=np.int32).tolist()
    files: list[BinaryIO] = []
    try:
        files.extend(open_blocks(task.runs))
        readers = [f.readline for f in files]
        if task.fmt == "parquet":
            remove_stale_temporaries(task.shard)
            decode = msgspec.json.Decoder().decode
            writer = DocumentWriter(task.shard)
            try:
                for slot in slots:
                    writer.write(document_from_dict(decode(readers[slot]())))
            except BaseException:
                writer.abort()
                raise
            writer.close()
            return
        with atomic_path(task.path) as tmp, open_write(tmp, kind_of=task.shard) as out:
            batch: list[bytes] = []
            size = 0
            for slot in slots:
                line = readers[slot]()
                batch.append(line)
                size += len(line)
                if size >= 1 << 20:
                    out.write(b"".join(batch))
                    batch.clear()
                    size = 0
            out.write(b"".join(batch))
    finally:
        for handle in files:
            handle.close()


def _join_parts(shard: Path, parts: Sequence[Path]) -> tuple[str, int]:
    """Concatenate a shard's parts into it (atomically); return its (sha256, bytes)."""
    digest = hashlib.sha256()
    size = 0
    remove_stale_temporaries(shard)
    with atomic_open(shard) as out:
        for part in parts:
            with storage.open_read(part) as src:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
    for part in parts:
        part.unlink()
    return digest.hexdigest(), size


def shard_name(number: int, fmt: str) -> str:
    """Return the file name of output shard `number`."""
    return f"shard-{number:05d}.{fmt}"


def cut_shards(sizes: Any, shard_size: int) -> list[tuple[int, int]]:
    """Return [start, end) ranges: a shard closes once its lines reach `shard_size` bytes."""
    total = np.cumsum(sizes)
    ranges = []
    start = 0
    while start < len(total):
        base = int(total[start - 1]) if start else 0
        end = int(np.searchsorted(total, base + shard_size, side="left")) + 1
        end = min(end, len(total))
        ranges.append((start, end))
        start = end
    return ranges


def merge_runs(
    runs: Sequence[tuple[Path, Path]],
    mix_dir: Path,
    fmt: str,
    shard_size: int,
    job_source: list[str],
    job_path: list[str],
    backend: Backend,
    work: Path,
) -> list[Shard]:
    """Merge sorted spill runs (JSON lines, meta) into shards and write index.parquet.

    The global order is (key, job, line, repeat). Shard parts are written by `backend`, each
    independently, into `work`, then joined; so the bytes do not depend on the backend or the
    worker count. Shards left over from an earlier, larger build are removed.
    """
    metas = [read_run_meta(meta) for _, meta in runs]
    counts = [len(m["key"]) for m in metas]
    job = np.repeat(np.arange(len(runs), dtype=np.int64), counts)
    col = {
        name: np.concatenate([m[name] for m in metas]) if metas else np.zeros(0, np.int64)
        for name in META_FIELDS
    }
    ids = [i for m in metas for i in m["ids"]]
    run_bytes = [int((m["length"] + 1).sum()) for m in metas]
    # Byte offset of every line within its own run file.
    sizes = col["length"] + 1
    offsets = np.concatenate([np.cumsum(m["length"] + 1) - (m["length"] + 1) for m in metas]
                             ) if metas else np.zeros(0, np.int64)  # fmt: skip
    order = np.lexsort((col["repeat"], col["line"], job, col["key"]))
    ranges = cut_shards(sizes[order], shard_size)
    tasks: list[PartTask] = []
    parts: list[list[Path]] = []
    for number, (start, end) in enumerate(ranges):
        shard = mix_dir / shard_name(number, fmt)
        pieces = (
            [(0, end - start)]
            if fmt == "parquet"
            else cut_shards(sizes[order[start:end]], PART_BYTES)
        )
        parts.append([])
        for k, (a, b) in enumerate(pieces):
            segment = order[start + a : start + b]
            seg_jobs = job[segment]
            present, first = np.unique(seg_jobs, return_index=True)
            slots = np.searchsorted(present, seg_jobs).astype(np.int32)
            part = work / "parts" / f"{shard.name}.{k:05d}"
            part.parent.mkdir(parents=True, exist_ok=True)
            parts[-1].append(part)
            block = np.bincount(slots, weights=sizes[segment], minlength=len(present))
            runs_here = tuple(
                (runs[int(j)][0], int(offsets[segment[i]]), int(n), run_bytes[int(j)])
                for j, i, n in zip(present, first, block, strict=True)
            )
            tasks.append(PartTask(part, shard, fmt, runs_here, slots.tobytes()))
    for _ in backend.map(write_part, tasks):
        pass
    written = [
        (file_sha256(mix_dir / shard_name(n, fmt)), (mix_dir / shard_name(n, fmt)).stat().st_size)
        if fmt == "parquet"
        else _join_parts(mix_dir / shard_name(n, fmt), paths)
        for n, paths in enumerate(parts)
    ]
    sources = sorted(set(job_source))
    source_of_job = np.array([sources.index(s) for s in job_source], dtype=np.int64)
    shards = []
    shard_column = np.zeros(len(order), dtype=np.int32)
    row_column = np.zeros(len(order), dtype=np.int64)
    for number, (start, end) in enumerate(ranges):
        segment = order[start:end]
        digest, size = written[number]
        per_source = np.bincount(source_of_job[job[segment]], minlength=len(sources))
        shards.append(
            Shard(
                path=shard_name(number, fmt),
                sha256=digest,
                bytes=size,
                documents=end - start,
                tokens=int(col["tokens"][segment].sum()),
                sources={s: int(n) for s, n in zip(sources, per_source, strict=True) if n},
            )
        )
        shard_column[start:end] = number
        row_column[start:end] = np.arange(1, end - start + 1)
    _write_index(mix_dir / "index.parquet", order, job, col, ids, shard_column, row_column,
                 job_source, job_path)  # fmt: skip
    _remove_extra_shards(mix_dir, fmt, len(shards))
    return shards


INDEX_ROWS_PER_GROUP = 1 << 16


def _write_index(
    path: Path,
    order: Any,
    job: Any,
    col: dict[str, Any],
    ids: list[str],
    shard: Any,
    row: Any,
    job_source: list[str],
    job_path: list[str],
) -> None:
    """Write index.parquet: one row per output document, in output order."""
    import pyarrow as pa

    jobs = job[order].tolist()
    id_list = [ids[i] for i in order.tolist()]
    table = pa.table(
        {
            "shard": pa.array(shard, pa.int32()),
            "row": pa.array(row, pa.int64()),
            "source": pa.array([job_source[j] for j in jobs], pa.string()),
            "path": pa.array([job_path[j] for j in jobs], pa.string()),
            "line": pa.array(col["line"][order], pa.int64()),
            "id": pa.array(id_list, pa.string()),
            "repeat": pa.array(col["repeat"][order].astype(np.int32), pa.int32()),
            "tokens": pa.array(col["tokens"][order], pa.int64()),
            "key": pa.array(col["key"][order].astype(np.uint64), pa.uint64()),
        }
    )
    write_table(table, path, compression="zstd", row_group_size=INDEX_ROWS_PER_GROUP)


def _remove_extra_shards(mix_dir: Path, fmt: str, count: int) -> None:
    for path in shard_files(mix_dir):
        stem = path.name.split(".", 1)[0]
        number = stem.removeprefix("shard-")
        if not number.isdigit() or int(number) >= count or not path.name.endswith(fmt):
            path.unlink()
