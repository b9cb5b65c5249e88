"""Compare the Ray backend with the process pool on the same stages, in the same run.

The corpus is first resharded into equal parts (so that both backends balance the same way)
under WORK; each backend then gets its own hard-linked copy of the dataset. Stages: `convert`
(read + write, jsonl.zst to jsonl.zst) and `tag` (rule taggers that need no extra). Runs
alternate between the backends; the median wall time of each is reported, with uncompressed
input MB/s, the ratio of the medians, and the median of the per-repeat ratios ("paired": the
two runs of a repeat are back to back, so this cancels slow drifts of a shared machine).
Ray is started once, before timing (its start-up is reported separately: a cluster is started
once and serves many stage runs). Output bytes of the two backends are compared after every
run.

`--stages` picks from convert, tag, "dedup exact", "dedup minhash", mix. `--per-core` also
measures every stage on one core (serial backend, CPU time) and the distributed connected
components on one core: the rates docs/scaling.md uses for its cluster estimate.

    python benchmarks/bench_backends.py --corpus /tmp/bench200 --work /tmp/bench-backends \
        [--workers 2] [--repeats 3] [--shard-size 4MB] [--per-core]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dolmakit
from dolmakit.convert import convert
from dolmakit.io.compression import iter_chunks
from dolmakit.io.paths import expand_inputs
from dolmakit.io.reader import read_documents
from dolmakit.io.units import parse_size
from dolmakit.run.backends import Backend, ProcessBackend, SerialBackend, make_backend
from dolmakit.run.options import RunOptions

TAGGERS = "lengths,gopher_quality,gopher_repetition,fineweb"
RUN = "bench"


def reshard(corpus: Path, dest: Path, shard_bytes: int) -> list[Path]:
    """Rewrite the corpus's documents as equal part files under dest/documents (once)."""
    docs = dest / "documents"
    if not docs.is_dir():
        source = corpus / "documents" if (corpus / "documents").is_dir() else corpus
        convert(
            [str(source)],
            docs,
            "jsonl.zst",
            shard_bytes=shard_bytes,
            run_options=RunOptions(progress=False),
        )
    return expand_inputs([docs])


def linked_copy(files: list[Path], src_root: Path, dest_root: Path) -> Path:
    """Hard-link the dataset's document files into a fresh dataset folder."""
    shutil.rmtree(dest_root, ignore_errors=True)
    for f in files:
        target = dest_root / f.relative_to(src_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(f, target)
    return dest_root


def digest(root: Path) -> str:
    """Hash every visible file under root (names and bytes), in sorted order."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and not any(part.startswith(".") for part in rel.parts):
            h.update(str(rel).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def totals(files: list[Path]) -> tuple[int, int]:
    """Return (documents, uncompressed JSONL bytes) of the files."""
    docs = sum(1 for f in files for _ in read_documents(f))
    nbytes = sum(len(chunk) for f in files for chunk in iter_chunks(f))
    return docs, nbytes


def run_convert(ds: Path, backend: Backend) -> Path:
    out = ds.parent / f"{ds.name}-converted"
    shutil.rmtree(out, ignore_errors=True)
    convert(
        [str(ds / "documents")],
        out,
        "jsonl.zst",
        run_options=RunOptions(backend=backend, progress=False),
    )
    return out


def run_tag(ds: Path, backend: Backend) -> Path:
    from dolmakit.taggers.stage import tag

    shutil.rmtree(ds / "attributes", ignore_errors=True)
    tag(
        [ds / "documents"],
        RUN,
        TAGGERS,
        run_options=RunOptions(backend=backend, progress=False, resume=False),
    )
    return ds / "attributes"


def run_dedup_exact(ds: Path, backend: Backend) -> Path:
    from dolmakit.dedup import dedup_exact

    shutil.rmtree(ds / "attributes", ignore_errors=True)
    dedup_exact([ds / "documents"], run_options=RunOptions(backend=backend, progress=False))
    return ds / "attributes"


def run_dedup_minhash(ds: Path, backend: Backend) -> Path:
    from dolmakit.dedup import dedup_minhash

    shutil.rmtree(ds / "attributes", ignore_errors=True)
    dedup_minhash([ds / "documents"], run_options=RunOptions(backend=backend, progress=False))
    return ds / "attributes"


MIX_SPEC = """name: bench
version: 1
seed: 1
tokenizer: cl100k_base
sources:
  - name: all
    documents: [documents/**/*.jsonl.zst]
    weight: 1.0
output:
  format: jsonl.zst
  shard_size: 4MB
"""


def run_mix(ds: Path, backend: Backend) -> Path:
    from dolmakit.mix.build import build_mix

    out = ds.parent / f"{ds.name}-mix"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    (out / "spec.yaml").write_text(MIX_SPEC)
    build_mix(
        out / "spec.yaml",
        data_root=ds,
        output=out,
        run_options=RunOptions(backend=backend, progress=False),
    )
    shard_dir = out / "bench" / "v1"
    (shard_dir / "manifest.json").unlink()  # holds timings; the shards must agree
    return shard_dir


STAGES: dict[str, Callable[[Path, Backend], Path]] = {
    "convert": run_convert,
    "tag": run_tag,
    "dedup exact": run_dedup_exact,
    "dedup minhash": run_dedup_minhash,
    "mix": run_mix,
}


def compare(args: argparse.Namespace, files: list[Path], root: Path) -> dict[str, Any]:
    """Time every stage on both backends, alternating; check the bytes agree."""
    t0 = time.perf_counter()
    ray_backend = make_backend("ray", args.workers)
    ray_start = time.perf_counter() - t0
    backends: dict[str, Backend] = {"processes": ProcessBackend(args.workers), "ray": ray_backend}
    results: dict[str, Any] = {"ray_start_s": ray_start, "stages": {}}
    for stage in args.stages:
        times: dict[str, list[float]] = {"processes": [], "ray": []}
        for repeat in range(args.repeats):
            order = ["processes", "ray"] if repeat % 2 == 0 else ["ray", "processes"]
            digests = {}
            for name in order:
                ds = linked_copy(files, root, args.work / f"ds-{name}")
                start = time.perf_counter()
                out = STAGES[stage](ds, backends[name])
                times[name].append(time.perf_counter() - start)
                digests[name] = digest(out)
            if digests["processes"] != digests["ray"]:
                raise SystemExit(f"{stage}: outputs differ between backends")
        results["stages"][stage] = {k: statistics.median(v) for k, v in times.items()}
        results["stages"][stage]["runs"] = times
    return results


def per_core(files: list[Path], root: Path, work: Path) -> dict[str, tuple[float, float]]:
    """Return (wall, CPU) seconds of every stage on the serial backend (one core).

    CPU time of this process (everything runs in it) is what a dedicated core would take;
    wall time is inflated when the machine is shared.
    """
    rates: dict[str, tuple[float, float]] = {}
    for stage, fn in STAGES.items():
        ds = linked_copy(files, root, work / "ds-serial")
        start, cpu = time.perf_counter(), time.process_time()
        fn(ds, SerialBackend())
        rates[stage] = (time.perf_counter() - start, time.process_time() - cpu)
    return rates


def components_rate(edges: int = 1_000_000, partitions: int = 8) -> tuple[float, float, int]:
    """Return (wall, CPU seconds, rounds) of distributed components on one core.

    Near-duplicate clusters of 2-20 documents among 4x`edges` document numbers, each cluster's
    edges a random spanning set plus extra random pairs, all shuffled and split in 16 blocks.
    """
    import numpy as np

    import dolmakit.dedup.distributed as dist

    rng = np.random.default_rng(0)
    pairs = []
    total = 0
    while total < edges:
        size = int(rng.integers(2, 21))
        members = rng.integers(0, 4 * edges, size=size, dtype=np.uint64)
        span = np.stack([members[1:], members[rng.integers(0, np.arange(1, size))]], axis=1)
        extra = members[rng.integers(0, size, size=(size, 2))]
        pairs.append(np.concatenate([span, extra]))
        total += 2 * size - 1
    graph = np.concatenate(pairs)[:edges]
    graph = graph[rng.permutation(len(graph))]
    rounds = 0
    small_star = dist._small_star

    def counted(*args: Any) -> Any:
        nonlocal rounds
        rounds += 1
        return small_star(*args)

    dist._small_star = counted  # type: ignore[assignment]
    start, cpu = time.perf_counter(), time.process_time()
    dist.collect(dist.distributed_components(np.array_split(graph, 16), partitions))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    dist._small_star = small_star  # type: ignore[assignment]
    return wall, cpu, rounds // partitions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-backends"))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shard-size", default="4MB")
    parser.add_argument("--stages", default="convert,tag")
    parser.add_argument("--per-core", action="store_true")
    args = parser.parse_args()
    args.stages = [s for s in args.stages.split(",") if s]
    args.work.mkdir(parents=True, exist_ok=True)
    root = args.work / "source"
    files = reshard(args.corpus, root, parse_size(args.shard_size))
    docs, nbytes = totals(files)
    mb = nbytes / 1e6
    print(
        f"dolmakit {dolmakit.__version__}, Python {platform.python_version()},"
        f" {os.cpu_count()} cores; corpus: {len(files)} shards, {docs:,} documents,"
        f" {mb:,.1f} MB uncompressed; workers={args.workers}",
        file=sys.stderr,
    )
    results = compare(args, files, root)
    rows = []
    for stage, r in results["stages"].items():
        ratio = r["processes"] / r["ray"]
        # Runs of one repeat are back to back, so their ratio cancels slow drifts in load.
        paired = statistics.median(
            p / q for p, q in zip(r["runs"]["processes"], r["runs"]["ray"], strict=True)
        )
        rows.append(
            f"| {stage} | {r['processes']:.2f} s ({mb / r['processes']:.1f} MB/s)"
            f" | {r['ray']:.2f} s ({mb / r['ray']:.1f} MB/s) | {ratio:.0%} | {paired:.0%} |"
        )
    print("| stage | processes | ray | ray / processes | paired |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nRay start-up (local, {args.workers} CPUs, once): {results['ray_start_s']:.1f} s")
    for stage, r in results["stages"].items():
        runs = {k: [round(t, 2) for t in v] for k, v in r["runs"].items()}
        print(f"{stage} runs (s): {runs}")
    if args.per_core:
        rates = per_core(files, root, args.work)
        print("\n| one core | wall s | CPU s | documents/CPU-s | MB/CPU-s |")
        print("|---|---|---|---|---|")
        for name, (wall, cpu) in rates.items():
            print(f"| {name} | {wall:.2f} | {cpu:.2f} | {docs / cpu:,.0f} | {mb / cpu:.2f} |")
        wall, cpu, rounds = components_rate()
        print(
            f"\ncomponents, one core: 1,000,000 edges in {wall:.2f} s wall, {cpu:.2f} s CPU"
            f" ({1e6 / cpu:,.0f} edges/CPU-s), {rounds} small-star rounds"
        )


if __name__ == "__main__":
    main()
