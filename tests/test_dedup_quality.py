"""A small run of the near-duplicate benchmark: the targets must hold at threshold 0.8."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import ROOT, SHARED_CORPUS, load_script


def load(name: str) -> ModuleType:
    return load_script(ROOT / "benchmarks" / "neardup" / f"{name}.py", f"neardup_{name}")


def test_exact_pairs_match_brute_force() -> None:
    generate = load("generate")
    texts = ["a b c d e f", "a b c d e g", "a b c d e f g", "x y z w v u"]
    pairs = generate.exact_pairs(texts, min_jaccard=0.1)
    # By hand: {abcde,bcdef}, {abcde,bcdeg}, {abcde,bcdef,cdefg}: 1/3, 2/3, 1/4.
    got = {(int(i), int(j)): round(float(x), 6) for i, j, x in pairs}
    assert got == {(0, 1): round(1 / 3, 6), (0, 2): round(2 / 3, 6), (1, 2): 0.25}


@pytest.mark.skipif(not SHARED_CORPUS.is_dir(), reason="needs the dev corpus")
def test_near_duplicate_benchmark_targets(tmp_path: Path) -> None:
    generate, score = load("generate"), load("score")
    bases, others = generate.load_bases(150, seed=1)
    docs = generate.make_corpus(bases, others[:100], seed=1)
    generate.write_benchmark(tmp_path, docs)
    truth = np.load(tmp_path / "truth.npz")["pairs"]
    assert (truth["jaccard"] >= 0.85).sum() >= 50  # enough positive pairs to measure
    result = score.score(tmp_path, 0.8, "exact")
    assert result["recall_plus_0.05"] >= 0.95
    assert result["removal_precision"] >= 0.99
    assert result["doc_precision"] >= 0.99
    for row in result["detection"]:  # measured LSH collision rate follows the theory
        if row["pairs"] >= 30:
            assert abs(row["measured"] - row["theory"]) < 0.2, row
