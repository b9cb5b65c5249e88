"""Where the `pii` tagger's patterns can match: one pass over a text instead of one per kind.

`Candidates` holds, for each digit-bearing kind, every position where its pattern in
`dolmakit.taggers.pii` could start a match (a necessary condition: the pattern is then tried
only there), and two flags for the kinds whose matchers run over the whole text.
`reference_candidates` defines the fields with regular expressions; the compiled
`dolmakit._textstats.pii_candidates` computes the same in one pass (tests/test_pii_scan.py
checks that both agree, and that trying the patterns only at the candidates finds exactly
what `finditer` over the whole text finds).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

from dolmakit.taggers.rules.text import load_native


class Candidates(NamedTuple):
    """Match positions a text can have, per kind (ascending code-point offsets)."""

    iban: list[int]  # an uppercase ASCII pair then two digits, not after a word character
    card: list[int]  # 13 digits joined by single spaces or hyphens, not after [\w.,+-]
    ssn: list[int]  # 9 digits joined by single spaces or hyphens, not after [\w.-]
    ipv4: list[int]  # a dotted quad of 1-3 digit groups, not after [\w.]
    ipv6: list[int]  # (up to 4 hex digits, ':') twice, not after [\w:.]
    phone: bool  # two digits 6 to 19 apart with only [\d\s().-] between them


_IBAN_AT = re.compile(r"(?<!\w)(?=[A-Z]{2}\d{2})")
_CARD_AT = re.compile(r"(?<![\w.,+-])(?=\d(?:[ -]?\d){12})")
_SSN_AT = re.compile(r"(?<![\w.-])(?=\d(?:[ -]?\d){8})")
_IPV4_AT = re.compile(r"(?<![\w.])(?=\d{1,3}(?:\.\d{1,3}){3})")
_IPV6_AT = re.compile(r"(?<![\w:.])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)")
_PHONE_RUN = re.compile(r"\d[\d\s().-]{5,18}\d")


def reference_candidates(text: str) -> Candidates:
    """Return the candidates of a text with regular expressions (the definition)."""
    return Candidates(
        iban=[m.start() for m in _IBAN_AT.finditer(text)],
        card=[m.start() for m in _CARD_AT.finditer(text)],
        ssn=[m.start() for m in _SSN_AT.finditer(text)],
        ipv4=[m.start() for m in _IPV4_AT.finditer(text)],
        ipv6=[m.start() for m in _IPV6_AT.finditer(text)],
        phone=_PHONE_RUN.search(text) is not None,
    )


def candidate_finder(native: bool = True) -> Callable[[str], Candidates]:
    """Return the compiled candidate finder when it is built and `native`, else the reference.

    DOLMAKIT_PURE_PYTHON=1 selects the reference, as for the rule taggers.
    """
    module = load_native() if native else None
    compiled = getattr(module, "pii_candidates", None)
    if compiled is None:
        return reference_candidates
    return lambda text: Candidates(*compiled(text))


def matches_at(pattern: re.Pattern[str], text: str, starts: list[int]) -> Iterator[re.Match[str]]:
    """Yield what `pattern.finditer(text)` yields, trying the pattern only at `starts`.

    Exact when every match of the pattern starts at one of `starts` and no match is empty:
    like `finditer`, a match is looked for from the end of the previous one onwards.
    """
    end = 0
    for start in starts:
        if start < end:
            continue
        m = pattern.match(text, start)
        if m is not None:
            end = m.end()
            yield m


def matches_around(
    pattern: re.Pattern[str], text: str, mark: str, reach: int
) -> Iterator[re.Match[str]]:
    """Yield what `pattern.finditer(text)` yields, searching only from near each `mark`.

    Exact when every match is non-empty and holds `mark` at most `reach` characters after its
    start: a match starting earlier than `reach` before the first `mark` past the previous
    match would hold an earlier one, so the search can start there (lookbehinds still see
    the text before it).
    """
    end, find = 0, text.find
    at = find(mark)
    while at >= 0:
        m = pattern.search(text, max(end, at - reach))
        if m is None:
            return
        yield m
        end = m.end()
        at = find(mark, end)
