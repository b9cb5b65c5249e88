"""Measure `dolmakit dedup minhash` time and peak memory on a built corpus.

Usage::

    python benchmarks/build_corpus.py --size 100MB --out /tmp/bench100
    python benchmarks/bench_dedup.py /tmp/bench100 --workers 2

Runs the whole MinHash stage (signatures, partitions, verification, clustering, attributes)
in a fresh process and prints documents, wall time, documents/s and the peak RSS of the
parent and of the worker processes (ru_maxrss of children).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dolmakit.backends import make_backend  # noqa: E402
from dolmakit.dedup import MinHashConfig, dedup_minhash  # noqa: E402


def main() -> None:
    """Run one timed MinHash dedup over CORPUS/documents."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--verify", default="exact")
    args = parser.parse_args()
    shutil.rmtree(args.corpus / "attributes" / "bench_minhash", ignore_errors=True)
    start = time.perf_counter()
    summary = dedup_minhash(
        [args.corpus / "documents"],
        "bench_minhash",
        MinHashConfig(verify=args.verify),  # type: ignore[arg-type]
        backend=make_backend("processes", args.workers),
        progress=False,
    )
    elapsed = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = {
        "documents": summary.documents,
        "seconds": round(elapsed, 1),
        "docs_per_second": round(summary.documents / elapsed),
        "peak_rss_parent_mb": round(own),
        "peak_rss_worker_mb": round(kids),
        "clusters": summary.clusters,
        "removed": summary.removed,
        "candidate_pairs": summary.candidate_pairs,
        "verified_pairs": summary.verified_pairs,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
