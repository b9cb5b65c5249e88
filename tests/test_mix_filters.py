"""The filter language: parsing, canonical form, evaluation, errors, Dolma JSONPath forms."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dolmakit.document import Document
from dolmakit.errors import ConfigError
from dolmakit.mix.evaluate import EvalError, MissingValue, compile_filter
from dolmakit.mix.filters import FilterSyntaxError, parse, unparse
from dolmakit.mix.jsonpath import translate, translate_dolma

DOC = Document(id="d1", text="0123456789", source="web", metadata={"lang": "en", "n": 3})


def run(expr: str, attrs: dict, runs=("tags",), doc=DOC) -> bool:
    return compile_filter(expr, runs).first_failing(doc, attrs) < 0


def test_canonical_form_normalises_spacing_and_parentheses():
    tree = parse("(a.b>=0.65)and(not  (c.d))   or x.y in [1,'q']")
    assert unparse(tree) == 'a.b >= 0.65 and not c.d or x.y in [1, "q"]'
    assert unparse(parse("not (a or b) and (c or d)")) == "not (a or b) and (c or d)"
    assert unparse(parse("a == -2 and b != 1e3")) == "a == -2 and b != 1000.0"


def test_clauses_are_top_level_conjuncts():
    f = compile_filter("a.b >= 1 and (c.d or e.f) and not g.h", ["tags"])
    assert f.clause_texts == ("a.b >= 1", "c.d or e.f", "not g.h")


def test_short_names_resolve_to_run_keys_and_integers_equal_floats():
    attrs = {"tags__dedup__duplicate": [[0, 10, 1]], "tags__lang__en": [[0, 10, 0.7]]}
    assert run("dedup.duplicate >= 1.0", attrs)  # Dolma's 1 vs 1.0 bug must not happen
    assert run("dedup.duplicate == 1.0", attrs)
    assert run("tags.lang.en > 0.65", attrs)
    assert run("tags__lang__en > 0.65", attrs)
    assert not run("lang.en > 0.75", attrs)


def test_value_is_whole_document_span_else_max():
    # a span covering the whole text wins over higher partial spans
    attrs = {"tags__t__x": [[0, 3, 0.9], [0, 10, 0.2]]}
    assert run("t.x == 0.2", attrs)
    # no whole-document span: the maximum
    attrs = {"tags__t__x": [[0, 3, 0.1], [4, 6, 0.8], [7, 9, 0.5]]}
    assert run("t.x == 0.8", attrs)
    assert run("count(t.x) == 3", attrs)
    assert run("first(t.x) == 0.1", attrs)


def test_boolean_context_means_a_positive_span_and_missing_is_false():
    assert run("not dedup.duplicate", {})
    assert not run("not dedup.duplicate", {"tags__dedup__duplicate": [[0, 10, 1]]})
    assert run("not dedup.duplicate", {"tags__dedup__duplicate": [[0, 10, 0]]})
    assert run("exists(dedup.duplicate)", {"tags__dedup__duplicate": [[0, 10, 0]]})


def test_missing_value_in_comparison_is_an_error_unless_defaulted():
    with pytest.raises(
        MissingValue, match=r"'lang\.en' has no value .* default\(lang\.en, VALUE\)"
    ):
        run("lang.en >= 0.5", {})
    assert run("default(lang.en, 0.9) >= 0.5", {})
    assert not run("default(lang.en, 0) >= 0.5", {})


def test_metadata_id_and_source():
    assert run('metadata.lang == "en" and metadata.n >= 3.0', {})
    assert run('source in ["web", "books"] and id == "d1"', {})
    assert not run("metadata.missing", {})
    with pytest.raises(MissingValue):
        run("metadata.missing > 1", {})


def test_type_mismatch_and_ambiguity_are_errors():
    with pytest.raises(EvalError, match="cannot compare a string with a number"):
        run("metadata.lang > 1", {})
    attrs = {"a__lang__en": [[0, 10, 1]], "b__lang__en": [[0, 10, 1]]}
    with pytest.raises(
        EvalError, match="ambiguous: this document has both a__lang__en and b__lang__en"
    ):
        run("lang.en > 0", attrs, runs=("a", "b"))
    assert run("a.lang.en > 0", attrs, runs=("a", "b"))


def test_unknown_run_is_a_config_error():
    with pytest.raises(ConfigError, match="names run 'other', which this source does not join"):
        compile_filter("other.lang.en > 0", ["tags"])


@pytest.mark.parametrize(
    ("text", "position", "problem"),
    [
        ("lang.en >= ", 11, "expected a value, got end of expression"),
        ("lang.en >= 0.5 andd x", 15, "expected 'and', 'or' or the end, got 'andd'"),
        ("a == 'open", 5, "unterminated string"),
        ("a ? b", 2, "unexpected character '?'"),
        ("(a or b", 7, "expected ')', got end of expression"),
        ("default(a)", 9, "expected ',', got ')'"),
        ("", 0, "expected an expression, got end of expression"),
        ("a == 12abc", 7, "unexpected character 'a' after number"),
    ],
)
def test_syntax_errors_give_the_position(text, position, problem):
    with pytest.raises(FilterSyntaxError) as info:
        parse(text)
    assert info.value.position == position
    assert str(info.value) == f"syntax error at column {position + 1}: {problem}"


ALPHABET = st.sampled_from(
    [*list("abc._ ()[],'\"<>=!-0123456789e"), "and", "or", "not", "in", "default", "true", " "]
)


@settings(max_examples=600, deadline=None)
@given(st.lists(ALPHABET, max_size=30).map("".join) | st.text(max_size=40))
def test_every_string_parses_or_fails_with_a_position(text):
    try:
        tree = parse(text)
    except FilterSyntaxError as exc:
        assert 0 <= exc.position <= len(text)
        assert str(exc).startswith(f"syntax error at column {exc.position + 1}: ")
    else:
        # the canonical form parses back to the same tree
        assert parse(unparse(tree)) == parse(unparse(parse(unparse(tree))))
        assert unparse(parse(unparse(tree))) == unparse(tree)


def test_deep_nesting_is_a_syntax_error_not_a_crash():
    with pytest.raises(FilterSyntaxError, match="nested deeper than 64"):
        parse("(" * 500 + "a" + ")" * 500)
    with pytest.raises(FilterSyntaxError, match="nested deeper than 64"):
        parse("not " * 500 + "a")


# ---------------------------------------------------------------- Dolma JSONPath

KEY = "bench__char_length_v1__length"


def test_dolma_attribute_predicate_with_guard():
    path = f"$.attributes[?(@.{KEY} && @.{KEY}[0] && @.{KEY}[0][2] < 200)]"
    expr = translate(path)
    assert expr == f"exists({KEY}) and exists({KEY}) and (exists({KEY}) and first({KEY}) < 200)"
    short = {KEY: [[0, 100, 150]]}
    long = {KEY: [[0, 300, 300]]}
    assert run(expr, short, runs=("bench",))
    assert not run(expr, long, runs=("bench",))
    assert not run(expr, {}, runs=("bench",))  # JSONPath: a missing key does not match


def test_dolma_exclude_of_integer_duplicate_score_matches_float_threshold():
    expr = translate_dolma([], ["$.attributes[?(@.bff_duplicate_paragraph_spans[0][2] >= 1.0)]"])
    assert expr is not None
    duplicate = {"bff_duplicate_paragraph_spans": [[0, 10, 1]]}  # Dolma writes an integer 1
    assert not run(expr, duplicate)
    assert run(expr, {})


def test_dolma_include_any_and_exclude_all():
    expr = translate_dolma(
        ["$.metadata[?(@.lang == 'en')]", "$.metadata.keep"],
        ["$.attributes[?(@.tags__lang__en[0][2] < 0.5)]"],
    )
    f = compile_filter(expr, ["tags"])
    assert f.clause_texts == (
        'exists(metadata.lang) and metadata.lang == "en" or exists(metadata.keep)',
        "not (exists(tags__lang__en) and first(tags__lang__en) < 0.5)",
    )
    en = Document("1", "x" * 10, metadata={"lang": "en"})
    de = Document("2", "x" * 10, metadata={"lang": "de"})
    keep = Document("3", "x" * 10, metadata={"lang": "de", "keep": 0})
    assert f.first_failing(en, {"tags__lang__en": [[0, 10, 0.9]]}) == -1
    assert f.first_failing(en, {"tags__lang__en": [[0, 10, 0.1]]}) == 1
    assert f.first_failing(de, {}) == 0
    assert f.first_failing(keep, {}) == -1


def test_unsupported_dolma_forms_say_so():
    with pytest.raises(ConfigError, match="unsupported Dolma filter"):
        translate(".attributes.x[0][2] > 1")
    with pytest.raises(ConfigError, match=r"only the first span's score @\.KEY\[0\]\[2\]"):
        translate("$.attributes[?(@.k[1][2] > 1)]")
