"""Find phone numbers as libphonenumber's matcher does, without parsing hopeless candidates.

`PhoneNumberMatcher` hands every digit group it finds ("2", "64", "+0100" in changelogs and
manual pages) to `_parse_and_verify`, which parses it and, at VALID leniency or stricter,
requires `is_valid_number`. A valid number's national significant number has at least as
many digits as the shortest possible length in libphonenumber's metadata (4 in 9.0), and each
of them comes from a decimal digit of the candidate or from a letter (vanity numbers map
A-Z to keypad digits), so a candidate with fewer digits and letters can never match: it is
answered None at once. Everything else (the candidates, their order, the matcher's count of
tries) is the library's own, so the matches are exactly the library's.

The library's `_parse_and_verify(candidate, offset)` looks at the text around the candidate
(a Latin letter or stray punctuation just before or after rejects it) and otherwise only at
the candidate, the region and the leniency. Asked once with the candidate as the whole text,
where those context checks cannot reject, a None holds for the candidate wherever it occurs:
such candidates ("+0200", "2022" in changelogs) are remembered and answered None at once.

At VALID leniency or stricter the library then requires `is_valid_number`, which holds only
if the national significant number's length is among the possible lengths of the general
description of one of the country code's regions (`possible_lengths`). A new candidate is
parsed once, as the library parses it, and one that cannot parse or has a length no region
allows is hopeless without the library's search through the regions' number patterns.

Most hopeless candidates in real text are short digit groups (sizes, versions, dates) that
parse to numbers of the preferred region. Without a plus sign, a letter, or a start the
region's international prefix pattern matches, a number's country code is the region's own,
and (unless the region's national prefix rule adds digits) its national significant number
has no more digits than the candidate: one with fewer digits than any number of that country
code may have (`possible_lengths`) is answered None without parsing.

One level up, the library's `_extract_match(candidate, offset)` tries the whole candidate and
then groups inside it, each a `_parse_and_verify` that costs a try when it fails. When every
one of those answers was a context-free None (few digits, remembered hopeless, or hopeless as
the whole text), the candidate is no timestamp (that check reads the text after it) and the
tries did not run out, the same candidate fails the same way anywhere: it is remembered with
the number of tries it used, and next time those tries are taken at once and None returned.
The library compares its count of tries only with `> 0`, so taking them all at once where it
would have stopped partway (fewer tries left) ends the search just as the library does.

Finding the candidates: the library's `_find` searches its `_PATTERN` once per candidate, and
Python's regex engine tries that pattern (whose first part is optional) at every position of
the text. A match starts at a decimal digit or at one of the pattern's lead characters
(opening brackets, plus signs), so the same pattern behind a lookahead for those characters
(`candidate_pattern`) has the same matches, and the engine skips to the positions where that
lookahead holds. Its matches are taken in one scan (`finditer`), which continues where the
library's next search would start, at the end of the match, unless the library trims the
candidate (a second number after a slash): then a new scan starts where the library's does.
Everything else in the loop is the library's, step for step.
"""

from __future__ import annotations

import functools
import re
import sys
from typing import Any, ClassVar

# re's \d on str: Unicode decimal digits, as libphonenumber's; letters may become digits.
_DIGIT_OR_LETTER = re.compile(r"[\dA-Za-z]")
# A plus sign (the library's two) or a letter: the country code may come from the candidate.
_PLUS_OR_LETTER = re.compile(r"[+\uff0bA-Za-z]")
HOPELESS_CAP = 1 << 17  # candidates remembered per process before the memory is emptied


def fewest_valid_digits(phonenumbers: Any) -> int:
    """Return the fewest digits any valid number has (0: the metadata does not say)."""
    from phonenumbers.phonemetadata import PhoneMetadata

    regions = [PhoneMetadata.metadata_for_region(r) for r in phonenumbers.SUPPORTED_REGIONS]
    codes = phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS
    regions += [PhoneMetadata.metadata_for_nongeo_region(code) for code in codes]
    fewest = []
    for metadata in regions:
        desc = metadata.general_desc if metadata is not None else None
        lengths = [n for n in desc.possible_length if n > 0] if desc is not None else []
        if desc is None or desc.national_number_pattern is None or not lengths:
            return 0  # a region without lengths matches by pattern alone: no bound
        fewest.append(min(lengths))
    return min(fewest, default=0)


def possible_lengths(phonenumbers: Any, country_code: int) -> frozenset[int] | None:
    """Return the national number lengths a valid number of `country_code` can have.

    None when some region of the code allows any length (its metadata lists none). Empty
    when no region can hold a valid number (an unknown code).
    """
    from phonenumbers.phonemetadata import PhoneMetadata

    lengths: set[int] = set()
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ()):
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region.upper())
        desc = metadata.general_desc if metadata is not None else None
        if desc is None:
            continue  # no number matches a missing description
        if not desc.possible_length:
            return None
        lengths.update(desc.possible_length)
    return frozenset(lengths)


def region_floor(phonenumbers: Any, region: str | None) -> tuple[int, re.Pattern[str] | None]:
    """Return the fewest digits a valid number dialled in `region` has, and its IDD pattern.

    (0, None) when there is no such bound: no region, a region whose national prefix rule
    adds digits, or a country code one of whose regions allows any length.
    """
    from phonenumbers.phonemetadata import PhoneMetadata

    metadata = PhoneMetadata.metadata_for_region(region) if region else None
    if metadata is None or metadata.national_prefix_transform_rule:
        return 0, None
    code = metadata.country_code
    lengths = possible_lengths(phonenumbers, code) if code is not None else None
    if not lengths:
        return 0, None
    idd = metadata.international_prefix
    return min(lengths), re.compile(idd) if idd else None


def candidate_pattern(module: Any) -> re.Pattern[str] | None:
    """Return the module's `_PATTERN` behind a lookahead for the characters a match starts with.

    None unless `_PATTERN` begins with the optional lead-character group and then digits, the
    shape the library's matcher has had (its source is checked, not assumed).
    """
    pattern = getattr(module, "_PATTERN", None)
    lead = getattr(module, "_LEAD_CLASS_CHARS", None)
    if not isinstance(pattern, re.Pattern) or not isinstance(lead, str):
        return None
    source = pattern.pattern
    opening = f"(?:[{lead}]"
    if not isinstance(source, str) or not source.startswith(opening):
        return None
    group = source[len(opening) :].split("\\d", 1)[0]  # lead punctuation, then `{0,n}`
    if not re.fullmatch(r"\[[^\]]*(?:\\\][^\]]*)*\]\{0,\d+\}\)\{0,\d+\}", group):
        return None
    return re.compile(f"(?=[\\d{lead}])" + source, pattern.flags)


@functools.cache
def phone_matcher(phonenumbers: Any) -> Any:
    """Return the matcher class: the library's, skipping candidates with too few digits.

    The library's own class when its metadata gives no bound or its matcher has no
    `_parse_and_verify` to wrap (another version than those tested).
    """
    base = phonenumbers.PhoneNumberMatcher
    fewest = fewest_valid_digits(phonenumbers)
    if fewest < 2 or not callable(getattr(base, "_parse_and_verify", None)):
        return base
    valid = phonenumbers.Leniency.VALID
    count = _DIGIT_OR_LETTER.findall
    verify = base._parse_and_verify
    parse, significant = phonenumbers.parse, phonenumbers.national_significant_number
    unparsable = phonenumbers.NumberParseException
    lengths_of = functools.cache(functools.partial(possible_lengths, phonenumbers))

    floor_of = functools.cache(functools.partial(region_floor, phonenumbers))
    digits_only = phonenumbers.normalize_digits_only

    def too_short(candidate: str, region: str | None) -> bool:
        """Return True if the candidate can only be a number of `region` and is too short."""
        floor, idd = floor_of(region)
        if len(count(candidate)) >= floor or _PLUS_OR_LETTER.search(candidate):
            return False
        return idd is None or idd.match(digits_only(candidate)) is None

    def never_valid(candidate: str, region: str | None) -> bool:
        """Return True if the candidate parses to no number or to one of an impossible length."""
        if too_short(candidate, region):
            return True
        try:
            number = parse(candidate, region, keep_raw_input=True)
        except unparsable:
            return True
        lengths = lengths_of(number.country_code)
        return lengths is not None and len(significant(number)) not in lengths

    extract, find = base._extract_match, base._find
    module = sys.modules.get(base.__module__)
    # The library's timestamp check: a candidate it matches is judged by the text that follows.
    stamps = getattr(module, "_TIME_STAMPS", None)
    timestamp = stamps.search if isinstance(stamps, re.Pattern) else None
    scan, second = candidate_pattern(module), getattr(module, "_SECOND_NUMBER_START_PATTERN", None)

    class FewDigitsMatcher(base):  # type: ignore[misc, valid-type]
        # (candidate, region, leniency) the library rejects whatever surrounds the candidate
        hopeless: ClassVar[dict[tuple[str, Any, Any], None]] = {}
        # (candidate, region, leniency) -> tries `_extract_match` uses to find nothing anywhere
        futile: ClassVar[dict[tuple[str, Any, Any], int]] = {}
        _contextual = False  # a `_parse_and_verify` of this extraction looked at the context

        def _find(self, index: int) -> Any:
            if scan is None or not isinstance(second, re.Pattern):
                return find(self, index)
            text, shortest = self.text, getattr(self, "_min_candidate_length", 0)
            trailing, extract_match = second.search, self._extract_match
            restart = True
            while restart:
                restart = False
                for match in scan.finditer(text, index):
                    if self._max_tries <= 0:
                        return None
                    start, end = match.span()
                    candidate = text[start:end]
                    cut = trailing(candidate)  # the library's _trim_after_first_match
                    if cut is not None:
                        candidate = candidate[: cut.start()]
                    if len(candidate) >= shortest:
                        found = extract_match(candidate, start)
                        if found is not None:
                            return found
                        self._max_tries -= 1
                    if cut is not None:  # the library searches again from the trimmed end
                        index, restart = start + len(candidate), True
                        break
            return None

        def _extract_match(self, candidate: str, offset: int) -> Any:
            if timestamp is None:  # another version than those tested: no memory
                return extract(self, candidate, offset)
            key = (candidate, self.preferred_region, self.leniency)
            futile = self.futile
            tries = futile.get(key)
            if tries is not None:
                self._max_tries -= tries
                return None
            before, self._contextual = self._max_tries, False
            match = extract(self, candidate, offset)
            if match is None and not self._contextual and self._max_tries > 0:
                if timestamp(candidate):
                    return None
                if len(futile) >= HOPELESS_CAP:
                    futile.clear()
                futile[key] = before - self._max_tries
            return match

        def _parse_and_verify(self, candidate: str, offset: int) -> Any:
            if self.leniency >= valid and len(count(candidate)) < fewest:
                return None
            key = (candidate, self.preferred_region, self.leniency)
            hopeless = self.hopeless
            if key in hopeless:
                return None
            if (self.leniency >= valid and never_valid(candidate, self.preferred_region)) or (
                verify(base(candidate, self.preferred_region, self.leniency), candidate, 0) is None
            ):
                if len(hopeless) >= HOPELESS_CAP:
                    hopeless.clear()
                hopeless[key] = None
                return None
            self._contextual = True
            return verify(self, candidate, offset)

    return FewDigitsMatcher
