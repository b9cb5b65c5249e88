"""The `lengths` tagger: characters, UTF-8 bytes, words, lines and paragraphs per document."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from dolmakit.document import Document, Span
from dolmakit.taggers.base import DocumentValues, Values, register
from dolmakit.taggers.rules.text import NATIVE, stats_of

NO_SPANS: dict[str, list[Span]] = {}


@register
class LengthsTagger(DocumentValues):
    """Count the units of each document; every value is a document-level span."""

    name: ClassVar[str] = "lengths"
    version: ClassVar[str] = "1"
    attributes: ClassVar[tuple[str, ...]] = ("characters", "bytes", "words", "lines", "paragraphs")
    value_types: ClassVar[tuple[str, ...]] = attributes
    requires: ClassVar[str] = ""
    description: ClassVar[str] = (
        "Characters, UTF-8 bytes, whitespace-separated words, non-blank lines and paragraphs."
    )

    def tag_values(self, docs: Sequence[Document]) -> list[tuple[dict[str, list[Span]], Values]]:
        """Return the five counts of each document as values."""
        out: list[tuple[dict[str, list[Span]], Values]] = []
        for stats in stats_of(docs):
            text = stats.text
            n = len(text)
            nbytes = n if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
            if NATIVE is not None:
                s = stats.summary
                counts: Values = (n, nbytes, s.words, s.lines, s.paragraphs)
            else:  # the reference summary costs far more than these three lists
                counts = (n, nbytes, len(stats.words), len(stats.lines), len(stats.paragraphs))
            out.append((NO_SPANS, counts))
        return out
