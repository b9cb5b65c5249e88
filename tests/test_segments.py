"""Paragraph and sentence spans: the compiled splitters against their pure-Python reference.

The references (regular expressions, then stripping) define the spans; `dolmakit._textstats`
must give identical ones on random text with every character that matters to them
(whitespace outside ASCII, newlines, sentence ends, closing quotes and brackets) and on real
text from the dev corpus.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_textstats import DEV_CORPUS, dev_texts, needs_native, texts

from dolmakit.taggers import segments
from dolmakit.taggers.rules.text import NATIVE

# What decides a cut, plus letters and characters that look like it and are not.
SEGMENT_CHARS = " \t\n\r\x0b\x0c\x1c\x85\xa0\u2028\u3000.!?\"'”’)](“‘«»,;:aZé日"


def splitters() -> list[tuple[str, object, object]]:
    assert NATIVE is not None
    return [
        ("paragraph", NATIVE.paragraph_spans, segments.paragraph_spans_reference),
        ("sentence", NATIVE.sentence_spans, segments.sentence_spans_reference),
    ]


def test_hand_worked_references() -> None:
    ref = segments.sentence_spans_reference
    assert ref('He said "no." Then left.) Next\nline ') == [(0, 13), (14, 25), (26, 30), (31, 35)]
    assert ref("a.)b c") == [(0, 6)]  # a closer not followed by whitespace ends nothing
    assert ref("e.g.  x\u00a0! y") == [(0, 4), (6, 9), (10, 11)]  # NBSP is whitespace
    assert segments.paragraph_spans_reference(" a \n \n b\n c \n\u2028\n") == [(1, 2), (7, 11)]


@needs_native
def test_the_compiled_splitters_are_used() -> None:
    assert segments.sentence_spans is NATIVE.sentence_spans  # type: ignore[union-attr]
    assert segments.paragraph_spans is NATIVE.paragraph_spans  # type: ignore[union-attr]


@needs_native
@settings(max_examples=400, deadline=None)
@given(st.one_of(texts(), st.text(alphabet=SEGMENT_CHARS, max_size=60)))
@example("")
@example("\n\n")
@example(".) \n")
@example("x.”’  ’ y")
@example("a\n \n")
def test_compiled_splitters_equal_the_references(text: str) -> None:
    for name, native, reference in splitters():
        assert native(text) == reference(text), name  # type: ignore[operator]


@needs_native
@pytest.mark.skipif(not DEV_CORPUS.is_dir(), reason="dev corpus not present")
def test_real_text_gives_identical_spans() -> None:
    docs = dev_texts(40)
    assert len(docs) > 200
    for text in docs:
        for name, native, reference in splitters():
            assert native(text) == reference(text), name  # type: ignore[operator]
