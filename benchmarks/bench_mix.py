"""Time dolmakit's mixer against Dolma 1.2.1's mixer on the same corpus, filter and span rule.

    python benchmarks/build_corpus.py --size 200MB --out /tmp/bench200
    python benchmarks/bench_mix.py --corpus /tmp/bench200 --workers 2 [--repeats 1] [--markdown]

Before anything is timed, the corpus is tagged once (skipped when the attribute runs exist):
Dolma's `char_length_v1`, `gopher_v1` and `c4_v2` as run `mixbench` and
`pii_regex_with_counts_fast_v2` as run `mixpii` (Dolma format, read by both mixers), and
dolmakit's `tokens` tagger as run `tok` (read only by the dolmakit variants that take token
counts from an attribute). The run names differ from the other benchmarks' `bench`, which
share the corpus.

Every timed run is a fresh process (`dolma -c mix.json mix` or `dolmakit mix spec.yaml`), so
both sides pay interpreter start-up. Both keep the documents of all sources that Dolma's
exclude filter does not drop (chars >= 200 and words >= 50, the same JSONPath expressions; the
dolmakit spec has one source at `rate: 1`) and replace e-mail spans with |||EMAIL_ADDRESS|||.
Throughput is uncompressed input MB (10**6 bytes) per wall second. Runs alternate between the
variants and the median is reported. Output document counts and replacement counts are
checked to agree between the two mixers.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
import zstandard

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_pipeline import uncompressed_size  # noqa: E402
from peers import (  # noqa: E402
    dolma_mix_config,
    ensure_venv,
    run_dolma_mix,
    run_dolma_tag,
)

DOLMA_RUN = "mixbench"
DOLMA_TAGGERS = ("char_length_v1", "gopher_v1", "c4_v2")
PII_RUN = "mixpii"
PII_TAGGERS = ("pii_regex_with_counts_fast_v2",)
TOKENS_RUN = "tok"
EMAIL = f"{PII_RUN}__pii_regex_with_counts_fast_v2__EMAIL_ADDRESS"
REPLACEMENT = "|||EMAIL_ADDRESS|||"
SHARD_BYTES = 50_000_000  # dolmakit: uncompressed JSON lines per output shard
# Dolma groups whole input files into output shards by their (compressed) size and runs one
# thread per output shard; at 50 MB the 33 MB corpus is one shard on one thread. 5 MB gives
# it 8 shards, so both processes have work.
DOLMA_SHARD_BYTES = 5_000_000


def corpus_suffix(corpus: Path) -> str:
    """Return the document files' suffix: `.jsonl.zst`, or `.jsonl.gz` for a gzip corpus."""
    return ".jsonl.gz" if list((corpus / "documents").glob("*/*.jsonl.gz")) else ".jsonl.zst"


def corpus_files(corpus: Path) -> list[Path]:
    """Return the corpus's document files in sorted order."""
    files = sorted((corpus / "documents").glob(f"*/*{corpus_suffix(corpus)}"))
    if not files:
        raise SystemExit(f"{corpus}: no documents/*/*.jsonl.zst; run benchmarks/build_corpus.py")
    return files


def prepare_attributes(corpus: Path, workers: int, logs: Path) -> dict[str, float]:
    """Tag the corpus once (untimed for the comparison); return the seconds each tagging took."""
    seconds: dict[str, float] = {}
    glob = str(corpus.resolve() / "documents" / "*" / f"*{corpus_suffix(corpus)}")
    for run, taggers in ((DOLMA_RUN, DOLMA_TAGGERS), (PII_RUN, PII_TAGGERS)):
        if not (corpus / "attributes" / run).is_dir():
            seconds[f"dolma_tag_{run}"] = run_dolma_tag(
                glob, taggers, run, processes=workers, log_path=logs / f"dolma-tag-{run}.log"
            )
    if not (corpus / "attributes" / TOKENS_RUN / ".dolmakit" / "run.json").is_file():
        from dolmakit.run.options import RunOptions
        from dolmakit.taggers.stage import tag

        start = time.perf_counter()
        tag(
            [corpus / "documents"],
            TOKENS_RUN,
            "tokens",
            run_options=RunOptions.make("processes", workers, progress=False),
        )
        seconds["dolmakit_tokens_tag"] = time.perf_counter() - start
    return seconds


def dolma_config(corpus: Path, out: Path, workers: int) -> dict[str, Any]:
    """Dolma's mix config: the peers.py filter plus an e-mail span replacement."""
    glob = str(corpus.resolve() / "documents" / "*" / f"*{corpus_suffix(corpus)}")
    config = dolma_mix_config(glob, out, experiment=DOLMA_RUN, processes=workers)
    stream = config["streams"][0]
    stream["attributes"] = [DOLMA_RUN, PII_RUN]
    stream["output"]["max_size_in_bytes"] = DOLMA_SHARD_BYTES
    stream["span_replacement"] = [
        {"span": f"$.attributes.{EMAIL}", "min_score": 0.5, "replacement": REPLACEMENT}
    ]
    return config


def dolmakit_spec(
    dolma: dict[str, Any], fmt: str, tokens_attribute: bool, suffix: str = ".jsonl.zst"
) -> dict[str, Any]:
    """The dolmakit spec doing what `dolma` does: same JSONPath filter and span rule."""
    runs = [DOLMA_RUN, PII_RUN, TOKENS_RUN] if tokens_attribute else [DOLMA_RUN, PII_RUN]
    source: dict[str, Any] = {
        "name": "bench",
        "documents": [f"documents/*/*{suffix}"],
        "attributes": runs,
        "filter": dolma["streams"][0]["filter"],
        "rate": 1.0,
    }
    if tokens_attribute:
        source["tokens"] = f"{TOKENS_RUN}.tokens.count"
    return {
        "name": "bench",
        "version": 1,
        "seed": 0,
        "tokenizer": "cl100k_base",
        "sources": [source],
        "span_replacements": [{"attribute": EMAIL, "replacement": REPLACEMENT, "min_score": 0.5}],
        "output": {"format": fmt, "shard_size": SHARD_BYTES},
    }


def run_dolmakit(spec: dict[str, Any], corpus: Path, work: Path, workers: int) -> float:
    """`dolmakit mix` in a fresh process; returns wall seconds."""
    spec_path = work / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    shutil.rmtree(work / "mixes", ignore_errors=True)
    dolmakit = Path(sys.executable).parent / "dolmakit"
    cmd = [str(dolmakit), "--quiet"] if _has_quiet(dolmakit) else [str(dolmakit)]
    cmd += ["mix", str(spec_path), "--data-root", str(corpus.resolve())]
    cmd += ["--output", str(work / "mixes"), "--workers", str(workers), "--backend", "processes"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    (work / "mix.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"dolmakit mix failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return elapsed


def _has_quiet(dolmakit: Path) -> bool:
    out = subprocess.run([str(dolmakit), "--help"], capture_output=True, text=True).stdout
    return "--quiet" in out


def count_output(folder: Path) -> tuple[int, int]:
    """Return (documents, e-mail replacements) of every shard under `folder`."""
    docs = hits = 0
    needle = REPLACEMENT.encode()
    for path in sorted(folder.rglob("*")):
        if path.name.endswith((".gz", ".json.gz")):
            stream: Any = gzip.open(path, "rb")  # noqa: SIM115
        elif path.name.endswith(".zst"):
            raw = open(path, "rb")  # noqa: SIM115
            stream = io.BufferedReader(
                zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
            )
        else:
            continue
        with stream:
            for line in stream:
                docs += 1
                hits += line.count(needle)
    return docs, hits


def _children_cpu() -> float:
    """Return user + system CPU seconds of finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _dolma_version() -> str:
    py = ensure_venv("dolma")
    code = "from importlib.metadata import version; print(version('dolma'))"
    return subprocess.run([str(py), "-c", code], capture_output=True, text=True).stdout.strip()


def versions() -> dict[str, str]:
    """Return the versions of the tools compared and of the machine."""
    import dolmakit

    cpu = "unknown"
    if Path("/proc/cpuinfo").is_file():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "dolmakit": dolmakit.__version__,
        "dolma": _dolma_version(),
        "python": platform.python_version(),
        "cpu": f"{cpu} x {os.cpu_count()}",
        "platform": platform.platform(),
    }


# dolmakit-zstd-count is dolmakit's defaults: zstd shards, tokens counted by the mixer.
VARIANTS = (
    "dolma-gzip",
    "dolmakit-zstd-count",
    "dolmakit-gzip-count",
    "dolmakit-gzip",
    "dolmakit-zstd",
)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print one JSON object (or a Markdown table)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("/tmp/bench200"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench_mix"))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    variants = args.variants.split(",")
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; choose from {VARIANTS}")
    ensure_venv("dolma")
    args.work.mkdir(parents=True, exist_ok=True)
    setup = prepare_attributes(args.corpus, args.workers, args.work / "logs")
    files = corpus_files(args.corpus)
    size = sum(uncompressed_size(path) for path in files)
    seconds: dict[str, list[float]] = {v: [] for v in variants}
    cpu: dict[str, list[float]] = {v: [] for v in variants}
    outputs: dict[str, tuple[int, int]] = {}
    configs: dict[str, Any] = {}
    for _ in range(args.repeats):
        for variant in variants:
            work = args.work / variant
            work.mkdir(parents=True, exist_ok=True)
            dolma = dolma_config(args.corpus, work / "out", args.workers)
            before = _children_cpu()
            if variant == "dolma-gzip":
                took = run_dolma_mix(dolma, log_path=work / "mix.log")
                configs[variant] = dolma
                outputs[variant] = count_output(work / "out")
            else:
                fmt = "jsonl.zst" if "zstd" in variant else "jsonl.gz"
                spec = dolmakit_spec(
                    dolma,
                    fmt,
                    tokens_attribute=not variant.endswith("count"),
                    suffix=corpus_suffix(args.corpus),
                )
                took = run_dolmakit(spec, args.corpus, work, args.workers)
                configs[variant] = spec
                outputs[variant] = count_output(work / "mixes")
            seconds[variant].append(took)
            cpu[variant].append(_children_cpu() - before)
            print(f"{variant}: {took:.1f} s", file=sys.stderr)
    median = {v: statistics.median(s) for v, s in seconds.items()}
    result = {
        "corpus": str(args.corpus),
        "files": len(files),
        "input_bytes": size,
        "workers": args.workers,
        "setup_seconds": {k: round(v, 1) for k, v in setup.items()},
        "versions": versions(),
        "runs": {
            v: {
                "seconds": [round(s, 2) for s in seconds[v]],
                "median_seconds": round(median[v], 2),
                "mb_per_s": round(size / 1e6 / median[v], 2),
                "cpu_seconds": [round(c, 1) for c in cpu[v]],
                "documents_out": outputs[v][0],
                "email_replacements": outputs[v][1],
            }
            for v in variants
        },
        "configs": configs,
    }
    if "dolma-gzip" in median:
        base = median["dolma-gzip"]
        result["speedup_vs_dolma_gzip"] = {v: round(base / median[v], 2) for v in variants}
    if args.markdown:
        print(
            "| variant | seconds (median) | MB/s | x Dolma gzip | CPU s (median) "
            "| documents out | e-mails |"
        )
        print("|---|---|---|---|---|---|---|")
        for v in variants:
            r = result["runs"][v]
            x = result.get("speedup_vs_dolma_gzip", {}).get(v, "")
            print(
                f"| {v} | {r['median_seconds']} | {r['mb_per_s']} | {x} | "
                f"{statistics.median(cpu[v]):.1f} | {r['documents_out']:,} | "
                f"{r['email_replacements']:,} |"
            )
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
