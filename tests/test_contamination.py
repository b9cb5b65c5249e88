"""Benchmark contamination: normalisation, the index, matching and coverage, bad inputs."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import write_lines
from hypothesis import given
from hypothesis import strategies as st

from dolmakit.contamination.examples import read_benchmark
from dolmakit.contamination.index import IndexOptions, build_index, index_benchmarks
from dolmakit.contamination.lookup import BenchmarkIndexError, open_index
from dolmakit.contamination.match import match_texts
from dolmakit.contamination.ngrams import ngram_hashes, normalise
from dolmakit.errors import ConfigError, DolmakitError, InputError

M64 = (1 << 64) - 1
VOCAB = [f"w{i}" for i in range(5000)]


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(words))


def _mix(z: int) -> int:
    z ^= z >> 30
    z = (z * 0xBF58476D1CE4E5B9) & M64
    z ^= z >> 27
    z = (z * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def reference_hashes(text: str, n: int) -> list[int]:
    """The documented hash, one word at a time (the numpy code must agree)."""
    word_hashes = []
    for word in normalise(text):
        h, power = 0, 1
        for ch in word:
            h = (h + ord(ch) * power) & M64
            power = (power * 0x9E3779B97F4A7C15) & M64
        word_hashes.append(_mix(h))
    out = []
    for i in range(len(word_hashes) - n + 1):
        acc = 0
        for w in word_hashes[i : i + n]:
            acc = (acc * 0xC2B2AE3D27D4EB4F + w) & M64
        out.append(_mix(acc))
    return out


def test_normalisation_folds_case_punctuation_and_whitespace() -> None:
    assert normalise("Don't  STOP,\tbelieving!\nAT&T x_1 Çà") == [
        "don", "t", "stop", "believing", "at", "t", "x", "1", "çà",
    ]  # fmt: skip
    a = ngram_hashes(["The cat, sat ON the mat."], 3).hashes
    b = ngram_hashes(["the   cat sat -- on\nthe MAT"], 3).hashes
    assert a.tolist() == b.tolist() and a.size == 4
    c = ngram_hashes(["the cat sat in the mat"], 3).hashes
    assert len(set(a.tolist()) & set(c.tolist())) == 1  # only "the cat sat" survives


@given(st.lists(st.text(alphabet="aBc Dé,.\n-日İ'1", max_size=60), max_size=6), st.integers(1, 4))
def test_bulk_hashes_equal_the_reference(texts: list[str], n: int) -> None:
    grams = ngram_hashes(texts, n)
    for t, text in enumerate(texts):
        mine = grams.hashes[grams.text == t].tolist()
        assert mine == reference_hashes(text, n)
        for s, e in zip(grams.start[grams.text == t], grams.end[grams.text == t], strict=True):
            assert len(normalise(text[s:e])) == n
    assert grams.words.tolist() == [len(normalise(t)) for t in texts]


def write_bench(path: Path, rows: list[Any]) -> Path:
    return write_lines(path, rows)


def toy_index(tmp_path: Path, examples: list[str], **options) -> Path:
    bench = write_bench(
        tmp_path / "bench.jsonl", [{"id": f"q{i}", "question": e} for i, e in enumerate(examples)]
    )
    index_benchmarks([f"toy={bench}"], tmp_path / "idx", "toy", ["question"], "id",
                     IndexOptions(**options))  # fmt: skip
    return tmp_path / "idx"


def test_coverage_share_decides_presence(tmp_path: Path) -> None:
    rng = random.Random(1)
    example = sentence(rng, 60)
    index = open_index(toy_index(tmp_path, [example, sentence(rng, 40)]))
    words = example.split()
    whole = f"intro {example.upper()} outro"
    half = "intro " + " ".join(words[:30]) + " outro"
    sentence_only = "intro " + " ".join(words[:14]) + " outro"
    full, halved, one, none = match_texts(index, [whole, half, sentence_only, "nothing"], 0.4)
    assert [h.coverage for h in full.hits] == [1.0] and full.longest == 60
    start, end = full.hits[0].regions[0]
    assert whole[start:end] == example.upper()
    assert halved.hits[0].coverage == pytest.approx(0.5) and halved.longest == 30
    assert one.hits == () and one.max_coverage == pytest.approx(14 / 60) and one.longest == 14
    assert none.hits == () and none.max_coverage == 0.0
    assert match_texts(index, [half], 0.6)[0].hits == ()


def test_edited_example_keeps_most_coverage(tmp_path: Path) -> None:
    rng = random.Random(2)
    example = sentence(rng, 80)
    index = open_index(toy_index(tmp_path, [example]))
    words = example.split()
    for i in (20, 55):
        words[i] = "CHANGED"
    (found,) = match_texts(index, [" ".join(words)], 0.4)
    assert found.hits and 0.9 < found.hits[0].coverage < 1.0
    assert len(found.hits[0].regions) == 3


def test_common_ngrams_are_set_aside(tmp_path: Path) -> None:
    rng = random.Random(3)
    template = "answer the following question with one word from the list given below please"
    examples = [f"{template} {sentence(rng, 20)}" for _ in range(4)]
    unique = sentence(rng, 30)
    root = toy_index(tmp_path, [*examples, unique], max_examples_per_ngram=3)
    index = open_index(root)
    record = json.loads((root / "index.json").read_text())
    assert record["common_ngrams"] >= 1
    (doc,) = match_texts(index, [f"text {template} text"], 0.01)
    assert doc.longest == 0  # the template matches nothing
    (doc,) = match_texts(index, [examples[0]], 0.4)
    assert doc.hits and doc.hits[0].coverage == 1.0  # coverage counts coverable words only
    boiler = tmp_path / "licence.txt"
    boiler.write_text(unique)
    root2 = toy_index(tmp_path / "b", [*examples, unique], boilerplate=(boiler,))
    index2 = open_index(root2)
    assert match_texts(index2, [unique], 0.01)[0].longest == 0
    table = pq.read_table(root2 / "examples.parquet")
    assert table.column("status").to_pylist()[-1] == "only_common"


def test_several_benchmarks_and_duplicated_ngrams(tmp_path: Path) -> None:
    rng = random.Random(4)
    shared = sentence(rng, 20)
    a = write_bench(tmp_path / "a.jsonl", [{"q": shared + " " + sentence(rng, 10)}])
    b_dir = tmp_path / "b"
    write_bench(b_dir / "part1.jsonl", [{"q": shared}])
    (b_dir / "part2.csv").write_text("q,other\n" + sentence(rng, 25) + ",x\n")
    summary = index_benchmarks([f"alpha={a}", str(b_dir)], tmp_path / "i", "two", ["q"])
    assert [b["name"] for b in summary.record["benchmarks"]] == ["alpha", "b"]
    assert summary.record["benchmarks"][1]["files"][1]["path"] == "part2.csv"
    index = open_index(tmp_path / "i")
    (doc,) = match_texts(index, [shared], 0.4)
    assert sorted(index.benchmark_names[index.example_benchmark[h.example]] for h in doc.hits) == [
        "alpha", "b",
    ]  # fmt: skip
    assert index.example_id[doc.hits[1].example] == "part1.jsonl:1"


def test_same_inputs_same_index_bytes(tmp_path: Path) -> None:
    rng = random.Random(5)
    examples = [sentence(rng, 30) for _ in range(20)]
    one = toy_index(tmp_path / "1", examples)
    two = toy_index(tmp_path / "2", examples)
    for name in ("index.json", "ngrams.npy", "examples.npy", "positions.npy", "examples.parquet"):
        assert (one / name).read_bytes() == (two / name).read_bytes()
    index = open_index(one)
    assert index.nbytes <= 16 * index.hashes.size
    assert np.all(np.diff(index.hashes.astype(object)) >= 0)


def test_bad_benchmark_inputs(tmp_path: Path) -> None:
    rng = random.Random(6)
    good = sentence(rng, 20)
    path = write_bench(
        tmp_path / "b.jsonl",
        [
            {"id": "1", "question": good},
            {"id": "2"},
            {"id": "3", "question": "too short"},
            "not json",
            {"id": "5", "question": None},
        ],
    )
    read = read_benchmark("b", path, ["question"], "id")
    assert {k: v.count for k, v in read.skipped.items()} == {
        "missing field 'question'": 1, "not valid JSON": 1, "field 'question' is null": 1,
    }  # fmt: skip
    assert read.skipped["not valid JSON"].first == f"{path}:4"
    summary = build_index([read], tmp_path / "idx", "b")
    assert summary.lines[0].startswith("b: 1 of 5 examples indexed; 1 shorter than 13 words")
    assert "missing field 'question' (first at" in summary.lines[0]
    with pytest.raises(InputError, match=r"b.jsonl:2: missing field 'question'"):
        read_benchmark("b", path, ["question"], "id", fail=True)
    with pytest.raises(InputError, match="no row has the field 'questoin'"):
        read_benchmark("b", path, ["questoin"], "id")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(DolmakitError, match="is empty"):
        read_benchmark("e", empty, ["question"])
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match=r"broken\.parquet: cannot read Parquet"):
        read_benchmark("p", broken, ["question"])
    with pytest.raises(DolmakitError, match="no such file"):
        read_benchmark("p", tmp_path / "missing.jsonl", ["question"])
    with pytest.raises(ConfigError, match="benchmark name"):
        index_benchmarks([f"bad-name={path}"], tmp_path / "x", "x", ["question"])


def test_index_from_another_normalisation_or_changed_is_refused(tmp_path: Path) -> None:
    root = toy_index(tmp_path, [sentence(random.Random(7), 30)])
    record = json.loads((root / "index.json").read_text())
    record["normalisation"] = "words-v0"
    (root / "index.json").write_text(json.dumps(record))
    with pytest.raises(BenchmarkIndexError, match="built with normalisation 'words-v0'"):
        open_index(root)
    root = toy_index(tmp_path / "c", [sentence(random.Random(7), 30)])
    data = bytearray((root / "ngrams.npy").read_bytes())
    data[-1] ^= 1
    (root / "ngrams.npy").write_bytes(bytes(data))
    with pytest.raises(BenchmarkIndexError, match=r"ngrams\.npy: sha256 differs"):
        open_index(root)
    with pytest.raises(BenchmarkIndexError, match="not a benchmark index"):
        open_index(tmp_path)
