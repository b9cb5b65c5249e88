"""datatrove driver: n-gram decontamination index and filter over a JSONL corpus.

Runs with the datatrove venv's python (see benchmarks/peers.py), not dolmakit's:

    .venvs/datatrove/bin/python peer_scripts/datatrove_decont.py \
        --bench BENCH.jsonl --docs DOCS.jsonl --work WORK [--query-ngrams]

The benchmark rows are {"id", "question", "answer"}: datatrove's label is the answer and its
query the question, as its indexer takes lighteval tasks. `NGramsDecontIndexer.run` imports
lighteval to fetch tasks from the Hub, which cannot work offline, so its own `compute_hashes`
builds each task's hashes and they are written in its index file format; filtering is its
`NGramsDecontFilter` with the same `NGramsDecontConfig` (defaults unless --query-ngrams).
Prints one JSON line: {"seconds_index", "seconds_filter", "flagged": [doc ids], "config"}.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.decont.n_grams import (
    NGramsDecontConfig,
    NGramsDecontFilter,
    NGramsDecontIndexer,
)
from datatrove.utils.hashing import create_hash_func
from datatrove.utils.word_tokenizers import load_word_tokenizer


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--docs", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--query-ngrams", action="store_true")
    args = ap.parse_args()
    config = NGramsDecontConfig(find_query_ngrams=args.query_ngrams)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    indexer = SimpleNamespace(
        config=config,
        tokenizer=load_word_tokenizer("en"),
        hash_func=create_hash_func(config.hash_config),
    )
    hashes: set[int] = set()
    for line in Path(args.bench).read_text().splitlines():
        row = json.loads(line)
        hashes.update(NGramsDecontIndexer.compute_hashes(indexer, row["answer"], row["question"]))
    array = np.array(sorted(hashes), dtype=config.hash_config.np_descr)
    with open(work / "bench.index.hashes", "wb") as f:
        array.tofile(f)
    seconds_index = time.perf_counter() - start
    filt = NGramsDecontFilter(index_folder=str(work), config=config)
    docs = [json.loads(line) for line in Path(args.docs).read_text().splitlines()]
    start = time.perf_counter()
    flagged = []
    for d in docs:
        doc = Document(text=d["text"], id=d["id"], metadata={})
        if filt.filter(doc) is not True:
            flagged.append(d["id"])
    seconds_filter = time.perf_counter() - start
    out = {
        "seconds_index": seconds_index,
        "seconds_filter": seconds_filter,
        "hashes": int(array.size),
        "flagged": flagged,
        "config": {k: v for k, v in asdict(config).items() if not isinstance(v, dict)},
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
