"""The model taggers' compiled kernels against their pure-Python references.

`toxicity_scan` / `toxicity_spans` (toxicity's per-sentence work), `doc_languages`
(lid_fasttext's document scores from its paragraphs) and `new_span` must give exactly what
the references in dolmakit.taggers.toxicity_scan, dolmakit.taggers.lid and Span give, on
random text with every character that decides a sentence, a word or a lower case, with memo
hits, misses and repeats, and on real text from the dev corpus.
"""

from __future__ import annotations

import gc
import random
import re
from array import array

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_textstats import DEV_CORPUS, dev_texts, needs_native, texts

from dolmakit.document import Span
from dolmakit.taggers import lid, segments, toxicity_scan
from dolmakit.taggers.memo import TextMemo
from dolmakit.taggers.rules.text import NATIVE

# Words of a small vocabulary (some upper case, one with U+0130, whose lower case is longer).
VOCABULARY = {w: i for i, w in enumerate(["the", "cat", "sat", "hate", "you", "é日", "i̇x", "42"])}
WORD_TEXT = st.lists(
    st.one_of(
        st.sampled_from(["The", "cat", "SAT", "hate", "you", "É日", "İx", "42", "x", "_a"]),
        st.sampled_from([" ", "\n", ". ", "! ", "?) ", "\u2028", ", "]),
        st.text(alphabet="aZé日İΣς_1 .\n", max_size=4),
    ),
    max_size=40,
).map("".join)


def ints(numbers: list[int]) -> bytes:
    return array("q", numbers).tobytes()


def values(data: bytes) -> list[int]:
    return array("q", data).tolist()


def lowers_of(texts_: list[str]) -> list[str | None]:
    return [t.lower() if len(t.lower()) == len(t) else None for t in texts_]


def both_scans(
    texts_: list[str], memo: dict[str, tuple[bytes, float]]
) -> tuple[object, object, dict[str, bytes], dict[str, bytes]]:
    assert NATIVE is not None
    new_native: dict[str, bytes] = {}
    new_reference: dict[str, bytes] = {}
    lowers = lowers_of(texts_)
    native = NATIVE.toxicity_scan(texts_, lowers, memo, VOCABULARY, new_native)
    reference = toxicity_scan.scan_reference(texts_, lowers, memo, VOCABULARY, new_reference)
    return native, reference, new_native, new_reference


def test_hand_worked_scan() -> None:
    memo = {"you sat.": (ints([4, 2]), 0.25)}
    new: dict[str, bytes] = {}
    columns, known, bounds, counts, refs = toxicity_scan.scan_reference(
        ["The cat! You sat.", " \n", "İx 42"], [None, " \n", None], memo, VOCABULARY, new
    )
    # U+0130 lowers to "i" and U+0307, which is no word character: "İx" holds no word.
    assert values(columns) == [0, 1, 4, 2, 7]
    assert (known, counts) == ([4, 0, 1], [2, 0, 1])
    assert values(bounds) == [0, 8, 9, 17, 0, 5]
    assert refs == ["the cat!", 0.25, "i̇x 42"]
    assert list(new) == ["the cat!", "i̇x 42"]
    spans = toxicity_scan.spans_reference(
        bounds, counts, refs, {"the cat!": 0.5, "i̇x 42": 0.1}, 0.2
    )
    assert spans == [[(0, 8, 0.5), (9, 17, 0.25)], [], []]


@needs_native
@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(WORD_TEXT, texts()), max_size=6), st.data())
@example([""], None)
@example(["İx. İX\nΣΑΣ. σ"], None)
def test_compiled_scan_and_spans_equal_the_references(
    texts_: list[str], data: st.DataObject | None
) -> None:
    assert NATIVE is not None
    # A memo holding some of these texts' sentences, as the tagger's memo would.
    memo: dict[str, tuple[bytes, float]] = {}
    if data is not None:
        for text in texts_:
            for start, end in segments.sentence_spans_reference(text):
                if data.draw(st.booleans()):
                    memo[text[start:end].lower()] = (ints([1, 3]), 0.5)
    native, reference, new_native, new_reference = both_scans(texts_, memo)
    assert native == reference
    assert new_native == new_reference
    assert list(new_native) == list(new_reference)  # first-seen order
    bounds, counts, refs = reference[2], reference[3], reference[4]  # type: ignore[index]
    scores = {piece: (i % 7) / 6 for i, piece in enumerate(new_reference)}
    for minimum in (0.0, 0.5, 1.0):
        made = NATIVE.toxicity_spans(bounds, counts, refs, scores, minimum, Span)
        assert made == toxicity_scan.spans_reference(bounds, counts, refs, scores, minimum)
        assert all(type(s) is Span for spans in made for s in spans)


@needs_native
def test_scan_uses_the_vectorizers_word_pattern() -> None:
    words = re.compile(toxicity_scan.DEFAULT_WORDS)
    for text in ["a_b 1x x1 日本 é-é", "x\u0301y İstanbul", "a\u2160b"]:
        piece = text.lower()
        vocabulary = {w: i for i, w in enumerate(dict.fromkeys(words.findall(piece)))}
        new: dict[str, bytes] = {}
        NATIVE.toxicity_scan([text], [None], {}, vocabulary, new)  # type: ignore[union-attr]
        assert values(new[piece]) == list(range(len(vocabulary))), text


@needs_native
@pytest.mark.skipif(not DEV_CORPUS.is_dir(), reason="dev corpus not present")
def test_real_text_gives_identical_scans() -> None:
    texts_ = dev_texts(40)
    native, reference, new_native, new_reference = both_scans(texts_, {})
    assert native == reference and new_native == new_reference


@needs_native
def test_compiled_scan_rejects_bad_arguments() -> None:
    assert NATIVE is not None
    with pytest.raises(ValueError, match="length"):
        NATIVE.toxicity_scan(["abc"], ["ab"], {}, {}, {})
    with pytest.raises(TypeError, match="memo values"):
        NATIVE.toxicity_scan(["abc"], [None], {"abc": [b"", 0.5]}, {}, {})
    with pytest.raises(KeyError):
        NATIVE.toxicity_spans(ints([0, 3]), [1], ["abc"], {}, 0.0, Span)
    with pytest.raises(ValueError, match="exceed"):
        NATIVE.toxicity_spans(ints([0, 3]), [2], [0.5], {}, 0.0, Span)
    with pytest.raises(TypeError, match="tuple subclass"):
        NATIVE.toxicity_spans(b"", [], [], {}, 0.0, dict)


def predictions() -> st.SearchStrategy[list[tuple[str, float]]]:
    pair = st.tuples(
        st.sampled_from(["en", "de", "fr", "ja", "zh_Hant"]),
        st.one_of(st.floats(0, 1.0001), st.sampled_from([0.5, 0.25, 1.0, 0.0])),
    )
    return st.lists(pair, max_size=3, unique_by=lambda p: p[0])


@needs_native
@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10_000), predictions()), min_size=1, max_size=8))
@example([(3, [("en", 0.5)]), (3, [("de", 0.5)])])  # a tie: by code
@example([(1, [("en", 1.0001)]), (1, [("en", 1.0001)])])  # clamped
def test_compiled_doc_languages_equal_the_reference(
    paragraphs: list[tuple[int, list[tuple[str, float]]]],
) -> None:
    assert NATIVE is not None
    spans, at = [], 0
    for width, _ in paragraphs:
        spans.append((at, at + width))
        at += width + 2
    for preds in ([p for _, p in paragraphs], [tuple(p) for _, p in paragraphs]):
        native = NATIVE.doc_languages(spans, preds)
        reference = lid.doc_from_paragraphs_reference(spans, preds)
        assert list(native) == list(reference)
        assert [type(score) for _, score in native] == [float] * len(native)


@needs_native
def test_the_compiled_kernels_are_used() -> None:
    assert lid._doc_from_paragraphs is NATIVE.doc_languages  # type: ignore[union-attr]
    assert toxicity_scan.scan_for(toxicity_scan.DEFAULT_WORDS) is NATIVE.toxicity_scan  # type: ignore[union-attr]


@needs_native
def test_new_span_equals_span_and_is_not_traced() -> None:
    span = segments.new_span(3, 7, 0.5)
    assert type(span) is Span and span == Span(3, 7, 0.5) and span.score == 0.5
    assert not gc.is_tracked(span)
    holder: list[object] = []
    traced = segments.new_span(0, 1, holder)  # type: ignore[arg-type]
    assert gc.is_tracked(traced)  # anything but ints and a float stays traced
    holder.append(traced)
    del holder, traced
    gc.collect()


def test_put_many_keeps_what_put_keeps() -> None:
    rng = random.Random(7)
    for size in (1, 2, 5):
        one, many = TextMemo[int](size), TextMemo[int](size)
        for _ in range(20):
            items = [(str(rng.randrange(8)), rng.randrange(100)) for _ in range(rng.randrange(7))]
            for text, value in items:
                one.put(text, value)
            many.put_many(items)
            assert one.entries == many.entries
