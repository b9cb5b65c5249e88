"""Word n-gram repetition statistics of the Gopher rules: top 2-4-grams, duplicate 5-10-grams.

Definitions (docs/taggers.md): n-grams are over words as they are; an n-gram's characters are
those of its words, without separators. *Top* n-gram: count x characters of the most
frequent n-gram (overlapping occurrences all count; ties go to the n-gram with more
characters), 0 if none occurs twice. *Duplicate* n-grams: scanning left to right, an n-gram
that occurred at an earlier position marks its n words as duplicate; each word counts once.

One pass per n, shrinking as n grows: an n-gram can occur twice only where its first n-1
words do, so level n looks only at the positions whose (n-1)-gram repeats, and stops as soon
as no n-gram repeats (no longer one can). Counting is done by C-level builtins (Counter, zip,
map, itertools.compress); the Python loop runs only over repeated 5-10-gram positions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import accumulate, compress, pairwise, repeat
from operator import add, eq, gt, ne, sub

TOP_NGRAMS = (2, 3, 4)
DUPLICATE_NGRAMS = (5, 6, 7, 8, 9, 10)
_LONGEST = DUPLICATE_NGRAMS[-1]
_ONES = {n: b"\x01" * n for n in DUPLICATE_NGRAMS}


def repeated_ngram_chars(
    words: Sequence[str], lengths: Sequence[int]
) -> tuple[dict[int, int], dict[int, int]]:
    """Return ({n: top n-gram characters}, {n: duplicate n-gram characters}).

    `lengths[i]` is `len(words[i])`. Top values are count x characters of the most frequent
    n-gram (n = 2..4), duplicate values the characters of words covered by repeated copies
    (n = 5..10); both are 0 when no n-gram of that size repeats.
    """
    top = dict.fromkeys(TOP_NGRAMS, 0)
    dup = dict.fromkeys(DUPLICATE_NGRAMS, 0)
    m = len(words)
    if m < 2:
        return top, dup
    ends = [0, *accumulate(lengths)]  # characters of words[i:j] = ends[j] - ends[i]
    at = ends.__getitem__
    word_at = words.__getitem__
    pos: Sequence[int] = range(m - 1)
    grams: list[tuple[object, str]] = list(pairwise(words))
    for n in range(2, _LONGEST + 1):
        counts = Counter(grams)
        if len(counts) == len(grams):
            break  # no n-gram repeats, so no longer one does
        count_of = counts.__getitem__
        if n in top:
            best = max(counts.values())
            if n == 2:  # the tied bigrams themselves are few: measure them directly
                ties = compress(counts.keys(), map(eq, counts.values(), repeat(best)))
                chars = max(map(len, map("".join, ties)))  # type: ignore[arg-type]
            else:
                spans = map(sub, map(at, map(add, pos, repeat(n))), map(at, pos))
                chars = max(compress(spans, map(eq, map(count_of, grams), repeat(best))))
            top[n] = best * chars
        else:
            first = dict(zip(reversed(grams), reversed(pos), strict=True))
            covered = bytearray(m)
            ones = _ONES[n]
            for p in compress(pos, map(ne, map(first.__getitem__, grams), pos)):
                covered[p : p + n] = ones
            dup[n] = sum(compress(lengths, covered))
        if n == _LONGEST:
            break
        keep = list(map(gt, map(count_of, grams), repeat(1)))
        next_pos = list(compress(pos, keep))
        kept = list(compress(grams, keep))
        while next_pos and next_pos[-1] + n >= m:  # no word left to extend the n-gram
            next_pos.pop()
            kept.pop()
        grams = list(zip(kept, map(word_at, map(add, next_pos, repeat(n))), strict=True))
        pos = next_pos
    return top, dup
