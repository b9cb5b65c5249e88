"""datatrove's own shingle sets of chosen documents, for bench_dedup_truth.py.

Runs with the datatrove venv's python (benchmarks/peers.py)::

    .venvs/datatrove/bin/python peer_scripts/datatrove_shingles.py JOBS.json OUT_DIR

JOBS.json is a list of [path of a .jsonl.zst file, [line numbers (0-based)]]. For job k,
OUT_DIR/k.npz (5 digits) holds `values`, the sorted distinct shingle hashes of each chosen line
in turn, concatenated, and `sizes`, how many each has. The hashes are those of
`MinhashDedupSignature.get_shingles` with the configuration bench_dedup_peers.py runs
(5-grams, 64-bit xxhash, default text normalisation, `str.split` words as in
datatrove_minhash.py's `split` tokenizer), so Jaccard values are datatrove's view of the text.
Two processes.
"""

from __future__ import annotations

import io
import json
import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import orjson
import zstandard
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
from datatrove.utils.hashing import HashConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))

from datatrove_minhash import _tokenizer

OUT = Path(".")


def _job(item: tuple[int, tuple[str, list[int]]]) -> int:
    k, (path, lines) = item
    target = OUT / f"{k:05d}.npz"
    if target.exists():
        return k
    config = MinhashConfig(
        n_grams=5, num_buckets=16, hashes_per_bucket=8, seed=1,
        hash_config=HashConfig(precision=64, hash_fc="xxhash"),
    )  # fmt: skip
    step = MinhashDedupSignature("/tmp/unused-datatrove-sigs", config=config,
                                 language=_tokenizer("split"))  # fmt: skip
    wanted = set(lines)
    values, sizes = [], []
    with open(path, "rb") as raw:
        reader = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(raw), "utf-8")
        for number, line in enumerate(reader):
            if number in wanted:
                hashes = np.unique(step.get_shingles(orjson.loads(line)["text"]).ravel())
                values.append(hashes)
                sizes.append(len(hashes))
    flat = np.concatenate(values) if values else np.empty(0, np.uint64)
    np.savez(target, values=flat.astype(np.uint64), sizes=np.asarray(sizes, dtype=np.int64))
    return k


def _init(out: str) -> None:
    global OUT
    OUT = Path(out)


def main() -> None:
    jobs = json.loads(Path(sys.argv[1]).read_text())
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    # Longest jobs first so the two processes finish together.
    order = sorted(enumerate(jobs), key=lambda item: -len(item[1][1]))
    with Pool(2, initializer=_init, initargs=(str(out),)) as pool:
        for done, _ in enumerate(pool.imap_unordered(_job, order), 1):
            print(f"datatrove shingles: {done}/{len(jobs)} files", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
