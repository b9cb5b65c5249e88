"""Text units shared by the rule taggers, split once per document and batch.

Definitions (docs/taggers.md repeats them): a *word* is a maximal run of non-whitespace
characters (`str.split()`); a *line* is a piece of `text.split("\\n")` with surrounding
whitespace stripped, blank lines left out; a *paragraph* is a piece between runs of two or
more newlines (with only whitespace between them), stripped, blank ones left out.

`stats_of(docs)` gives one `TextStats` per document. The taggers of a run see the same batch
one after another, so the stats of the latest batch are kept and handed out again: a document
is split into words, lines and paragraphs once, however many rule taggers use them. Every
value of a `TextStats` is a pure function of its text, so sharing never changes a result.

`TextStats.summary` and `TextStats.c4` hold every count the rule taggers use. They come from
the compiled module `dolmakit._textstats` when it is built (NATIVE), else from the
pure-Python reference in `dolmakit.taggers.rules.reference`, which defines them; both give
identical values (tests/test_textstats.py).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, NamedTuple

from dolmakit import native
from dolmakit.document import Document, Span

PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def load_native() -> ModuleType | None:
    """Return the compiled module `dolmakit._textstats`, or None to use the pure Python.

    None when it is not built (the pure-Python reference gives the same results, slower) or
    when the environment variable DOLMAKIT_PURE_PYTHON is set to 1.
    """
    return native.load_native("_textstats")


NATIVE = load_native()


class Summary(NamedTuple):
    """The per-document counts the rule taggers use (characters are code points).

    Lines, paragraphs and words are the units defined above; "duplicate" items are the copies
    after the first of equal items; top n-gram and duplicate n-gram characters are defined in
    `dolmakit.taggers.rules.ngrams`.
    """

    words: int
    word_chars: int  # characters of all words
    alpha_words: int  # words with at least one letter (str.isalpha)
    hashes: int  # '#' characters
    ellipses: int  # non-overlapping '...' plus '…'
    lines: int
    bullet_lines: int  # lines starting with a Gopher bullet
    ellipsis_lines: int  # lines ending in '...' or '…'
    dup_lines: int
    dup_line_chars: int
    paragraphs: int
    dup_paragraphs: int
    dup_paragraph_chars: int
    punct_lines: int  # lines ending in FineWeb's terminal punctuation . ' " ! ?
    short_lines: int  # lines of at most 30 characters
    newlines: int  # '\n' characters
    stop_words: int  # distinct Gopher stop words among the lowercased words, edges stripped
    top_2: int
    top_3: int
    top_4: int
    dup_5: int
    dup_6: int
    dup_7: int
    dup_8: int
    dup_9: int
    dup_10: int


class C4Lines(NamedTuple):
    """The C4 line rules over the non-blank lines of a text (docs/taggers.md, `c4`)."""

    lines: int
    no_terminal_punct: int  # not ending in . ? ! " or ending in '...'
    short: int  # fewer than 3 words
    javascript: int  # containing 'javascript' (lowercased)
    policy: int  # containing a policy phrase (lowercased)
    dropped: list[tuple[int, int]]  # (start, end) of each dropped line, stripped
    kept_text: str  # the kept lines joined by '\n'
    sentences: int  # 0 without kept lines
    lorem_ipsum: bool  # 'lorem ipsum' in the lowercased text


@functools.cache
def implementations() -> tuple[Callable[[str], Any], Callable[[str], Any]]:
    """Return (summarize, c4_lines): compiled if available, else the pure-Python reference."""
    if NATIVE is not None:
        return NATIVE.summarize, NATIVE.c4_lines
    from dolmakit.taggers.rules import reference  # lazy: reference imports this module

    return reference.summarize, reference.c4_lines


def summarize(text: str) -> Summary:
    """Return the Summary of a text."""
    return Summary._make(implementations()[0](text))


def c4_lines(text: str) -> C4Lines:
    """Return the C4 line statistics of a text."""
    return C4Lines._make(implementations()[1](text))


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
        "_c4",
        "_line_dups",
        "_lines",
        "_paragraphs",
        "_raw_lines",
        "_stripped_lines",
        "_summary",
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
        self._summary: Summary | None = None
        self._c4: C4Lines | None = None

    @property
    def summary(self) -> Summary:
        """The per-document counts (compiled when available)."""
        if self._summary is None:
            self._summary = summarize(self.text)
        return self._summary

    @property
    def c4(self) -> C4Lines:
        """The C4 line statistics (compiled when available)."""
        if self._c4 is None:
            self._c4 = c4_lines(self.text)
        return self._c4

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
