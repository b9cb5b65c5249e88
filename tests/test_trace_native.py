"""The compiled span-index searches (dolmakit._suffix) against their pure-Python reference.

The reference (dolmakit.trace.suffix.bound and longest_match, trace.build's word count)
defines the results; the compiled module must give the same ranks, match lengths and word
counts on random texts over a small alphabet (so that keys repeat, share long prefixes and
run off the end of the text), and both must agree with brute force over sorted suffixes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydivsufsort import divsufsort

from dolmakit.trace.build import count_words_reference
from dolmakit.trace.layout import SEPARATOR
from dolmakit.trace.suffix import NATIVE, bound, longest_match

needs_native = pytest.mark.skipif(NATIVE is None, reason="dolmakit._suffix is not built")

ALPHABET = [ord(c) for c in "ab \n"] + [SEPARATOR, 0, 0xFF, 0xC3]
texts = st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=200).map(bytes)
keys = st.lists(st.sampled_from(ALPHABET), min_size=0, max_size=12).map(bytes)


def suffix_array(text: bytes) -> bytes:
    """Return the int32 suffix array of `text` as bytes, as an index shard stores it."""
    return np.asarray(divsufsort(np.frombuffer(text, dtype=np.uint8).copy()), dtype="<i4").tobytes()


def brute_bound(text: bytes, key: bytes, upper: bool) -> int:
    """Count the suffixes whose first len(key) bytes sort before `key` (or equal, if upper)."""
    pieces = [text[p : p + len(key)] for p in range(len(text))]
    return sum(1 for piece in pieces if piece < key or (upper and piece == key))


def brute_longest(text: bytes, query: bytes) -> int:
    """Return the longest prefix length of `query` found anywhere in `text`."""
    return max((n for n in range(len(query) + 1) if query[:n] in text), default=0)


@needs_native
@given(texts, keys, st.booleans())
@example(b"ab", b"abab", False)
@example(b"aaaa", b"aa", True)
def test_bound_matches_reference_and_brute_force(text: bytes, key: bytes, upper: bool) -> None:
    assert NATIVE is not None
    sa = suffix_array(text)
    view = memoryview(sa).cast("i")
    expected = brute_bound(text, key, upper)
    assert bound(text, view, key, upper=upper) == expected
    assert NATIVE.bound(text, sa, key, upper) == expected


@needs_native
@given(texts, st.integers(0, 200), st.integers(0, 200), keys)
@example(b"ab ab", 0, 5, b"")
@example(b"ab ab", 3, 2, b"a")
def test_longest_match_matches_reference_and_brute_force(
    text: bytes, start: int, length: int, tail: bytes
) -> None:
    assert NATIVE is not None
    # a piece of the text then random bytes, so that long matches and near misses occur
    query = text[start : start + length] + tail
    sa = suffix_array(text)
    expected = brute_longest(text, query)
    assert longest_match(text, memoryview(sa).cast("i"), query) == expected
    assert NATIVE.longest_match(text, sa, query) == expected


@needs_native
@given(st.lists(st.sampled_from([*ALPHABET, 9, 11, 12, 13, ord("x")]), max_size=300).map(bytes))
def test_count_words_matches_reference(data: bytes) -> None:
    assert NATIVE is not None
    spaces = b" \t\n\x0b\x0c\r" + bytes([SEPARATOR])
    expected = len(bytes(32 if b in spaces else b for b in data).split())
    assert NATIVE.count_words(data, SEPARATOR) == expected
    assert count_words_reference(data) == expected


@needs_native
def test_a_suffix_array_of_the_wrong_size_is_refused() -> None:
    assert NATIVE is not None
    with pytest.raises(ValueError, match="one int32 per text byte"):
        NATIVE.bound(b"abc", b"\0" * 8, b"a", False)
