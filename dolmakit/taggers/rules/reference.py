"""The pure-Python reference of the rule taggers' per-document statistics.

`summarize` and `c4_lines` define what the compiled module `dolmakit._textstats` computes;
`dolmakit.taggers.rules.text.implementations` picks one of the two, and tests/test_textstats.py
checks that they agree. Both work on the units of `dolmakit.taggers.rules.text` (words, lines,
paragraphs); the fields are listed in `text.Summary` and `text.C4Lines`, the formulas in
docs/taggers.md.
"""

from __future__ import annotations

import functools
import re
import string
import sys
from collections.abc import Callable
from itertools import compress, filterfalse, repeat
from operator import contains, le, lt, not_, or_

from dolmakit.taggers.rules.ngrams import repeated_ngram_chars
from dolmakit.taggers.rules.text import C4Lines, TextStats, duplicates

STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
BULLETS = ("•", "‣", "◦", "⁃", "▪", "●", "○", "■", "□", "-", "*", "–")
ELLIPSES = ("...", "…")
EDGE_PUNCTUATION = string.punctuation + "“”‘’«»„…"
_EDGE = frozenset(EDGE_PUNCTUATION)
FINEWEB_TERMINAL = (".", "'", '"', "!", "?")
SHORT_LINE_CHARS = 30

C4_TERMINAL = (".", "?", "!", '"')
C4_ELLIPSIS = "..."
C4_MIN_WORDS_PER_LINE = 3
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
INNER_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*[^\S\n]+")
WORD_TOKEN = re.compile(r"\w+")


def summarize(text: str) -> tuple[int, ...]:
    """Return the fields of `text.Summary` for a text, in order (see Summary for each)."""
    stats = TextStats(text)
    words = stats.words
    nwords = len(words)
    lines = stats.lines
    no_letter = sum(map(not_, map(_letter_search(), filterfalse(str.isalpha, words))))
    top, dup = repeated_ngram_chars(words, stats.word_lengths)
    return (
        nwords,
        stats.word_chars,
        nwords - no_letter,
        text.count("#"),
        text.count("...") + text.count("…"),
        len(lines),
        sum(map(str.startswith, lines, repeat(BULLETS))),
        sum(map(str.endswith, lines, repeat(ELLIPSES))),
        *stats.line_duplicates,
        len(stats.paragraphs),
        *duplicates(stats.paragraphs),
        sum(map(str.endswith, lines, repeat(FINEWEB_TERMINAL))),
        sum(map(le, map(len, lines), repeat(SHORT_LINE_CHARS))),
        text.count("\n"),
        stop_words_in(text.lower()) if nwords else 0,
        *top.values(),
        *dup.values(),
    )


def c4_lines(text: str) -> C4Lines:
    """Return the C4 line statistics of a text (see C4Lines for each field)."""
    stats = TextStats(text)
    lines = stats.lines
    no_punct = list(
        map(
            or_,
            map(not_, map(str.endswith, lines, repeat(C4_TERMINAL))),
            map(str.endswith, lines, repeat(C4_ELLIPSIS)),
        )
    )
    few_words = map(str.split, lines, repeat(None), repeat(C4_MIN_WORDS_PER_LINE - 1))
    short = list(map(lt, map(len, few_words), repeat(C4_MIN_WORDS_PER_LINE)))
    drop = list(map(or_, no_punct, short))
    low = text.lower()
    javascript = policy = 0
    if "javascript" in low:
        flags = list(map(contains, map(str.lower, lines), repeat("javascript")))
        javascript = sum(flags)
        drop = list(map(or_, drop, flags))
    if any(p in low for p in POLICY_PHRASES):
        flags = [any(p in line for p in POLICY_PHRASES) for line in map(str.lower, lines)]
        policy = sum(flags)
        drop = list(map(or_, drop, flags))
    dropped = _line_ranges(stats, list(compress(range(len(lines)), drop)))
    kept = list(compress(lines, map(not_, drop)))
    kept_text = "\n".join(kept)
    sentences = len(kept) + len(INNER_SENTENCE_END.findall(kept_text)) if kept else 0
    return C4Lines(
        len(lines),
        sum(no_punct),
        sum(short),
        javascript,
        policy,
        dropped,
        kept_text,
        sentences,
        "lorem ipsum" in low,
    )


def _line_ranges(stats: TextStats, which: list[int]) -> list[tuple[int, int]]:
    """Return (start, end) of each of the non-blank lines numbered `which` (ascending)."""
    raw = stats.raw_lines
    lines = stats.lines
    where = list(compress(range(len(raw)), stats.stripped_lines))  # raw index of each line
    starts = [0]
    for line in raw:
        starts.append(starts[-1] + len(line) + 1)  # characters before each raw line
    ranges: list[tuple[int, int]] = []
    for k in which:
        i = where[k]
        line = raw[i]
        lead = starts[i] + len(line) - len(line.lstrip())
        ranges.append((lead, lead + len(lines[k])))
    return ranges


def word_tokens(low: str) -> set[str]:
    """Return the distinct word tokens (runs of `\\w`) of a text."""
    return set(WORD_TOKEN.findall(low))


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
