"""The LDNOOBW bad-word lists (shipped with dolmakit) and a C4-style matcher.

The lists are the 28 original LDNOOBW lists (CC BY 4.0), stored as package data in
`data/ldnoobw/<code>.txt`; `data/ldnoobw/README.md` gives their source and attribution.
Matching follows C4: in languages written with spaces a list entry matches only as whole
words (no word character right before or after it), case insensitively; in Japanese, Chinese
and Thai, which have no spaces, entries match anywhere.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from dolmakit.taggers.rules.text import NATIVE

WORDS_FOLDER = Path(__file__).resolve().parent / "data" / "ldnoobw"
SUBSTRING_LANGUAGES = frozenset({"ja", "zh", "th"})
_WORD = re.compile(r"\w+")


def list_language(lang: str) -> str:
    """Return the list name for a language code: 'pt-BR' -> 'pt_br', 'EN' -> 'en'."""
    return lang.strip().lower().replace("-", "_")


@functools.cache
def _list_files() -> dict[str, Path]:
    """Return {list name: file} of the shipped lists ('fr-CA-u-sd-caqc' -> 'fr_ca_u_sd_caqc')."""
    return {list_language(p.stem): p for p in sorted(WORDS_FOLDER.glob("*.txt"))}


@functools.cache
def available_languages() -> tuple[str, ...]:
    """Return the languages that have a word list, sorted."""
    return tuple(sorted(_list_files()))


@dataclass(frozen=True)
class WordList:
    """A bad-word list and its matcher; `find` returns non-overlapping (start, end) matches."""

    language: str
    entries: frozenset[str]
    by_first_token: dict[str, tuple[str, ...]]
    substring: bool
    first_tokens: frozenset[str] = frozenset()
    entry_tokens: dict[str, frozenset[str]] = field(default_factory=dict)
    symbols: tuple[str, ...] = ()  # entries that do not start with a word character
    bits: bytes = b""  # compiled path: a bit per token_hash of every entry token

    def find(self, text: str) -> list[tuple[int, int]]:
        """Return the character ranges of the entries found in `text`, left to right."""
        low = _lower_same_length(text)
        if self.substring:
            return self._find_substrings(low)
        # Only tokens of entries matter below: the compiled scan keeps (a superset of) those.
        native = NATIVE if self.bits else None
        tokens = native.tokens_in(low, self.bits) if native else set(_WORD.findall(low))
        needs = self.entry_tokens
        candidates = [
            entry
            for token in self.first_tokens.intersection(tokens)
            for entry in self.by_first_token[token]
            if needs[entry] <= tokens
        ]
        candidates += [entry for entry in self.symbols if entry in low]
        if not candidates:
            return []
        hits = sorted(
            (m.start(), -len(entry))
            for entry in candidates
            for m in _entry_pattern(entry).finditer(low)
        )
        return _leftmost_longest(hits)

    def _find_substrings(self, low: str) -> list[tuple[int, int]]:
        hits = []
        for entry in self.entries:
            start = low.find(entry)
            while start != -1:
                hits.append((start, -len(entry)))
                start = low.find(entry, start + 1)
        hits.sort()
        return _leftmost_longest(hits)


def _leftmost_longest(hits: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Return non-overlapping (start, end) from sorted (start, -length) hits."""
    found: list[tuple[int, int]] = []
    for start, negative_length in hits:
        if not found or start >= found[-1][1]:
            found.append((start, start - negative_length))
    return found


@functools.lru_cache(maxsize=16384)
def _entry_pattern(entry: str) -> re.Pattern[str]:
    """Return a pattern finding `entry` as whole words (no word character around it)."""
    return re.compile(rf"(?<!\w){re.escape(entry)}(?!\w)")


def _lower_same_length(text: str) -> str:
    """Lowercase `text`, keeping every character where lowercasing would change the length."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


@functools.cache
def load_word_list(lang: str) -> WordList | None:
    """Return the word list of a language, or None if LDNOOBW has none for it."""
    name = list_language(lang)
    files = _list_files()
    if name not in files:  # 'de_ch' falls back to 'de'
        name = name.split("_")[0]
        if name not in files:
            return None
    text = files[name].read_text(encoding="utf-8")
    entries = {line.strip().lower() for line in text.splitlines()} - {""}
    substring = name.split("_")[0] in SUBSTRING_LANGUAGES
    by_first: dict[str, list[str]] = {}
    symbols: list[str] = []
    if not substring:
        for entry in entries:
            first = _WORD.match(entry)
            if first is None:  # e.g. an emoji: looked for as a substring, then checked
                symbols.append(entry)
            else:
                by_first.setdefault(first.group(), []).append(entry)
    entry_tokens = {e: frozenset(_WORD.findall(e)) for e in entries}
    return WordList(
        language=name,
        entries=frozenset(entries),
        by_first_token={
            k: tuple(sorted(v, key=lambda e: (-len(e), e))) for k, v in sorted(by_first.items())
        },
        substring=substring,
        first_tokens=frozenset(by_first),
        entry_tokens=entry_tokens,
        symbols=tuple(sorted(symbols)),
        bits=_token_bits(frozenset().union(*entry_tokens.values())) if not substring else b"",
    )


def _token_bits(tokens: frozenset[str]) -> bytes:
    """Return the compiled scan's bit table for `tokens` (b"" without the compiled module)."""
    if NATIVE is None or not tokens:
        return b""
    size = 1 << 13  # bits; at least 16 per token
    while size < 16 * len(tokens):
        size <<= 1
    table = bytearray(size // 8)
    for token in tokens:
        h = NATIVE.token_hash(token) & (size - 1)
        table[h >> 3] |= 1 << (h & 7)
    return bytes(table)
