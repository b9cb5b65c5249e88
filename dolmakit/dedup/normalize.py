"""Normalise text and split it into tokens for shingling and exact matching.

Normalisation (MinHash): Unicode NFKC, lower case, punctuation and symbols (categories P*, S*)
become spaces, decimal digits (Nd) become `0`. Tokens are whitespace-separated words, except
that every character of a script written without spaces (Han, Hiragana, Katakana, Thai, Lao,
Khmer, Myanmar) is a token of its own, so word n-grams over such text are character n-grams.

Speed (profiled on the benchmark corpus): `str.translate` with the full table costs ~100 us on
a 2 KB non-ASCII document (one dict lookup per character) but ~3 us on ASCII text (CPython's
ASCII fast path), so non-ASCII text replaces only the distinct characters it contains, each
with one `str.replace`; the result is the same string. A batch of documents (`batch_token_bytes`)
is normalised in one pass instead: the NFKC, lower-cased texts are joined with U+FFFF (a
noncharacter that NFKC, lower-casing and the table leave alone, and that acts as a word
boundary for lower-casing), mapped code point by code point through a numpy table (whitespace
to ' ' too), encoded to UTF-8 once and split into byte tokens, which are what gets hashed; a
batch in which a text contains U+FFFF falls back to one text at a time.
"""

from __future__ import annotations

import functools
import itertools
import re
import sys
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from dolmakit.native import load_native

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
_FIRST_UNSPACED = "\u0e00"  # no character below this is in _UNSPACED
_FIRST_UNSPACED_POINT = ord(_FIRST_UNSPACED)


# Unicode general categories: punctuation (P*) and symbols (S*) become spaces, digits '0'.
_REPLACEMENT = dict.fromkeys(
    ("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So"), " "
)
_REPLACEMENT["Nd"] = "0"


@functools.cache
def _table() -> dict[int, str]:
    """Return the translation table: punctuation and symbols to space, digits to '0'.

    Built once per process over every code point, in C-level iteration (map, compress):
    a Python loop over the 1.1 million code points costs every pool worker ~0.2 s more, and
    the string of all code points is decoded at once (0.1 s less than joining `chr`s).
    """
    every = (
        np.arange(sys.maxunicode + 1, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")
    )
    replaced = list(map(_REPLACEMENT.get, map(unicodedata.category, every)))
    return {cp: r for cp, r in itertools.compress(enumerate(replaced), replaced) if r}


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


@functools.cache
def _code_table() -> npt.NDArray[np.uint32]:
    """Return the translation table as an array indexed by code point, whitespace to ' '.

    Mapping every whitespace character to a space does not change the tokens (they are split
    on any whitespace) and lets UTF-8 bytes be split on ASCII whitespace.
    """
    table = np.arange(sys.maxunicode + 1, dtype=np.uint32)
    mapping = _table()
    table[np.fromiter(mapping, dtype=np.int64, count=len(mapping))] = np.fromiter(
        map(ord, mapping.values()), dtype=np.uint32, count=len(mapping)
    )
    spaces = [cp for cp in range(0x3001) if chr(cp).isspace()]  # none above U+3000
    table[spaces] = ord(" ")
    return table


_SEPARATOR = "\uffff"
_SEPARATOR_UTF8 = _SEPARATOR.encode()


def batch_token_bytes(texts: Sequence[str]) -> list[list[bytes]]:
    """Return the UTF-8 tokens of every text, normalising the whole batch in a few passes.

    Equal to `[[t.encode() for t in tokens(text)] for text in texts]` (lone surrogates pass
    through as in `errors="surrogatepass"`).
    """
    return [p.split() if isinstance(p, bytes) else p for p in batch_normal_parts(texts)]


def batch_normal_parts(texts: Sequence[str]) -> list[bytes | list[bytes]]:
    """Return per text its tokens, as `batch_token_bytes` does, or bytes that split into them.

    A text without characters of an unspaced script gives its normalised UTF-8 bytes, whose
    `split()` (at ASCII whitespace) is its tokens: a caller that only hashes the tokens can
    split and hash in one compiled pass. Any other text gives its list of tokens.
    """
    if _map_utf8 is not None:
        return _compiled_normal_parts(texts)
    if not texts or any(_SEPARATOR in text for text in texts):
        return [[t.encode("utf-8", "surrogatepass") for t in tokens(x)] for x in texts]
    nfkc = unicodedata.normalize  # per text: its quick check skips texts already in NFKC
    joined = _SEPARATOR.join([nfkc("NFKC", text) for text in texts]).lower()
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    points = _code_table()[codes]
    # Largest code point of each text: below U+0E00 no character of an unspaced script.
    bounds = np.flatnonzero(points == ord(_SEPARATOR))
    starts = np.concatenate(([0], bounds + 1))
    padded = np.append(points, np.uint32(0))  # empty texts reduce over the pad
    top = np.maximum.reduceat(padded, starts)
    top[starts == np.append(bounds, len(points))] = 0
    maybe_unspaced = (top >= ord(_FIRST_UNSPACED)).tolist()
    normal = points.tobytes().decode("utf-32-le", "surrogatepass")
    parts = normal.encode("utf-8", "surrogatepass").split(_SEPARATOR_UTF8)
    out: list[bytes | list[bytes]] = []
    for part, unspaced in zip(parts, maybe_unspaced, strict=True):
        text = part.decode("utf-8", "surrogatepass") if unspaced else ""
        if unspaced and _HAS_UNSPACED_RE.search(text) is not None:
            out.append([t.encode("utf-8", "surrogatepass") for t in _TOKEN_RE.findall(text)])
        else:
            out.append(part)
    return out


def _compiled_normal_parts(texts: Sequence[str]) -> list[bytes | list[bytes]]:
    """Return `batch_normal_parts(texts)`, each text mapped and encoded in one compiled pass."""
    assert _map_utf8 is not None
    table = _code_table()
    nfkc = unicodedata.normalize
    out: list[bytes | list[bytes]] = []
    for text in texts:
        part, top = _map_utf8(nfkc("NFKC", text).lower(), table)
        if top >= _FIRST_UNSPACED_POINT:
            normal = part.decode("utf-8", "surrogatepass")
            if _HAS_UNSPACED_RE.search(normal) is not None:
                out.append([t.encode("utf-8", "surrogatepass") for t in _TOKEN_RE.findall(normal)])
                continue
        out.append(part)
    return out


def batch_tokens(texts: Sequence[str]) -> list[list[str]]:
    """Return `tokens(text)` of every text (through `batch_token_bytes`)."""
    return [
        [t.decode("utf-8", "surrogatepass") for t in words] for words in batch_token_bytes(texts)
    ]


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
    # str.split() splits at exactly the characters `\s` matches (both use str.isspace), so
    # this is `re.sub(r"\s+", " ", ...).strip()`, several times faster; the compiled
    # `collapse_spaces` is that join without the list of words.
    return _collapse_spaces(unicodedata.normalize("NFKC", text).lower())


def _join_words(text: str) -> str:
    """Return `" ".join(text.split())` (the reference of the compiled `collapse_spaces`)."""
    return " ".join(text.split())


_collapse_spaces: Callable[[str], str] = getattr(
    load_native("_textstats"), "collapse_spaces", _join_words
)
# (text, table) -> (UTF-8 of the text mapped through the table, largest mapped code point)
_map_utf8: Callable[[str, Any], tuple[bytes, int]] | None = getattr(
    load_native("_textstats"), "map_utf8", None
)
