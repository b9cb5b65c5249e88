"""C4 rules (Raffel et al. 2020, "Exploring the Limits of Transfer Learning", Section 2.2).

C4 cleaned a page line by line, then dropped whole pages. This tagger does not change the
text: it marks every line C4 would drop with a `line_dropped` span, and emits the page-level
statistics and a `pass` attribute (1 if C4 would keep the page). Exact definitions are in
docs/taggers.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import accumulate, compress, repeat
from operator import contains, lt, not_, or_
from typing import ClassVar

from dolmakit.document import Document, Span
from dolmakit.errors import DolmakitError
from dolmakit.taggers.base import register
from dolmakit.taggers.rules.text import TextStats, ratio, stats_of
from dolmakit.taggers.rules.wordlists import available_languages, load_word_list

TERMINAL = (".", "?", "!", '"')
ELLIPSIS = "..."
MIN_WORDS_PER_LINE = 3
MIN_SENTENCES = 5
POLICY_PHRASES = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)
# A sentence ends inside a kept line at terminal punctuation (optionally followed by closing
# quotes or brackets) followed by horizontal whitespace; every kept line ends one more.
_INNER_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*[^\S\n]+")


@register
class C4Tagger:
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

    def tag_batch(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        """Return the C4 spans and statistics of each document."""
        return [self._tag(stats) for stats in stats_of(docs)]

    def _tag(self, stats: TextStats) -> dict[str, list[Span]]:
        text = stats.text
        n = len(text)
        low = text.lower()
        lines = stats.lines
        nlines = len(lines)
        # One flag per non-blank line, computed by C-level maps over all lines at once.
        no_punct = list(
            map(
                or_,
                map(not_, map(str.endswith, lines, repeat(TERMINAL))),
                map(str.endswith, lines, repeat(ELLIPSIS)),
            )
        )
        few_words = map(str.split, lines, repeat(None), repeat(MIN_WORDS_PER_LINE - 1))
        short = list(map(lt, map(len, few_words), repeat(MIN_WORDS_PER_LINE)))
        drop = list(map(or_, no_punct, short))
        javascript = policy = 0
        if "javascript" in low:
            flags = list(map(contains, map(str.lower, lines), repeat("javascript")))
            javascript = sum(flags)
            drop = list(map(or_, drop, flags))
        if any(p in low for p in POLICY_PHRASES):
            flags = [any(p in line for p in POLICY_PHRASES) for line in map(str.lower, lines)]
            policy = sum(flags)
            drop = list(map(or_, drop, flags))
        dropped = _line_spans(stats, list(compress(range(nlines), drop))) if any(drop) else []
        kept = list(compress(lines, map(not_, drop)))
        kept_text = "\n".join(kept)
        sentences = len(kept) + len(_INNER_SENTENCE_END.findall(kept_text)) if kept else 0
        bad_words = len(self.words.find(kept_text)) if kept else 0
        lorem = "lorem ipsum" in low
        curly = "{" in text
        passed = not lorem and not curly and sentences >= MIN_SENTENCES and bad_words == 0
        out: dict[str, list[Span]] = {"line_dropped": dropped} if dropped else {}
        values: dict[str, float] = {
            "no_terminal_punct_frac": ratio(sum(no_punct), nlines),
            "short_line_frac": ratio(sum(short), nlines),
            "javascript_lines": javascript,
            "policy_lines": policy,
            "dropped_line_frac": ratio(len(dropped), nlines),
            "lorem_ipsum": int(lorem),
            "curly_brace": int(curly),
            "sentences": sentences,
            "bad_words": bad_words,
            "pass": int(passed),
        }
        for key, value in values.items():
            out[key] = [Span(0, n, value)]
        return out


def _line_spans(stats: TextStats, which: list[int]) -> list[Span]:
    """Return a span over each of the non-blank lines numbered `which` (0-based, ascending)."""
    raw = stats.raw_lines
    lines = stats.lines
    where = list(compress(range(len(raw)), stats.stripped_lines))  # raw index of each line
    starts = [0, *accumulate(map(len, raw))]  # characters before raw line i, minus newlines
    spans: list[Span] = []
    for k in which:
        i = where[k]
        line = raw[i]
        lead = starts[i] + i + len(line) - len(line.lstrip())
        spans.append(Span(lead, lead + len(lines[k]), 1))
    return spans
