"""The ValueTagger path: document-level values written without building spans.

A ValueTagger's attributes written through `tag_values` must equal those written through
its `tag_batch` (same keys, order and bytes), and bad values stop the run naming the tagger,
the type, the file and the line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

import pytest

from dolmakit.document import Document, Span
from dolmakit.io.writer import JsonlWriter
from dolmakit.run.backends import SerialBackend
from dolmakit.run.options import RunOptions
from dolmakit.taggers import base
from dolmakit.taggers.base import Values, ValueTagger, batch_from_values, load_tagger
from dolmakit.taggers.stage import TaggerError, tag

GOLDEN = Path(__file__).resolve().parent / "golden" / "taggers"
RULES = ("lengths", "gopher_quality", "gopher_repetition", "c4", "fineweb")


class _Values:
    """A test ValueTagger: one span type and two values, good or broken by `mode`."""

    name: ClassVar[str] = "test_values"
    version: ClassVar[str] = "1"
    attributes: ClassVar[tuple[str, ...]] = ("mark", "size", "half")
    value_types: ClassVar[tuple[str, ...]] = ("size", "half")
    requires: ClassVar[str] = ""
    description: ClassVar[str] = "test double"

    def __init__(self, mode: str = "good") -> None:
        self.mode = mode

    def tag_batch(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        return batch_from_values(docs, self.value_types, self.tag_values(docs))

    def tag_values(self, docs: Sequence[Document]) -> list[tuple[dict[str, list[Span]], Values]]:
        rows: list[tuple[dict[str, list[Span]], Values]] = []
        for doc in docs:
            n = len(doc.text)
            values: Values = (n, n / 3 if n else None)
            if self.mode == "inf":
                values = (n, float("inf"))
            elif self.mode == "text":
                values = ("x", 0.5)  # type: ignore[assignment]
            elif self.mode == "short":
                values = (n,)
            rows.append(({"mark": [Span(0, min(n, 2), 1)]} if n else {}, values))
        return rows


class _SpansOnly:
    """Hide a ValueTagger's `tag_values`, so that the run takes the `tag_batch` path."""

    def __init__(self, inner: ValueTagger) -> None:
        self.inner = inner
        self.name = inner.name
        self.version = inner.version
        self.attributes = inner.attributes
        self.requires = inner.requires
        self.description = inner.description

    def tag_batch(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        return self.inner.tag_batch(docs)


@pytest.fixture
def value_tagger() -> Iterator[type[_Values]]:
    base.register(_Values)
    base._load.cache_clear()
    yield _Values
    base._REGISTRY.pop("test_values", None)
    base._load.cache_clear()


def dataset(root: Path, texts: list[str]) -> Path:
    documents = root / "documents"
    with JsonlWriter(documents / "x.jsonl") as writer:
        for i, text in enumerate(texts):
            writer.write({"id": f"d{i}", "text": text})
    return documents


def test_rule_taggers_are_value_taggers() -> None:
    for name in RULES:
        tagger = load_tagger(name)
        assert isinstance(tagger, ValueTagger), name
        assert set(tagger.value_types) <= set(tagger.attributes)


def test_value_path_writes_what_the_span_path_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value_tagger: type[_Values]
) -> None:
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "x.jsonl").write_bytes(
        (GOLDEN / "documents" / "demo" / "sample.jsonl").read_bytes()
    )
    names = [*RULES, "test_values"]
    tag([documents], "fast", names, run_options=RunOptions(backend=SerialBackend(), progress=False))
    real_load = base.load_tagger

    def spans_only(name: str, params: dict[str, object] | None = None) -> object:
        tagger = real_load(name, params)
        return _SpansOnly(tagger) if isinstance(tagger, ValueTagger) else tagger

    monkeypatch.setattr("dolmakit.taggers.stage.load_tagger", spans_only)
    tag([documents], "slow", names, run_options=RunOptions(backend=SerialBackend(), progress=False))
    fast = (tmp_path / "attributes" / "fast" / "x.jsonl").read_bytes()
    slow = (tmp_path / "attributes" / "slow" / "x.jsonl").read_bytes()
    assert b"fast__test_values__mark" in fast and b"fast__c4__line_dropped" in fast
    assert fast.replace(b"fast__", b"") == slow.replace(b"slow__", b"")


def test_values_by_hand(tmp_path: Path, value_tagger: type[_Values]) -> None:
    # 'abcd': mark [0, 2], size 4, half 4/3 rounded to 1.33333; '': size 0, half None (absent).
    documents = dataset(tmp_path, ["abcd", ""])
    tag(
        [documents],
        "v",
        ["test_values"],
        run_options=RunOptions(backend=SerialBackend(), progress=False),
    )
    lines = (tmp_path / "attributes" / "v" / "x.jsonl").read_text().splitlines()
    assert lines == [
        '{"id":"d0","attributes":{"v__test_values__mark":[[0,2,1]],'
        '"v__test_values__size":[[0,4,4]],"v__test_values__half":[[0,4,1.33333]]}}',
        '{"id":"d1","attributes":{"v__test_values__size":[[0,0,0]]}}',
    ]


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        (
            "inf",
            r"'test_values', type 'half': value inf is not an int or a finite float at .*x.jsonl:1",
        ),
        ("text", r"'test_values', type 'size': value 'x' is not an int .* at .*x.jsonl:1"),
        ("short", r"'test_values' returned 1 values for its 2 value types at .*x.jsonl:1"),
    ],
)
def test_bad_values_stop_the_run(
    tmp_path: Path, value_tagger: type[_Values], mode: str, message: str
) -> None:
    documents = dataset(tmp_path, ["abcd", "ef"])
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"taggers:\n  - name: test_values\n    params: {{mode: {mode}}}\n")
    with pytest.raises(TaggerError, match=message):
        tag(
            [documents],
            "v",
            recipe,
            run_options=RunOptions(backend=SerialBackend(), progress=False),
        )
    assert not (tmp_path / "attributes" / "v" / "x.jsonl").exists()
