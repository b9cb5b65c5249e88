"""Measure the span index: build MB/s per core, memory, bytes per byte of text, query latency.

Builds a mix taking every document of a benchmark corpus (`benchmarks/build_corpus.py`), then
indexes it on one core (serial backend, in a child process so that its peak RSS is its own;
optionally under an address-space limit) at each `--shard-size`, and in the same run sorts
the same index shards' text with bare pydivsufsort, the baseline that the build's CPU time
is compared with (the machine is shared, so absolute rates move with its load). It then
traces 500-word outputs (passages of the mix planted among made-up words) through the last
index built: warm (the index open, its pages in the OS cache; the median of `--repeats`
runs) and cold (a whole `dolmakit trace --json` process).

    python benchmarks/bench_trace.py --corpus /tmp/bench200 --work /tmp/bench-trace \
        [--shard-size auto --shard-size 1GiB] [--limit-as 700MB] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from dolmakit.io.reader import read_documents
from dolmakit.io.units import parse_size
from dolmakit.mix import build_mix
from dolmakit.run.options import RunOptions


def make_mix(corpus: Path, work: Path) -> Path:
    """Mix every document of the corpus once (rate 1, whitespace tokens); reuse a built mix."""
    mix_dir = work / "mixes" / "bench" / "v1"
    if (mix_dir / "manifest.json").is_file():
        return mix_dir
    spec = {
        "name": "bench",
        "version": 1,
        "seed": 1,
        "tokenizer": "whitespace",
        "sources": [{"name": "all", "documents": ["documents/**/*.jsonl.zst"], "rate": 1.0}],
        "output": {"format": "jsonl.zst", "shard_size": "64MB"},
    }
    path = work / "mix.yaml"
    work.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec))
    return build_mix(
        path, data_root=corpus, output=work / "mixes", run_options=RunOptions(progress=False)
    ).mix_dir


# Runs `dolmakit ARGS...` under an optional address-space limit, then prints its CPU seconds
# and its own peak RSS (VmHWM: ru_maxrss of a child also counts the parent's RSS at the fork).
CHILD = """
import resource, sys
limit = int(sys.argv[1])
if limit:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from dolmakit.cli.main import cli
try:
    cli.main(sys.argv[2:], standalone_mode=False)
finally:
    use = resource.getrusage(resource.RUSAGE_SELF)
    peak = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM:")]
    print(use.ru_utime + use.ru_stime, int(peak[0].split()[1]) * 1024)
"""

# Sorts the suffixes of each index shard's text file with bare pydivsufsort: the baseline.
SORT = """
import resource, sys
import numpy as np
from pydivsufsort import divsufsort
for path in sys.argv[1:]:
    divsufsort(np.fromfile(path, dtype=np.uint8))
use = resource.getrusage(resource.RUSAGE_SELF)
print(use.ru_utime + use.ru_stime)
"""


# One core: libdivsufsort is built with OpenMP, and would otherwise sort on every core. An
# address-space limit counts reservations, not memory used: keep thread pools and malloc
# arenas (reserved, hardly touched) from taking it up.
SINGLE = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}


def build(mix_dir: Path, shard_size: str, limit: int = 0) -> dict[str, Any]:
    """Index on one core in a child process; return wall and CPU seconds and its peak RSS.

    The previous build's index is removed first, outside the measurement: a first build has
    none to remove.
    """
    shutil.rmtree(mix_dir / "index", ignore_errors=True)
    cmd = [sys.executable, "-c", CHILD, str(limit), "-q", "index", str(mix_dir)]
    cmd += ["--backend", "serial", "--shard-size", shard_size]
    start = time.monotonic()
    env = {**os.environ, **SINGLE}
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    wall = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"index failed with status {done.returncode}: {done.stderr[-2000:]}")
    cpu, peak = done.stdout.split()[-2:]
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(float(cpu), 2),
        "peak_rss_mb": round(int(peak) / 1e6, 1),
    }


def sort_only(mix_dir: Path) -> float:
    """Return the CPU seconds of bare pydivsufsort over the index shards' text, one process."""
    texts = [str(p) for p in sorted((mix_dir / "index").glob("text-*.bin"))]
    env = {**os.environ, **SINGLE}
    done = subprocess.run(
        [sys.executable, "-c", SORT, *texts], capture_output=True, check=True, env=env
    )
    return float(done.stdout.split()[-1])


def measure_build(mix_dir: Path, shard_size: str, limit: int) -> dict[str, Any]:
    """Build at one shard size; against bare pydivsufsort on the same text in the same run."""
    built = build(mix_dir, shard_size, limit)
    manifest = json.loads((mix_dir / "index" / "index.json").read_text())
    totals = manifest["totals"]
    text_mb = totals["text_bytes"] / 1e6
    sort_s = sort_only(mix_dir)
    largest = max(s["text_bytes"] for s in manifest["shards"]) / 1e6
    return {
        "shard_size": shard_size,
        "shard_bytes": manifest["shard_bytes"],
        "index_shards": len(manifest["shards"]),
        "largest_shard_text_mb": round(largest, 1),
        **built,
        "peak_rss_per_shard_text": round(built["peak_rss_mb"] / largest, 2),
        "address_space_limit_mb": round(limit / 1e6) if limit else None,
        "build_mb_per_cpu_s": round(text_mb / built["cpu_s"], 1),
        "build_mb_per_wall_s": round(text_mb / built["wall_s"], 1),
        "sort_only_cpu_s": round(sort_s, 2),
        "sort_only_mb_per_cpu_s": round(text_mb / sort_s, 1),
        "build_over_sort_cpu": round(built["cpu_s"] / sort_s, 3),
        "bytes_per_text_byte": round(totals["index_bytes"] / totals["text_bytes"], 3),
    }


def outputs(mix_dir: Path, count: int, words: int = 500, seed: int = 0) -> list[str]:
    """Return outputs of `words` words: 8-15-word passages of the mix among made-up words."""
    rng = random.Random(seed)
    docs = []
    for shard in sorted(mix_dir.glob("shard-*"))[:3]:
        docs.extend(doc.text for _, doc in read_documents(shard))
    made: list[str] = []
    for _ in range(count):
        parts: list[str] = []
        total = 0
        while total < words:
            lines = [ln.split() for ln in rng.choice(docs).split("\n") if len(ln.split()) >= 16]
            if lines and rng.random() < 0.5:
                line = rng.choice(lines)
                first = rng.randrange(len(line) - 15)
                piece = line[first : first + rng.randrange(8, 16)]
            else:
                piece = [
                    "".join(rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou") for _ in range(3))
                    for _ in range(rng.randrange(5, 20))
                ]
            parts.extend(piece)
            total += len(piece)
        made.append(" ".join(parts[:words]))
    return made


def query(mix_dir: Path, texts: list[str], repeats: int) -> dict[str, Any]:
    """Trace each text warm (index open) and one cold, in a new process."""
    from dolmakit.trace import open_index, trace_text

    index = open_index(mix_dir)
    trace_text(index, texts[0])  # fault in the pages a query touches
    times, spans = [], []
    for _ in range(repeats):
        for text in texts:
            start = time.perf_counter()
            result = trace_text(index, text)
            times.append(time.perf_counter() - start)
            spans.append(len(result.spans))
    index.close()
    start = time.monotonic()
    cold = subprocess.run(
        [sys.executable, "-m", "dolmakit", "trace", str(mix_dir), "-", "--json"],
        input=texts[-1].encode(),
        capture_output=True,
        check=True,
    )
    cold_s = time.monotonic() - start
    json.loads(cold.stdout)
    return {
        "warm_median_s": round(statistics.median(times), 3),
        "warm_max_s": round(max(times), 3),
        "cold_process_s": round(cold_s, 2),
        "spans_per_output": statistics.median(spans),
        "outputs": len(texts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument(
        "--shard-size", action="append", help="repeat to compare sizes (default auto)"
    )
    parser.add_argument(
        "--limit-as", type=parse_size, default=0, help="address-space limit of the builds"
    )
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    start = time.monotonic()
    mix_dir = make_mix(args.corpus, args.work)
    mix_s = time.monotonic() - start
    # The last size stays built for the query measurement.
    builds = [measure_build(mix_dir, size, args.limit_as) for size in args.shard_size or ["auto"]]
    totals = json.loads((mix_dir / "index" / "index.json").read_text())["totals"]
    report = {
        "mix_s": round(mix_s, 1),
        "text_mb": round(totals["text_bytes"] / 1e6, 1),
        "documents": totals["documents"],
        "builds": builds,
        **query(mix_dir, outputs(mix_dir, 5), args.repeats),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
