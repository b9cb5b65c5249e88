"""Build the near-duplicate benchmark: real documents, realistic edited copies, exact truth.

Usage::

    python benchmarks/neardup/generate.py --out /tmp/neardup --bases 600 --seed 0

Writes ``OUT/documents/neardup/en-0000.jsonl.zst`` (bases, their variants and unrelated real
documents, shuffled deterministically) and ``OUT/truth.npz``: every pair of documents with
exact Jaccard >= ``--min-jaccard`` on the same shingles dolmakit uses (word 5-grams after
normalisation, xxh32), found by brute force over all pairs (sparse products count the shared
shingles of every pair; no sampling, no MinHash).

Variants of a base apply 1-3 edits, each drawn from: a boilerplate header or footer (mirror
and cookie notices, navigation), a paragraph inserted from another document, a paragraph
deleted, two paragraphs swapped, word-level noise (a few percent of words replaced, dropped
or duplicated), or truncation (the last 5-35 % cut). Edit strengths are random, so the
Jaccard of base-variant pairs spreads over roughly 0.3-1.0.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from dolmakit.dedup.shingles import shingle_hashes  # noqa: E402
from dolmakit.io.paths import expand_inputs  # noqa: E402
from dolmakit.io.reader import read_documents  # noqa: E402
from dolmakit.io.writer import JsonlWriter  # noqa: E402

DEV_CORPUS = ROOT.parent / "shared" / "corpus" / "dev" / "documents"
SOURCES = ("python-doc", "debian-handbook/en-0000.jsonl.zst", "gnu-standards", "debian-reference")
HEADERS = (
    "Mirrored from docs.example.org. This copy may be out of date; see the original site.",
    "Home | Documentation | Downloads | Community | About us | Contact",
    "Skip to main content\nSearch this site",
    "This page was archived on 2023-04-11 and is provided for reference only.",
)
FOOTERS = (
    "We use cookies to improve your experience. By continuing to browse you accept our use.",
    "Copyright 2024 Example Mirror Network. All rights reserved. Privacy policy. Terms of use.",
    "Share this page: Twitter Facebook LinkedIn Email",
    "Was this page helpful? Yes No\nReport a problem with this page",
)
OPS = ("header", "footer", "insert", "delete", "swap", "noise", "truncate")


def load_bases(limit: int, seed: int, min_words: int = 80) -> tuple[list[str], list[str]]:
    """Return (bases, others): real dev-corpus texts of at least `min_words` words."""
    texts: list[str] = []
    for source in SOURCES:
        for path in expand_inputs([DEV_CORPUS / source]):
            for _, doc in read_documents(path):
                if len(doc.text.split()) >= min_words:
                    texts.append(doc.text)
    rng = random.Random(seed)
    rng.shuffle(texts)
    return texts[:limit], texts[limit : 2 * limit]


def _paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()] or [text]


def edit(text: str, op: str, rng: random.Random, donors: Sequence[str]) -> str:
    """Return `text` with one edit applied."""
    paras = _paragraphs(text)
    if op == "header":
        return rng.choice(HEADERS) + "\n\n" + text
    if op == "footer":
        return text + "\n\n" + rng.choice(FOOTERS)
    if op == "insert":
        donor = _paragraphs(rng.choice(donors))
        paras.insert(rng.randrange(len(paras) + 1), rng.choice(donor))
    elif op == "delete" and len(paras) > 1:
        del paras[rng.randrange(len(paras))]
    elif op == "swap" and len(paras) > 1:
        i, j = rng.sample(range(len(paras)), 2)
        paras[i], paras[j] = paras[j], paras[i]
    elif op == "noise":
        rate = rng.uniform(0.005, 0.06)
        words = text.split(" ")
        out: list[str] = []
        for word in words:
            roll = rng.random()
            if roll < rate / 3:
                continue
            if roll < 2 * rate / 3:
                out.append(rng.choice(words))
            elif roll < rate:
                out.extend([word, word])
            else:
                out.append(word)
        return " ".join(out)
    elif op == "truncate":
        cut = int(len(text) * (1 - rng.uniform(0.05, 0.35)))
        return text[:cut]
    return "\n\n".join(paras)


def make_corpus(bases: list[str], others: list[str], seed: int) -> list[dict[str, Any]]:
    """Return the benchmark documents: bases, 0-3 variants each, and unrelated documents."""
    rng = random.Random(seed)
    docs: list[dict[str, Any]] = []
    for b, text in enumerate(bases):
        docs.append({"text": text, "metadata": {"family": b, "kind": "base", "ops": []}})
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            ops = rng.sample(OPS, rng.randint(1, 3))
            variant = text
            for op in ops:
                variant = edit(variant, op, rng, others)
            docs.append({"text": variant, "metadata": {"family": b, "kind": "variant", "ops": ops}})
    for text in others:
        docs.append({"text": text, "metadata": {"family": -1, "kind": "other", "ops": []}})
    rng.shuffle(docs)
    for i, doc in enumerate(docs):
        doc["id"] = f"nd-{i:06d}"
        doc["source"] = "neardup"
    return [
        {"id": d["id"], "text": d["text"], "source": d["source"], "metadata": d["metadata"]}
        for d in docs
    ]


def exact_pairs(texts: Sequence[str], ngram: int = 5, min_jaccard: float = 0.3) -> np.ndarray:
    """Return every pair (i, j, jaccard), i < j, with exact Jaccard >= min_jaccard.

    All pairs are covered: a sparse document x shingle matrix times its transpose counts the
    shingles every pair shares (pairs sharing none have Jaccard 0).
    """
    sets = [shingle_hashes(t, ngram) for t in texts]
    sizes = np.array([len(s) for s in sets], dtype=np.int64)
    try:
        from scipy import sparse
    except ImportError:  # small inputs: plain brute force
        rows = []
        for i in range(len(sets)):
            for j in range(i + 1, len(sets)):
                common = len(np.intersect1d(sets[i], sets[j], assume_unique=True))
                union = sizes[i] + sizes[j] - common
                if union and common / union >= min_jaccard:
                    rows.append((i, j, common / union))
        return np.array(rows, dtype=[("i", "i8"), ("j", "i8"), ("jaccard", "f8")])
    vocab, inverse = np.unique(np.concatenate(sets), return_inverse=True)
    doc_of = np.repeat(np.arange(len(sets)), sizes)
    matrix = sparse.csr_matrix(
        (np.ones(len(doc_of), dtype=np.int32), (doc_of, inverse)), shape=(len(sets), len(vocab))
    )
    shared = sparse.triu(matrix @ matrix.T, k=1).tocoo()
    common = shared.data.astype(np.float64)
    union = sizes[shared.row] + sizes[shared.col] - common
    jac = common / union
    keep = jac >= min_jaccard
    out = np.empty(int(keep.sum()), dtype=[("i", "i8"), ("j", "i8"), ("jaccard", "f8")])
    out["i"], out["j"], out["jaccard"] = shared.row[keep], shared.col[keep], jac[keep]
    out.sort(order=["i", "j"])
    return out


def write_benchmark(out: Path, docs: list[dict[str, Any]], min_jaccard: float = 0.3) -> Path:
    """Write the documents and truth.npz (pairs with exact Jaccard) under `out`."""
    path = out / "documents" / "neardup" / "en-0000.jsonl.zst"
    with JsonlWriter(path) as writer:
        for doc in docs:
            writer.write(doc)
    pairs = exact_pairs([d["text"] for d in docs], min_jaccard=min_jaccard)
    np.savez(out / "truth.npz", pairs=pairs, ids=np.array([d["id"] for d in docs]))
    return path


def main() -> None:
    """Build the benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--bases", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-jaccard", type=float, default=0.3)
    args = parser.parse_args()
    bases, others = load_bases(args.bases, args.seed)
    docs = make_corpus(bases, others, args.seed)
    write_benchmark(args.out, docs, args.min_jaccard)
    print(f"wrote {len(docs)} documents and truth.npz to {args.out}")


if __name__ == "__main__":
    main()
