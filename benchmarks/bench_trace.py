"""Measure the span index: build MB/s per core, memory, bytes per byte of text, query latency.

Builds a mix taking every document of a benchmark corpus (`benchmarks/build_corpus.py`), then
indexes it on one core (serial backend, in a child process so that its peak RSS is its own)
and traces 500-word outputs (passages of the mix planted among made-up words) through it:
warm (the index open, its pages in the OS cache; the median of `--repeats` runs) and cold
(a whole `dolmakit trace --json` process).

    python benchmarks/bench_trace.py --corpus /tmp/bench200 --work /tmp/bench-trace \
        [--shard-size 1GiB] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from dolmakit.io.reader import read_documents
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


def build(mix_dir: Path, shard_size: str) -> dict[str, Any]:
    """Index on one core in a child process; return wall and CPU seconds and its peak RSS."""
    cmd = [sys.executable, "-m", "dolmakit", "-q", "index", str(mix_dir)]
    cmd += ["--backend", "serial", "--shard-size", shard_size, "--force"]
    start = time.monotonic()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    if status != 0:
        raise SystemExit(f"index failed with status {status}")
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
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
    parser.add_argument("--shard-size", default="1GiB")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    start = time.monotonic()
    mix_dir = make_mix(args.corpus, args.work)
    mix_s = time.monotonic() - start
    built = build(mix_dir, args.shard_size)
    manifest = json.loads((mix_dir / "index" / "index.json").read_text())
    totals = manifest["totals"]
    text_mb = totals["text_bytes"] / 1e6
    report = {
        "mix_s": round(mix_s, 1),
        "text_mb": round(text_mb, 1),
        "documents": totals["documents"],
        "index_shards": len(manifest["shards"]),
        **built,
        "build_mb_per_cpu_s": round(text_mb / built["cpu_s"], 1),
        "build_mb_per_wall_s": round(text_mb / built["wall_s"], 1),
        "bytes_per_text_byte": round(totals["index_bytes"] / totals["text_bytes"], 3),
        **query(mix_dir, outputs(mix_dir, 5), args.repeats),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
