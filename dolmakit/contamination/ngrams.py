"""Normalise text into words and hash its word n-grams into 64-bit values, in bulk.

The normalisation (`NORMALISATION`, recorded in every index and checked by the tagger):

1. Every character is lower-cased on its own (`str.lower` of that one character, kept only
   when it gives exactly one character, so character offsets never move).
2. A word is a maximal run of characters for which `str.isalnum` is true; everything else
   (whitespace, punctuation, symbols, `_`) only separates words. "Don't!" is `don t`;
   "AT&T" is `at t`; "x_1" is `x 1`.
3. A word's hash is a polynomial in its code points modulo 2**64, finished by the splitmix64
   mixer; an n-gram's hash is a polynomial in its n word hashes, mixed again (`HASH`).

So case, whitespace and punctuation changes give the same n-grams, and any other change to a
word changes every n-gram that contains it. Scripts written without spaces (Chinese,
Japanese) make one word of each run of characters: n-grams of such text are runs of phrases.

Everything is numpy over the code points of many texts at once (`encode("utf-32-le")` keeps
character offsets exact); no Python code runs per word.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

NORMALISATION = "words-v1"
HASH = "poly64-splitmix64-v1"
DEFAULT_N = 13
# Odd multipliers (so each has an inverse modulo 2**64): characters within a word, words
# within an n-gram.
_CHAR_BASE = 0x9E3779B97F4A7C15
_WORD_BASE = 0xC2B2AE3D27D4EB4F
_CHAR_INVERSE = pow(_CHAR_BASE, -1, 1 << 64)
_MAX_CODE_POINT = 0x110000
# Powers of the character base are cached up to this many characters; longer chunks of
# text compute their own.
_POWER_CACHE = 1 << 21
_CHUNK_CHARS = 1 << 20

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Ngrams:
    """The word n-grams of a batch of texts, in text order then position order.

    `hashes[i]` is the hash of the n-gram starting at word `word[i]` of text `text[i]`; its
    characters are `[start[i], end[i])` of that text. `words[t]` is the word count of text t.
    """

    hashes: U64
    text: I64
    word: I64
    start: I64
    end: I64
    words: I64


@functools.cache
def _table() -> npt.NDArray[np.uint32]:
    """Return, per code point, its lower-cased code point if it is a word character, else 0."""
    table = np.zeros(_MAX_CODE_POINT, dtype=np.uint32)
    for cp in range(_MAX_CODE_POINT):
        ch = chr(cp)
        if ch.isalnum():
            low = ch.lower()
            table[cp] = ord(low) if len(low) == 1 else cp
    return table


@functools.cache
def _powers(size: int) -> tuple[U64, U64]:
    """Return (base**i, inverse**i) modulo 2**64 for i < size."""
    up = np.full(size, _CHAR_BASE, dtype=np.uint64)
    down = np.full(size, _CHAR_INVERSE, dtype=np.uint64)
    up[0] = down[0] = 1
    with np.errstate(over="ignore"):
        return np.cumprod(up, dtype=np.uint64), np.cumprod(down, dtype=np.uint64)


def _powers_for(size: int) -> tuple[U64, U64]:
    if size <= _POWER_CACHE:
        return _powers(_POWER_CACHE)
    return _powers(size)


def mix64(values: U64) -> U64:
    """Return the splitmix64 finaliser of each value (a bijection on 64-bit integers)."""
    z = values.copy()
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def normalise(text: str) -> list[str]:
    """Return the normalised words of `text` (the reference the hashing follows)."""
    words: list[str] = []
    current: list[str] = []
    for ch in text:
        if ch.isalnum():
            low = ch.lower()
            current.append(low if len(low) == 1 else ch)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def _word_hashes(joined: str) -> tuple[U64, I64, I64]:
    """Return (hash, start, end) of every word of `joined`, offsets in characters."""
    cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if cps.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=np.uint64), empty, empty
    folded = np.take(_table(), cps)
    flags = folded != 0
    edges = np.diff(flags.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    if starts.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=np.uint64), empty, empty
    up, down = _powers_for(cps.size)
    with np.errstate(over="ignore"):
        weighted = folded.astype(np.uint64)
        weighted *= up[: cps.size]
        prefix = np.cumsum(weighted, dtype=np.uint64)
        total = prefix[ends - 1]
        before = np.where(starts > 0, prefix[np.maximum(starts - 1, 0)], np.uint64(0))
        hashes = (total - before) * down[starts]
    return mix64(hashes), starts.astype(np.int64), ends.astype(np.int64)


def ngram_hashes(texts: Sequence[str], n: int = DEFAULT_N) -> Ngrams:
    """Return every word n-gram of `texts` with its hash, text, word index and characters.

    A text with fewer than n words has no n-gram; n-grams never cross from one text to the
    next. Texts are hashed in chunks of about a million characters.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    parts: list[tuple[U64, I64, I64, I64, I64]] = []
    words = np.zeros(len(texts), dtype=np.int64)
    first = 0
    while first < len(texts):
        last, size = first, 0
        while last < len(texts) and (last == first or size + len(texts[last]) < _CHUNK_CHARS):
            size += len(texts[last]) + 1
            last += 1
        parts.append(_chunk(texts, first, last, n, words))
        first = last
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return Ngrams(np.zeros(0, dtype=np.uint64), empty, empty, empty, empty, words)
    cols = [np.concatenate([p[i] for p in parts]) for i in range(5)]
    return Ngrams(cols[0], cols[1], cols[2], cols[3], cols[4], words)


def _chunk(
    texts: Sequence[str], first: int, last: int, n: int, words: I64
) -> tuple[U64, I64, I64, I64, I64]:
    """Hash the n-grams of texts[first:last], joined by a separator so words never merge."""
    chunk = texts[first:last]
    joined = "\n".join(chunk)
    lengths = np.fromiter((len(t) + 1 for t in chunk), dtype=np.int64, count=len(chunk))
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    hashes, starts, ends = _word_hashes(joined)
    doc = np.searchsorted(offsets, starts, side="right") - 1
    counts = np.bincount(doc, minlength=len(chunk))
    words[first:last] = counts
    m = hashes.size - n + 1
    if m <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=np.uint64), empty, empty, empty, empty
    acc = hashes[:m].copy()
    base = np.uint64(_WORD_BASE)
    with np.errstate(over="ignore"):
        for k in range(1, n):
            acc *= base
            acc += hashes[k : k + m]
    keep = doc[:m] == doc[n - 1 :]
    index = np.flatnonzero(keep)
    text = doc[index]
    word_first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return (
        mix64(acc[index]),
        (text + first).astype(np.int64),
        (index - word_first[text]).astype(np.int64),
        starts[index] - offsets[text],
        ends[index + n - 1] - offsets[text],
    )
