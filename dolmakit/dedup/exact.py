"""`dedup_exact`: exact duplicates by normalised text, by a field, or by paragraph.

Stage 1 (per shard, parallel, resumable) hashes each document's key (xxh3, 64 bits) and
splits (hash, row, paragraph) records into partition files; stage 2 (per partition,
parallel) sorts each partition and keeps the first member of every group in canonical order
(sorted input path, then line, then paragraph); stage 3 writes attribute files per shard, then
`clusters.parquet` and `summary.json`. Memory: one partition at a time, and the duplicates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from dolmakit.dedup.config import ExactConfig
from dolmakit.dedup.index import (
    ROW_BITS,
    ROW_MASK,
    load_meta,
    load_numbers,
    save_arrays,
    save_meta,
    shard_key,
)
from dolmakit.dedup.layout import readable_inputs, start_run
from dolmakit.dedup.marks import MarkOptions, Marks, mark_shards, write_marks
from dolmakit.dedup.normalize import light_normalize
from dolmakit.dedup.report import DedupSummary, duplicate_ids, write_clusters
from dolmakit.document import Document
from dolmakit.io import storage
from dolmakit.io.arrays import load_npz
from dolmakit.io.attributes import attribute_key
from dolmakit.io.lock import exclusive_all
from dolmakit.io.reader import read_documents
from dolmakit.io.rejects import Rejects
from dolmakit.run.options import RunOptions, or_default
from dolmakit.run.progress import Tally
from dolmakit.run.runner import ShardJob, ShardResult, run_shards

U64 = npt.NDArray[np.uint64]
NO_SOURCE = ""


def _field(doc: Document, path: str) -> Any:
    """Return the value at a dotted path of the document's JSON object (None if absent)."""
    value: Any = doc.to_dict()
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Return the [start, end) character ranges of a text's lines (paragraphs), no newlines."""
    out, start = [], 0
    for piece in text.split("\n"):
        out.append((start, start + len(piece)))
        start += len(piece) + 1
    return out


@dataclass(frozen=True)
class HashOptions:
    """What the stage-1 worker needs besides its input file."""

    config: ExactConfig
    shard_dir: Path


class HashStats(msgspec.Struct, frozen=True):
    """Per shard: documents per source ('' for none), and documents without a key."""

    per_source: dict[str, int]
    unkeyed: int


def _hash_shard(job: ShardJob[HashOptions], rejects: Rejects) -> ShardResult[HashStats]:
    """Hash the keys of one shard's documents (or paragraphs) into partition files."""
    import xxhash

    options = job.options
    config = options.config
    h = xxhash.xxh3_64_intdigest
    ids: list[str] = []
    sources: list[str | None] = []
    lines: list[int] = []
    lengths: list[int] = []
    hashes: list[int] = []
    rows: list[int] = []
    paras: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    per_source: Counter[str] = Counter()
    unkeyed = 0
    tally = Tally()
    for line, doc in read_documents(job.input, rejects):
        row = len(ids)
        ids.append(doc.id)
        sources.append(doc.source)
        per_source[doc.source if doc.source is not None else NO_SOURCE] += 1
        lines.append(line)
        lengths.append(len(doc.text))
        tally.add(len(doc.text))
        if config.mode == "paragraph":
            for number, (start, end) in enumerate(paragraphs(doc.text)):
                piece = doc.text[start:end]
                key = light_normalize(piece) if config.normalize else piece
                if not key.strip():
                    continue
                hashes.append(h(key.encode()))
                rows.append(row)
                paras.append(number)
                starts.append(start)
                ends.append(end)
            continue
        if config.mode == "text":
            key = light_normalize(doc.text) if config.normalize else doc.text
            if not key.strip():
                unkeyed += 1
                continue
            data = key.encode()
        else:
            value = _field(doc, config.by)
            if value is None:
                unkeyed += 1
                continue
            data = value.encode() if isinstance(value, str) else msgspec.json.encode(value)
        hashes.append(h(data))
        rows.append(row)
        paras.append(0)
    tally.flush()
    folder = options.shard_dir
    save_meta(folder / "meta.msgpack", ids, sources)
    save_arrays(
        folder / "numbers.npz",
        line=np.array(lines, dtype=np.int64),
        length=np.array(lengths, dtype=np.int64),
        para_row=np.array(rows if config.mode == "paragraph" else [], dtype=np.int64),
        para_number=np.array(paras if config.mode == "paragraph" else [], dtype=np.int64),
        para_start=np.array(starts, dtype=np.int64),
        para_end=np.array(ends, dtype=np.int64),
    )
    keys = np.array(hashes, dtype=np.uint64)
    row_arr = np.array(rows, dtype=np.uint32)
    para_arr = np.array(paras, dtype=np.uint32)
    part_of = (keys % np.uint64(config.partitions)).astype(np.int64)
    for part in range(config.partitions):
        pick = part_of == part
        save_arrays(
            folder / f"keys-{part:04d}.npz",
            keys=keys[pick],
            rows=row_arr[pick],
            paras=para_arr[pick],
        )
    return ShardResult(
        job.key,
        read=len(ids) + rejects.total,
        written=len(ids),
        stats=HashStats(per_source=dict(sorted(per_source.items())), unkeyed=unkeyed),
    )


@dataclass(frozen=True)
class PartitionGroups:
    """Find the groups of equal keys of one partition (a picklable callable for any backend).

    Writes `groups-PPPP.npz`: for every member of a group of two or more, its document
    number, paragraph, the keeper's document number and paragraph, and the group size.
    """

    shard_dirs: tuple[str, ...]
    work_dir: str

    def __call__(self, part: int) -> int:
        keys, members, paras = [], [], []
        for number, folder in enumerate(self.shard_dirs):
            with load_npz(storage.location(folder) / f"keys-{part:04d}.npz") as data:
                keys.append(data["keys"])
                members.append((np.uint64(number) << ROW_BITS) | data["rows"].astype(np.uint64))
                paras.append(data["paras"].astype(np.int64))
        key = np.concatenate(keys)
        member = np.concatenate(members)
        para = np.concatenate(paras)
        order = np.lexsort((para, member, key))
        key, member, para = key[order], member[order], para[order]
        starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))[: len(key)]
        sizes = np.diff(np.append(starts, len(key))).astype(np.int64)
        group = np.repeat(np.arange(len(sizes)), sizes)
        in_group = sizes[group] >= 2 if len(key) else np.zeros(0, dtype=bool)
        first = np.asarray(starts, dtype=np.int64)[group] if len(key) else np.zeros(0, np.int64)
        save_arrays(
            storage.location(self.work_dir) / f"groups-{part:04d}.npz",
            member=member[in_group],
            para=para[in_group],
            keeper=member[first[in_group]],
            keeper_para=para[first[in_group]],
            size=sizes[group][in_group] if len(key) else np.zeros(0, np.int64),
        )
        return int(in_group.sum())


def dedup_exact(
    inputs: Sequence[str | Path],
    run: str = "dedup_exact",
    config: ExactConfig | None = None,
    *,
    report_dir: str | Path | None = None,
    run_options: RunOptions | None = None,
) -> DedupSummary:
    """Mark exact duplicates of `inputs` in attribute run `run`; return the summary.

    The first document (or paragraph) in canonical order of each group of equal keys is kept;
    the others get `<run>__exact__duplicate` (or `<run>__exact__paragraph_duplicate` spans).
    """
    config = (config or ExactConfig()).checked()
    options = or_default(run_options)
    dedup = start_run(inputs, run, report_dir)
    files, report = dedup.files, dedup.report
    with exclusive_all(dedup.folders, f"dedup run {run!r}"):
        work = report / "work"
        names = ["meta.msgpack", "numbers.npz"] + [
            f"keys-{p:04d}.npz" for p in range(config.partitions)
        ]
        jobs = []
        for path in files:
            folder = work / "shards" / shard_key(path)
            jobs.append(
                ShardJob(
                    shard_key(path),
                    path,
                    tuple(folder / n for n in names),
                    HashOptions(config, folder),
                )
            )
        hashed = run_shards(
            f"dedup exact ({run}) hashes",
            jobs,
            _hash_shard,
            record_dir=report / "records" / "hashes",
            config={
                "by": config.by,
                "normalize": config.normalize,
                "partitions": config.partitions,
            },
            stats=HashStats,
            options=options,
            rejects_file=dedup.rejects,
        )
        dirs = tuple(str(job.options.shard_dir) for job in jobs)
        step = PartitionGroups(dirs, str(work))
        for _ in options.backend.map(step, list(range(config.partitions))):
            pass
        summary = DedupSummary(
            run, "exact-paragraph" if config.mode == "paragraph" else "exact", report
        )
        duplicate_ids([(j.input, j.options.shard_dir) for j in jobs], summary, options.on_error)
        summary.config = {"by": config.by, "normalize": config.normalize}
        summary.read = hashed
        summary.documents = hashed.written
        summary.extra["documents_without_key"] = sum(r.stats.unkeyed for r in hashed.results)
        columns = _decide(jobs, work, config, summary)
        mark_shards(
            dedup,
            f"dedup exact ({run})",
            [
                (job.key, job.input, str(job.options.shard_dir))
                for job in readable_inputs(jobs, hashed, run)
            ],
            _Marker(config.mode == "paragraph"),
            work,
            config=summary.config,
            options=options,
        )
        removed_sources = Counter(columns.pop("_removed_sources"))
        summary.set_per_source([r.stats.per_source for r in hashed.results], removed_sources)
        write_clusters(report / "clusters.parquet", columns)
        summary.write()
        storage.delete_tree(work / "decisions")
        for part in range(config.partitions):
            storage.delete(work / f"groups-{part:04d}.npz")
        return summary


def _decide(
    jobs: list[ShardJob[HashOptions]], work: Path, config: ExactConfig, summary: DedupSummary
) -> dict[str, list[Any]]:
    """Gather the groups of all partitions, number clusters, save per-shard decisions."""
    parts: dict[str, list[npt.NDArray[Any]]] = {
        k: [] for k in ("member", "para", "keeper", "keeper_para", "size")
    }
    for part in range(config.partitions):
        with load_npz(work / f"groups-{part:04d}.npz") as data:
            for k in parts:
                parts[k].append(data[k])
    cols = {k: np.concatenate(v) for k, v in parts.items()}
    order = np.lexsort((cols["para"], cols["member"], cols["keeper_para"], cols["keeper"]))
    cols = {k: v[order] for k, v in cols.items()}
    gk, gp = cols["keeper"], cols["keeper_para"]
    new_group = np.concatenate(([True], (gk[1:] != gk[:-1]) | (gp[1:] != gp[:-1])))[: len(gk)]
    cluster = np.cumsum(new_group) - 1
    is_keeper = (cols["member"] == gk) & (cols["para"] == gp)
    summary.clusters = int(new_group.sum())
    summary.in_clusters = len(cluster)
    summary.removed = int((~is_keeper).sum())
    shard_of = (cols["member"] >> ROW_BITS).astype(np.int64)
    rows = (cols["member"] & ROW_MASK).astype(np.int64)
    folder = work / "decisions"
    folder.mkdir(parents=True, exist_ok=True)
    columns: dict[str, list[Any]] = {
        "cluster": [], "path": [], "line": [], "id": [], "source": [], "keeper": [],
        "removed": [], "similarity": [],
    }  # fmt: skip
    if config.mode == "paragraph":
        columns.update({"paragraph": [], "start": [], "end": []})
    columns["_removed_sources"] = []
    meta_cache: dict[int, tuple[list[str], list[str | None], dict[str, Any]]] = {}
    for number, job in enumerate(jobs):
        pick = shard_of == number
        save_arrays(
            folder / f"{job.key}.npz",
            rows=rows[pick],
            paras=cols["para"][pick],
            size=cols["size"][pick],
            removed=~is_keeper[pick],
        )
    for i in range(len(cluster)):
        shard = int(shard_of[i])
        if shard not in meta_cache:
            meta_cache.clear()
            job_dir = jobs[shard].options.shard_dir
            ids, sources = load_meta(job_dir)
            meta_cache[shard] = (ids, sources, load_numbers(job_dir))
        ids, sources, numbers = meta_cache[shard]
        row = int(rows[i])
        columns["cluster"].append(int(cluster[i]))
        columns["path"].append(str(jobs[shard].input))
        columns["line"].append(int(numbers["line"][row]))
        columns["id"].append(ids[row])
        columns["source"].append(sources[row])
        columns["keeper"].append(bool(is_keeper[i]))
        columns["removed"].append(not is_keeper[i])
        columns["similarity"].append(1.0)
        if config.mode == "paragraph":
            para = int(cols["para"][i])
            start, end = _paragraph_span(numbers, row, para)
            columns["paragraph"].append(para)
            columns["start"].append(start)
            columns["end"].append(end)
        if not is_keeper[i]:
            columns["_removed_sources"].append(sources[row] or NO_SOURCE)
    return columns


def _paragraph_span(numbers: dict[str, Any], row: int, para: int) -> tuple[int, int]:
    """Return the character range of paragraph `para` of document `row`."""
    lo = int(np.searchsorted(numbers["para_row"], row, side="left"))
    hi = int(np.searchsorted(numbers["para_row"], row, side="right"))
    k = lo + int(np.searchsorted(numbers["para_number"][lo:hi], para))
    return int(numbers["para_start"][k]), int(numbers["para_end"][k])


@dataclass(frozen=True)
class _Marker:
    """Write one shard's attribute file from its stored ids and the run's decisions."""

    paragraphs: bool

    def __call__(self, job: ShardJob[MarkOptions], rejects: Rejects) -> ShardResult[None]:
        numbers = load_numbers(storage.location(job.options.shard_dir))
        with load_npz(job.options.decisions) as data:
            rows, paras, size, removed = data["rows"], data["paras"], data["size"], data["removed"]
        spans: dict[int, list[list[float]]] = {}
        sizes: dict[int, int] = {}
        for row, para, count, dup in zip(
            rows.tolist(), paras.tolist(), size.tolist(), removed.tolist(), strict=True
        ):
            sizes[row] = max(sizes.get(row, 0), count)
            if dup:
                if self.paragraphs:
                    start, end = _paragraph_span(numbers, row, para)
                else:
                    start, end = 0, int(numbers["length"][row])
                spans.setdefault(row, []).append([start, end, 1.0])
        run = job.options.run
        dup_key = attribute_key(
            run, "exact", "paragraph_duplicate" if self.paragraphs else "duplicate"
        )
        size_key = attribute_key(run, "exact", "cluster_size")

        def marks_of(row: int) -> Marks:
            attrs: Marks = {}
            if row in spans:
                attrs[dup_key] = sorted(spans[row])
            if row in sizes and not self.paragraphs:
                attrs[size_key] = [[0, int(numbers["length"][row]), float(sizes[row])]]
            return attrs

        return write_marks(job, marks_of)
