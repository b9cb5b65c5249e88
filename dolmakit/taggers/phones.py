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
"""

from __future__ import annotations

import functools
import re
from typing import Any, ClassVar

# re's \d on str: Unicode decimal digits, as libphonenumber's; letters may become digits.
_DIGIT_OR_LETTER = re.compile(r"[\dA-Za-z]")
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

    def never_valid(candidate: str, region: str | None) -> bool:
        """Return True if the candidate parses to no number or to one of an impossible length."""
        try:
            number = parse(candidate, region, keep_raw_input=True)
        except unparsable:
            return True
        lengths = lengths_of(number.country_code)
        return lengths is not None and len(significant(number)) not in lengths

    class FewDigitsMatcher(base):  # type: ignore[misc, valid-type]
        # (candidate, region, leniency) the library rejects whatever surrounds the candidate
        hopeless: ClassVar[dict[tuple[str, Any, Any], None]] = {}

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
            return verify(self, candidate, offset)

    return FewDigitsMatcher
