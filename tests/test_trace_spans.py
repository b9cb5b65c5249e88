"""Maximal spans, their filters, BM25 and the suffix-array search, on hand-made examples.

The spans are found against `Corpus`, a brute-force stand-in for the index (substring tests
on the whole text); `IndexShard`, the real suffix-array search, is checked against it too.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dolmakit.errors import DolmakitError
from dolmakit.trace.bm25 import bm25_scores
from dolmakit.trace.spans import SpanOptions, maximal_spans, select_spans
from dolmakit.trace.words import count_words, split_lines


class Corpus:
    """Documents joined by 0xFF, searched by brute force."""

    def __init__(self, *documents: str) -> None:
        self.text = b"".join(d.encode() + b"\xff" for d in documents)
        self.words = max(sum(count_words(d) for d in documents), 1)

    def longest_match(self, query: bytes) -> int:
        m = 0
        while m < len(query) and query[: m + 1] in self.text:
            m += 1
        return m

    def count(self, key: bytes) -> int:
        return sum(
            1 for i in range(len(self.text) - len(key) + 1) if self.text[i : i + len(key)] == key
        )


def spans_of(corpus: Corpus, output: str) -> list[str]:
    return [output[s.start : s.end] for s in maximal_spans(split_lines(output), corpus)]


def test_overlapping_spans_at_the_start_and_the_end_of_the_output() -> None:
    corpus = Corpus("the quick brown fox jumps", "a brown fox jumps over the lazy dog")
    output = "the quick brown fox jumps over the lazy dog"
    assert spans_of(corpus, output) == [
        "the quick brown fox jumps",
        "brown fox jumps over the lazy dog",
    ]
    found = maximal_spans(split_lines(output), corpus)
    assert (found[0].start, found[0].end) == (0, 25)
    assert (found[1].start, found[1].end) == (10, len(output))


def test_a_repeated_span_is_found_at_each_place() -> None:
    corpus = Corpus("we hold these truths to be self evident")
    output = "qqq we hold these truths zzz, we hold these truths"
    assert spans_of(corpus, output) == ["we hold these truths", "we hold these truths"]
    starts = [s.start for s in maximal_spans(split_lines(output), corpus)]
    assert starts == [4, 30]


def test_spans_end_on_word_boundaries_of_the_output() -> None:
    # "the cat" occurs, but the output says "cats": the span stops at the last whole word
    corpus = Corpus("the cat sat")
    assert spans_of(corpus, "the cats sat") == ["the", "sat"]
    # punctuation between words belongs to a span, never at its ends
    corpus = Corpus("yes, of course. Then")
    assert spans_of(corpus, "(yes, of course.)") == ["yes, of course"]


def test_no_span_crosses_a_newline() -> None:
    corpus = Corpus("one two three four")
    assert spans_of(corpus, "one two\nthree four") == ["one two", "three four"]
    corpus = Corpus("one two\nthree four")
    assert spans_of(corpus, "one two\nthree four") == ["one two", "three four"]


def test_unicode_offsets_are_characters_and_cjk_characters_are_words() -> None:
    corpus = Corpus("Die Größe der Straße ist in 東京都 schön")
    output = "Öl: Größe der Straße ist in 東京"
    found = maximal_spans(split_lines(output), corpus)
    assert [output[s.start : s.end] for s in found] == ["Größe der Straße ist in 東京"]
    assert found[0].words == 7  # Größe der Straße ist in 東 京
    assert found[0].data == "Größe der Straße ist in 東京".encode()
    lines = split_lines("x\n€uro € x")
    assert lines[1].char_offset == 2
    assert lines[1].char(lines[1].starts[1]) == 2 + len("€uro € ")


def test_nothing_is_found_in_text_the_corpus_lacks() -> None:
    corpus = Corpus("alpha beta gamma")
    assert spans_of(corpus, "zzz yyy xxx") == []
    assert spans_of(corpus, "") == []


def select(corpus: Corpus, output: str, **options: object) -> list[str]:
    lines = split_lines(output)
    kept = select_spans(
        maximal_spans(lines, corpus),
        lines,
        corpus,
        SpanOptions(**options),  # type: ignore[arg-type]
        count_words(output),
    )
    return [output[r.span.start : r.span.end] for r in kept]


def test_minimum_length_and_frequency_filters() -> None:
    common = "one two three four five six"
    rare = "seven eight nine ten eleven twelve"
    corpus = Corpus(*([common] * 11), *([rare] * 10), "short words")
    output = f"{common} xx {rare} xx short words"
    assert select(corpus, output, min_words=2, max_density=1) == [rare, "short words"]
    assert select(corpus, output, min_words=3, max_density=1) == [rare]
    assert select(corpus, output, min_words=2, max_frequency=11, max_density=1) == [
        common,
        rare,
        "short words",
    ]
    assert select(corpus, output, min_words=2, max_frequency=1, max_density=1) == ["short words"]


def test_density_keeps_the_rarest_or_the_longest_spans() -> None:
    # "aa" words are frequent in the corpus, "zq" words rare; each phrase occurs once
    filler = " ".join(["aa"] * 200)
    phrases = ["aa aa bb cc", "zq1 zq2 zq3", "aa bb cc dd ee ff", "zq4 zq5"]
    corpus = Corpus(filler, *phrases)
    output = " | ".join(phrases) + " " + " ".join(f"n{i}" for i in range(45))
    words = count_words(output)
    assert math.ceil(0.05 * words) == 3
    by_probability = select(corpus, output, min_words=2)
    assert by_probability == ["zq1 zq2 zq3", "aa bb cc dd ee ff", "zq4 zq5"]
    by_length = select(corpus, output, min_words=2, rank="length")
    assert by_length == ["aa aa bb cc", "zq1 zq2 zq3", "aa bb cc dd ee ff"]
    assert len(select(corpus, output, min_words=2, max_density=1)) == 4


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"min_words": 0}, "--min-words 0: must be at least 1"),
        ({"max_frequency": 0}, "--max-frequency 0: must be at least 1"),
        ({"max_density": 0}, "--max-density 0: must be in (0, 1]"),
        ({"rank": "size"}, "--rank 'size': choose one of probability, length"),
    ],
)
def test_bad_span_options_are_named(options: dict[str, object], message: str) -> None:
    with pytest.raises(DolmakitError) as caught:
        SpanOptions(**options)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_bm25_against_a_hand_computed_example() -> None:
    docs = [["cat", "sat"], ["dog", "sat", "sat", "sat"], ["bird"]]
    scores = bm25_scores(["cat", "sat", "sat"], docs)
    average = 7 / 3
    idf_cat = math.log(1 + (3 - 1 + 0.5) / (1 + 0.5))
    idf_sat = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))

    def term(tf: int, length: int, idf: float) -> float:
        return idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / average))

    assert scores[0] == pytest.approx(term(1, 2, idf_cat) + term(1, 2, idf_sat))
    assert scores[1] == pytest.approx(term(3, 4, idf_sat))
    assert scores[2] == 0
    assert bm25_scores(["x"], []) == []


def _shard(tmp_path: Path, documents: list[bytes]) -> object:
    from pydivsufsort import divsufsort

    from dolmakit.trace.suffix import IndexShard

    text = b"".join(d + b"\xff" for d in documents)
    (tmp_path / "t.bin").write_bytes(text)
    sa = divsufsort(np.frombuffer(bytearray(text), dtype=np.uint8)).astype("<i4")
    (tmp_path / "sa.bin").write_bytes(sa.tobytes())
    starts = np.cumsum([0] + [len(d) + 1 for d in documents[:-1]]).astype(np.int64)
    return IndexShard(tmp_path / "t.bin", tmp_path / "sa.bin", starts)


@settings(max_examples=60, deadline=None)
@given(
    documents=st.lists(st.text("ab c\n", min_size=0, max_size=30), min_size=1, max_size=5),
    query=st.text("ab c", min_size=1, max_size=12),
)
def test_suffix_array_search_agrees_with_brute_force(
    tmp_path_factory: pytest.TempPathFactory, documents: list[str], query: str
) -> None:
    pytest.importorskip("pydivsufsort")
    shard = _shard(tmp_path_factory.mktemp("sa"), [d.encode() for d in documents])
    corpus = Corpus(*documents)
    key = query.encode()
    assert shard.longest_match(key) == corpus.longest_match(key)  # type: ignore[attr-defined]
    assert shard.count(key) == corpus.count(key)  # type: ignore[attr-defined]
    positions = shard.positions(key, 1000)  # type: ignore[attr-defined]
    assert sorted(positions) == [
        i for i in range(len(corpus.text)) if corpus.text[i : i + len(key)] == key
    ]
    for p in positions:
        located = shard.locate(p)  # type: ignore[attr-defined]
        assert key in shard.document_bytes(located)  # type: ignore[attr-defined]
    shard.close()  # type: ignore[attr-defined]


def test_long_matches_beyond_the_first_window(tmp_path: Path) -> None:
    pytest.importorskip("pydivsufsort")
    long = ("word " * 700).strip().encode()
    shard = _shard(tmp_path, [b"x " + long + b" y"])
    assert shard.longest_match(long + b" z") == len(long) + 1  # type: ignore[attr-defined]
    shard.close()  # type: ignore[attr-defined]
