"""Cut a text into stripped paragraph or sentence spans (character offsets into the text).

`paragraph_spans` and `sentence_spans` are the compiled `dolmakit._textstats` functions when
it is built, else the pure-Python references below, which define them (tests/test_segments.py
checks that both agree). `new_span` makes the taggers' `Span`s: equal to `Span(start, end,
score)`, compiled ones are left untracked by the cycle collector (see `_textstats.c`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import partial

from dolmakit.document import Span
from dolmakit.taggers.rules.text import NATIVE

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+|\n+")
_CLOSERS = "\"'”’)]"


def stripped_spans(text: str, cuts: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Return `[start, end)` of the non-blank pieces between cuts, stripped of whitespace.

    `cuts` are the (start, end) ranges that separate pieces, in order; text in a cut belongs
    to no piece.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for cut_start, cut_end in (*cuts, (len(text), len(text))):
        piece = text[start:cut_start]
        stripped = piece.strip()
        if stripped:
            left = start + piece.index(stripped)
            spans.append((left, left + len(stripped)))
        start = cut_end
    return spans


def paragraph_spans_reference(text: str) -> list[tuple[int, int]]:
    """Return the stripped, non-blank paragraphs of `text` (split on blank lines)."""
    return stripped_spans(text, (m.span() for m in _PARAGRAPH_BREAK.finditer(text)))


def sentence_spans_reference(text: str) -> list[tuple[int, int]]:
    """Return the stripped, non-blank sentences of `text`; closing quotes stay with theirs."""
    cuts = []
    for m in _SENTENCE_END.finditer(text):
        kept = len(m.group(0)) - len(m.group(0).lstrip(_CLOSERS))
        cuts.append((m.start() + kept, m.end()))
    return stripped_spans(text, cuts)


paragraph_spans: Callable[[str], list[tuple[int, int]]] = (
    NATIVE.paragraph_spans if NATIVE is not None else paragraph_spans_reference
)
sentence_spans: Callable[[str], list[tuple[int, int]]] = (
    NATIVE.sentence_spans if NATIVE is not None else sentence_spans_reference
)

new_span: Callable[[int, int, float], Span] = (
    partial(NATIVE.new_span, Span) if NATIVE is not None and hasattr(NATIVE, "new_span") else Span
)
