"""Attribute values are checked once, where they are read: a bad span is one named line.

The compiled check (`dolmakit._textstats.bad_span_key`) must agree with its pure-Python
reference (`dolmakit.io.attributes.first_bad_key`) on any decoded JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import example, given
from hypothesis import strategies as st
from test_mix_helpers import simple_spec, write_spec

from dolmakit.cli.main import cli
from dolmakit.errors import InputError
from dolmakit.io.attributes import first_bad_key, read_attribute_lines, span_problem

native = pytest.importorskip("dolmakit._textstats")

KEY = "t__q__score"
BAD = {
    "[[0,10]]": "span 0 is [0,10], not [start, end, score]",
    '"abc"': 'must be a list of [start, end, score] spans, got "abc"',
    '[[0,"a",1]]': 'span 0 [0,"a",1]: end "a" is not an integer',
    "[[0,10,null]]": "span 0 [0,10,null]: score null is not a number",
    '{"a":1}': 'must be a list of [start, end, score] spans, got {"a":1}',
    "[[5,2,1]]": "span 0 [5,2,1]: start 5 is after end 2",
    "[[0,10,true]]": "span 0 [0,10,true]: score true is a boolean, not a number",
    "[[0,10,0.5],[-1,3,1]]": "span 1 [-1,3,1]: start -1 is out of range",
    "[[0.5,10,1]]": "span 0 [0.5,10,1]: start 0.5 is not an integer",
    "[[0,10,1,2]]": "span 0 is [0,10,1,2], not [start, end, score]",
    "[5]": "span 0 is 5, not [start, end, score]",
}


def dataset(root: Path, value: str) -> Path:
    """Three documents; the second one's attribute `KEY` has the raw JSON `value`."""
    docs = [{"id": f"d{i}", "text": "some text here"} for i in range(3)]
    (root / "documents" / "web").mkdir(parents=True)
    (root / "documents" / "web" / "a.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    lines = [
        json.dumps({"id": "d0", "attributes": {"t__q__len": [[0, 14, 14]], KEY: [[0, 14, 0.5]]}}),
        '{"id": "d1", "attributes": {"t__q__len": [[0, 14, 14]], "' + KEY + '": ' + value + "}}",
        json.dumps({"id": "d2", "attributes": {}}),
    ]
    attrs = root / "attributes" / "t" / "web" / "a.jsonl"
    attrs.parent.mkdir(parents=True)
    attrs.write_text("\n".join(lines) + "\n")
    return attrs


@pytest.mark.parametrize("value", sorted(BAD))
def test_bad_value_is_named_with_file_line_and_key(tmp_path: Path, value: str) -> None:
    attrs = dataset(tmp_path, value)
    with pytest.raises(InputError) as caught:
        list(read_attribute_lines(attrs))
    assert str(caught.value) == f"{attrs}:2: attribute {KEY!r}: {BAD[value]}"


@pytest.mark.parametrize("value", ["[[0,10]]", '"abc"', '[[0,"a",1]]', "[[0,10,null]]", '{"a":1}'])
def test_mix_and_stats_stop_with_one_line(tmp_path: Path, value: str) -> None:
    attrs = dataset(tmp_path, value)
    source = {
        "name": "web",
        "documents": ["documents/web/*"],
        "attributes": ["t"],
        "filter": "default(q.score, 0) < 0.9",
        "weight": 1,
    }
    spec = simple_spec(source, fmt="jsonl")
    write_spec(tmp_path / "mix.yaml", spec)
    runner = CliRunner()
    expected = f"Error: {attrs}:2: attribute {KEY!r}: {BAD[value]}"
    for args in (
        ["mix", str(tmp_path / "mix.yaml"), "--output", str(tmp_path / "out"), "--workers", "1"],
        ["stats", str(tmp_path)],
        ["inspect", str(tmp_path / "documents")],
    ):
        result = runner.invoke(cli, ["-q", *args])
        assert result.exit_code == 1, (args, result.output)
        assert result.output.strip().splitlines()[-1] == expected, args


def test_good_values_are_returned_as_written(tmp_path: Path) -> None:
    attrs = dataset(tmp_path, "[[0,4,1],[5,9,0.25],[9,9,0],[0.0,14.0,-1]]")
    rows = list(read_attribute_lines(attrs))
    assert rows[1] == (
        2,
        "d1",
        {"t__q__len": [[0, 14, 14]], KEY: [[0, 4, 1], [5, 9, 0.25], [9, 9, 0], [0, 14, -1]]},
    )
    assert type(rows[1][2][KEY][0][2]) is int  # integer scores stay integers


scalars = (
    st.none()
    | st.booleans()
    | st.integers(-5, 20)
    | st.sampled_from([2**63 - 1, 2**63, -(2**63), 10**30])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=2)
)
offsets = st.integers(0, 9) | st.floats(0, 9).map(float.__round__).map(float) | scalars
spans = st.lists(scalars, min_size=0, max_size=4) | st.tuples(offsets, offsets, scalars).map(list)
values = (
    st.lists(spans | scalars, max_size=3) | scalars | st.dictionaries(st.text(max_size=2), scalars)
)


@given(attrs=st.dictionaries(st.text(max_size=3), values, max_size=4))
@example(attrs={"a": [[0, 1, True]]})
@example(attrs={"a": [[True, 1, 1]]})
@example(attrs={"a": [[0, 2**63, 1]]})
@example(attrs={"a": [[0, 2**63 - 1, 1]], "b": [[3, 2, 0.5]]})
@example(attrs={"a": [[0, 1, float("nan")]]})
@example(attrs={"a": [[2**53 + 1, float(2**53), 1]], "b": [[3.0, 2, 1]]})
@example(attrs={"a": [[0, float(2**63), 1]], "b": [[0.5, 1, 1]], "c": [[0, float("inf"), 1]]})
@example(attrs={"a": [(0, 1, 1.0)]})
def test_compiled_check_agrees_with_the_reference(attrs: dict) -> None:
    assert native.bad_span_key(attrs) == first_bad_key(attrs)
    key = first_bad_key(attrs)
    for k, v in attrs.items():
        if k == key:
            break
        assert span_problem(v) is None
    if key is not None:
        assert span_problem(attrs[key]) is not None


@pytest.mark.parametrize("value", sorted(BAD))
def test_only_the_keys_asked_for_are_decoded_and_checked(tmp_path: Path, value: str) -> None:
    attrs = dataset(tmp_path, value)
    names: set[str] = set()
    rows = list(read_attribute_lines(attrs, only={"t__q__len"}, names=names))
    assert [(line, doc_id) for line, doc_id, _ in rows] == [(1, "d0"), (2, "d1"), (3, "d2")]
    assert [a for _, _, a in rows] == [{"t__q__len": [[0, 14, 14]]}] * 2 + [{}]
    assert names == {"t__q__len", KEY}
    with pytest.raises(InputError) as caught:
        list(read_attribute_lines(attrs, only={KEY}))
    assert str(caught.value) == f"{attrs}:2: attribute {KEY!r}: {BAD[value]}"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"id": 5, "attributes": {}}', "attribute line has no string 'id'"),
        ('{"id": "d1", "attributes": [1]}', "'attributes' must be an object"),
        ('{"id": "d1", "attributes": {"t__q__len": [[0, 1, 1]]', "attribute file: invalid JSON"),
    ],
)
def test_a_bad_line_is_named_when_only_some_keys_are_read(
    tmp_path: Path, line: str, problem: str
) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "d0", "attributes": {"t__q__len": [[0, 1, 1]]}}\n' + line + "\n")
    with pytest.raises(InputError) as caught:
        list(read_attribute_lines(path, only={"t__q__len"}))
    assert str(caught.value).startswith(f"{path}:2: {problem}")
