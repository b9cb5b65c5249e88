"""datatrove driver: the 4-stage MinHash dedup (signatures, buckets, clusters, filter).

Runs with the datatrove venv's python (see benchmarks/peers.py), not dolmakit's:

    .venvs/datatrove/bin/python peer_scripts/datatrove_minhash.py \
        --input DATASET/documents --output OUT --workers 2 --buckets 16 --rows 8

Stage 1 (JsonlReader -> MinhashDedupSignature) and stage 4 (JsonlReader -> MinhashDedupFilter
-> JsonlWriter, removed documents to an exclusion JsonlWriter) run one task per input file;
stage 2 (MinhashDedupBuckets) one task per bucket; stage 3 (MinhashDedupCluster) is one task,
as datatrove requires. All on LocalPipelineExecutor with `--workers` processes.

`--tokenizer`: `spacy` is datatrove's word tokenizer for English (`language="en"`, a blank
spaCy pipeline; its `WhitespaceTokenizer` also calls spaCy); `split` is a `WordTokenizer`
defined here that returns `text.split()`, to show datatrove's speed without spaCy.

`--signatures-only N`: instead, time text -> signature (datatrove's `get_shingles` and
`get_signature`, nothing written) on the first N documents of the input, split over
`--workers` processes, and print docs/s.

Prints one JSON line: seconds per stage and in total, documents in, kept and removed, and
the path of the file listing the removed ids (one per line).
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import shutil
import time
from multiprocessing import Pool
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.hashing import HashConfig


def _tokenizer(name: str) -> object:
    """Return datatrove's word tokenizer for English (spaCy), or one splitting on whitespace."""
    if name == "split":
        from datatrove.utils.word_tokenizers import WordTokenizer

        class SplitTokenizer(WordTokenizer):
            """Words are str.split() tokens; no sentence splitting (MinHash needs none)."""

            def word_tokenize(self, text: str) -> list[str]:
                return text.split()

            def sent_tokenize(self, text: str) -> list[str]:
                return [text]

            def span_tokenize(self, text: str) -> list[tuple[int, int]]:
                return [(0, len(text))]

        return SplitTokenizer()
    return "en"


def _config(args: argparse.Namespace) -> MinhashConfig:
    return MinhashConfig(
        n_grams=args.ngram,
        num_buckets=args.buckets,
        hashes_per_bucket=args.rows,
        seed=1,
        hash_config=HashConfig(precision=args.precision, hash_fc="xxhash"),
    )


def _texts(path: str, limit: int) -> list[str]:
    import orjson
    import zstandard

    out = []
    with open(path, "rb") as raw:
        reader = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(raw), "utf-8")
        for line in reader:
            out.append(orjson.loads(line)["text"])
            if len(out) >= limit:
                break
    return out


def _sign(job: tuple[list[str], dict]) -> int:
    texts, options = job
    step = MinhashDedupSignature(
        output_folder="/tmp/unused-datatrove-sigs", config=_config(argparse.Namespace(**options))
    )
    for text in texts:
        shingles = step.get_shingles(text)
        if shingles.size:
            step.get_signature(shingles)
    return len(texts)


def signatures_only(args: argparse.Namespace, files: list[str]) -> dict:
    """Time text -> signature over the first N documents, in --workers processes."""
    texts: list[str] = []
    for path in files:
        texts += _texts(path, args.signatures_only - len(texts))
        if len(texts) >= args.signatures_only:
            break
    options = {k: getattr(args, k) for k in ("ngram", "buckets", "rows", "precision", "tokenizer")}
    chunks = [(texts[i :: args.workers], options) for i in range(args.workers)]
    with Pool(args.workers) as pool:
        pool.map(_sign, [([t], options) for t in texts[: args.workers]])  # warm up
        start = time.perf_counter()
        done = sum(pool.map(_sign, chunks))
        seconds = time.perf_counter() - start
    return {
        "tool": "datatrove",
        "tokenizer": args.tokenizer,
        "documents": done,
        "text_mb": round(sum(map(len, texts)) / 1e6, 1),
        "seconds": round(seconds, 2),
        "docs_per_second": round(done / seconds),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True, help="folder of .jsonl.zst document files")
    ap.add_argument("--glob", default="**/*.jsonl.zst")
    ap.add_argument("--output", default="/tmp/datatrove-minhash", help="work folder (replaced)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--ngram", type=int, default=5)
    ap.add_argument("--buckets", type=int, default=16)
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--precision", type=int, default=64, choices=[32, 64])
    ap.add_argument("--signatures-only", type=int, default=0)
    ap.add_argument("--tokenizer", default="spacy", choices=["spacy", "split"])
    args = ap.parse_args()
    files = sorted(glob.glob(os.path.join(args.input, args.glob), recursive=True))
    if args.signatures_only:
        print(json.dumps(signatures_only(args, files)))
        return
    out = Path(args.output)
    shutil.rmtree(out, ignore_errors=True)
    config = _config(args)
    tasks = len(files)

    def reader() -> JsonlReader:
        return JsonlReader(args.input, glob_pattern=args.glob, compression="infer")

    stages = {
        "signatures": LocalPipelineExecutor(
            pipeline=[reader(), MinhashDedupSignature(
                str(out / "sigs"), config=config, language=_tokenizer(args.tokenizer))],
            tasks=tasks, workers=args.workers, logging_dir=str(out / "logs/1"),
            skip_completed=False,
        ),
        "buckets": LocalPipelineExecutor(
            pipeline=[MinhashDedupBuckets(str(out / "sigs"), str(out / "buckets"), config=config)],
            tasks=config.num_buckets, workers=args.workers, logging_dir=str(out / "logs/2"),
            skip_completed=False,
        ),
        "cluster": LocalPipelineExecutor(
            pipeline=[
                MinhashDedupCluster(str(out / "buckets"), str(out / "remove"), config=config)
            ],
            tasks=1, workers=1, logging_dir=str(out / "logs/3"), skip_completed=False,
        ),
        "filter": LocalPipelineExecutor(
            pipeline=[
                reader(),
                MinhashDedupFilter(
                    str(out / "remove"),
                    exclusion_writer=JsonlWriter(str(out / "removed"), compression=None),
                ),
                JsonlWriter(str(out / "kept")),
            ],
            tasks=tasks, workers=args.workers, logging_dir=str(out / "logs/4"),
            skip_completed=False,
        ),
    }  # fmt: skip
    seconds = {}
    start = time.perf_counter()
    for name, executor in stages.items():
        t0 = time.perf_counter()
        executor.run()
        seconds[name] = round(time.perf_counter() - t0, 2)
    total = time.perf_counter() - start
    removed_ids = out / "removed_ids.txt"
    ids = [
        json.loads(line)["id"]
        for path in sorted((out / "removed").glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]
    removed_ids.write_text("".join(f"{i}\n" for i in ids))
    removed = len(ids)
    stats = json.loads((out / "logs/4/stats.json").read_text())
    docs_in = next(
        (s["stats"].get("documents", {}).get("total", 0) for s in stats if "READER" in s["name"]),
        0,
    )
    print(json.dumps({
        "tool": "datatrove", "tokenizer": args.tokenizer, "seconds": round(total, 2),
        "stage_seconds": seconds,
        "documents": docs_in, "removed": removed, "removed_ids": str(removed_ids),
        "config": str(config), "workers": args.workers, "tasks": tasks,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
