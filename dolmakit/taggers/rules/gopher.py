"""Gopher quality and repetition rules (Rae et al. 2021, "Scaling Language Models", App. A).

Both taggers emit the raw statistics and a `pass` attribute (1 or 0) under the paper's
thresholds, so that a mix can filter on either. Definitions of words, lines and paragraphs
are in `dolmakit.taggers.rules.text`; the exact formulas are in docs/taggers.md.
"""

from __future__ import annotations

import functools
import re
import string
import sys
from collections.abc import Callable, Sequence
from itertools import filterfalse, repeat
from operator import not_
from typing import ClassVar

from dolmakit.document import Document, Span
from dolmakit.taggers.base import register
from dolmakit.taggers.rules.ngrams import repeated_ngram_chars
from dolmakit.taggers.rules.text import TextStats, duplicates, ratio, stats_of

STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
BULLETS = ("•", "‣", "◦", "⁃", "▪", "●", "○", "■", "□", "-", "*", "–")
ELLIPSES = ("...", "…")
EDGE_PUNCTUATION = string.punctuation + "“”‘’«»„…"
_EDGE = frozenset(EDGE_PUNCTUATION)

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


@register
class GopherQualityTagger:
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
    requires: ClassVar[str] = ""
    description: ClassVar[str] = (
        "Gopher (MassiveText) quality rules: word count, mean word length, #/ellipsis ratios, "
        "bullet/ellipsis lines, alphabetic words, stop words; pass=1 under the paper's thresholds."
    )

    def tag_batch(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        """Return the quality statistics of each document."""
        return [self._tag(stats) for stats in stats_of(docs)]

    @staticmethod
    def _tag(stats: TextStats) -> dict[str, list[Span]]:
        text = stats.text
        n = len(text)
        words = stats.words
        nwords = len(words)
        mean_length = ratio(stats.word_chars, nwords)
        hash_ratio = ratio(text.count("#"), nwords)
        ellipsis_ratio = ratio(text.count("...") + text.count("…"), nwords)
        lines = stats.lines
        bullet = ratio(sum(map(str.startswith, lines, repeat(BULLETS))), len(lines))
        ellipsis_lines = ratio(sum(map(str.endswith, lines, repeat(ELLIPSES))), len(lines))
        # Words that are not all letters, then those of them without any letter.
        no_letter = sum(map(not_, map(_letter_search(), filterfalse(str.isalpha, words))))
        alpha = ratio(nwords - no_letter, nwords)
        stop = stop_words_in(text.lower()) if nwords else 0
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
        return {
            "words": [Span(0, n, nwords)],
            "mean_word_length": [Span(0, n, mean_length)],
            "hash_ratio": [Span(0, n, hash_ratio)],
            "ellipsis_ratio": [Span(0, n, ellipsis_ratio)],
            "bullet_line_frac": [Span(0, n, bullet)],
            "ellipsis_line_frac": [Span(0, n, ellipsis_lines)],
            "alpha_word_frac": [Span(0, n, alpha)],
            "stop_words": [Span(0, n, stop)],
            "pass": [Span(0, n, int(passed))],
        }


def stop_words_in(low: str) -> int:
    """Return how many distinct stop words occur in lowercased text as whole words.

    A stop word occurs when some word, stripped of leading and trailing punctuation
    (EDGE_PUNCTUATION), equals it. Each stop word is looked for with `str.find` and every
    hit checked in place: only punctuation between it and whitespace (or the text's ends).
    """
    size = len(low)
    found = 0
    for word in STOP_WORDS:
        start = low.find(word)
        while start != -1:
            before = start
            while before and low[before - 1] in _EDGE:
                before -= 1
            after = start + len(word)
            while after < size and low[after] in _EDGE:
                after += 1
            if (not before or low[before - 1].isspace()) and (
                after == size or low[after].isspace()
            ):
                found += 1
                break
            start = low.find(word, start + 1)
    return found


@functools.cache
def _letter_search() -> Callable[[str], re.Match[str] | None]:
    """Return a search for one letter (a character `str.isalpha` accepts), built once."""
    letters = [i for i in range(sys.maxunicode + 1) if chr(i).isalpha()]
    ranges: list[str] = []
    start = prev = letters[0]
    for code in [*letters[1:], -1]:
        if code != prev + 1:
            ranges.append(
                re.escape(chr(start)) + ("-" + re.escape(chr(prev)) if prev > start else "")
            )
            start = code
        prev = code
    return re.compile("[" + "".join(ranges) + "]").search


@register
class GopherRepetitionTagger:
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
    requires: ClassVar[str] = ""
    description: ClassVar[str] = (
        "Gopher repetition rules: duplicate lines/paragraphs (by count and characters), top "
        "2-4-gram and duplicate 5-10-gram character fractions; pass=1 under the paper's thresholds."
    )

    def tag_batch(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        """Return the repetition statistics of each document."""
        return [self._tag(stats) for stats in stats_of(docs)]

    @staticmethod
    def _tag(stats: TextStats) -> dict[str, list[Span]]:
        n = len(stats.text)
        lines = stats.lines
        paragraphs = stats.paragraphs
        dup_lines, dup_line_chars = stats.line_duplicates
        dup_paras, dup_para_chars = duplicates(paragraphs)
        values: dict[str, float] = {
            "dup_line_frac": ratio(dup_lines, len(lines)),
            "dup_paragraph_frac": ratio(dup_paras, len(paragraphs)),
            "dup_line_char_frac": ratio(dup_line_chars, n),
            "dup_paragraph_char_frac": ratio(dup_para_chars, n),
        }
        passed = (
            values["dup_line_frac"] <= MAX_DUP_LINE_FRAC
            and values["dup_paragraph_frac"] <= MAX_DUP_PARAGRAPH_FRAC
            and values["dup_line_char_frac"] <= MAX_DUP_LINE_CHAR_FRAC
            and values["dup_paragraph_char_frac"] <= MAX_DUP_PARAGRAPH_CHAR_FRAC
        )
        word_chars = stats.word_chars
        top, dup = repeated_ngram_chars(stats.words, stats.word_lengths)
        for k, limit in MAX_TOP_NGRAM_CHAR_FRAC.items():
            value = ratio(top[k], word_chars)
            values[f"top_{k}gram_char_frac"] = value
            passed = passed and value <= limit
        for k, limit in MAX_DUP_NGRAM_CHAR_FRAC.items():
            value = ratio(dup[k], word_chars)
            values[f"dup_{k}gram_char_frac"] = value
            passed = passed and value <= limit
        out = {key: [Span(0, n, value)] for key, value in values.items()}
        out["pass"] = [Span(0, n, int(passed))]
        return out
