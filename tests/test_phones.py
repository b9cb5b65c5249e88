"""The pii tagger's phone matcher finds exactly what libphonenumber's own matcher finds."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_textstats import DEV_CORPUS, dev_texts

phonenumbers = pytest.importorskip("phonenumbers")

from dolmakit.taggers.phones import fewest_valid_digits, phone_matcher  # noqa: E402

STRICT = phonenumbers.Leniency.STRICT_GROUPING
PIECES = (
    "+1 650-253-0000", "(650) 253 0000", "+49 30 1234567", "+683 4002", "+4xxx2", "1-800-FLOWERS",
    "+0100", "2021-03-04", "ext. 12", "x", " ", "-", "(", ")", "+", "/", ".", "\n", "a", "Tel:",
    "٣", "０", "12", "386", "7", "+1", "+44 20 7946 0958", "0049 30 1234567", "011 49 30 1234567",
)  # fmt: skip


def matches(
    cls: type, text: str, region: str | None, max_tries: int = 65535
) -> list[tuple[int, int, str]]:
    found = cls(text, region, leniency=STRICT, max_tries=max_tries)
    return [(m.start, m.end, m.raw_string) for m in found]


def forgetful_matcher() -> Any:
    """Return our matcher class with its memories of earlier texts emptied."""
    ours = phone_matcher(phonenumbers)
    ours.hopeless.clear()
    ours.futile.clear()
    return ours


def test_the_bound_and_the_class() -> None:
    assert fewest_valid_digits(phonenumbers) == 4  # the shortest possible length in 9.0
    assert phone_matcher(phonenumbers) is not phonenumbers.PhoneNumberMatcher


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=2)), max_size=25).map("".join),
    st.sampled_from(["US", "DE", "NU", None]),
)
@example("Call +683 4002 or +1 650-253-0000 x12.", "US")
@example("+49 30 1234567 / 0049 30 1234567", "DE")
def test_same_matches_as_the_library(text: str, region: str | None) -> None:
    ours = phone_matcher(phonenumbers)
    assert matches(ours, text, region) == matches(phonenumbers.PhoneNumberMatcher, text, region)


@pytest.mark.skipif(not DEV_CORPUS.is_dir(), reason="dev corpus not present")
def test_same_matches_on_real_text() -> None:
    ours = phone_matcher(phonenumbers)
    found = 0
    for text in dev_texts(15):
        text += "\nCall +1 650-253-0000 or (650) 253-0001."  # known numbers after real text
        expected = matches(phonenumbers.PhoneNumberMatcher, text, "US")
        assert matches(ours, text, "US") == expected
        found += len(expected)
    assert found > 0


def test_a_remembered_candidate_is_judged_by_its_context_each_time() -> None:
    ours = forgetful_matcher()
    # The same candidates again and again, in contexts that reject them ("x" just before)
    # and contexts that do not; dates and versions are remembered as hopeless.
    parts = ["x650-253-0000", " 650-253-0000 ", "2022", " +0200", "650-253-0000y", "(2022)"]
    text = " ".join(parts * 5) + " call 650-253-0000."
    expected = matches(phonenumbers.PhoneNumberMatcher, text, "US")
    assert matches(ours, text, "US") == expected
    assert len(expected) >= 6  # the number where nothing rejects it, each time
    assert ("2022", "US", STRICT) in ours.hopeless
    assert not any(key[0] == "650-253-0000" for key in ours.hopeless)
    # Remembered answers hold in the next text and for another region on its own terms.
    for region in ("US", "DE"):
        again = "On 2022-01-01 +0200, dial 650-253-0000 or +49 30 1234567."
        assert matches(ours, again, region) == matches(
            phonenumbers.PhoneNumberMatcher, again, region
        )


def test_the_memory_of_hopeless_candidates_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from dolmakit.taggers import phones

    ours = forgetful_matcher()
    monkeypatch.setattr(phones, "HOPELESS_CAP", 3)
    text = " ".join(str(year) for year in range(1990, 2000))
    assert matches(ours, text, "US") == matches(phonenumbers.PhoneNumberMatcher, text, "US")
    assert 1 <= len(ours.hopeless) <= 3
    assert 1 <= len(ours.futile) <= 3


def test_possible_lengths_come_from_the_regions_of_a_code() -> None:
    from dolmakit.taggers.phones import possible_lengths

    nanpa = possible_lengths(phonenumbers, 1)
    assert nanpa is not None and 10 in nanpa and 4 not in nanpa
    assert possible_lengths(phonenumbers, 999) == frozenset()  # no such country code


@pytest.mark.parametrize("leniency", ["POSSIBLE", "VALID", "EXACT_GROUPING"])
def test_same_matches_at_every_leniency(leniency: str) -> None:
    level = getattr(phonenumbers.Leniency, leniency)
    text = "2022-01-01 +0200: call 650-253-0000, +49 30 1234567 or 12345; v1.2.3 +1 650 253 0000."
    for region in ("US", "DE", None):
        ours = phone_matcher(phonenumbers)(text, region, leniency=level)
        theirs = phonenumbers.PhoneNumberMatcher(text, region, leniency=level)
        assert [(m.start, m.end) for m in ours] == [(m.start, m.end) for m in theirs]


def test_a_futile_candidate_is_remembered_with_its_tries() -> None:
    ours = forgetful_matcher()
    text = "In 2022 and 2023, see +0200 or x650-253-0000; call 650-253-0000."
    assert matches(ours, text, "US") == matches(phonenumbers.PhoneNumberMatcher, text, "US")
    assert ours.futile[("2022", "US", STRICT)] == 0  # the whole candidate only: no inner group
    assert ("+0200", "US", STRICT) in ours.futile
    # Rejected for a letter beside it, or found: judged again wherever it occurs.
    assert not any("650-253-0000" in key[0] for key in ours.futile)
    inner = "12345 67890 / 2022"  # groups inside are tried, each failure costs a try
    matches(ours, inner, "US")
    assert any(tries > 0 for tries in ours.futile.values())


@pytest.mark.parametrize("region", ["US", "DE"])
def test_a_timestamp_is_judged_by_the_text_after_it(region: str) -> None:
    ours = forgetful_matcher()
    # The library skips a candidate that looks like "2021-03-04 12" only when ":30" follows.
    text = (
        "at 2021-03-04 12:30 then 2021-03-04 12 and 20210304 12 then 20210304 12:05, 2021-03-04 12"
    )
    for _ in range(3):
        assert matches(ours, text, region) == matches(phonenumbers.PhoneNumberMatcher, text, region)
    assert not any(key[0].endswith(" 12") for key in ours.futile)


def test_the_tries_run_out_where_the_library_s_do() -> None:
    text = " ".join(["2022", "12345 67890 / 2022", "+0200", "x650-253-0000"] * 4)
    text += " call 650-253-0000, not 2022 or 12345 67890 / 2022, but +1 650-253-0001."
    outcomes = set()
    for max_tries in range(0, 60):
        expected = matches(phonenumbers.PhoneNumberMatcher, text, "US", max_tries)
        outcomes.add(len(expected))
        for warm in (False, True):  # with the memory empty and with every candidate in it
            ours = forgetful_matcher()
            if warm:
                matches(ours, text, "US")
            assert matches(ours, text, "US", max_tries) == expected, (max_tries, warm)
    assert outcomes == {0, 1, 2}  # the tries run out before, between and after the numbers


def test_a_candidate_cut_short_by_the_tries_is_not_remembered() -> None:
    long = "12345 67890 / 2022 / 3333 4444 / 5555 6666"  # 15 tries, most inside its groups
    text = f"{long}, call 650-253-0000."
    for short in range(1, 16):  # the first text runs out of tries inside the candidate
        for max_tries in range(10, 20):
            ours = forgetful_matcher()
            matches(ours, long, "US", short)
            expected = matches(phonenumbers.PhoneNumberMatcher, text, "US", max_tries)
            assert matches(ours, text, "US", max_tries) == expected, (short, max_tries)


def test_region_floor_is_the_fewest_digits_of_its_country_code() -> None:
    from dolmakit.taggers.phones import region_floor

    assert region_floor(phonenumbers, None) == (0, None)
    floor, idd = region_floor(phonenumbers, "DE")
    assert floor == 4 and idd is not None and idd.match("0049")
    assert region_floor(phonenumbers, "AR") == (0, None)  # its national prefix rule adds digits
    assert region_floor(phonenumbers, "ZZ") == (0, None)  # no such region


REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(REGIONS),
    st.lists(st.tuples(st.text("0123456789", min_size=1, max_size=4), st.sampled_from(" -./"))).map(
        lambda groups: "".join(digits + sep for digits, sep in groups).strip(" -./")
    ),
)
@example("US", "253-0000")
@example("DE", "030 12")
@example("MX", "044 55 1234")
@example("MX", "00 683 4002")  # a valid number of Niue, dialled out of Mexico
def test_fewer_digits_than_the_floor_are_never_a_valid_number(region: str, candidate: str) -> None:
    from dolmakit.taggers.phones import region_floor

    floor, idd = region_floor(phonenumbers, region)
    digits = phonenumbers.normalize_digits_only(candidate)
    if len(digits) >= floor or (idd is not None and idd.match(digits)):
        return  # the floor says nothing about this candidate
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return
    assert not phonenumbers.is_valid_number(number), (region, candidate, floor)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from(PIECES), st.text("0123456789 -", max_size=4)), max_size=20
    ).map("".join),
    st.sampled_from(["MX", "AR", "BR", "JP", "GB", "IT", "IN", "CN"]),
)
@example("Llame al 55 1234 5678 o al 044 55 1234 5678.", "MX")
@example("0800 12 / 011 15 1234-5678 / 12", "AR")
@example("Desde México marque 00 683 4002 para Niue.", "MX")  # dialled abroad: fewer digits
@example("From London dial 00 683 4002.", "GB")
def test_same_matches_as_the_library_in_more_regions(text: str, region: str) -> None:
    ours = phone_matcher(phonenumbers)
    assert matches(ours, text, region) == matches(phonenumbers.PhoneNumberMatcher, text, region)


def test_candidate_pattern_are_the_characters_a_match_begins_with() -> None:
    import types

    import phonenumbers.phonenumbermatcher as library

    from dolmakit.taggers.phones import candidate_pattern

    scan = candidate_pattern(library)
    assert scan is not None
    for text in ["+1 650", "(650)", "［650］", "＋44", "7", "٣", "x ( 12 +-+ 3 [ 4", "(( 5 ext. 6"]:
        expected = [m.span() for m in library._PATTERN.finditer(text)]
        assert [m.span() for m in scan.finditer(text)] == expected, text
    assert scan.search("abc -./ x) 1") is not None
    assert scan.search("abc -./ x)") is None  # no match can start in this text
    other = types.SimpleNamespace(_PATTERN=re.compile(r"(?:x)?\d+"), _LEAD_CLASS_CHARS="+")
    assert candidate_pattern(other) is None  # another shape: the library's search is used


@pytest.mark.parametrize("region", ["US", "DE"])
def test_leads_without_digits_do_not_hide_a_number(region: str) -> None:
    ours = forgetful_matcher()
    text = "((( [[ ++ ＋（ " * 40 + "(+ (650) 253-0000 ［+49 30 1234567］ +( - 0049 30 1234567"
    for max_tries in (1, 2, 3, 65535):
        expected = matches(phonenumbers.PhoneNumberMatcher, text, region, max_tries)
        assert matches(ours, text, region, max_tries) == expected


@pytest.mark.parametrize("region", ["US", "DE"])
def test_a_trimmed_candidate_resumes_where_the_library_does(region: str) -> None:
    ours = forgetful_matcher()
    # "[/\\] *x" ends a candidate early; the text after the cut is searched again.
    text = (
        "tel 650-253-0000 / x 650-253-0001, 2022/x12 3 \\ x 030 1234567, "
        "+49 30 1234567/ xx 650 253 0002 / x"
    )
    for max_tries in (1, 2, 3, 4, 65535):
        expected = matches(phonenumbers.PhoneNumberMatcher, text, region, max_tries)
        assert matches(ours, text, region, max_tries) == expected, max_tries
