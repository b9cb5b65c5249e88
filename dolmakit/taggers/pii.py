"""The `pii` tagger: e-mail addresses, phone numbers, IP addresses, cards, IBANs and US SSNs.

Every candidate a pattern finds is validated before it becomes a span: phone numbers with
Google's libphonenumber metadata (`phonenumbers`, VALID leniency), IP addresses with
`ipaddress`, card numbers with the Luhn checksum and an issuer prefix, IBANs with their
country's length and the ISO 13616 mod-97 checksum (`python-stdnum`), SSNs with the ranges the
Social Security Administration never issues. Where two kinds claim overlapping text the
earlier kind in `KINDS` wins (an IBAN's digits are not also a phone number).

The digit-bearing patterns are tried only where `dolmakit.taggers.pii_scan` finds they can
start (one pass over the text, compiled when `dolmakit._textstats` is built); the spans are
exactly those of scanning the whole text with each pattern.

Span scores: 1.0, except IP addresses that are not globally routable (private, loopback,
link-local, documentation, reserved), which score 0.5. Every document also gets
`<kind>_count` = the number of spans of that kind (0 included).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from dolmakit.document import Document, Span
from dolmakit.errors import DolmakitError
from dolmakit.taggers.base import register
from dolmakit.taggers.phones import phone_matcher
from dolmakit.taggers.pii_scan import Candidates, candidate_finder, matches_around, matches_at

KINDS = ("email", "iban", "credit_card", "us_ssn", "ipv6", "ipv4", "phone")
PRIVATE_IP_SCORE = 0.5
EMAIL_LOCAL_MAX = 64  # characters of an address before its "@" (`_EMAIL`'s local part)

_EMAIL = re.compile(
    r"(?<![\w.%+-])([A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?)"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))(?![\w-])"
)
# Image-density suffixes such as icon@2x.png look like addresses; these TLDs never are.
_FILE_TLDS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "css", "js"})
_IBAN = re.compile(r"(?<![\w])([A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?)(?![\w])")
_CARD = re.compile(r"(?<![\w.,+-])(\d(?:[ -]?\d){12,18})(?![\w]|[.,-]\d)")
_SSN = re.compile(r"(?<![\w.-])(\d{3})([- ]?)(\d{2})\2(\d{4})(?![\w]|[.-]\d)")
_SSN_CONTEXT = re.compile(
    r"(?i)\b(ssn|social security(?: number)?|soc\. sec\.)\s*(?:no\.?|number|#)?\s*[:#]?\s*$"
)
_IPV4 = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?![\w]|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])((?:[0-9A-Fa-f]{1,4})?(?::[0-9A-Fa-f]{0,4}){2,7}"
    r"(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?)(?![\w:]|\.\d)"
)
# Words before a dotted quad that make it a version, section or OID rather than an address.
_NOT_AN_ADDRESS = re.compile(
    r"(?i)(\bv|\bversions?|\bver\.?|\brelease|\bbuild|\bupdate|\bkernel|\bsection|\bchapter"
    r"|§|\boid|\bfirmware|\bpatch|\brev\.?|\brevision)\s*:?\s*$"
)
# Only documents with a run of 7+ digits and phone punctuation (`Candidates.phone`: the
# pattern \+?\(?\d[\d\s().-]{5,18}\d matches somewhere) run the phone matcher.


def luhn_valid(digits: str) -> bool:
    """Return True if the digit string passes the Luhn (mod 10) checksum."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_issuer(digits: str) -> str | None:
    """Return the card network a number's prefix and length belong to, or None."""
    n = len(digits)
    two, four = int(digits[:2]), int(digits[:4])
    if digits[0] == "4" and n in (13, 16, 19):
        return "visa"
    if (51 <= two <= 55 or 2221 <= four <= 2720) and n == 16:
        return "mastercard"
    if two in (34, 37) and n == 15:
        return "amex"
    if (four == 6011 or two == 65 or 644 <= int(digits[:3]) <= 649) and 16 <= n <= 19:
        return "discover"
    if 3528 <= four <= 3589 and 16 <= n <= 19:
        return "jcb"
    if (two in (36, 38, 39) or 300 <= int(digits[:3]) <= 305) and n == 14:
        return "diners"
    if two == 62 and 16 <= n <= 19:
        return "unionpay"
    return None


def ssn_valid(area: str, group: str, serial: str) -> bool:
    """Return True if an SSN's parts are in issuable ranges (area 001-899 except 666)."""
    a = int(area)
    return 0 < a < 900 and a != 666 and group != "00" and serial != "0000"


def ip_score(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> float:
    """Return 1.0 for a globally routable address, PRIVATE_IP_SCORE otherwise."""
    return 1.0 if address.is_global else PRIVATE_IP_SCORE


@register
class PiiTagger:
    """Find validated personal data; spans per kind plus `<kind>_count` per document."""

    name: ClassVar[str] = "pii"
    version: ClassVar[str] = "1"
    attributes: ClassVar[tuple[str, ...]] = (*KINDS, *(f"{kind}_count" for kind in KINDS))
    requires: ClassVar[str] = "phonenumbers, python-stdnum (dolmakit[pii])"
    description: ClassVar[str] = (
        "PII: email, phone (libphonenumber-valid), ipv4/ipv6 (score 0.5 if not public), "
        "credit_card (Luhn + issuer), iban (mod-97), us_ssn (valid ranges); <kind>_count."
    )

    def __init__(self, region: str | None = "US", kinds: Sequence[str] = KINDS) -> None:
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown:
            raise DolmakitError(f"pii: unknown kinds {unknown}; choose from {', '.join(KINDS)}")
        try:
            import phonenumbers
            from stdnum import iban
        except ImportError:
            raise DolmakitError(
                "the pii tagger needs phonenumbers and python-stdnum: pip install 'dolmakit[pii]'"
            ) from None
        if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
            raise DolmakitError(f"pii: unknown phone region {region!r} (use e.g. US, DE, or null)")
        self.region = region
        self.kinds = tuple(k for k in KINDS if k in kinds)
        self._phonenumbers: Any = phonenumbers
        self._matcher: Any = phone_matcher(phonenumbers)
        self._iban_valid: Callable[[str], bool] = functools.partial(
            iban.is_valid, check_country=False
        )
        self._candidates = candidate_finder()
        self._finders: dict[str, Callable[[str, Candidates], list[Span]]] = {
            "email": self._emails,
            "iban": self._ibans,
            "credit_card": self._cards,
            "us_ssn": self._ssns,
            "ipv6": self._ipv6,
            "ipv4": self._ipv4,
            "phone": self._phones,
        }
        self._plan = [(kind, f"{kind}_count", self._finders[kind]) for kind in self.kinds]

    def tag_batch(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        """Return the PII spans and per-kind counts of each document."""
        return [self.tag_text(doc.text) for doc in docs]

    def tag_text(self, text: str) -> dict[str, list[Span]]:
        """Return {kind: spans, kind_count: [[0, len, n]]} for one text."""
        taken: list[tuple[int, int]] = []
        out: dict[str, list[Span]] = {}
        candidates = self._candidates(text)
        size = len(text)
        for kind, count_key, finder in self._plan:
            spans = finder(text, candidates)
            if spans and taken:
                spans = [
                    s
                    for s in spans
                    if not any(s.start < end and start < s.end for start, end in taken)
                ]
            if spans:
                taken.extend((s.start, s.end) for s in spans)
                out[kind] = spans
            out[count_key] = [Span(0, size, float(len(spans)))]
        return out

    def _emails(self, text: str, candidates: Candidates) -> list[Span]:
        if "@" not in text:
            return []
        spans = []
        for m in matches_around(_EMAIL, text, "@", EMAIL_LOCAL_MAX):
            local, tld = m.group(1), m.group(3).lower()
            if ".." in local or tld in _FILE_TLDS:
                continue
            spans.append(Span(m.start(), m.end(), 1.0))
        return spans

    def _ibans(self, text: str, candidates: Candidates) -> list[Span]:
        spans = []
        for m in matches_at(_IBAN, text, candidates.iban):
            candidate = m.group(1)
            # The pattern may run into a following word ("... 5122 OID"): drop trailing groups.
            while len(candidate) >= 15:
                if self._iban_valid(candidate):
                    spans.append(Span(m.start(1), m.start(1) + len(candidate), 1.0))
                    break
                if " " not in candidate:
                    break
                candidate = candidate.rsplit(" ", 1)[0]
        return spans

    def _cards(self, text: str, candidates: Candidates) -> list[Span]:
        spans = []
        for m in matches_at(_CARD, text, candidates.card):
            raw = m.group(1)
            if " " in raw and "-" in raw:
                continue  # mixed separators: a list of numbers, not one card number
            digits = raw.replace(" ", "").replace("-", "")
            if 13 <= len(digits) <= 19 and card_issuer(digits) and luhn_valid(digits):
                spans.append(Span(m.start(1), m.end(1), 1.0))
        return spans

    def _ssns(self, text: str, candidates: Candidates) -> list[Span]:
        spans = []
        for m in matches_at(_SSN, text, candidates.ssn):
            if not ssn_valid(m.group(1), m.group(3), m.group(4)):
                continue
            # Without hyphens nine digits are too common; require the word SSN close before.
            if m.group(2) != "-" and not _SSN_CONTEXT.search(
                text[max(0, m.start() - 40) : m.start()]
            ):
                continue
            spans.append(Span(m.start(), m.end(), 1.0))
        return spans

    def _ipv4(self, text: str, candidates: Candidates) -> list[Span]:
        spans = []
        for m in matches_at(_IPV4, text, candidates.ipv4):
            try:
                address = ipaddress.IPv4Address(m.group(1))
            except ValueError:
                continue
            if _NOT_AN_ADDRESS.search(text, max(0, m.start() - 20), m.start()):
                continue
            spans.append(Span(m.start(1), m.end(1), ip_score(address)))
        return spans

    def _ipv6(self, text: str, candidates: Candidates) -> list[Span]:
        if not candidates.ipv6 or ("::" not in text and text.count(":") < 7):
            return []
        spans = []
        for m in matches_at(_IPV6, text, candidates.ipv6):
            candidate = m.group(1)
            hex_digits = sum(c in "0123456789abcdefABCDEF" for c in candidate)
            groups = [g for g in candidate.split(":") if g]
            # "::1" is loopback; other short forms ("1::2", "a::b") are slices or code.
            if candidate != "::1" and (len(groups) < 2 or hex_digits < 5):
                continue
            try:
                address = ipaddress.IPv6Address(candidate)
            except ValueError:
                continue
            spans.append(Span(m.start(1), m.end(1), ip_score(address)))
        return spans

    def _phones(self, text: str, candidates: Candidates) -> list[Span]:
        if not candidates.phone:
            return []
        pn = self._phonenumbers
        matcher = self._matcher(text, self.region, leniency=pn.Leniency.STRICT_GROUPING)
        # A digit run right after '-' is a negative number ("-2147483648"), not a phone.
        return [
            Span(m.start, m.end, 1.0)
            for m in matcher
            if not (m.start and text[m.start - 1] == "-" and text[m.start].isdigit())
        ]
