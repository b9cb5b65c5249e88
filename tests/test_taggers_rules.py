"""Rule taggers against values worked out by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dolmakit.document import Document
from dolmakit.taggers import available_taggers, load_tagger

RULE_TAGGERS = ("lengths", "gopher_quality", "gopher_repetition", "c4", "fineweb", "ldnoobw")


def values(name: str, text: str, **meta: str) -> dict[str, object]:
    """Tag one document; return {type: score} for document-level types, spans otherwise."""
    doc = Document("d", text, metadata=dict(meta) or None)
    (result,) = load_tagger(name).tag_batch([doc])
    out: dict[str, object] = {}
    for kind, spans in result.items():
        if len(spans) == 1 and spans[0][:2] == (0, len(text)):
            out[kind] = spans[0][2]
        else:
            out[kind] = [tuple(s) for s in spans]
    return out


def test_lengths_by_hand() -> None:
    # "Héllo wörld" 11 + "\n\n" 2 + "  second para line one" 22 + "\n" 1 + "line two" 8 + "\n" 1
    # = 45 characters; é and ö take 2 bytes each in UTF-8: 47 bytes. Words: Héllo wörld second
    # para line one line two = 8. Non-blank lines: 3. Paragraphs (split at the blank line): 2.
    text = "Héllo wörld\n\n  second para line one\nline two\n"
    assert values("lengths", text) == {
        "characters": 45,
        "bytes": 47,
        "words": 8,
        "lines": 3,
        "paragraphs": 2,
    }


def test_gopher_quality_by_hand() -> None:
    # Words (whitespace): The cat and the dog. # Title... - item one - item two = 13 words,
    # lengths 3+3+3+3+4+1+8+1+4+3+1+4+3 = 41, mean 41/13. One '#': 1/13. One '...': 1/13.
    # Lines: 4; bullets ('- item one', '- item two'): 2/4; ending in '...': 1/4.
    # Words with a letter: all but '#', '-', '-': 10/13. Stop words present: the, and: 2.
    # 13 words < 50: fails.
    text = "The cat and the dog.\n# Title...\n- item one\n- item two"
    got = values("gopher_quality", text)
    assert got == {
        "words": 13,
        "mean_word_length": pytest.approx(41 / 13),
        "hash_ratio": pytest.approx(1 / 13),
        "ellipsis_ratio": pytest.approx(1 / 13),
        "bullet_line_frac": 0.5,
        "ellipsis_line_frac": 0.25,
        "alpha_word_frac": pytest.approx(10 / 13),
        "stop_words": 2,
        "pass": 0,
    }


def test_gopher_quality_passes_a_plain_document() -> None:
    # 'The cat sat with the dog and a friend.' = 9 words of 3,3,3,4,3,3,3,1,7 = 30 characters;
    # 6 lines: 54 words (>= 50), mean 30/9 = 3.33 (in 3..10), stop words the/with/and = 3.
    text = "\n".join(["The cat sat with the dog and a friend."] * 6)
    got = values("gopher_quality", text)
    assert got["words"] == 54
    assert got["mean_word_length"] == pytest.approx(30 / 9)
    assert got["stop_words"] == 3
    assert got["alpha_word_frac"] == 1.0
    assert got["pass"] == 1
    # Fewer than 2 distinct stop words fails: 'the' alone, however often.
    text = "\n".join(["The cat sat on the big red mat today."] * 6)
    assert values("gopher_quality", text)["pass"] == 0


def test_gopher_repetition_lines_paragraphs_and_top_ngrams() -> None:
    # Lines: 'a b c', 'a b c', 'd e', 'd e': 2 repeat an earlier one (5 + 3 = 8 characters);
    # len(text) = 5+1+5+1+3+2+3 = 20: line fraction 2/4, line characters 8/20.
    # Paragraphs 'a b c\na b c\nd e' and 'd e' differ: 0.
    # Words a b c a b c d e d e: 10 characters. Top 2-grams (a b),(b c),(d e) twice each, 2
    # characters: 2*2/10. Top 3-gram (a b c) twice: 2*3/10. No 4-gram repeats: 0.
    text = "a b c\na b c\nd e\n\nd e"
    got = values("gopher_repetition", text)
    assert got["dup_line_frac"] == 0.5
    assert got["dup_line_char_frac"] == pytest.approx(8 / 20)
    assert got["dup_paragraph_frac"] == 0.0
    assert got["dup_paragraph_char_frac"] == 0.0
    assert got["top_2gram_char_frac"] == pytest.approx(0.4)
    assert got["top_3gram_char_frac"] == pytest.approx(0.6)
    assert got["top_4gram_char_frac"] == 0.0
    assert all(got[f"dup_{n}gram_char_frac"] == 0.0 for n in range(5, 11))
    assert got["pass"] == 0


def test_gopher_repetition_duplicate_ngrams() -> None:
    # Words aa b c d e f aa b c d e g: lengths 2,1,1,1,1,1,2,1,1,1,1,1 = 14 characters.
    # The 5-gram (aa b c d e) at word 6 repeats the one at word 0: words 6..10 = 2+1+1+1+1 = 6
    # characters: 6/14. No 6-gram repeats ((aa..f) vs (aa..g)): 0 for n = 6..10.
    # Top 2-gram: four pairs occur twice; the longest is (aa b), 3 characters: 2*3/14.
    # Top 3-gram (aa b c), 4 characters: 2*4/14. Top 4-gram (aa b c d), 5 characters: 2*5/14.
    text = "aa b c d e f aa b c d e g"
    got = values("gopher_repetition", text)
    assert got["dup_5gram_char_frac"] == pytest.approx(6 / 14)
    assert all(got[f"dup_{n}gram_char_frac"] == 0.0 for n in range(6, 11))
    assert got["top_2gram_char_frac"] == pytest.approx(6 / 14)
    assert got["top_3gram_char_frac"] == pytest.approx(8 / 14)
    assert got["top_4gram_char_frac"] == pytest.approx(10 / 14)
    assert got["dup_line_frac"] == 0.0


def test_gopher_repetition_overlapping_copies_count_each_word_once() -> None:
    # Six words 'x': the 5-gram at word 1 repeats the one at word 0 and covers words 1..5:
    # 5 of 6 characters. The 6-gram occurs once: 0.
    got = values("gopher_repetition", "x x x x x x")
    assert got["dup_5gram_char_frac"] == pytest.approx(5 / 6)
    assert got["dup_6gram_char_frac"] == 0.0
    # 2-gram (x x) occurs 5 times, 2 characters each: 10/6 (overlapping copies all count).
    assert got["top_2gram_char_frac"] == pytest.approx(10 / 6)


C4_TEXT = (
    "Hello world, this is fine.\n"  # [0, 26) kept
    "Too short.\n"  # [27, 37) 2 words: dropped
    "Please enable JavaScript to view.\n"  # [38, 71) javascript: dropped
    "Read our privacy policy now.\n"  # [72, 100) policy: dropped
    "No punctuation at the end\n"  # [101, 126) no terminal punctuation: dropped
    "One. Two! Three? Four.\n"  # [127, 149) kept: 3 inner sentence ends + 1
)


def test_c4_by_hand() -> None:
    # 6 lines; 4 dropped. Sentences in kept lines: 1 + 4 = 5 (>= 5), no lorem ipsum, no '{',
    # no bad word: C4 keeps the page.
    got = values("c4", C4_TEXT)
    assert got == {
        "line_dropped": [(27, 37, 1), (38, 71, 1), (72, 100, 1), (101, 126, 1)],
        "no_terminal_punct_frac": pytest.approx(1 / 6),
        "short_line_frac": pytest.approx(1 / 6),
        "javascript_lines": 1,
        "policy_lines": 1,
        "dropped_line_frac": pytest.approx(4 / 6),
        "lorem_ipsum": 0,
        "curly_brace": 0,
        "sentences": 5,
        "bad_words": 0,
        "pass": 1,
    }
    assert [C4_TEXT[s:e] for s, e, _ in got["line_dropped"]] == [  # type: ignore[attr-defined]
        "Too short.",
        "Please enable JavaScript to view.",
        "Read our privacy policy now.",
        "No punctuation at the end",
    ]


def test_c4_page_rules() -> None:
    got = values("c4", "Lorem ipsum dolor sit amet. {x} is code here.")
    assert (got["lorem_ipsum"], got["curly_brace"], got["pass"]) == (1, 1, 0)
    # A bad word in a kept line; '...' ends are dropped like unpunctuated ones. The second
    # line starts after 'This is shit, really.' (21) and its newline: [22, 22 + 20).
    got = values("c4", "This is shit, really.\nAnd so it goes on...")
    assert got["bad_words"] == 1
    assert got["no_terminal_punct_frac"] == 0.5
    assert got["line_dropped"] == [(22, 42, 1)]
    # Bad words in dropped lines do not count (C4 checks the cleaned page).
    assert values("c4", "shit\nThis is fine.")["bad_words"] == 0


def test_fineweb_by_hand() -> None:
    # Lines: 'First line ends here.' (21), 'short' (5), 'short' (5), a 49-character line.
    # Ending in punctuation: 1/4. Short (<= 30): 3/4 > 0.67: fails. Duplicated line
    # characters: the second 'short', 5 of len(text) = 21+1+5+1+5+1+49+1 = 84.
    # Newlines 4 over 4+1+1+10 = 16 words: 0.25.
    text = (
        "First line ends here.\nshort\nshort\nA much longer line that has no punctuation at all\n"
    )
    got = values("fineweb", text)
    assert got == {
        "line_punct_ratio": 0.25,
        "short_line_ratio": 0.75,
        "dup_line_char_frac": pytest.approx(5 / 84),
        "newline_word_ratio": 0.25,
        "pass": 0,
    }
    assert values("fineweb", "A fine line of text that is long enough to pass.")["pass"] == 1
    assert values("fineweb", "")["pass"] == 0


def test_ldnoobw_whole_words_case_insensitive_longest_first() -> None:
    # 'Fuck buttons' [0, 12) (the longer entry wins over 'fuck'), 'class' and 'assassin' are
    # other words; 'Fuck buttons? No: class, assassin. ' is 35 characters: 'ASS' [35, 38).
    text = "Fuck buttons? No: class, assassin. ASS!"
    got = values("ldnoobw", text)
    assert got == {"count": 2, "match": [(0, 12, 1), (35, 38, 1)]}
    # An entry that is a symbol, not a word (the English list has the middle-finger emoji).
    assert values("ldnoobw", "look \U0001f595 here") == {"count": 1, "match": [(5, 6, 1)]}


def test_ldnoobw_lists_are_the_original_ldnoobw_lists() -> None:
    from dolmakit.taggers.rules import wordlists

    # LDNOOBW has 28 lists; English has 403 entries (as the copy in Dolma's wheel), German 66.
    assert len(wordlists.available_languages()) == 28
    assert len(wordlists.load_word_list("en").entries) == 403  # type: ignore[union-attr]
    assert len(wordlists.load_word_list("de").entries) == 66  # type: ignore[union-attr]
    # Everyday German words that badwords-py's extended list had are not on LDNOOBW's.
    assert values("ldnoobw", "Der Abstand war blutig.", lang="de") == {"count": 0}
    # Chinese has a list too, matched as substrings: '三级片' at [2, 5).
    assert values("ldnoobw", "这是三级片吗", lang="zh") == {"count": 1, "match": [(2, 5, 1)]}
    # Attribution ships with the lists (CC BY 4.0).
    folder = wordlists.WORDS_FOLDER
    assert "CC BY 4.0" in (folder / "README.md").read_text(encoding="utf-8")
    assert "Attribution 4.0 International" in (folder / "LICENSE").read_text(encoding="utf-8")


def test_ldnoobw_language_from_metadata_and_substrings() -> None:
    # Japanese has no spaces: entries match inside words. 'sm女王' sits at [3, 7).
    assert values("ldnoobw", "これはsm女王です", lang="ja") == {"count": 1, "match": [(3, 7, 1)]}
    # German list for a German document; the English word is not on it as a whole word.
    assert values("ldnoobw", "Du Arschloch, shit.", lang="de") == {
        "count": 1,
        "match": [(3, 12, 1)],
    }
    # No list for the language: no attributes, rather than a misleading 0.
    assert values("ldnoobw", "whatever shit", lang="zz") == {}
    # Regional code falls back to the base language.
    assert values("ldnoobw", "Du Arschloch", lang="de-CH")["count"] == 1


def test_ldnoobw_rejects_unknown_language_parameter() -> None:
    from dolmakit.errors import DolmakitError

    with pytest.raises(DolmakitError, match="no word list for language 'zz'"):
        load_tagger("ldnoobw", {"language": "zz"})


def test_rule_taggers_are_registered_with_metadata() -> None:
    taggers = available_taggers()
    for name in RULE_TAGGERS:
        cls, origin = taggers[name]
        assert origin == "built-in"
        assert cls.name == name and cls.version and cls.attributes and cls.description


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .!?\n\t#-{…é日")), max_size=200))
def test_rule_taggers_spans_lie_within_text_and_fractions_are_bounded(text: str) -> None:
    doc = Document("d", text, metadata={"lang": "en"})
    for name in RULE_TAGGERS:
        tagger = load_tagger(name)
        (result,) = tagger.tag_batch([doc])
        for kind, spans in result.items():
            assert kind in tagger.attributes
            for start, end, score in spans:
                assert 0 <= start <= end <= len(text)
                # Fractions of a whole are within [0, 1]; '#' per word, newlines per word and
                # overlapping top n-gram copies are ratios that may exceed 1.
                if kind.endswith("_frac") and not kind.startswith("top_"):
                    assert 0.0 <= score <= 1.0
                if kind == "pass":
                    assert score in (0, 1)


def _naive_repetition(words: list[str]) -> tuple[dict[int, int], dict[int, int]]:
    """The docs' definitions, position by position (no shortcuts), for checking the fast code."""
    from collections import Counter

    top = {}
    for n in (2, 3, 4):
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        counts = Counter(grams)
        best = max(counts.values(), default=0)
        chars = max((sum(map(len, g)) for g in counts if counts[g] == best), default=0)
        top[n] = best * chars if best >= 2 else 0
    dup = {}
    for n in range(5, 11):
        seen: set[tuple[str, ...]] = set()
        covered = [False] * len(words)
        for i in range(len(words) - n + 1):
            gram = tuple(words[i : i + n])
            if gram in seen:
                for j in range(i, i + n):
                    covered[j] = True
            seen.add(gram)
        dup[n] = sum(len(w) for w, c in zip(words, covered, strict=True) if c)
    return top, dup


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["a", "bb", "a.", "ccc", "d"]), max_size=60))
def test_repeated_ngram_chars_match_the_definitions(words: list[str]) -> None:
    from dolmakit.taggers.rules.ngrams import repeated_ngram_chars

    assert repeated_ngram_chars(words, [len(w) for w in words]) == _naive_repetition(words)


def test_stop_words_are_whole_words_after_stripping_punctuation() -> None:
    from dolmakit.taggers.rules.reference import stop_words_in

    # '(the' and 'and,' count; 'theme', 'other', 'to-do' and 'be's' do not (the last two have
    # inner punctuation, which stripping does not remove): the, and = 2.
    assert stop_words_in("(the theme and, other to-do be's") == 2
    assert stop_words_in("") == 0
    assert stop_words_in('"with"\n...of...') == 2  # with, of


def test_stats_of_shares_the_latest_batch_and_never_mixes_texts() -> None:
    from dolmakit.taggers.rules.text import stats_of

    a, b = Document("a", "one two\n\nthree"), Document("b", "four")
    first = stats_of([a, b])
    assert stats_of([a, b]) == first  # same objects: split once per batch
    assert first[0].words == ["one", "two", "three"] and first[0].paragraphs == ["one two", "three"]
    batch = [a, b]
    batch[1] = Document("c", "five six")  # a list reused with a new document
    again = stats_of(batch)
    assert again[0] is first[0] and again[1].words == ["five", "six"]
