"""FineWeb quality rules (Penedo et al. 2024, "The FineWeb Datasets", Section 3.5).

Three line statistics from the paper plus the newline-per-word ratio of the released
FineWeb filter (datatrove's FineWebQualityFilter), with `pass` under their thresholds.
FineWeb's terminal punctuation (its "stop characters") is . ' " ! ? and a short line has at
most 30 characters (`dolmakit.taggers.rules.reference` counts both).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from dolmakit.document import Document, Span
from dolmakit.taggers.base import DocumentValues, Values, register
from dolmakit.taggers.rules.lengths import NO_SPANS
from dolmakit.taggers.rules.text import ratio, stats_of

MIN_LINE_PUNCT_RATIO = 0.12
MAX_SHORT_LINE_RATIO = 0.67
MAX_DUP_LINE_CHAR_FRAC = 0.1
MAX_NEWLINE_WORD_RATIO = 0.3


@register
class FineWebTagger(DocumentValues):
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
    value_types: ClassVar[tuple[str, ...]] = attributes
    requires: ClassVar[str] = ""
    description: ClassVar[str] = (
        "FineWeb quality rules: lines ending in punctuation, short lines (<= 30 chars), "
        "characters in duplicated lines, newlines per word (list-like); pass=1 if kept."
    )

    def tag_values(self, docs: Sequence[Document]) -> list[tuple[dict[str, list[Span]], Values]]:
        """Return the FineWeb statistics of each document as values."""
        out: list[tuple[dict[str, list[Span]], Values]] = []
        for stats in stats_of(docs):
            s = stats.summary
            count = s.lines
            punct = ratio(s.punct_lines, count)
            short = ratio(s.short_lines, count)
            dup_chars = ratio(s.dup_line_chars, len(stats.text))
            newline = ratio(s.newlines, s.words)
            passed = (
                count > 0
                and punct >= MIN_LINE_PUNCT_RATIO
                and short <= MAX_SHORT_LINE_RATIO
                and dup_chars <= MAX_DUP_LINE_CHAR_FRAC
                and newline <= MAX_NEWLINE_WORD_RATIO
            )
            out.append((NO_SPANS, (punct, short, dup_chars, newline, int(passed))))
        return out
