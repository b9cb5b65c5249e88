"""`dedup_minhash`: near-duplicate detection over document shards, in five stages.

1. per shard (parallel, resumable): shingles, signatures, band keys split into partitions;
2. per partition (parallel): bucket pairs, verified against the threshold -> edges;
3. connected components over all edges (`clustering.components`, single node);
4. keep rule per component, similarity of every member to its keeper, chaining guard;
5. per shard (parallel): attribute files; then clusters.parquet and summary.json.

Layout of the report folder (default `<dataset>/attributes/<run>/.dolmakit/`):
`index/` (stage 1 output, reusable by incremental runs), `records/` (runner completion
records and rejects), `work/` (edges and per-shard decisions), `clusters.parquet`,
`summary.json`.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from dolmakit.attributes import AttributeWriter, attribute_key
from dolmakit.backends import Backend, SerialBackend
from dolmakit.dedup.candidates import PartitionEdges, edges_name, similarities
from dolmakit.dedup.clustering import components
from dolmakit.dedup.config import MinHashConfig
from dolmakit.dedup.index import (
    ROW_BITS,
    ROW_MASK,
    ShardEntry,
    SignatureStore,
    load_meta,
    load_numbers,
    read_index,
    save_arrays,
    write_index,
)
from dolmakit.dedup.keep import rank_members, source_rank
from dolmakit.dedup.lsh import unique_pairs
from dolmakit.dedup.report import DedupSummary, write_clusters
from dolmakit.dedup.signing import sign_shard, signature_job
from dolmakit.errors import ConfigError
from dolmakit.paths import attribute_path, expand_inputs, split_dataset_path
from dolmakit.rejects import OnError, Rejects
from dolmakit.runner import ShardJob, ShardResult, run_shards

U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]


def default_report_dir(first_input: Path, run: str) -> Path:
    """Return `<dataset>/attributes/<run>/.dolmakit` for the dataset of the first input."""
    dataset, _ = split_dataset_path(first_input)
    return dataset / "attributes" / run / ".dolmakit"


def dedup_minhash(
    inputs: Sequence[str | Path],
    run: str = "dedup_minhash",
    config: MinHashConfig | None = None,
    *,
    report_dir: str | Path | None = None,
    index: str | Path | None = None,
    backend: Backend | None = None,
    on_error: OnError = "skip",
    progress: bool = True,
) -> DedupSummary:
    """Mark near-duplicate documents of `inputs` in attribute run `run`; return the summary.

    Inputs may span several datasets and sources; every input must sit under a `documents`
    folder. With `index` (the report folder or `index/` folder of an earlier run), documents
    of that run take part as possible keepers but get no new attributes.
    """
    config = (config or MinHashConfig()).resolved()
    files = expand_inputs(inputs)
    for path in files:
        split_dataset_path(path)
    report = Path(report_dir) if report_dir else default_report_dir(files[0], run)
    report = report.resolve()
    backend = backend or SerialBackend()
    index_dir = report / "index"
    fields = config.signature_fields()
    old: list[ShardEntry] = []
    if index is not None:
        old = read_index(_index_folder(Path(index)), fields)
        seen = {e.path for e in old}
        again = [str(f) for f in files if str(f) in seen]
        if again:
            raise ConfigError(f"{again[0]}: already in the index {index}; give only new shards")
    jobs = [signature_job(path, index_dir, config) for path in files]
    signed = run_shards(
        f"dedup minhash {run}: signatures",
        jobs,
        sign_shard,
        record_dir=report / "records" / "signatures",
        config=fields,
        backend=backend,
        on_error=on_error,
        progress=progress,
    )
    new = [
        ShardEntry(job.key, str(job.input), str(job.options.shard_dir), result.written)
        for job, result in zip(jobs, signed.results, strict=True)
    ]
    shards = old + new
    write_index(index_dir, fields, shards)
    work = report / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    step = PartitionEdges(tuple(shards), str(work), config.verify, config.threshold, len(old))
    for _ in backend.map(step, list(range(config.partitions))):
        pass
    summary = DedupSummary(run, "minhash", report, config=config.to_dict())
    summary.read = signed
    summary.indexed_documents = sum(e.docs for e in old)
    summary.documents = signed.written
    summary.extra["bands"], summary.extra["rows"] = config.bands, config.rows
    per_source: Counter[str] = Counter()
    for result in signed.results:
        per_source.update(result.stats.get("per_source", {}))
    clusters = _cluster(shards, work, config, len(old), summary)
    removed_by_source: Counter[str] = Counter(str(s) for s in clusters.pop("_removed_sources", []))
    summary.per_source = {
        s: {"documents": per_source[s], "removed": removed_by_source[s]} for s in sorted(per_source)
    }
    key_prefix = (run, "minhash")
    write_jobs = [
        ShardJob(
            entry.key,
            Path(entry.path),
            (attribute_path(entry.path, run),),
            (entry.dir, str(work / "decisions" / f"{entry.key}.npz"), key_prefix),
        )
        for entry in new
    ]
    run_shards(
        f"dedup minhash {run}: attributes",
        write_jobs,
        _write_attributes,
        record_dir=report / "records" / "attributes",
        config=config.to_dict(),
        backend=backend,
        resume=False,
        progress=progress,
    )
    write_clusters(report / "clusters.parquet", clusters)
    summary.write()
    shutil.rmtree(work, ignore_errors=True)
    return summary


def _index_folder(path: Path) -> Path:
    return path if (path / "index.json").is_file() else path / "index"


def _cluster(
    shards: list[ShardEntry],
    work: Path,
    config: MinHashConfig,
    n_old: int,
    summary: DedupSummary,
) -> dict[str, list[object]]:
    """Cluster the verified edges, choose keepers, write per-shard decisions; return rows."""
    candidate_list, pairs_list = [], []
    for part in range(config.partitions):
        with np.load(work / edges_name(part)) as data:
            candidate_list.append(data["pairs"])
            pairs_list.append(data["pairs"][data["verified"]])
    # The same pair can come out of several partitions (it shares several bands).
    summary.candidate_pairs = len(unique_pairs(np.concatenate(candidate_list).reshape(-1, 2)))
    pairs = unique_pairs(np.concatenate(pairs_list).reshape(-1, 2).astype(np.uint64))
    summary.verified_pairs = len(pairs)
    nodes, labels = components(pairs)
    columns: dict[str, list[object]] = {
        "cluster": [], "path": [], "line": [], "id": [], "source": [],
        "keeper": [], "removed": [], "similarity": [],
    }  # fmt: skip
    columns["_removed_sources"] = []
    if not len(nodes):
        _save_decisions(work, shards, n_old, nodes, {})
        return columns
    shard_of = (nodes >> ROW_BITS).astype(np.int64)
    rows = (nodes & ROW_MASK).astype(np.int64)
    n = len(nodes)
    length = np.empty(n, dtype=np.int64)
    score = np.empty(n, dtype=np.float64)
    line = np.empty(n, dtype=np.int64)
    ids: list[str] = [""] * n
    sources: list[str | None] = [None] * n
    for shard in np.unique(shard_of):
        where = np.flatnonzero(shard_of == shard)
        folder = Path(shards[shard].dir)
        numbers = load_numbers(folder)
        shard_ids, shard_sources = load_meta(folder)
        length[where] = numbers["length"][rows[where]]
        score[where] = numbers["attr"][rows[where]]
        line[where] = numbers["line"][rows[where]]
        for i in where.tolist():
            ids[i] = shard_ids[rows[i]]
            sources[i] = shard_sources[rows[i]]
    indexed = shard_of < n_old
    order = rank_members(
        labels,
        nodes,
        indexed=indexed,
        priority=source_rank(sources, config.keep),
        score=score,
        length=length,
        rule=config.keep,
    )
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_labels[1:] != sorted_labels[:-1])))
    sizes = np.diff(np.append(starts, n))
    group = np.repeat(np.arange(len(starts)), sizes)
    keeper_pos = order[starts][group]  # per sorted member: index (into nodes) of its keeper
    member = order
    is_keeper = member == keeper_pos
    sim = np.ones(n, dtype=np.float64)
    others = ~is_keeper
    store = SignatureStore(shards)
    mode = "exact" if config.verify == "exact" else "estimate"
    sim[others] = similarities(
        np.stack([nodes[member[others]], nodes[keeper_pos[others]]], axis=1), store, mode
    )
    far = others & (sim < config.threshold)
    removable = others & ~indexed[member]
    removed = removable & ((~far) if config.chaining == "keep" else np.ones(n, dtype=bool))
    chained = np.zeros(len(starts), dtype=bool)
    np.logical_or.at(chained, group, far)
    summary.clusters = len(starts)
    summary.in_clusters = n
    summary.removed = int(removed.sum())
    summary.chained_clusters = int(chained.sum())
    # Clusters are numbered by their smallest document number: canonical order.
    cluster_size = sizes[group]
    decisions: dict[int, tuple[U64, U64, F64, npt.NDArray[np.bool_]]] = {}
    member_shard = shard_of[member]
    for shard in np.unique(member_shard[member_shard >= n_old]):
        pick = member_shard == shard
        decisions[int(shard)] = (
            rows[member[pick]].astype(np.uint64),
            cluster_size[pick].astype(np.uint64),
            sim[pick],
            removed[pick],
        )
    _save_decisions(work, shards, n_old, nodes, decisions)
    for pos in range(n):
        i = int(member[pos])
        columns["cluster"].append(int(group[pos]))
        columns["path"].append(shards[shard_of[i]].path)
        columns["line"].append(int(line[i]))
        columns["id"].append(ids[i])
        columns["source"].append(sources[i])
        columns["keeper"].append(bool(is_keeper[pos]))
        columns["removed"].append(bool(removed[pos]))
        columns["similarity"].append(round(float(sim[pos]), 5))
        if removed[pos]:
            columns["_removed_sources"].append(sources[i] or "")
    return columns


def _save_decisions(
    work: Path,
    shards: list[ShardEntry],
    n_old: int,
    nodes: U64,
    decisions: dict[int, tuple[U64, U64, F64, npt.NDArray[np.bool_]]],
) -> None:
    folder = work / "decisions"
    folder.mkdir(parents=True, exist_ok=True)
    empty = np.empty(0, dtype=np.uint64)
    for number in range(n_old, len(shards)):
        rows, size, sim, removed = decisions.get(
            number, (empty, empty, np.empty(0), np.empty(0, dtype=bool))
        )
        save_arrays(
            folder / f"{shards[number].key}.npz",
            rows=rows,
            size=size,
            similarity=sim,
            removed=removed,
        )


def _write_attributes(job: ShardJob, rejects: Rejects) -> ShardResult:
    """Write one shard's attribute file from its stored ids and the run's decisions."""
    shard_dir, decisions_file, (run, method) = job.options
    ids, sources = load_meta(Path(shard_dir))
    length = load_numbers(Path(shard_dir))["length"]
    with np.load(decisions_file) as data:
        rows, size, sim, removed = (
            data["rows"], data["size"], data["similarity"], data["removed"]
        )  # fmt: skip
    duplicate_key = attribute_key(run, method, "duplicate")
    size_key = attribute_key(run, method, "cluster_size")
    sim_key = attribute_key(run, method, "similarity")
    marks: dict[int, tuple[int, float, bool]] = {
        int(r): (int(s), float(x), bool(d))
        for r, s, x, d in zip(
            rows.tolist(), size.tolist(), sim.tolist(), removed.tolist(), strict=True
        )
    }
    with AttributeWriter(job.outputs[0]) as writer:
        for row, doc_id in enumerate(ids):
            attrs: dict[str, list[list[float]]] = {}
            mark = marks.get(row)
            if mark is not None:
                end = int(length[row])
                cluster_size, similarity, dup = mark
                if dup:
                    attrs[duplicate_key] = [[0, end, 1.0]]
                attrs[size_key] = [[0, end, float(cluster_size)]]
                attrs[sim_key] = [[0, end, round(similarity, 5)]]
            line: dict[str, object] = {"id": doc_id, "attributes": attrs}
            if sources[row] is not None:
                line["source"] = sources[row]
            writer.write(line)
    return ShardResult(job.key, read=len(ids), written=len(ids))
