"""Text units shared by the rule taggers, split once per document and batch.

Definitions (docs/taggers.md repeats them): a *word* is a maximal run of non-whitespace
characters (`str.split()`); a *line* is a piece of `text.split("\\n")` with surrounding
whitespace stripped, blank lines left out; a *paragraph* is a piece between runs of two or
more newlines (with only whitespace between them), stripped, blank ones left out.

`stats_of(docs)` gives one `TextStats` per document. The taggers of a run see the same batch
one after another, so the stats of the latest batch are kept and handed out again: a document
is split into words, lines and paragraphs once, however many rule taggers use them. Every
value of a `TextStats` is a pure function of its text, so sharing never changes a result.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dolmakit.document import Document, Span

PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def lines_of(text: str) -> list[str]:
    """Return the non-blank lines of `text`, stripped."""
    return list(filter(None, map(str.strip, text.split("\n"))))


def paragraphs_of(text: str) -> list[str]:
    """Return the non-blank paragraphs of `text`, stripped."""
    if "\n" not in text:
        stripped = text.strip()
        return [stripped] if stripped else []
    return list(filter(None, map(str.strip, PARAGRAPH_BREAK.split(text))))


def duplicates(items: Sequence[str]) -> tuple[int, int]:
    """Return (count, characters) of the items that repeat an earlier item.

    The first occurrence of a repeated item is not counted: these are the copies that
    exact deduplication of the items would remove (all items minus one of each kind).
    """
    unique = set(items)
    if len(unique) == len(items):
        return 0, 0
    return len(items) - len(unique), sum(map(len, items)) - sum(map(len, unique))


def ratio(part: float, whole: float) -> float:
    """Return part / whole, or 0.0 when whole is 0."""
    return part / whole if whole else 0.0


def whole(text: str, value: float) -> list[Span]:
    """Return the document-level span `[0, len(text), value]`."""
    return [Span(0, len(text), value)]


class TextStats:
    """The words, lines and paragraphs of one text, each computed on first use and kept."""

    __slots__ = (
        "_line_dups",
        "_lines",
        "_paragraphs",
        "_raw_lines",
        "_stripped_lines",
        "_word_chars",
        "_word_lengths",
        "_words",
        "text",
    )

    def __init__(self, text: str) -> None:
        self.text = text
        self._words: list[str] | None = None
        self._word_lengths: list[int] | None = None
        self._word_chars = -1
        self._raw_lines: list[str] | None = None
        self._stripped_lines: list[str] | None = None
        self._lines: list[str] | None = None
        self._paragraphs: list[str] | None = None
        self._line_dups: tuple[int, int] | None = None

    @property
    def words(self) -> list[str]:
        """The words, in order."""
        if self._words is None:
            self._words = self.text.split()
        return self._words

    @property
    def word_lengths(self) -> list[int]:
        """The length in characters of each word."""
        if self._word_lengths is None:
            self._word_lengths = list(map(len, self.words))
        return self._word_lengths

    @property
    def word_chars(self) -> int:
        """Characters of all words (whitespace excluded)."""
        if self._word_chars < 0:
            self._word_chars = sum(self.word_lengths)
        return self._word_chars

    @property
    def raw_lines(self) -> list[str]:
        """`text.split("\\n")`, as is (blank lines included)."""
        if self._raw_lines is None:
            self._raw_lines = self.text.split("\n")
        return self._raw_lines

    @property
    def stripped_lines(self) -> list[str]:
        """Each raw line stripped of surrounding whitespace (blank lines become '')."""
        if self._stripped_lines is None:
            self._stripped_lines = list(map(str.strip, self.raw_lines))
        return self._stripped_lines

    @property
    def lines(self) -> list[str]:
        """The non-blank lines, stripped."""
        if self._lines is None:
            stripped = self.stripped_lines
            self._lines = stripped if all(stripped) else list(filter(None, stripped))
        return self._lines

    @property
    def paragraphs(self) -> list[str]:
        """The non-blank paragraphs, stripped."""
        if self._paragraphs is None:
            self._paragraphs = paragraphs_of(self.text)
        return self._paragraphs

    @property
    def line_duplicates(self) -> tuple[int, int]:
        """(count, characters) of the lines that repeat an earlier line."""
        if self._line_dups is None:
            self._line_dups = duplicates(self.lines)
        return self._line_dups


class _LatestBatch:
    """The TextStats of the latest batch, by the identity of each document's text."""

    def __init__(self) -> None:
        self.entries: dict[int, TextStats] = {}

    def stats_of(self, docs: Sequence[Document]) -> list[TextStats]:
        entries = self.entries
        out: list[TextStats] = []
        for doc in docs:
            text = doc.text
            stats = entries.get(id(text))
            # An entry holds its text, so no other live string can have that id.
            if stats is None or stats.text is not text:
                stats = TextStats(text)
            out.append(stats)
        self.entries = dict(zip(map(id, (s.text for s in out)), out, strict=True))
        return out


_LATEST = _LatestBatch()


def stats_of(docs: Sequence[Document]) -> list[TextStats]:
    """Return the TextStats of each document, reusing those of the latest batch."""
    return _LATEST.stats_of(docs)
