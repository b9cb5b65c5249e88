"""Stage 1 of a MinHash run, per document shard: shingles, signatures, band-key partitions.

Runs under the shard runner (resume, rejects, progress); writes the shard's folder of the
index (see `dolmakit.dedup.index`). Documents without any token get no band keys: they are
never candidates (they would all share the empty signature).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt

from dolmakit.dedup.config import MinHashConfig
from dolmakit.dedup.index import (
    partition_name,
    save_array,
    save_arrays,
    save_meta,
    shard_key,
)
from dolmakit.dedup.lsh import band_keys
from dolmakit.dedup.minhash import permutations, signatures_flat
from dolmakit.dedup.shingles import batch_shingle_hashes
from dolmakit.document import Document
from dolmakit.io.attributes import read_with_attributes
from dolmakit.io.reader import read_documents
from dolmakit.io.rejects import Rejects
from dolmakit.run.progress import Tally
from dolmakit.run.runner import ShardJob, ShardResult

U32 = npt.NDArray[np.uint32]
BATCH = 1024
NO_SOURCE = ""


@dataclass(frozen=True)
class SignatureOptions:
    """What the stage-1 worker needs besides its input file."""

    config: MinHashConfig
    shard_dir: Path


class SignatureStats(msgspec.Struct, frozen=True):
    """Per shard: documents per source ('' for none), and documents without any shingle."""

    per_source: dict[str, int]
    unsigned: int


def shard_outputs(shard_dir: Path, config: MinHashConfig) -> tuple[Path, ...]:
    """Return every file stage 1 writes for one shard (the runner checks them on resume)."""
    names = ["meta.msgpack", "numbers.npz", "sig.npy"]
    if config.verify == "exact":
        names += ["shingles.npy", "offsets.npy"]
    names += [partition_name(p) for p in range(config.partitions)]
    return tuple(shard_dir / name for name in names)


def signature_job(path: Path, index_dir: Path, config: MinHashConfig) -> ShardJob[SignatureOptions]:
    """Return the stage-1 job of one document file."""
    key = shard_key(path)
    shard_dir = index_dir / key
    return ShardJob(
        key, path, shard_outputs(shard_dir, config), SignatureOptions(config, shard_dir)
    )


def _documents(
    path: Path, config: MinHashConfig, rejects: Rejects
) -> Iterator[tuple[int, Document, float]]:
    """Yield (line, document, keep-attribute score or NaN)."""
    run = config.keep.attribute_run()
    if run is None:
        for line, doc in read_documents(path, rejects):
            yield line, doc, float("nan")
        return
    key = config.keep.attribute
    for line, doc, attrs in read_with_attributes(path, [run], rejects):
        spans = attrs.get(key or "") or []
        scores = [float(s[2]) for s in spans if len(s) >= 3]
        yield line, doc, max(scores) if scores else float("nan")


def sign_shard(job: ShardJob[SignatureOptions], rejects: Rejects) -> ShardResult[SignatureStats]:
    """Compute and store the signatures, shingles and band keys of one document file."""
    options = job.options
    config = options.config
    assert config.bands is not None and config.rows is not None
    a, b = permutations(config.num_perm, config.seed)
    tally = Tally()
    ids: list[str] = []
    sources: list[str | None] = []
    nshingles: list[npt.NDArray[np.int64]] = []
    lines: list[int] = []
    lengths: list[int] = []
    attrs: list[float] = []
    hash_parts: list[U32] = []
    sig_parts: list[U32] = []
    per_source: Counter[str] = Counter()
    batch: list[str] = []

    def sign_batch() -> None:
        values, offsets = batch_shingle_hashes(batch, config.ngram)
        sig_parts.append(signatures_flat(values, offsets, a, b))
        nshingles.append(np.diff(offsets))
        if config.verify == "exact":
            hash_parts.append(values)
        batch.clear()

    for line, doc, score in _documents(job.input, config, rejects):
        ids.append(doc.id)
        sources.append(doc.source)
        per_source[doc.source if doc.source is not None else NO_SOURCE] += 1
        lines.append(line)
        lengths.append(len(doc.text))
        attrs.append(score)
        batch.append(doc.text)
        tally.add(len(doc.text))
        if len(batch) >= BATCH:
            sign_batch()
    if batch:
        sign_batch()
    tally.flush()
    sig = (
        np.concatenate(sig_parts) if sig_parts else np.empty((0, config.num_perm), dtype=np.uint32)
    )
    counts = np.concatenate(nshingles) if nshingles else np.empty(0, dtype=np.int64)
    shard_dir = options.shard_dir
    shard_dir.mkdir(parents=True, exist_ok=True)
    save_meta(shard_dir / "meta.msgpack", ids, sources)
    nonempty = counts > 0
    save_arrays(
        shard_dir / "numbers.npz",
        line=np.array(lines, dtype=np.int64),
        length=np.array(lengths, dtype=np.int64),
        attr=np.array(attrs, dtype=np.float64),
        signed=nonempty,
    )
    save_array(shard_dir / "sig.npy", sig)
    if config.verify == "exact":
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        values = np.concatenate(hash_parts) if hash_parts else np.empty(0, dtype=np.uint32)
        save_array(shard_dir / "shingles.npy", values.astype(np.uint32))
        save_array(shard_dir / "offsets.npy", offsets)
    _write_partitions(shard_dir, sig, nonempty, config)
    return ShardResult(
        job.key,
        read=len(ids) + rejects.total,
        written=len(ids),
        text_bytes=int(sum(lengths)),
        stats=SignatureStats(
            per_source=dict(sorted(per_source.items())),
            unsigned=int(len(sig) - int(nonempty.sum())),
        ),
    )


def _write_partitions(
    shard_dir: Path, sig: U32, nonempty: npt.NDArray[np.bool_], config: MinHashConfig
) -> None:
    """Split the (row, band key) records of signed documents into partition files."""
    assert config.bands is not None and config.rows is not None
    rows = np.flatnonzero(nonempty).astype(np.uint32)
    keys = band_keys(sig[rows], config.bands, config.rows)
    flat_keys = keys.ravel()
    flat_rows = np.repeat(rows, config.bands)
    part_of = (flat_keys % np.uint64(config.partitions)).astype(np.int64)
    order = np.argsort(part_of, kind="stable")
    bounds = np.searchsorted(part_of[order], np.arange(config.partitions + 1))
    for part in range(config.partitions):
        chosen = order[bounds[part] : bounds[part + 1]]
        save_arrays(
            shard_dir / partition_name(part), keys=flat_keys[chosen], rows=flat_rows[chosen]
        )
