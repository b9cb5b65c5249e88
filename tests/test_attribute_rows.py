"""The tag stage's one-pass attribute rows against the per-document check they stand for.

`checked_rows` (pure Python) defines the rows; the compiled `checked_rows` must give
identical ones, on random tagger results of every shape (good, malformed, subclasses), and
round every score exactly as `round(x, 5)`. A row it gives must equal what the stage's
per-document check writes for that document, and a malformed result must still stop the
run with the stage's message.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dolmakit.document import Document, Span
from dolmakit.io.attributes import AttributeWriter
from dolmakit.taggers.attribute_rows import checked_rows, compiled_checked_rows
from dolmakit.taggers.rules.text import NATIVE
from dolmakit.taggers.stage import TaggerError, _Checker

needs_native = pytest.mark.skipif(NATIVE is None, reason="dolmakit._textstats is not built")


class _Int(int):
    pass


class _Float(float):
    pass


class _Tagger:
    """A tagger double declaring 'a', 'b' and 'lang_*': returns `result` for every document."""

    name: ClassVar[str] = "t"
    version: ClassVar[str] = "1"
    attributes: ClassVar[tuple[str, ...]] = ("a", "b", "lang_*", "v1", "v2")
    requires: ClassVar[str] = ""
    description: ClassVar[str] = "test double"

    def __init__(self, result: Any = None) -> None:
        self.result = result

    def tag_batch(self, docs: Sequence[Document]) -> list[Any]:
        return [self.result for _ in docs]


class _ValueTagger(_Tagger):
    """A ValueTagger double with value types 'v1' and 'v2'."""

    value_types: ClassVar[tuple[str, ...]] = ("v1", "v2")

    def tag_values(self, docs: Sequence[Document]) -> list[Any]:
        return [self.result for _ in docs]


KEYS = {"a": "r__t__a", "b": "r__t__b"}  # 'lang_en' is declared but not yet known
VALUE_KEYS = ("r__v__v1", "r__v__v2")

offsets = st.one_of(st.integers(-2, 12), st.booleans(), st.just(_Int(1)), st.just(2**64))
scores = st.one_of(
    st.floats(),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.sampled_from([0.0, -0.0, 1.0, 0.5, 1 / 3, _Float(0.25), _Int(3), "1", None]),
)
spans_ = st.one_of(
    st.builds(Span, offsets, offsets, scores),
    st.tuples(offsets, offsets, scores).flatmap(lambda t: st.sampled_from([t, list(t)])),
    st.lists(offsets, max_size=4),
)
span_lists = st.one_of(
    st.lists(spans_, max_size=3),
    st.lists(spans_, max_size=3).map(tuple),
    st.sampled_from([None, 0, "", "xyz"]),
)
kinds = st.sampled_from(["a", "b", "lang_en", 7])
found_dicts = st.dictionaries(kinds, span_lists, max_size=3)
value_tuples = st.lists(st.one_of(scores, st.none()), min_size=1, max_size=3).map(tuple)
value_results = st.one_of(
    st.tuples(found_dicts, value_tuples),
    st.tuples(found_dicts, st.lists(scores, max_size=2)),
    found_dicts,
)


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[list[Any]], list[int]]:
    """Return (results of a span tagger and a value tagger, text sizes) for a few documents."""
    n = draw(st.integers(1, 4))
    plain: list[Any] = draw(st.lists(st.one_of(found_dicts, st.just([])), min_size=n, max_size=n))
    values = draw(st.lists(value_results, min_size=n, max_size=n))
    return [plain, values], draw(st.lists(st.integers(0, 10), min_size=n, max_size=n))


def reference(outs: list[list[Any]], sizes: list[int]) -> list[Any]:
    return checked_rows(outs, [dict(KEYS), dict(KEYS)], [None, VALUE_KEYS], sizes, Span)


@needs_native
@settings(max_examples=500, deadline=None)
@given(batches())
@example(([[{"a": [Span(0, 3, 0.5)]}], [({}, (1, None))]], [3]))
def test_compiled_rows_equal_the_reference(batch: tuple[list[list[Any]], list[int]]) -> None:
    assert NATIVE is not None
    outs, sizes = batch
    got = NATIVE.checked_rows(outs, [dict(KEYS), dict(KEYS)], [None, VALUE_KEYS], sizes, Span)
    assert repr(got) == repr(reference(outs, sizes))  # repr: -0.0 and 0.0, 1 and 1.0 differ


@settings(max_examples=500, deadline=None)
@given(batches())
def test_rows_equal_the_per_document_check(batch: tuple[list[list[Any]], list[int]]) -> None:
    outs, sizes = batch
    checker = _Checker("r", [("t", _Tagger()), ("v", _ValueTagger())], "x.jsonl")
    results = [
        ("t", _Tagger(), dict(KEYS), outs[0], None),
        ("v", _ValueTagger(), dict(KEYS), outs[1], VALUE_KEYS),
    ]
    for i, row in enumerate(reference(outs, sizes)):
        if row is None:
            continue  # the stage checks this document alone (tested below)
        assert repr(checker._attributes(results, i, i + 1, sizes[i])) == repr(row)


# Exact ties of x * 1e5 (odd multiples of 1/64), numbers near the compiled fast path's limit
# (4e7), huge, tiny and subnormal ones, and decimal halves whose binary value is just off.
TRICKY = [
    1 / 64, 3 / 64, -5 / 64, 0.000005, 0.000015, 1.234565, 2.675, -0.000004, -1e-300,
    5e-324, 2.2250738585072014e-308, 39999999.999995, 4e7, -4e7, 4e7 + 0.5, 1e16, 1e300,
    1.7976931348623157e308, 0.1, 0.7, 0.999995, 0.9999949999999999, 1.000005, 123456.789015,
]  # fmt: skip


def near_ties() -> st.SearchStrategy[float]:
    """Floats within a few ulps of (k + 0.5) / 1e5, the hardest inputs of round(x, 5)."""
    k = st.integers(-(4 * 10**12), 4 * 10**12)
    steps = st.integers(-3, 3)

    def nudged(pair: tuple[int, int]) -> float:
        x = (pair[0] + 0.5) / 1e5
        for _ in range(abs(pair[1])):
            x = math.nextafter(x, math.copysign(math.inf, pair[1]))
        return x

    return st.tuples(k, steps).map(nudged)


def compiled_round(xs: list[float]) -> list[float]:
    """Return each float's score as the compiled rows write it."""
    assert NATIVE is not None
    found = [{"a": [[0, 0, x] for x in xs]}]
    (row,) = NATIVE.checked_rows([found], [{"a": "k"}], [None], [0], Span)
    return [span[2] for span in row["k"]] if xs else []


@needs_native
@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.floats(-4e7, 4e7),
            st.floats(-1.0, 1.0),
            near_ties(),
            st.integers(-(2**20), 2**20).map(lambda m: (2 * m + 1) / 64),
        ),
        max_size=60,
    )
)
@example(TRICKY)
def test_compiled_rounding_equals_round(xs: list[float]) -> None:
    want = [x if x == 0.0 or x == 1.0 else round(x, 5) for x in xs]
    assert repr(compiled_round(xs)) == repr(want)


def test_rounding_keeps_signs_and_ties_to_even() -> None:
    assert checked_rows(
        [[{"a": [[0, 0, -0.000004], [0, 0, 1 / 64], [0, 0, 3 / 64], [0, 0, 1.0]]}]],
        [{"a": "k"}], [None], [0], Span,
    ) == [{"k": [[0, 0, -0.0], [0, 0, 0.01562], [0, 0, 0.04688], [0, 0, 1.0]]}]  # fmt: skip
    if NATIVE is not None:
        assert repr(compiled_round([-0.000004, 1 / 64, 3 / 64])) == "[-0.0, 0.01562, 0.04688]"


@pytest.mark.parametrize(
    ("plain", "values", "message"),
    [
        ([], ({}, ()), r"tagger 't' returned list, not a dict, for x.jsonl:1"),
        ({"a": [7]}, ({}, ()), r"'t', type 'a': spans must be \[start, end, score\] triples"),
        ({"a": [(0, "1", 0.5)]}, ({}, ()), r"spans must be .* at x.jsonl:1: 'str' object"),
        ({"a": [(0, 1, 0.5), (0, 1)]}, ({}, ()), r"spans must be .* not enough values"),
        ({"a": [(0, 1, "x")]}, ({}, ()), r"'t', type 'a': score 'x' is not a number at x.jsonl:1"),
        ({"a": [(0, 1, math.inf)]}, ({}, ()), "'t', type 'a': score inf is not finite"),
        ({"a": [(2, 1, 0.5)]}, ({}, ()), r"span \[2, 1\] is not within the text \(0..3\)"),
        ({"c": [(0, 1, 0.5)]}, ({}, ()), "attribute type 'c', which it does not declare"),
        ({}, {}, r"tagger 'v' returned dict, not a \(spans, values\) pair, for x.jsonl:1"),
        ({}, ({}, [1, 2]), "tagger 'v' returned values of type list, not a tuple"),
        ({}, ({}, (1,)), "tagger 'v' returned 1 values for its 2 value types at x.jsonl:1"),
        ({}, ({}, (1, True)), r"'v', type 'v2': value True is not an int or a finite float"),
    ],
)
def test_malformed_results_stop_with_the_stage_message(
    tmp_path: Path, plain: Any, values: Any, message: str
) -> None:
    checker = _Checker("r", [("t", _Tagger(plain)), ("v", _ValueTagger(values))], "x.jsonl")
    with AttributeWriter(tmp_path / "a.jsonl") as writer, pytest.raises(TaggerError, match=message):
        checker.write_batch([(1, Document(id="d", text="abc"))], writer)


def test_accepted_unusual_results_are_converted(tmp_path: Path) -> None:
    # Int and float subclasses, and spans of other shapes, go through the full check.
    plain = {"a": [(_Int(0), 2, _Float(0.123456))], "lang_en": ((0, 3, _Int(1)),)}
    values: tuple[Any, ...] = ({}, (2 / 3, None))
    checker = _Checker("r", [("t", _Tagger(plain)), ("v", _ValueTagger(values))], "x.jsonl")
    path = tmp_path / "a.jsonl"
    with AttributeWriter(path) as writer:
        checker.write_batch([(1, Document(id="d", text="abc"))], writer)
    assert path.read_text() == (
        '{"id":"d","attributes":{"r__t__a":[[0,2,0.12346]],"r__t__lang_en":[[0,3,1]],'
        '"r__v__v1":[[0,3,0.66667]]}}\n'
    )


def test_the_stage_uses_the_compiled_rows_when_built() -> None:
    assert compiled_checked_rows is (None if NATIVE is None else NATIVE.checked_rows)


def test_a_bad_document_past_the_first_rows_call_is_named(tmp_path: Path) -> None:
    # The compiled rows come a few documents a call: the 36th of 40 is still the one named.
    class _PerDocument(_Tagger):
        def tag_batch(self, docs: Sequence[Document]) -> list[Any]:
            return [{"a": [(0, 3 if i != 35 else 4, 0.5)]} for i in range(len(docs))]

    checker = _Checker("r", [("t", _PerDocument())], "x.jsonl")
    batch = [(i + 1, Document(id=f"d{i}", text="abc")) for i in range(40)]
    path = tmp_path / "a.jsonl"
    with (
        pytest.raises(
            TaggerError, match=r"span \[0, 4\] is not within the text \(0..3\) of x.jsonl:36"
        ),
        AttributeWriter(path) as writer,
    ):
        checker.write_batch(batch, writer)
    with AttributeWriter(path) as writer:
        checker.write_batch(batch[:35], writer)
    assert path.read_text() == "".join(
        f'{{"id":"d{i}","attributes":{{"r__t__a":[[0,3,0.5]]}}}}\n' for i in range(35)
    )
