"""The pii tagger's phone matcher finds exactly what libphonenumber's own matcher finds."""

from __future__ import annotations

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


def matches(cls: type, text: str, region: str | None) -> list[tuple[int, int, str]]:
    return [(m.start, m.end, m.raw_string) for m in cls(text, region, leniency=STRICT)]


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
    ours = phone_matcher(phonenumbers)
    ours.hopeless.clear()
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

    ours = phone_matcher(phonenumbers)
    ours.hopeless.clear()
    monkeypatch.setattr(phones, "HOPELESS_CAP", 3)
    text = " ".join(str(year) for year in range(1990, 2000))
    assert matches(ours, text, "US") == matches(phonenumbers.PhoneNumberMatcher, text, "US")
    assert 1 <= len(ours.hopeless) <= 3


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
