"""Check a corpus written by build_corpus.py against its own ground truth.

    python benchmarks/check_corpus.py OUT [--sample-pairs 2000]

Reports counts by kind, whether every exact_dup equals its base, the word 5-gram (character
5-gram for CJK) Jaccard of near_dup vs base, the same for random pairs of distinct documents,
accidental exact collisions between distinct documents and how often paragraphs of distinct
documents recur. Holds every distinct text in memory: meant for corpora up to a few GB.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import random
import sys
from collections import Counter

import msgspec
import numpy as np
import zstandard

CJK_LANGS = {"ja", "zh", "ko"}


def iter_docs(root: str):
    for path in sorted(glob.glob(os.path.join(root, "documents", "*", "*.jsonl.zst"))):
        with open(path, "rb") as fh:
            reader = zstandard.ZstdDecompressor().stream_reader(fh)
            buf = b""
            while chunk := reader.read(1 << 22):
                buf += chunk
                lines = buf.split(b"\n")
                buf = lines.pop()
                for line in lines:
                    if line:
                        yield msgspec.json.decode(line)
            if buf.strip():
                yield msgspec.json.decode(buf)


def shingles(text: str, cjk: bool, n: int = 5) -> set:
    toks = list(text.replace("\n", "")) if cjk else text.split()
    if len(toks) < n:
        return {tuple(toks)}
    return {hash(tuple(toks[i : i + n])) for i in range(len(toks) - n + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / max(1, len(a | b))


def pct(values: list[float]) -> dict:
    if not values:
        return {}
    q = np.percentile(np.array(values), [1, 5, 25, 50, 75, 95])
    return {
        k: round(float(v), 3)
        for k, v in zip(("p1", "p5", "p25", "p50", "p75", "p95"), q, strict=True)
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--sample-pairs", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    kinds: Counter = Counter()
    distinct: dict[str, tuple[str, str]] = {}  # id -> (text, lang)
    by_group: dict[tuple[str, str], list[str]] = {}
    exact_ok = exact_bad = 0
    near: list[tuple[str, str, str]] = []
    digests: Counter = Counter()
    para_counts: Counter = Counter()
    n_paras = 0
    ids: set[tuple[str, str]] = set()
    dup_ids = 0
    for doc in iter_docs(args.out):
        b = doc["metadata"]["bench"]
        lang = doc["metadata"]["lang"]
        kinds[b["kind"]] += 1
        key = (doc["source"], doc["id"])
        dup_ids += key in ids
        ids.add(key)
        if b["kind"] in ("original", "recombined"):
            distinct[doc["id"]] = (doc["text"], lang)
            by_group.setdefault((doc["source"], lang), []).append(doc["id"])
            digests[hashlib.blake2b(doc["text"].encode(), digest_size=12).digest()] += 1
            for p in doc["text"].split("\n\n"):
                para_counts[hashlib.blake2b(p.encode(), digest_size=8).digest()] += 1
                n_paras += 1
        elif b["kind"] == "exact_dup":
            if distinct[b["of"]][0] == doc["text"]:
                exact_ok += 1
            else:
                exact_bad += 1
        else:
            near.append((b["of"], doc["text"], lang))

    near_j = [
        jaccard(shingles(distinct[of][0], lang in CJK_LANGS), shingles(t, lang in CJK_LANGS))
        for of, t, lang in near
    ]
    rng = random.Random(args.seed)
    groups = [g for g in by_group.values() if len(g) > 1]
    pair_j = []
    for _ in range(args.sample_pairs if groups else 0):
        g = groups[rng.randrange(len(groups))]
        a, b2 = rng.sample(g, 2)
        cjk = distinct[a][1] in CJK_LANGS
        pair_j.append(jaccard(shingles(distinct[a][0], cjk), shingles(distinct[b2][0], cjk)))
    report = {
        "docs_by_kind": dict(sorted(kinds.items())),
        "duplicate_ids": dup_ids,
        "exact_dup_equal_to_base": exact_ok,
        "exact_dup_differs_from_base": exact_bad,
        "near_dup_jaccard_5gram": pct(near_j),
        "near_dup_share_jaccard_ge_0.8": round(
            sum(j >= 0.8 for j in near_j) / max(1, len(near_j)), 3
        ),
        "near_dup_share_jaccard_ge_0.5": round(
            sum(j >= 0.5 for j in near_j) / max(1, len(near_j)), 3
        ),
        "random_distinct_pair_jaccard": pct(pair_j),
        "random_distinct_pair_max": round(max(pair_j, default=0.0), 3),
        "distinct_docs_with_identical_text": sum(c - 1 for c in digests.values() if c > 1),
        "distinct_paragraph_occurrences_repeated": round(1 - len(para_counts) / max(1, n_paras), 3),
    }
    json.dump(report, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
