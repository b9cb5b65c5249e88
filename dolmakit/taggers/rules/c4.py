"""C4 rules (Raffel et al. 2020, "Exploring the Limits of Transfer Learning", Section 2.2).

C4 cleaned a page line by line, then dropped whole pages. This tagger does not change the
text: it marks every line C4 would drop with a `line_dropped` span, and emits the page-level
statistics and a `pass` attribute (1 if C4 would keep the page). Exact definitions are in
docs/taggers.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from dolmakit.document import Document, Span
from dolmakit.errors import DolmakitError
from dolmakit.taggers.base import DocumentValues, Values, register
from dolmakit.taggers.rules.lengths import NO_SPANS
from dolmakit.taggers.rules.reference import POLICY_PHRASES  # noqa: F401 (documented here)
from dolmakit.taggers.rules.text import ratio, stats_of
from dolmakit.taggers.rules.wordlists import available_languages, load_word_list

MIN_SENTENCES = 5


@register
class C4Tagger(DocumentValues):
    """Tag the lines C4 would drop and the page-level C4 statistics of each document."""

    name: ClassVar[str] = "c4"
    version: ClassVar[str] = "2"  # 2: the original LDNOOBW lists (1: badwords-py lists)
    attributes: ClassVar[tuple[str, ...]] = (
        "line_dropped",
        "no_terminal_punct_frac",
        "short_line_frac",
        "javascript_lines",
        "policy_lines",
        "dropped_line_frac",
        "lorem_ipsum",
        "curly_brace",
        "sentences",
        "bad_words",
        "pass",
    )
    value_types: ClassVar[tuple[str, ...]] = attributes[1:]
    requires: ClassVar[str] = ""
    description: ClassVar[str] = (
        "C4 rules: spans of lines C4 drops (no terminal punctuation, < 3 words, javascript, "
        "policy/cookie), lorem ipsum, curly braces, sentences, LDNOOBW words; pass=1 if kept."
    )

    def __init__(self, language: str = "en") -> None:
        words = load_word_list(language)
        if words is None:
            raise DolmakitError(
                f"c4: no bad-word list for language {language!r};"
                f" lists exist for {', '.join(available_languages())}"
            )
        self.words = words

    def tag_values(self, docs: Sequence[Document]) -> list[tuple[dict[str, list[Span]], Values]]:
        """Return the dropped-line spans and the C4 statistics of each document."""
        out: list[tuple[dict[str, list[Span]], Values]] = []
        find = self.words.find
        for stats in stats_of(docs):
            c4 = stats.c4
            nlines = c4.lines
            sentences = c4.sentences
            bad_words = len(find(c4.kept_text)) if c4.kept_text else 0
            lorem = c4.lorem_ipsum
            curly = "{" in stats.text
            passed = not lorem and not curly and sentences >= MIN_SENTENCES and bad_words == 0
            dropped = c4.dropped
            spans = {"line_dropped": [Span(s, e, 1) for s, e in dropped]} if dropped else NO_SPANS
            values = (
                ratio(c4.no_terminal_punct, nlines),
                ratio(c4.short, nlines),
                c4.javascript,
                c4.policy,
                ratio(len(dropped), nlines),
                int(lorem),
                int(curly),
                sentences,
                bad_words,
                int(passed),
            )
            out.append((spans, values))
        return out
