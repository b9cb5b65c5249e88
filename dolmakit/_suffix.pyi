"""Compiled suffix-array searches for the span index (pure-Python reference: trace.suffix)."""

from typing_extensions import Buffer

def bound(text: Buffer, sa: Buffer, key: Buffer, upper: bool, /) -> int:
    """Return the first rank whose suffix is >= key (> key if upper), on len(key) bytes."""

def longest_match(text: Buffer, sa: Buffer, key: Buffer, /) -> int:
    """Return the length of the longest prefix of key that occurs in the text."""

def count_words(data: Buffer, separator: int, /) -> int:
    """Return the number of runs of non-whitespace bytes (the separator counts as space)."""
