"""The `lengths` tagger: characters, UTF-8 bytes, words, lines and paragraphs per document."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from dolmakit.document import Document, Span
from dolmakit.taggers.base import register
from dolmakit.taggers.rules.text import TextStats, stats_of


@register
class LengthsTagger:
    """Count the units of each document; every value is a document-level span."""

    name: ClassVar[str] = "lengths"
    version: ClassVar[str] = "1"
    attributes: ClassVar[tuple[str, ...]] = ("characters", "bytes", "words", "lines", "paragraphs")
    requires: ClassVar[str] = ""
    description: ClassVar[str] = (
        "Characters, UTF-8 bytes, whitespace-separated words, non-blank lines and paragraphs."
    )

    def tag_batch(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        """Return the five counts of each document."""
        return [self._tag(stats) for stats in stats_of(docs)]

    @staticmethod
    def _tag(stats: TextStats) -> dict[str, list[Span]]:
        text = stats.text
        n = len(text)
        nbytes = n if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
        return {
            "characters": [Span(0, n, n)],
            "bytes": [Span(0, n, nbytes)],
            "words": [Span(0, n, len(stats.words))],
            "lines": [Span(0, n, len(stats.lines))],
            "paragraphs": [Span(0, n, len(stats.paragraphs))],
        }
