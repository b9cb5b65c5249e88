"""Convert document files between JSONL (plain, .gz, .zst) and Parquet, or reshard them.

Sources and destination may be local or `s3://` (in any combination).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from dolmakit.errors import DolmakitError
from dolmakit.io import storage
from dolmakit.io.duplicate_ids import IdRecorder, recorded_duplicates
from dolmakit.io.lock import exclusive
from dolmakit.io.paths import DOCUMENT_SUFFIXES, expand_inputs
from dolmakit.io.reader import read_documents, unreadable
from dolmakit.io.rejects import Rejects, rejects_file
from dolmakit.io.writer import DocumentWriter
from dolmakit.run.backends import SerialBackend
from dolmakit.run.options import RunOptions, or_default
from dolmakit.run.progress import Tally
from dolmakit.run.runner import RunSummary, ShardJob, ShardResult, run_shards

FORMATS = ("jsonl.zst", "jsonl.gz", "jsonl", "parquet")


def output_name(rel: Path, fmt: str) -> Path:
    """Return `rel` with its document extension replaced by `.<fmt>`."""
    name = rel.name
    for suffix in sorted(DOCUMENT_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return rel.with_name(f"{name}.{fmt}")


def common_root(files: Sequence[Path]) -> Path:
    """Return the deepest folder containing every file (files on one storage: local or s3)."""
    root = files[0].parent
    for f in files[1:]:
        while root not in (f.parent, *f.parent.parents):
            if root.parent == root:
                raise DolmakitError(f"{files[0]} and {f} share no folder; convert them apart")
            root = root.parent
    return root


@dataclass(frozen=True)
class ReshardOptions:
    """The one resharding job: every input in canonical order, rewritten as parts in `dest`."""

    files: tuple[Path, ...]
    dest: Path
    fmt: str
    shard_bytes: int


class ReshardStats(msgspec.Struct, frozen=True):
    """How many part files the resharding job wrote."""

    parts: int


def convert(
    sources: Sequence[str],
    destination: str | Path,
    fmt: str = "jsonl.zst",
    *,
    shard_bytes: int | None = None,
    run_options: RunOptions | None = None,
) -> RunSummary[Any]:
    """Convert every document file under `sources` into `destination` in format `fmt`.

    Without `shard_bytes`, each input becomes one output at the same relative path. With it,
    all inputs (in canonical order) are rewritten as `part-NNNNN.<fmt>` files of about
    `shard_bytes` bytes of text each. The run holds the destination's lock.
    """
    options = or_default(run_options)
    if fmt not in FORMATS:
        raise DolmakitError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    files = expand_inputs(sources)
    root = common_root(files)
    dest = storage.location(destination).resolve()
    storage.make_folder(destination, "the destination")
    with exclusive(dest, "convert"):
        record_dir = dest / ".dolmakit" / "convert"
        if shard_bytes is not None:
            if shard_bytes <= 0:
                raise DolmakitError("--shard-size must be positive")
            seen = tuple(_ids_path(record_dir, n) for n in range(len(files)))
            job = ShardJob(
                "reshard", files[0], seen, ReshardOptions(tuple(files), dest, fmt, shard_bytes)
            )
            resharded = run_shards(
                "convert",
                [job],
                _reshard,
                record_dir=record_dir,
                config={"fmt": fmt, "shard_bytes": shard_bytes, "files": [str(f) for f in files]},
                stats=ReshardStats,
                # One job, in this process, always redone: its parts depend on every input.
                options=options.replace(backend=SerialBackend(), resume=False),
                rejects_file=rejects_file(dest),
            )
            return _with_duplicates(resharded, list(zip(files, seen, strict=True)), options)
        jobs: list[ShardJob[None]] = []
        for path in files:
            rel = path.relative_to(root)
            out = dest / output_name(rel, fmt)
            if out.resolve() == path:
                raise DolmakitError(f"{path}: converting a file onto itself; choose another folder")
            jobs.append(ShardJob(str(rel), path, (out, _ids_path(record_dir, len(jobs))), None))
        converted = run_shards(
            "convert",
            jobs,
            _convert_shard,
            record_dir=record_dir,
            config={"fmt": fmt},
            stats=type(None),
            options=options,
            rejects_file=rejects_file(dest),
        )
        return _with_duplicates(converted, [(j.input, j.outputs[1]) for j in jobs], options)


def _ids_path(record_dir: Path, number: int) -> Path:
    return record_dir / "ids" / f"{number:05d}.msgpack"


def _with_duplicates(
    summary: RunSummary[Any], saved: list[tuple[Path, Path]], options: RunOptions
) -> RunSummary[Any]:
    """Add the warning about ids that repeat within a source (an error under 'fail')."""
    found = recorded_duplicates(saved, options.on_error)
    summary.warnings.extend(w for w in [found.message()] if w is not None)
    return summary


def _convert_shard(job: ShardJob[None], rejects: Rejects) -> ShardResult[None]:
    result = ShardResult(job.key, stats=None)
    tally = Tally()
    seen = IdRecorder()
    with DocumentWriter(job.outputs[0]) as writer:
        for line, doc in read_documents(job.input, rejects):
            seen.add(line, doc)
            writer.write(doc)
            tally.add(len(doc.text))
            result.text_bytes += len(doc.text)
        tally.flush()
        if unreadable(writer.documents, rejects.counts):
            writer.discard()
    seen.save(job.outputs[1])
    result.written = writer.documents
    result.read = result.written + rejects.total
    return result


def _reshard(job: ShardJob[ReshardOptions], rejects: Rejects) -> ShardResult[ReshardStats]:
    files, dest, fmt, shard_bytes = (
        job.options.files, job.options.dest, job.options.fmt, job.options.shard_bytes
    )  # fmt: skip
    written = 0
    tally = Tally()
    part = 0
    size = 0
    writer: DocumentWriter | None = None
    try:
        for path, saved in zip(files, job.outputs, strict=True):
            seen = IdRecorder()
            for line, doc in read_documents(path, rejects):
                seen.add(line, doc)
                if writer is None:
                    writer = DocumentWriter(dest / f"part-{part:05d}.{fmt}")
                writer.write(doc)
                written += 1
                size += len(doc.text.encode())
                tally.add(len(doc.text))
                if size >= shard_bytes:
                    writer.close()
                    writer, part, size = None, part + 1, 0
            seen.save(saved)
        if writer is not None:
            writer.close()
            writer = None
    finally:
        if writer is not None:
            writer.abort()
    tally.flush()
    return ShardResult(
        job.key,
        read=written + rejects.total,
        written=written,
        stats=ReshardStats(parts=part + (1 if size else 0)),
    )
