"""Find the maximal spans of an output that occur verbatim in a mix, and keep the telling ones.

A span is a run of whole words of one line (dolmakit.trace.words). For every word i, one
lookup finds the longest prefix of the line from word i that occurs in the mix; cut back to
the last word end inside it, it covers words i..j_i. Because a substring of a match is a
match, j_i never decreases; the span i..j_i is maximal (extends neither right, by the
lookup, nor left, since i-1..j_i would make j_{i-1} >= j_i) exactly when j_i > j_{i-1}.

Filters, OLMoTrace's with its defaults: at least `min_words` words; occurring at most
`max_frequency` times in the mix (rare spans are the informative ones); then at most
ceil(max_density * words of the output) spans, ranked by span unigram probability (the
product of the words' frequencies in the mix; rarest first) or by length.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from dolmakit.errors import DolmakitError
from dolmakit.trace.words import Line

Rank = Literal["probability", "length"]
RANKS: tuple[Rank, ...] = ("probability", "length")


class Matcher(Protocol):
    """What span finding needs from an index: longest matches and occurrence counts."""

    words: int

    def longest_match(self, query: bytes) -> int:
        """Return the length of the longest prefix of `query` occurring in the mix."""
        ...

    def count(self, key: bytes) -> int:
        """Return how many times `key` occurs in the mix."""
        ...


@dataclass(frozen=True)
class SpanOptions:
    """The span filters (OLMoTrace's defaults, `min_words` ours)."""

    min_words: int = 6
    max_frequency: int = 10
    max_density: float = 0.05
    rank: Rank = "probability"

    def __post_init__(self) -> None:
        if self.min_words < 1:
            raise DolmakitError(f"--min-words {self.min_words}: must be at least 1")
        if self.max_frequency < 1:
            raise DolmakitError(f"--max-frequency {self.max_frequency}: must be at least 1")
        if not 0 < self.max_density <= 1:
            raise DolmakitError(f"--max-density {self.max_density}: must be in (0, 1]")
        if self.rank not in RANKS:
            raise DolmakitError(f"--rank {self.rank!r}: choose one of {', '.join(RANKS)}")


@dataclass(frozen=True)
class Span:
    """A maximal span: words first..last of line `line`, its bytes and output offsets."""

    line: int
    first: int
    last: int
    start: int
    end: int
    data: bytes

    @property
    def words(self) -> int:
        """Return the number of words in the span."""
        return self.last - self.first + 1


@dataclass(frozen=True)
class RankedSpan:
    """A span kept by the filters, with its occurrence count and unigram log-probability."""

    span: Span
    count: int
    log_probability: float


def maximal_spans(lines: Sequence[Line], matcher: Matcher) -> list[Span]:
    """Return every maximal span of the lines, in output order (one lookup per word)."""
    spans = []
    for number, line in enumerate(lines):
        reach = -1  # j of the previous word
        for i, start in enumerate(line.starts):
            limit = start + matcher.longest_match(line.data[start:])
            j = bisect_right(line.ends, limit) - 1
            if j >= i and j > reach:
                end = line.ends[j]
                spans.append(
                    Span(number, i, j, line.char(start), line.char(end), line.data[start:end])
                )
            reach = max(reach, j)
    return spans


def select_spans(
    spans: Sequence[Span],
    lines: Sequence[Line],
    matcher: Matcher,
    options: SpanOptions,
    output_words: int,
) -> list[RankedSpan]:
    """Apply the length, frequency and density filters; return the kept spans in output order."""
    unigrams: dict[bytes, float] = {}

    def log_probability(span: Span) -> float:
        line = lines[span.line]
        total = 0.0
        for i in range(span.first, span.last + 1):
            word = line.data[line.starts[i] : line.ends[i]]
            if word not in unigrams:
                unigrams[word] = math.log(max(matcher.count(word), 1) / matcher.words)
            total += unigrams[word]
        return total

    kept = []
    for span in spans:
        if span.words < options.min_words:
            continue
        count = matcher.count(span.data)
        if 1 <= count <= options.max_frequency:
            kept.append(RankedSpan(span, count, log_probability(span)))
    if options.rank == "probability":
        kept.sort(key=lambda r: (r.log_probability, r.span.start, r.span.end))
    else:
        kept.sort(key=lambda r: (-r.span.words, -len(r.span.data), r.span.start))
    budget = math.ceil(options.max_density * output_words)
    return sorted(kept[:budget], key=lambda r: (r.span.start, r.span.end))
