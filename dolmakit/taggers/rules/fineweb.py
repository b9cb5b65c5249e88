"""FineWeb quality rules (Penedo et al. 2024, "The FineWeb Datasets", Section 3.5).

Three line statistics from the paper plus the newline-per-word ratio of the released
FineWeb filter (datatrove's FineWebQualityFilter), with `pass` under their thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from operator import le
from typing import ClassVar

from dolmakit.document import Document, Span
from dolmakit.taggers.base import register
from dolmakit.taggers.rules.text import TextStats, ratio, stats_of

# FineWeb's terminal punctuation ("stop characters" of its release).
TERMINAL = (".", "'", '"', "!", "?")
SHORT_LINE_CHARS = 30
MIN_LINE_PUNCT_RATIO = 0.12
MAX_SHORT_LINE_RATIO = 0.67
MAX_DUP_LINE_CHAR_FRAC = 0.1
MAX_NEWLINE_WORD_RATIO = 0.3


@register
class FineWebTagger:
    """Tag the FineWeb quality statistics of each document and whether it passes them."""

    name: ClassVar[str] = "fineweb"
    version: ClassVar[str] = "1"
    attributes: ClassVar[tuple[str, ...]] = (
        "line_punct_ratio",
        "short_line_ratio",
        "dup_line_char_frac",
        "newline_word_ratio",
        "pass",
    )
    requires: ClassVar[str] = ""
    description: ClassVar[str] = (
        "FineWeb quality rules: lines ending in punctuation, short lines (<= 30 chars), "
        "characters in duplicated lines, newlines per word (list-like); pass=1 if kept."
    )

    def tag_batch(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        """Return the FineWeb statistics of each document."""
        return [self._tag(stats) for stats in stats_of(docs)]

    @staticmethod
    def _tag(stats: TextStats) -> dict[str, list[Span]]:
        text = stats.text
        n = len(text)
        lines = stats.lines
        count = len(lines)
        punct = ratio(sum(map(str.endswith, lines, repeat(TERMINAL))), count)
        short = ratio(sum(map(le, map(len, lines), repeat(SHORT_LINE_CHARS))), count)
        dup_chars = ratio(stats.line_duplicates[1], n)
        newline = ratio(text.count("\n"), len(stats.words))
        passed = (
            count > 0
            and punct >= MIN_LINE_PUNCT_RATIO
            and short <= MAX_SHORT_LINE_RATIO
            and dup_chars <= MAX_DUP_LINE_CHAR_FRAC
            and newline <= MAX_NEWLINE_WORD_RATIO
        )
        return {
            "line_punct_ratio": [Span(0, n, punct)],
            "short_line_ratio": [Span(0, n, short)],
            "dup_line_char_frac": [Span(0, n, dup_chars)],
            "newline_word_ratio": [Span(0, n, newline)],
            "pass": [Span(0, n, int(passed))],
        }
