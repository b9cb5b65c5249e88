"""Normalise text and split it into tokens for shingling and exact matching.

Normalisation (MinHash): Unicode NFKC, lower case, punctuation and symbols (categories P*, S*)
become spaces, decimal digits (Nd) become `0`. Tokens are whitespace-separated words, except
that every character of a script written without spaces (Han, Hiragana, Katakana, Thai, Lao,
Khmer, Myanmar) is a token of its own, so word n-grams over such text are character n-grams.
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


def normalize_text(text: str) -> str:
    """Return NFKC, lower-cased text with punctuation as spaces and digits as '0'."""
    return unicodedata.normalize("NFKC", text).lower().translate(_table())


def tokenize(text: str) -> list[str]:
    """Return the tokens of already normalised text (words; single chars of unspaced scripts)."""
    if _HAS_UNSPACED_RE.search(text) is None:
        return text.split()  # the same tokens, several times faster
    return _TOKEN_RE.findall(text)


def light_normalize(text: str) -> str:
    """Return NFKC, lower-cased text with runs of whitespace collapsed and ends stripped.

    Used by exact deduplication: documents equal up to case, Unicode form and spacing match;
    punctuation and digits still count.
    """
    return _SPACE_RE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()
