"""`dedup_minhash`: near-duplicate detection over document shards, in five stages.

1. per shard (parallel, resumable): shingles, signatures, band keys split into partitions;
2. per partition (parallel): bucket pairs -> candidates; then per bucket of pairs (parallel):
   each distinct candidate verified once against the threshold -> edges;
3. connected components over all edges: `clustering.components` on one node, or on a
   distributed backend (Ray) `distributed.distributed_components` as its tasks over the edge
   files, at most `workers` at a time;
4. keep rule per component, similarity of every member to its keeper, chaining guard;
5. per shard (parallel): attribute files; then clusters.parquet and summary.json.

Layout of the report folder (default `<dataset>/attributes/<run>/.dolmakit/`):
`index/` (stage 1 output, reusable by incremental runs), `records/` (runner completion
records and rejects), `work/` (candidates, edges and per-shard decisions), `clusters.parquet`,
`summary.json`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from dolmakit.dedup.candidates import (
    PartitionEdges,
    VerifyBucket,
    candidates_name,
    edges_name,
    similarities,
)
from dolmakit.dedup.cluster_table import MemberColumns, write_member_clusters
from dolmakit.dedup.clustering import components
from dolmakit.dedup.config import MinHashConfig
from dolmakit.dedup.distributed import collect, distributed_components
from dolmakit.dedup.index import (
    ROW_BITS,
    ROW_MASK,
    ShardEntry,
    SignatureStore,
    load_numbers,
    load_sources,
    read_index,
    save_arrays,
    write_index,
)
from dolmakit.dedup.keep import rank_members, source_rank
from dolmakit.dedup.layout import readable_inputs, start_run
from dolmakit.dedup.lsh import unique_pairs
from dolmakit.dedup.marks import MarkOptions, Marks, mark_shards, write_marks
from dolmakit.dedup.report import DedupSummary, duplicate_ids
from dolmakit.dedup.signing import SignatureStats, sign_shard, signature_job
from dolmakit.errors import ConfigError
from dolmakit.io import storage
from dolmakit.io.arrays import load_npz
from dolmakit.io.attributes import attribute_key
from dolmakit.io.lock import exclusive_all
from dolmakit.io.rejects import Rejects
from dolmakit.run.backends import Backend
from dolmakit.run.options import RunOptions, or_default
from dolmakit.run.runner import ShardJob, ShardResult, run_shards

U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def dedup_minhash(
    inputs: Sequence[str | Path],
    run: str = "dedup_minhash",
    config: MinHashConfig | None = None,
    *,
    report_dir: str | Path | None = None,
    index: str | Path | None = None,
    run_options: RunOptions | None = None,
) -> DedupSummary:
    """Mark near-duplicate documents of `inputs` in attribute run `run`; return the summary.

    Inputs may span several datasets and sources; every input must sit under a `documents`
    folder. With `index` (the report folder or `index/` folder of an earlier run), documents
    of that run take part as possible keepers but get no new attributes.
    """
    config = (config or MinHashConfig()).resolved()
    options = or_default(run_options)
    dedup = start_run(inputs, run, report_dir)
    files, report, backend = dedup.files, dedup.report, options.backend
    with exclusive_all(dedup.folders, f"dedup run {run!r}"):
        index_dir = report / "index"
        fields = config.signature_fields()
        old: list[ShardEntry] = []
        if index is not None:
            old = read_index(_index_folder(storage.location(index)), fields)
            seen = {e.path for e in old}
            again = [str(f) for f in files if str(f) in seen]
            if again:
                raise ConfigError(f"{again[0]}: already in the index {index}; give only new shards")
        jobs = [signature_job(path, index_dir, config) for path in files]
        signed = run_shards(
            f"dedup minhash ({run}) signatures",
            jobs,
            sign_shard,
            record_dir=report / "records" / "signatures",
            config=fields,
            stats=SignatureStats,
            options=options,
            rejects_file=dedup.rejects,
        )
        new = [
            ShardEntry(job.key, str(job.input), str(job.options.shard_dir), result.written)
            for job, result in zip(jobs, signed.results, strict=True)
        ]
        shards = old + new
        write_index(index_dir, fields, shards)
        work = report / "work"
        storage.delete_tree(work)
        work.mkdir(parents=True)
        step = PartitionEdges(tuple(shards), str(work), len(old))
        for _ in backend.map(step, list(range(config.partitions))):
            pass
        found = tuple(str(work / candidates_name(part)) for part in range(config.partitions))
        verify = VerifyBucket(
            tuple(shards), found, str(work), config.partitions, config.verify, config.threshold
        )
        summary = DedupSummary(run, "minhash", report, config=config.to_dict())
        for _, (candidates, verified) in backend.map(verify, list(range(config.partitions))):
            summary.candidate_pairs += candidates
            summary.verified_pairs += verified
        duplicate_ids([(e.path, e.dir) for e in new], summary, options.on_error)
        summary.read = signed
        summary.indexed_documents = sum(e.docs for e in old)
        summary.documents = signed.written
        summary.extra["bands"], summary.extra["rows"] = config.bands, config.rows
        removed_by_source = _cluster(
            shards, work, config, len(old), summary, backend, report / "clusters.parquet"
        )
        summary.set_per_source([r.stats.per_source for r in signed.results], removed_by_source)
        readable = {job.key for job in readable_inputs(jobs, signed, run)}
        mark_shards(
            dedup,
            f"dedup minhash ({run})",
            [(e.key, storage.location(e.path), e.dir) for e in new if e.key in readable],
            _write_attributes,
            work,
            config=config.to_dict(),
            options=options,
        )
        summary.write()
        storage.delete_tree(work)
        return summary


def _index_folder(path: Path) -> Path:
    return path if (path / "index.json").is_file() else path / "index"


def _cluster(
    shards: list[ShardEntry],
    work: Path,
    config: MinHashConfig,
    n_old: int,
    summary: DedupSummary,
    backend: Backend,
    clusters_path: Path,
) -> Counter[str]:
    """Cluster the verified edges, choose keepers, write decisions and clusters.parquet.

    Returns the removed documents per source. Memory: numpy columns of the clustered
    documents only (no Python object per document, no list of all candidate pairs).
    """
    files = tuple(str(work / edges_name(bucket)) for bucket in range(config.partitions))
    if backend.distributed:
        summary.extra["clustering"] = "distributed"
        nodes, labels = _distributed_components(files, config.partitions, backend)
    else:
        summary.extra["clustering"] = "local"
        nodes, labels = components(_verified_edges(files))
    n = len(nodes)
    shard_of = (nodes >> ROW_BITS).astype(np.int64)
    rows = (nodes & ROW_MASK).astype(np.int64)
    length = np.empty(n, dtype=np.int64)
    score = np.empty(n, dtype=np.float64)
    line = np.empty(n, dtype=np.int64)
    source = np.empty(n, dtype=np.int32)
    codes: dict[str | None, int] = {}
    # Nodes are sorted, so the members of each shard are one run of shard_of.
    bounds = np.searchsorted(shard_of, np.arange(len(shards) + 1))
    for shard in np.flatnonzero(np.diff(bounds)).tolist():
        where = slice(int(bounds[shard]), int(bounds[shard + 1]))
        folder = storage.location(shards[shard].dir)
        numbers = load_numbers(folder)
        at = rows[where]
        length[where] = numbers["length"][at]
        score[where] = numbers["attr"][at]
        line[where] = numbers["line"][at]
        shard_sources = load_sources(folder)
        shard_codes = np.array(
            [codes.setdefault(s, len(codes)) for s in shard_sources], dtype=np.int32
        )
        source[where] = shard_codes[at]
        del numbers, shard_sources, shard_codes
    names = tuple(codes)
    indexed = shard_of < n_old
    order = rank_members(
        labels,
        nodes,
        indexed=indexed,
        priority=source_rank(list(names), config.keep)[source],
        score=score,
        length=length,
        rule=config.keep,
    )
    del score, length
    sorted_labels = labels[order]
    new_cluster = np.concatenate(([n > 0], sorted_labels[1:] != sorted_labels[:-1]))
    starts = np.flatnonzero(new_cluster)
    del sorted_labels, labels, new_cluster
    sizes = np.diff(np.append(starts, n))
    group = np.repeat(np.arange(len(starts)), sizes)
    keeper_pos = order[starts][group]  # per sorted member: index (into nodes) of its keeper
    member = order
    is_keeper = member == keeper_pos
    sim = np.ones(n, dtype=np.float64)
    others = ~is_keeper
    store = SignatureStore(shards, release=True)
    mode = "exact" if config.verify == "exact" else "estimate"
    sim[others] = similarities(
        np.stack([nodes[member[others]], nodes[keeper_pos[others]]], axis=1), store, mode
    )
    del keeper_pos
    far = others & (sim < config.threshold)
    removable = others & ~indexed[member]
    removed = removable & ((~far) if config.chaining == "keep" else np.ones(n, dtype=bool))
    chained = np.zeros(len(starts), dtype=bool)
    np.logical_or.at(chained, group, far)
    if config.chaining == "recenter":
        centers, matched = _recenter(far, group, nodes[member], sim, store, mode, config.threshold)
        is_keeper |= centers
        removed = removable & ~(far & ~matched)
        summary.extra["recentered_keepers"] = int(centers.sum())
    del far, removable, others, store
    summary.clusters = len(starts)
    summary.in_clusters = n
    summary.removed = int(removed.sum())
    summary.chained_clusters = int(chained.sum())
    # Clusters are numbered by their smallest document number: canonical order.
    member_shard = shard_of[member]
    _save_decisions(work, shards, n_old, member_shard, rows[member], sizes[group], sim, removed)
    removed_codes = np.bincount(source[member][removed], minlength=len(names))
    removed_by_source: Counter[str] = Counter()
    for name, count in zip(names, removed_codes.tolist(), strict=True):
        removed_by_source[name or ""] += count
    columns = MemberColumns(
        cluster=group.astype(np.int64),
        shard=member_shard,
        row=rows[member],
        line=line[member],
        source=source[member],
        keeper=is_keeper,
        removed=removed,
        similarity=sim,
        source_names=names,
    )
    write_member_clusters(clusters_path, shards, columns)
    return removed_by_source


def _recenter(
    far: npt.NDArray[np.bool_],
    group: npt.NDArray[np.int64],
    numbers: U64,
    sim: npt.NDArray[np.float64],
    store: SignatureStore,
    mode: str,
    threshold: float,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Greedy further keepers among the members far from their keeper; return (centers, matched).

    Arrays are per member in rank order within each cluster (`group`: cluster of each member).
    Each round, every cluster's best-ranked member still pending (far from every keeper so
    far) becomes a keeper; the cluster's other pending members are compared with it, and those
    within `threshold` are matched (removable) and take that similarity. Every round turns at
    least one pending member per cluster into a keeper, so it ends; it depends only on ranks
    and similarities, so it is deterministic. `sim` is updated in place; keepers get 1.0.
    """
    pending = far.copy()
    centers = np.zeros(len(far), dtype=bool)
    matched = np.zeros(len(far), dtype=bool)
    while pending.any():
        where = np.flatnonzero(pending)
        clusters, first = np.unique(group[where], return_index=True)
        new = where[first]
        centers[new] = True
        pending[new] = False
        sim[new] = 1.0
        rest = np.flatnonzero(pending)
        if not len(rest):
            break
        center_of = np.full(int(group.max()) + 1, -1, dtype=np.int64)
        center_of[clusters] = new
        mate = center_of[group[rest]]
        pairs = np.stack([numbers[rest], numbers[mate]], axis=1)
        values = similarities(pairs, store, mode)
        close = values >= threshold
        hit = rest[close]
        matched[hit] = True
        pending[hit] = False
        sim[hit] = values[close]
    return centers, matched


def _verified_edges(files: Sequence[str]) -> U64:
    """Return the distinct verified pairs of all edge files (each pair is in one file only)."""
    blocks = [np.empty((0, 2), dtype=np.uint64)]
    for path in files:
        with load_npz(path) as data:
            blocks.append(data["pairs"].reshape(-1, 2)[data["verified"]].astype(np.uint64))
    return unique_pairs(np.concatenate(blocks))


def _distributed_components(
    files: Sequence[str], partitions: int, backend: Backend
) -> tuple[U64, U64]:
    """Return (nodes, labels) sorted by node, computed as tasks of `backend` over the edge files.

    The edges never reach this process: each task reads its file or receives its share;
    only the labelled nodes (documents in clusters) come back.
    """
    return collect(distributed_components(list(files), partitions, backend), backend)


def _save_decisions(
    work: Path,
    shards: list[ShardEntry],
    n_old: int,
    member_shard: I64,
    rows: I64,
    size: I64,
    sim: F64,
    removed: npt.NDArray[np.bool_],
) -> None:
    """Write each new shard's decisions: rows of its clustered documents and their marks."""
    folder = work / "decisions"
    folder.mkdir(parents=True, exist_ok=True)
    by_shard = np.argsort(member_shard, kind="stable")
    bounds = np.searchsorted(member_shard[by_shard], np.arange(len(shards) + 1))
    for number in range(n_old, len(shards)):
        pick = by_shard[bounds[number] : bounds[number + 1]]
        save_arrays(
            folder / f"{shards[number].key}.npz",
            rows=rows[pick].astype(np.uint64),
            size=size[pick].astype(np.uint64),
            similarity=sim[pick],
            removed=removed[pick],
        )


def _write_attributes(job: ShardJob[MarkOptions], rejects: Rejects) -> ShardResult[None]:
    """Write one shard's attribute file from its stored ids and the run's decisions."""
    run = job.options.run
    length = load_numbers(storage.location(job.options.shard_dir))["length"]
    with load_npz(job.options.decisions) as data:
        rows, size, sim, removed = (
            data["rows"], data["size"], data["similarity"], data["removed"]
        )  # fmt: skip
    duplicate_key = attribute_key(run, "minhash", "duplicate")
    size_key = attribute_key(run, "minhash", "cluster_size")
    sim_key = attribute_key(run, "minhash", "similarity")
    marks: dict[int, tuple[int, float, bool]] = {
        int(r): (int(s), float(x), bool(d))
        for r, s, x, d in zip(
            rows.tolist(), size.tolist(), sim.tolist(), removed.tolist(), strict=True
        )
    }

    def marks_of(row: int) -> Marks:
        attrs: Marks = {}
        mark = marks.get(row)
        if mark is not None:
            end = int(length[row])
            cluster_size, similarity, dup = mark
            if dup:
                attrs[duplicate_key] = [[0, end, 1.0]]
            attrs[size_key] = [[0, end, float(cluster_size)]]
            attrs[sim_key] = [[0, end, round(similarity, 5)]]
        return attrs

    return write_marks(job, marks_of)
