"""Side by side, one run, one corpus: dolmakit MinHash dedup vs datatrove (and datasketch).

Usage::

    python benchmarks/build_corpus.py --size 76MB --out /tmp/c76
    python benchmarks/bench_dedup_peers.py /tmp/c76 --workers 2 --sample 4000

1. Signature throughput (text -> 128-permutation signature, `--workers` processes, the first
   `--sample` documents): dolmakit (`batch_shingle_hashes` + `signatures_flat`); datatrove's
   `MinhashDedupSignature.get_shingles/get_signature` (peer venv, spaCy and `str.split`
   tokenizers); datasketch `MinHash.bulk` with xxh32 given dolmakit's shingle keys (building
   the keys is not timed: datasketch has no tokenizer).
2. End to end (documents in, removal decisions out), 5-grams, 16 bands x 8 rows: dolmakit
   (`bench_dedup.py`: attributes) and datatrove's 4 stages (`peer_scripts/datatrove_minhash.py`:
   kept and removed documents).
3. Precision/recall of the removals against the builder's ground truth (`metadata.bench`):
   a truth cluster is a distinct document plus every copy whose `of` names it; in a cluster of
   k documents k - 1 removals are right. precision = right removals / removals, recall =
   right removals / sum(k - 1). Copies with heavy edits (e.g. 35 % truncation) fall below a
   Jaccard of 0.8 and the dev corpus has duplicates of its own, so neither tool can reach 1.0.
   Each run's removed ids and clusters stay in `--work` (`dolmakit-<threshold><options>/`,
   `dt-<tokenizer>/`) for `bench_dedup_truth.py`, which scores them on exact Jaccard.
4. Wall time and CPU seconds of every process of each run (datatrove's terminated pool workers
   are counted through a child subreaper). `--dolmakit-options` passes more options to
   bench_dedup.py (e.g. "--chaining remove").

Prints one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from multiprocessing import Pool
from pathlib import Path

import msgspec
import zstandard

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from peers import ensure_venv  # noqa: E402

NUM_PERM, NGRAM, BANDS, ROWS = 128, 5, 16, 8


def _lines(path: Path) -> list[dict]:
    with open(path, "rb") as raw:
        reader = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(raw), "utf-8")
        return [msgspec.json.decode(line) for line in reader]


def _files(corpus: Path, folder: str) -> list[Path]:
    return sorted(p for p in (corpus / folder).rglob("*.jsonl.zst") if p.is_file())


def _sample(corpus: Path, n: int) -> list[str]:
    texts: list[str] = []
    for path in _files(corpus, "documents"):
        texts += [d["text"] for d in _lines(path)][: n - len(texts)]
        if len(texts) >= n:
            break
    return texts


def _dolmakit_sign(texts: list[str]) -> int:
    from dolmakit.dedup.minhash import permutations, signatures_flat
    from dolmakit.dedup.shingles import batch_shingle_hashes

    a, b = permutations(NUM_PERM, 1)
    for start in range(0, len(texts), 1024):
        values, offsets = batch_shingle_hashes(texts[start : start + 1024], NGRAM)
        signatures_flat(values, offsets, a, b)
    return len(texts)


def _datasketch_bulk(keys: list[list[bytes]]) -> int:
    import xxhash
    from datasketch import MinHash

    MinHash.bulk(keys, num_perm=NUM_PERM, seed=1, hashfunc=xxhash.xxh32_intdigest)
    return len(keys)


def _warm_up() -> None:
    """Build dolmakit's per-process tables and import datasketch before timing."""
    import datasketch  # noqa: F401

    _dolmakit_sign(["warm up text"])


def _timed_pool(fn: object, parts: list, workers: int) -> float:
    with Pool(workers, initializer=_warm_up) as pool:
        pool.map(abs, range(workers))  # wait until every worker has started
        start = time.perf_counter()
        pool.map(fn, parts)
        return time.perf_counter() - start


def signature_throughput(corpus: Path, sample: int, workers: int, tokenizers: list[str]) -> None:
    """Print docs/s of text -> signature for each tool on the same sample."""
    from dolmakit.dedup.shingles import shingle_keys

    texts = _sample(corpus, sample)
    mb = round(sum(map(len, texts)) / 1e6, 1)
    parts = [texts[i::workers] for i in range(workers)]
    seconds = _timed_pool(_dolmakit_sign, parts, workers)
    print(json.dumps({"measure": "signatures", "tool": "dolmakit", "documents": len(texts),
                      "text_mb": mb, "seconds": round(seconds, 2),
                      "docs_per_second": round(len(texts) / seconds)}))  # fmt: skip
    keys = [list(shingle_keys(t, NGRAM)) for t in texts]
    key_parts = [keys[i::workers] for i in range(workers)]
    seconds = _timed_pool(_datasketch_bulk, key_parts, workers)
    print(json.dumps({"measure": "signatures", "tool": "datasketch MinHash.bulk (keys given)",
                      "documents": len(texts), "text_mb": mb, "seconds": round(seconds, 2),
                      "docs_per_second": round(len(texts) / seconds)}))  # fmt: skip
    python = ensure_venv("datatrove")
    for tokenizer in tokenizers:
        out = subprocess.run(
            [str(python), str(ROOT / "benchmarks/peer_scripts/datatrove_minhash.py"),
             "--input", str(corpus / "documents"), "--signatures-only", str(sample),
             "--workers", str(workers), "--tokenizer", tokenizer],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps({"measure": "signatures", **row}))


def _truth(corpus: Path) -> tuple[dict[str, str], Counter[str]]:
    """Return each document's truth cluster (its root id) and the cluster sizes."""
    root: dict[str, str] = {}
    for path in _files(corpus, "documents"):
        for doc in _lines(path):
            bench = doc["metadata"]["bench"]
            root[doc["id"]] = bench.get("of", doc["id"])
    return root, Counter(root.values())


def score(removed: set[str], root: dict[str, str], sizes: Counter[str]) -> dict[str, float]:
    """Return removal precision and recall against the builder's truth clusters."""
    per_cluster = Counter(root[i] for i in removed)
    right = sum(min(n, sizes[c] - 1) for c, n in per_cluster.items())
    allowed = sum(k - 1 for k in sizes.values())
    return {
        "removed": len(removed),
        "right": right,
        "precision": round(right / len(removed), 4) if removed else 1.0,
        "recall": round(right / allowed, 4) if allowed else 1.0,
    }


def _children_cpu() -> float:
    """User + system CPU seconds of every waited-for child process (and theirs) so far."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def _run_counted(command: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run a command; return its result and the CPU seconds of it and all its descendants.

    datatrove's worker pools are terminated without being waited for, so their CPU time never
    reaches RUSAGE_CHILDREN through their parent. This process becomes a child subreaper
    (Linux prctl PR_SET_CHILD_SUBREAPER): orphaned descendants are re-parented to it, and it
    waits for them here, which adds their CPU time to its own RUSAGE_CHILDREN.
    """
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    before = _children_cpu()
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    return out, _children_cpu() - before


def end_to_end(
    corpus: Path,
    workers: int,
    tokenizers: list[str],
    work: Path,
    thresholds: list[float],
    extra: str = "",
) -> None:
    """Run both tools end to end and print time and precision/recall."""
    root, sizes = _truth(corpus)
    for threshold in thresholds:
        out = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks/bench_dedup.py"), str(corpus),
             "--workers", str(workers), "--label", "dolmakit", "--threshold", str(threshold),
             *extra.split()],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        row = json.loads(out.stdout.strip().splitlines()[-1])
        key = "bench_minhash__minhash__duplicate"
        removed = {
            line["id"]
            for path in _files(corpus, "attributes/bench_minhash")
            if ".dolmakit" not in path.parts
            for line in _lines(path)
            if line["attributes"].get(key)
        }
        # Keep what the exact-Jaccard scorer (bench_dedup_truth.py) needs from this run.
        saved = work / f"dolmakit-{threshold}{extra.replace(' ', '').replace('--', '-')}"
        saved.mkdir(parents=True, exist_ok=True)
        report = corpus / "attributes/bench_minhash/.dolmakit"
        shutil.copy(report / "clusters.parquet", saved / "clusters.parquet")
        shutil.copy(report / "summary.json", saved / "summary.json")
        (saved / "removed_ids.txt").write_text("".join(f"{i}\n" for i in sorted(removed)))
        print(json.dumps({"measure": "end_to_end",
                          "tool": f"dolmakit (threshold {threshold} {extra})".replace(" )", ")"),
                          "seconds": row["seconds"], "cpu_seconds": row["cpu_seconds"],
                          "load_average_at_start": row["load_average_at_start"],
                          "peak_rss_parent_mb": row["peak_rss_parent_mb"],
                          "parent_rss_file_mb_after_similarities":
                              row["parent_rss_file_mb_after_similarities"],
                          "documents": row["documents"], "saved": str(saved),
                          **score(removed, root, sizes)}))  # fmt: skip
    python = ensure_venv("datatrove")
    for tokenizer in tokenizers:
        load = os.getloadavg()[0]
        out, cpu = _run_counted(
            [str(python), str(ROOT / "benchmarks/peer_scripts/datatrove_minhash.py"),
             "--input", str(corpus / "documents"), "--output", str(work / f"dt-{tokenizer}"),
             "--workers", str(workers), "--tokenizer", tokenizer,
             "--buckets", str(BANDS), "--rows", str(ROWS), "--ngram", str(NGRAM)],
        )  # fmt: skip
        dt = json.loads(out.stdout.strip().splitlines()[-1])
        ids = set(Path(dt["removed_ids"]).read_text().split())
        print(json.dumps({"measure": "end_to_end", "tool": f"datatrove ({tokenizer})",
                          "seconds": dt["seconds"], "stage_seconds": dt["stage_seconds"],
                          "cpu_seconds": round(cpu, 1), "load_average_at_start": round(load, 1),
                          "documents": dt["documents"], **score(ids, root, sizes)}))  # fmt: skip


def main() -> None:
    """Run the side-by-side measurements."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=4000)
    parser.add_argument("--tokenizers", default="spacy,split")
    parser.add_argument("--work", type=Path, default=Path("/tmp/dolmakit-dedup-peers"))
    parser.add_argument("--thresholds", default="0.8,0.7", help="dolmakit thresholds to run")
    parser.add_argument("--dolmakit-options", default="", help="more bench_dedup.py options")
    parser.add_argument("--skip-signatures", action="store_true")
    parser.add_argument("--skip-end-to-end", action="store_true")
    args = parser.parse_args()
    tokenizers = [t for t in args.tokenizers.split(",") if t]
    if not args.skip_signatures:
        signature_throughput(args.corpus, args.sample, args.workers, tokenizers)
    if not args.skip_end_to_end:
        thresholds = [float(t) for t in args.thresholds.split(",") if t]
        end_to_end(
            args.corpus, args.workers, tokenizers, args.work, thresholds, args.dolmakit_options
        )


if __name__ == "__main__":
    main()
