"""Measure `dolmakit dedup minhash` time and peak memory on a built corpus.

Usage::

    python benchmarks/build_corpus.py --size 100MB --out /tmp/bench100
    python benchmarks/bench_dedup.py /tmp/bench100 --workers 2

Runs the whole MinHash stage (signatures, partitions, verification, clustering, attributes)
in a fresh process and prints documents, wall time, documents/s and the peak RSS of the
parent and of the worker processes (ru_maxrss of children), the CPU seconds of both (a
measure that a loaded machine disturbs less than wall time), the load average at the start,
and the peak bytes that numpy and Python allocate during clustering (stage 3-4: union-find
arrays, keep rule, similarities to keepers, clusters.parquet; measured with tracemalloc), per
document, and the high-water mark of pyarrow's memory pool (which tracemalloc does not see).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dolmakit.dedup import MinHashConfig, dedup_minhash  # noqa: E402
from dolmakit.dedup import stage as stage_module  # noqa: E402
from dolmakit.run.backends import make_backend  # noqa: E402
from dolmakit.run.options import RunOptions  # noqa: E402

CLUSTER_PEAK: dict[str, int] = {}


def _traced_cluster(original: Any) -> Any:
    """Wrap stage._cluster so that its peak traced allocation is recorded."""

    def run(*args: Any, **kwargs: Any) -> Any:
        CLUSTER_PEAK["rss_before"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        try:
            return original(*args, **kwargs)
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            CLUSTER_PEAK["bytes"] = max(peak, CLUSTER_PEAK.get("before_components", 0))
            tracemalloc.stop()
            # pyarrow allocates outside tracemalloc's view; its pool's high-water mark (the
            # parent uses pyarrow only here) bounds what clusters.parquet needed on top.
            import pyarrow as pa

            CLUSTER_PEAK["arrow"] = pa.default_memory_pool().max_memory()
            CLUSTER_PEAK["rss_after"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    return run


def _traced_components(original: Any) -> Any:
    """Wrap stage.components (union-find): record its own peak above what was allocated."""

    def run(*args: Any, **kwargs: Any) -> Any:
        current, peak = tracemalloc.get_traced_memory()
        CLUSTER_PEAK["before_components"] = peak
        tracemalloc.reset_peak()
        try:
            return original(*args, **kwargs)
        finally:
            CLUSTER_PEAK["components"] = tracemalloc.get_traced_memory()[1] - current
            CLUSTER_PEAK["edges"] = len(args[0])

    return run


def _warm_up_pyarrow() -> None:
    """Write a one-row table as clusters.parquet is written, before tracing starts.

    The first use of pyarrow imports its modules (and pandas, pyarrow.compute): ~28 MB of
    Python objects allocated once per process, which are not memory of the clustering step.
    """
    import io

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = pa.array(["x"], pa.string()).take(pa.array(np.zeros(1, dtype=np.int64)))
    table = pa.Table.from_arrays([names, pa.array(np.ones(1))], names=["s", "f"])
    with pq.ParquetWriter(io.BytesIO(), table.schema, compression="zstd") as writer:
        writer.write_table(table)


def _rss_kinds() -> dict[str, int]:
    """Return this process's RssAnon and RssFile (kB) from /proc (Linux)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("RssAnon", "RssFile"):
            out[name] = int(value.split()[0])
    return out


def _traced_similarities(original: Any) -> Any:
    """Wrap stage.similarities: record the parent's resident memory by kind when it returns.

    The similarity of members to keepers reads shingle hashes through memory maps of the
    index; the pages it touches count in RSS as file pages (clean, reclaimable), not heap.
    """

    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return original(*args, **kwargs)
        finally:
            CLUSTER_PEAK.update(_rss_kinds())

    return run


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    """Run one timed MinHash dedup over CORPUS/documents."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", default="processes", help="processes or ray")
    parser.add_argument("--verify", default="exact")
    parser.add_argument("--label", default="")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--bands", type=int, default=None, help="with --rows: LSH shape")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--chaining", default="keep", help="keep, remove or recenter")
    parser.add_argument(
        "--no-release",
        action="store_true",
        help="keep the driver's index pages mapped (the behaviour before release=True), to compare",
    )
    args = parser.parse_args()
    shutil.rmtree(args.corpus / "attributes" / "bench_minhash", ignore_errors=True)
    stage_module._cluster = _traced_cluster(stage_module._cluster)  # type: ignore[attr-defined]
    stage_module.components = _traced_components(stage_module.components)  # type: ignore[attr-defined]
    stage_module.similarities = _traced_similarities(stage_module.similarities)  # type: ignore[attr-defined]
    if args.no_release:
        original_store = stage_module.SignatureStore  # type: ignore[attr-defined]

        def unreleased(shards: Any, release: bool = False) -> Any:
            return original_store(shards, release=False)

        stage_module.SignatureStore = unreleased  # type: ignore[attr-defined]
    _warm_up_pyarrow()
    load = os.getloadavg()[0]
    backend = make_backend(args.backend, args.workers)
    start = time.perf_counter()
    try:
        summary = dedup_minhash(
            [args.corpus / "documents"],
            "bench_minhash",
            MinHashConfig(
                verify=args.verify,  # type: ignore[arg-type]
                threshold=args.threshold,
                bands=args.bands,
                rows=args.rows,
                chaining=args.chaining,  # type: ignore[arg-type]
            ),
            run_options=RunOptions(backend=backend, progress=False),
        )
    finally:
        close = getattr(backend, "close", None)
        if close is not None:
            close()  # pool workers exit and are reaped: their CPU and memory are counted
    elapsed = time.perf_counter() - start
    cpu = _cpu_seconds()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = {
        "label": args.label,
        "backend": args.backend,
        "clustering": summary.to_dict().get("clustering"),
        "documents": summary.documents,
        "seconds": round(elapsed, 1),
        "docs_per_second": round(summary.documents / elapsed),
        "peak_rss_parent_mb": round(own),
        "peak_rss_worker_mb": round(kids),
        "peak_rss_parent_before_clustering_mb": round(CLUSTER_PEAK.get("rss_before", 0) / 1024),
        "peak_rss_parent_after_clustering_mb": round(CLUSTER_PEAK.get("rss_after", 0) / 1024),
        "parent_rss_anon_mb_after_similarities": round(CLUSTER_PEAK.get("RssAnon", 0) / 1024),
        "parent_rss_file_mb_after_similarities": round(CLUSTER_PEAK.get("RssFile", 0) / 1024),
        "cpu_seconds": round(cpu, 1),
        "load_average_at_start": round(load, 1),
        "cluster_peak_bytes": CLUSTER_PEAK.get("bytes", 0),
        "cluster_bytes_per_document": round(CLUSTER_PEAK.get("bytes", 0) / summary.documents, 1),
        "arrow_peak_bytes": CLUSTER_PEAK.get("arrow", 0),
        "components_peak_bytes": CLUSTER_PEAK.get("components", 0),
        "components_bytes_per_document": round(
            CLUSTER_PEAK.get("components", 0) / summary.documents, 1
        ),
        "edges": CLUSTER_PEAK.get("edges", 0),
        "in_clusters": summary.in_clusters,
        "clusters": summary.clusters,
        "removed": summary.removed,
        "candidate_pairs": summary.candidate_pairs,
        "verified_pairs": summary.verified_pairs,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
