"""PII candidate positions: compiled vs reference, and candidates vs whole-text scans.

`pii_scan.reference_candidates` defines the candidates; the compiled
`dolmakit._textstats.pii_candidates` must give identical ones. Trying the pii patterns only at
the candidates must find exactly what `finditer` over the whole text finds, so the tagger's
spans do not depend on the candidates (or on whether the extension is built).
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

pytest.importorskip("phonenumbers")
pytest.importorskip("stdnum")

from dolmakit.taggers import pii
from dolmakit.taggers.pii_scan import (
    Candidates,
    candidate_finder,
    matches_around,
    matches_at,
    reference_candidates,
)
from dolmakit.taggers.rules.text import load_native

NATIVE = getattr(load_native(), "pii_candidates", None)
needs_native = pytest.mark.skipif(NATIVE is None, reason="dolmakit._textstats is not built")
TESTSET = Path(__file__).parent / "data" / "pii" / "pii_testset.jsonl.gz"

# Characters the candidates depend on: ASCII and other decimal digits (Arabic-Indic three,
# fullwidth one), digits re's \d rejects (superscript two, one half), the separators and
# look-behind characters of the patterns, whitespace outside ASCII, word characters, hex and
# uppercase letters, and a character outside the Basic Multilingual Plane.
SPECIAL = "0123456789٣１²½ -.,+()_:@\n\t\xa0\u2028abfFgzABGWZé日\U0001d7d8"
PIECES = (
    "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005", "123-45-6789",
    "123 45 6789", "SSN: 123456789", "8.8.8.8", "192.168.1.1", "1.2.3.4.5", "v1.2.3.4",
    "GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "2001:db8::1", "fe80::1ff:fe23",
    "::1", "a::b", "+1 (202) 555-0143", "+49 30 901820", "(555) 123-4567", "x@example.org",
)  # fmt: skip
PATTERNS = {"iban": pii._IBAN, "card": pii._CARD, "ssn": pii._SSN, "ipv4": pii._IPV4}
ORIGINAL_PHONE_TEST = re.compile(r"\+?\(?\d[\d\s().-]{5,18}\d")


def texts() -> st.SearchStrategy[str]:
    """Random texts of digit runs, separators, PII-looking pieces and any characters."""
    piece = st.one_of(
        st.text(alphabet=SPECIAL, min_size=1, max_size=6),
        st.text(alphabet="0123456789 -.:", min_size=1, max_size=24),
        st.sampled_from(PIECES),
        st.text(max_size=3),
    )
    return st.lists(piece, max_size=40).map("".join)


def test_reference_candidates_hand_worked() -> None:
    text = "IBAN GB82 WEST, card 4111 1111 1111 1111; v1.2.3.4 10.0.0.1 fe80::1"
    # 0: "IBAN" (I, B then A, N: no digits); 5: "GB82". 21: the card's 16 digits; from the
    # later groups 26 holds 12 digits (an SSN's 9, not a card's 13), 31 only 8. "1.2.3.4"
    # follows a word character; "10.0.0.1" starts at 51. "fe80::1" (60) is hex, ':', ':'; its
    # "::" (64) follows a word character. "4111 1111" has a digit, 5 characters of
    # [\d\s().-], then a digit: a phone candidate.
    assert reference_candidates(text) == Candidates(
        iban=[5], card=[21], ssn=[21, 26], ipv4=[51], ipv6=[60], phone=True
    )
    # ":b:" after a space is a candidate (the pattern may start with ':'); "abcde:f:" is not
    # (5 hex digits), nor "x:a:b:" after its first letter (x is no hex digit, the rest follow
    # word characters or ':').
    assert reference_candidates("a :b: abcde:f: x:a:b:") == Candidates([], [], [], [], [2], False)
    # Digits 5 apart are too close for a phone; 6 apart are enough; 20 apart too far.
    assert not reference_candidates("1-2-3").phone
    assert reference_candidates("1 (2) 3").phone
    assert not reference_candidates("1" + " " * 19 + "2").phone


@needs_native
@settings(max_examples=600, deadline=None)
@given(texts())
@example("")
@example("1" * 30)
@example("٣٣٣-٣٣-٣٣٣٣ ١.١.١.١ GB٣٣")
@example("a" + "1 " * 20)
@example("::" + ":" * 10 + "1234:")
def test_native_candidates_equal_reference(text: str) -> None:
    assert NATIVE is not None
    assert Candidates(*NATIVE(text)) == reference_candidates(text)


@settings(max_examples=600, deadline=None)
@given(texts())
@example("1234 5678 9012 3456 7890 1234")
@example("0.0.0.0.0 1.2.3.4")
@example("DE89 3704 0044 0532 0130 00 GB82")
def test_matches_at_candidates_equal_finditer(text: str) -> None:
    candidates = reference_candidates(text)
    for kind, pattern in PATTERNS.items():
        starts = getattr(candidates, kind)
        got = [m.span() for m in matches_at(pattern, text, starts)]
        assert got == [m.span() for m in pattern.finditer(text)], kind
    got = [m.span() for m in matches_at(pii._IPV6, text, candidates.ipv6)]
    assert got == [m.span() for m in pii._IPV6.finditer(text)], "ipv6"
    assert candidates.phone == (ORIGINAL_PHONE_TEST.search(text) is not None)


def email_texts() -> st.SearchStrategy[str]:
    """Random texts of address parts: local parts up to and past 64 characters, dots, '@'."""
    local = st.text(alphabet="ab9._%+-", min_size=1, max_size=70)
    piece = st.one_of(
        local,
        st.sampled_from(["@", "@@", "example.org", ".org", "a.b.cd", "x@y.zz", " ", "\n", "é"]),
        st.text(alphabet="aZ9.-_@ %+", min_size=1, max_size=8),
        st.builds(lambda n: "a" * n + "@b.cd", st.integers(60, 68)),
    )
    return st.lists(piece, max_size=30).map("".join)


@given(email_texts())
@example("a" * 64 + "@b.cd")  # the longest local part
@example("a" * 65 + "@b.cd")  # one too long: the match starts one character later
@example("x@y.zz " + "b" * 70 + "@c.de, " + "." * 80 + "a@b.cd")
def test_matches_around_equal_finditer(text: str) -> None:
    got = [m.span() for m in matches_around(pii._EMAIL, text, "@", pii.EMAIL_LOCAL_MAX)]
    assert got == [m.span() for m in pii._EMAIL.finditer(text)]


def test_matches_around_needs_the_true_reach() -> None:
    text = "a" * 40 + "@b.cd"  # the search must start 40 characters before the mark
    assert [m.start() for m in matches_around(pii._EMAIL, text, "@", 64)] == [0]
    # Too short a reach starts inside the local part, where the look-behind rejects it.
    assert list(matches_around(pii._EMAIL, text, "@", 10)) == []


def test_matches_at_skips_starts_inside_a_match() -> None:
    pattern = re.compile(r"\d+")
    assert [m.group() for m in matches_at(pattern, "12 345", [0, 1, 3, 4])] == ["12", "345"]
    assert list(matches_at(pattern, "ab", [0, 1])) == []


def test_candidate_finder_pure_python_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    assert candidate_finder(native=False) is reference_candidates
    monkeypatch.setenv("DOLMAKIT_PURE_PYTHON", "1")
    assert candidate_finder() is reference_candidates


@settings(max_examples=200, deadline=None)
@given(texts())
def test_tagger_same_spans_native_or_reference(text: str) -> None:
    native, reference = pii.PiiTagger(), pii.PiiTagger()
    reference._candidates = reference_candidates
    assert native.tag_text(text) == reference.tag_text(text)


def test_tagger_same_spans_on_test_set_native_or_reference() -> None:
    native, reference = pii.PiiTagger(), pii.PiiTagger()
    reference._candidates = reference_candidates
    with gzip.open(TESTSET, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    assert rows
    for row in rows:
        assert native.tag_text(row["text"]) == reference.tag_text(row["text"])
