"""Find benchmark examples in texts: matched n-grams, coverage per example, matched spans.

An example counts as present in a text when the share of its coverable words (words inside
one of its non-common n-grams) that lie in an n-gram found in the text reaches
`min_coverage`: word coverage, as Llama 2's contamination study measured it, rather than a
single hit. A half-copied example covers about half its words; a text that shares one
sentence with a long example covers little of it.

Per text the result lists each present example with its coverage and its regions (maximal
runs of overlapping matched n-grams, as character spans), the highest coverage of any
touched example, and the longest run of matched words (any matched n-gram counts there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dolmakit.contamination.lookup import BenchmarkIndex
from dolmakit.contamination.ngrams import Ngrams, ngram_hashes
from dolmakit.errors import ConfigError

DEFAULT_MIN_COVERAGE = 0.4


@dataclass(frozen=True)
class ExampleHit:
    """A present example: its row in the index, its coverage, its regions in the text."""

    example: int
    coverage: float
    regions: tuple[tuple[int, int], ...]
    words: int


@dataclass(frozen=True)
class TextMatches:
    """The contamination of one text (an empty `hits` when no example is present)."""

    hits: tuple[ExampleHit, ...] = ()
    max_coverage: float = 0.0
    longest: int = 0


NO_MATCH = TextMatches()


def check_min_coverage(value: float) -> float:
    """Return `value` if it is a share in (0, 1]."""
    if not 0.0 < float(value) <= 1.0:
        raise ConfigError(f"min_coverage = {value}: use a share in (0, 1], e.g. 0.4")
    return float(value)


def match_texts(
    index: BenchmarkIndex, texts: Sequence[str], min_coverage: float = DEFAULT_MIN_COVERAGE
) -> list[TextMatches]:
    """Return the contamination of each text: n-grams hashed in bulk, looked up at once."""
    grams = ngram_hashes(texts, index.n)
    hits = index.lookup(grams.hashes)
    out = [NO_MATCH] * len(texts)
    if hits.query.size == 0:
        return out
    texts_hit = grams.text[hits.query]
    bounds = np.flatnonzero(np.diff(texts_hit)) + 1
    for q, e in zip(np.split(hits.query, bounds), np.split(hits.entry, bounds), strict=True):
        t = int(grams.text[q[0]])
        out[t] = _one_text(index, grams, q, e, min_coverage)
    return out


def _one_text(
    index: BenchmarkIndex,
    grams: Ngrams,
    query: npt.NDArray[np.int64],
    entry: npt.NDArray[np.int64],
    min_coverage: float,
) -> TextMatches:
    n = index.n
    example = index.examples[entry].astype(np.int64)
    position = index.positions[entry].astype(np.int64)
    covered = np.unique(((example << 17) | position)[:, None] + np.arange(n, dtype=np.int64))
    touched, words = np.unique(covered >> 17, return_counts=True)
    coverage = words / np.maximum(index.coverable[touched], 1)
    word_at = grams.word[query]
    longest = _longest_run(np.unique(word_at), n)
    hits = []
    for ex, share, count in zip(touched, coverage, words, strict=True):
        if share + 1e-12 < min_coverage:
            continue
        mine = example == ex
        hits.append(
            ExampleHit(
                int(ex),
                float(min(share, 1.0)),
                _regions(word_at[mine], grams.start[query[mine]], grams.end[query[mine]], n),
                int(count),
            )
        )
    return TextMatches(tuple(hits), float(min(coverage.max(), 1.0)), longest)


def _longest_run(starts: npt.NDArray[np.int64], n: int) -> int:
    """Return the most words in one run of overlapping n-grams starting at `starts` (sorted)."""
    if starts.size == 0:
        return 0
    breaks = np.flatnonzero(np.diff(starts) >= n) + 1
    firsts = np.concatenate(([0], breaks))
    lasts = np.concatenate((breaks - 1, [starts.size - 1]))
    return int((starts[lasts] - starts[firsts]).max()) + n


def _regions(
    word: npt.NDArray[np.int64],
    start: npt.NDArray[np.int64],
    end: npt.NDArray[np.int64],
    n: int,
) -> tuple[tuple[int, int], ...]:
    """Return the character spans of the runs of overlapping n-grams (word order)."""
    order = np.argsort(word, kind="stable")
    word, start, end = word[order], start[order], end[order]
    regions: list[tuple[int, int]] = []
    run_start, run_end, last_word = int(start[0]), int(end[0]), int(word[0])
    for w, s, e in zip(word[1:].tolist(), start[1:].tolist(), end[1:].tolist(), strict=True):
        if w - last_word < n:
            run_end = max(run_end, e)
        else:
            regions.append((run_start, run_end))
            run_start, run_end = s, e
        last_word = w
    regions.append((run_start, run_end))
    return tuple(regions)
