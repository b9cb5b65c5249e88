"""Gopher quality and repetition rules (Rae et al. 2021, "Scaling Language Models", App. A).

Both taggers emit the raw statistics and a `pass` attribute (1 or 0) under the paper's
thresholds, so that a mix can filter on either. Definitions of words, lines and paragraphs
are in `dolmakit.taggers.rules.text`; the exact formulas are in docs/taggers.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import le
from typing import ClassVar

from dolmakit.document import Document, Span
from dolmakit.taggers.base import DocumentValues, Values, register
from dolmakit.taggers.rules.lengths import NO_SPANS
from dolmakit.taggers.rules.reference import (  # noqa: F401 (re-exported)
    BULLETS,
    EDGE_PUNCTUATION,
    ELLIPSES,
    STOP_WORDS,
    stop_words_in,
)
from dolmakit.taggers.rules.text import ratio, stats_of

MIN_WORDS, MAX_WORDS = 50, 100_000
MIN_MEAN_WORD_LENGTH, MAX_MEAN_WORD_LENGTH = 3.0, 10.0
MAX_SYMBOL_RATIO = 0.1
MAX_BULLET_LINES = 0.9
MAX_ELLIPSIS_LINES = 0.3
MIN_ALPHA_WORDS = 0.8
MIN_STOP_WORDS = 2

MAX_DUP_LINE_FRAC = 0.30
MAX_DUP_PARAGRAPH_FRAC = 0.30
MAX_DUP_LINE_CHAR_FRAC = 0.20
MAX_DUP_PARAGRAPH_CHAR_FRAC = 0.20
MAX_TOP_NGRAM_CHAR_FRAC = {2: 0.20, 3: 0.18, 4: 0.16}
MAX_DUP_NGRAM_CHAR_FRAC = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
# The upper limit of each repetition statistic, in the order of the tagger's attributes.
LIMITS = (
    MAX_DUP_LINE_FRAC,
    MAX_DUP_PARAGRAPH_FRAC,
    MAX_DUP_LINE_CHAR_FRAC,
    MAX_DUP_PARAGRAPH_CHAR_FRAC,
    *MAX_TOP_NGRAM_CHAR_FRAC.values(),
    *MAX_DUP_NGRAM_CHAR_FRAC.values(),
)


@register
class GopherQualityTagger(DocumentValues):
    """Tag the Gopher quality statistics of each document and whether it passes them."""

    name: ClassVar[str] = "gopher_quality"
    version: ClassVar[str] = "1"
    attributes: ClassVar[tuple[str, ...]] = (
        "words",
        "mean_word_length",
        "hash_ratio",
        "ellipsis_ratio",
        "bullet_line_frac",
        "ellipsis_line_frac",
        "alpha_word_frac",
        "stop_words",
        "pass",
    )
    value_types: ClassVar[tuple[str, ...]] = attributes
    requires: ClassVar[str] = ""
    description: ClassVar[str] = (
        "Gopher (MassiveText) quality rules: word count, mean word length, #/ellipsis ratios, "
        "bullet/ellipsis lines, alphabetic words, stop words; pass=1 under the paper's thresholds."
    )

    def tag_values(self, docs: Sequence[Document]) -> list[tuple[dict[str, list[Span]], Values]]:
        """Return the quality statistics of each document as values (`attributes` order)."""
        out: list[tuple[dict[str, list[Span]], Values]] = []
        for stats in stats_of(docs):
            s = stats.summary
            nwords = s.words
            mean_length = ratio(s.word_chars, nwords)
            hash_ratio = ratio(s.hashes, nwords)
            ellipsis_ratio = ratio(s.ellipses, nwords)
            bullet = ratio(s.bullet_lines, s.lines)
            ellipsis_lines = ratio(s.ellipsis_lines, s.lines)
            alpha = ratio(s.alpha_words, nwords)
            stop = s.stop_words
            passed = (
                MIN_WORDS <= nwords <= MAX_WORDS
                and MIN_MEAN_WORD_LENGTH <= mean_length <= MAX_MEAN_WORD_LENGTH
                and hash_ratio <= MAX_SYMBOL_RATIO
                and ellipsis_ratio <= MAX_SYMBOL_RATIO
                and bullet <= MAX_BULLET_LINES
                and ellipsis_lines <= MAX_ELLIPSIS_LINES
                and alpha >= MIN_ALPHA_WORDS
                and stop >= MIN_STOP_WORDS
            )
            values = (
                nwords,
                mean_length,
                hash_ratio,
                ellipsis_ratio,
                bullet,
                ellipsis_lines,
                alpha,
                stop,
                int(passed),
            )
            out.append((NO_SPANS, values))
        return out


@register
class GopherRepetitionTagger(DocumentValues):
    """Tag the Gopher repetition statistics of each document and whether it passes them."""

    name: ClassVar[str] = "gopher_repetition"
    version: ClassVar[str] = "1"
    attributes: ClassVar[tuple[str, ...]] = (
        "dup_line_frac",
        "dup_paragraph_frac",
        "dup_line_char_frac",
        "dup_paragraph_char_frac",
        *(f"top_{n}gram_char_frac" for n in MAX_TOP_NGRAM_CHAR_FRAC),
        *(f"dup_{n}gram_char_frac" for n in MAX_DUP_NGRAM_CHAR_FRAC),
        "pass",
    )
    value_types: ClassVar[tuple[str, ...]] = attributes
    requires: ClassVar[str] = ""
    description: ClassVar[str] = (
        "Gopher repetition rules: duplicate lines/paragraphs (by count and characters), top "
        "2-4-gram and duplicate 5-10-gram character fractions; pass=1 under the paper's thresholds."
    )

    def tag_values(self, docs: Sequence[Document]) -> list[tuple[dict[str, list[Span]], Values]]:
        """Return the repetition statistics of each document as values (`attributes` order)."""
        out: list[tuple[dict[str, list[Span]], Values]] = []
        for stats in stats_of(docs):
            s = stats.summary
            n = len(stats.text)
            chars = s.word_chars
            values = (
                ratio(s.dup_lines, s.lines),
                ratio(s.dup_paragraphs, s.paragraphs),
                ratio(s.dup_line_chars, n),
                ratio(s.dup_paragraph_chars, n),
                ratio(s.top_2, chars),
                ratio(s.top_3, chars),
                ratio(s.top_4, chars),
                ratio(s.dup_5, chars),
                ratio(s.dup_6, chars),
                ratio(s.dup_7, chars),
                ratio(s.dup_8, chars),
                ratio(s.dup_9, chars),
                ratio(s.dup_10, chars),
            )
            passed = all(map(le, values, LIMITS))
            out.append((NO_SPANS, (*values, int(passed))))
        return out
