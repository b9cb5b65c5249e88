"""Normalise text and split it into tokens for shingling and exact matching.

Normalisation (MinHash): Unicode NFKC, lower case, punctuation and symbols (categories P*, S*)
become spaces, decimal digits (Nd) become `0`. Tokens are whitespace-separated words, except
that every character of a script written without spaces (Han, Hiragana, Katakana, Thai, Lao,
Khmer, Myanmar) is a token of its own, so word n-grams over such text are character n-grams.

Speed (profiled on the benchmark corpus): `str.translate` with the full table costs ~100 us on
a 2 KB non-ASCII document (one dict lookup per character) but ~3 us on ASCII text (CPython's
ASCII fast path), so non-ASCII text replaces only the distinct characters it contains, each
with one `str.replace`; the result is the same string.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

# Scripts written without spaces between words: each character is one token.
_UNSPACED = (
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\U00020000-\U0002fa1f"  # CJK extensions B-F, compatibility supplement
)
_TOKEN_RE = re.compile(f"[{_UNSPACED}]|[^\\s{_UNSPACED}]+")
_HAS_UNSPACED_RE = re.compile(f"[{_UNSPACED}]")
_SPACE_RE = re.compile(r"\s+")
_FIRST_UNSPACED = "\u0e00"  # no character below this is in _UNSPACED


@functools.cache
def _table() -> dict[int, str]:
    """Return the translation table: punctuation and symbols to space, digits to '0'."""
    table: dict[int, str] = {}
    for cp in range(sys.maxunicode + 1):
        category = unicodedata.category(chr(cp))
        if category[0] in "PS":
            table[cp] = " "
        elif category == "Nd":
            table[cp] = "0"
    return table


@functools.cache
def _changed() -> frozenset[str]:
    """Return the characters the translation table changes."""
    return frozenset(map(chr, _table()))


def _normalize(text: str) -> tuple[str, bool]:
    """Return (normalised text, whether it may hold characters of an unspaced script)."""
    if text.isascii():  # NFKC leaves ASCII alone; translate has a fast path for it
        return text.lower().translate(_table()), False
    text = unicodedata.normalize("NFKC", text).lower()
    chars = set(text)
    table = _table()
    for char in chars & _changed():
        text = text.replace(char, table[ord(char)])
    return text, max(chars) >= _FIRST_UNSPACED


def normalize_text(text: str) -> str:
    """Return NFKC, lower-cased text with punctuation as spaces and digits as '0'."""
    return _normalize(text)[0]


def tokenize(text: str) -> list[str]:
    """Return the tokens of already normalised text (words; single chars of unspaced scripts)."""
    if text.isascii() or _HAS_UNSPACED_RE.search(text) is None:
        return text.split()  # the same tokens, several times faster
    return _TOKEN_RE.findall(text)


def tokens(text: str) -> list[str]:
    """Return the tokens of raw text: `tokenize(normalize_text(text))`, with fewer passes."""
    normal, maybe_unspaced = _normalize(text)
    if not maybe_unspaced or _HAS_UNSPACED_RE.search(normal) is None:
        return normal.split()
    return _TOKEN_RE.findall(normal)


def light_normalize(text: str) -> str:
    """Return NFKC, lower-cased text with runs of whitespace collapsed and ends stripped.

    Used by exact deduplication: documents equal up to case, Unicode form and spacing match;
    punctuation and digits still count.
    """
    return _SPACE_RE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()
