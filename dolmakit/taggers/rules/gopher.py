"""Gopher quality and repetition rules (Rae et al. 2021, "Scaling Language Models", App. A).

Both taggers emit the raw statistics and a `pass` attribute (1 or 0) under the paper's
thresholds, so that a mix can filter on either. Definitions of words, lines and paragraphs
are in `dolmakit.taggers.rules.text`; the exact formulas are in docs/taggers.md.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Sequence
from typing import ClassVar

from dolmakit.document import Document, Span
from dolmakit.taggers.base import register
from dolmakit.taggers.rules.text import duplicates, lines_of, paragraphs_of, ratio

STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
BULLETS = ("•", "‣", "◦", "⁃", "▪", "●", "○", "■", "□", "-", "*", "–")
ELLIPSES = ("...", "…")
EDGE_PUNCTUATION = string.punctuation + "“”‘’«»„…"

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
        return [self._tag(doc.text) for doc in docs]

    @staticmethod
    def _tag(text: str) -> dict[str, list[Span]]:
        n = len(text)
        words = text.split()
        nwords = len(words)
        counts = Counter(words)
        mean_length = ratio(sum(map(len, words)), nwords)
        hash_ratio = ratio(text.count("#"), nwords)
        ellipsis_ratio = ratio(text.count("...") + text.count("…"), nwords)
        lines = lines_of(text)
        bullet = ratio(sum(1 for line in lines if line.startswith(BULLETS)), len(lines))
        ellipsis_lines = ratio(sum(1 for line in lines if line.endswith(ELLIPSES)), len(lines))
        alpha = ratio(
            sum(c for w, c in counts.items() if w.isalpha() or any(map(str.isalpha, w))), nwords
        )
        stop = len(STOP_WORDS & {w.strip(EDGE_PUNCTUATION).lower() for w in counts})
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


def top_ngram_chars(words: Sequence[str], n: int) -> int:
    """Return count x characters of the most frequent word n-gram, or 0 if none repeats.

    Ties in count go to the n-gram with the most characters (characters of its words,
    without separators), so the result does not depend on the order of the n-grams.
    """
    if len(words) < n:
        return 0
    grams = Counter(zip(*(words[i:] for i in range(n)), strict=False))
    top = max(grams.values())
    if top < 2:
        return 0
    return top * max(sum(map(len, g)) for g, c in grams.items() if c == top)


def duplicate_ngram_chars(words: Sequence[str], lengths: Sequence[int]) -> dict[int, int]:
    """Return {n: characters of words covered by repeated copies of an n-gram}, n = 5..10.

    Scanning left to right, an n-gram that occurred at an earlier position marks its words as
    duplicate; each word counts once however many duplicate n-grams cover it. Only positions
    whose 5-gram repeats can start a repeated longer n-gram, so those are the only ones checked.
    """
    out = dict.fromkeys(MAX_DUP_NGRAM_CHAR_FRAC, 0)
    if len(words) < 5:
        return out
    grams5 = list(zip(words, words[1:], words[2:], words[3:], words[4:], strict=False))
    counts5 = Counter(grams5)
    if len(counts5) == len(grams5):
        return out
    candidates = [i for i, g in enumerate(grams5) if counts5[g] > 1]
    for n in out:
        seen: set[tuple[str, ...]] = set()
        covered = bytearray(len(words))
        for i in candidates:
            if i + n > len(words):
                break
            gram = tuple(words[i : i + n])
            if gram in seen:
                covered[i : i + n] = b"\x01" * n
            else:
                seen.add(gram)
        if any(covered):
            out[n] = sum(length for length, flag in zip(lengths, covered, strict=True) if flag)
    return out


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
        return [self._tag(doc.text) for doc in docs]

    @staticmethod
    def _tag(text: str) -> dict[str, list[Span]]:
        n = len(text)
        lines = lines_of(text)
        paragraphs = paragraphs_of(text)
        dup_lines, dup_line_chars = duplicates(lines)
        dup_paras, dup_para_chars = duplicates(paragraphs)
        stats: dict[str, float] = {
            "dup_line_frac": ratio(dup_lines, len(lines)),
            "dup_paragraph_frac": ratio(dup_paras, len(paragraphs)),
            "dup_line_char_frac": ratio(dup_line_chars, n),
            "dup_paragraph_char_frac": ratio(dup_para_chars, n),
        }
        words = text.split()
        lengths = list(map(len, words))
        word_chars = sum(lengths)
        passed = (
            stats["dup_line_frac"] <= MAX_DUP_LINE_FRAC
            and stats["dup_paragraph_frac"] <= MAX_DUP_PARAGRAPH_FRAC
            and stats["dup_line_char_frac"] <= MAX_DUP_LINE_CHAR_FRAC
            and stats["dup_paragraph_char_frac"] <= MAX_DUP_PARAGRAPH_CHAR_FRAC
        )
        for k, limit in MAX_TOP_NGRAM_CHAR_FRAC.items():
            value = ratio(top_ngram_chars(words, k), word_chars)
            stats[f"top_{k}gram_char_frac"] = value
            passed = passed and value <= limit
        for k, chars in duplicate_ngram_chars(words, lengths).items():
            value = ratio(chars, word_chars)
            stats[f"dup_{k}gram_char_frac"] = value
            passed = passed and value <= MAX_DUP_NGRAM_CHAR_FRAC[k]
        out = {key: [Span(0, n, value)] for key, value in stats.items()}
        out["pass"] = [Span(0, n, int(passed))]
        return out
