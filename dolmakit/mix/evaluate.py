"""Compile filter expressions into closures over (document, attributes) and run them per clause.

Value of an attribute in a comparison: the score of a span covering the whole text when there
is one, else the highest span score. In a boolean position (`not x`, `x and y`, a bare name)
an attribute is true when it has a span with score > 0; a missing attribute is then false.
In a comparison a missing value is an error unless `default(name, value)` gives one.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dolmakit.document import Document
from dolmakit.errors import ConfigError, DolmakitError
from dolmakit.io.attributes import Attributes
from dolmakit.mix.filters import (
    BoolOp,
    Call,
    Compare,
    In,
    Lit,
    Name,
    Node,
    Not,
    clauses,
    names,
    parse,
    unparse,
)

Value = Any
Getter = Callable[[Document, Attributes], Value]
Predicate = Callable[[Document, Attributes], bool]
_MISSING = object()
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class MissingValue(DolmakitError):
    """Report a name with no value in a document, where the expression needs one."""

    def __init__(self, name: str, detail: str) -> None:
        self.name = name
        super().__init__(
            f"{name!r} has no value in this document ({detail}); write "
            f"default({name}, VALUE) to give it one"
        )


class EvalError(DolmakitError):
    """Report an expression that cannot be evaluated on a document (e.g. string < number)."""


@dataclass(frozen=True)
class Reference:
    """What a name refers to: kind 'attribute' (with candidate keys), 'metadata' or 'field'."""

    name: str
    kind: str
    keys: tuple[str, ...] = ()
    path: tuple[str, ...] = ()


def resolve(name: str, runs: Sequence[str]) -> Reference:
    """Resolve a name against the joined attribute runs; ConfigError when it cannot be."""
    if name in ("id", "source"):
        return Reference(name, "field", path=(name,))
    parts = name.split(".")
    if parts[0] == "metadata":
        if len(parts) == 1:
            raise ConfigError("'metadata' needs a field: metadata.<field>")
        return Reference(name, "metadata", path=tuple(parts[1:]))
    if len(parts) == 1:
        return Reference(name, "attribute", keys=(name,))
    if len(parts) == 2:
        tagger, kind = parts
        return Reference(name, "attribute", keys=tuple(f"{r}__{tagger}__{kind}" for r in runs))
    if len(parts) == 3:
        run, tagger, kind = parts
        if run not in runs:
            joined = ", ".join(runs) or "none"
            raise ConfigError(
                f"{name!r} names run {run!r}, which this source does not join ({joined})"
            )
        return Reference(name, "attribute", keys=(f"{run}__{tagger}__{kind}",))
    raise ConfigError(
        f"{name!r}: an attribute is tagger.type, run.tagger.type or a full key run__tagger__type"
    )


def _spans(ref: Reference, attrs: Attributes) -> list[list[float]] | None:
    found = None
    hit = ""
    for key in ref.keys:
        spans = attrs.get(key)
        if spans is not None:
            if found is not None:
                raise EvalError(
                    f"{ref.name!r} is ambiguous: this document has both {hit} and {key}"
                )
            found, hit = spans, key
    return found


def _score(spans: list[list[float]], length: int) -> float:
    best = spans[0][2]
    for span in spans:
        if span[0] == 0 and span[1] >= length:
            return span[2]
        best = max(best, span[2])
    return best


def attribute_value(ref: Reference, doc: Document, attrs: Attributes) -> float | None:
    """Return an attribute's value as a comparison sees it, or None when it has no span."""
    spans = _spans(ref, attrs)
    return _score(spans, len(doc.text)) if spans else None


def _getter(ref: Reference) -> Getter:
    if ref.kind == "field":
        field = ref.path[0]
        return lambda doc, attrs: getattr(doc, field)
    if ref.kind == "metadata":
        path = ref.path

        def get_metadata(doc: Document, attrs: Attributes) -> Value:
            value: Any = doc.metadata
            for part in path:
                if not isinstance(value, dict) or part not in value:
                    return _MISSING
                value = value[part]
            return _MISSING if value is None else value

        return get_metadata

    def get_score(doc: Document, attrs: Attributes) -> Value:
        spans = _spans(ref, attrs)
        if not spans:
            return _MISSING
        return _score(spans, len(doc.text))

    return get_score


class Compiler:
    """Turn syntax trees into closures, resolving names against a source's joined runs."""

    def __init__(self, runs: Sequence[str]) -> None:
        self.runs = tuple(runs)
        self.references: dict[str, Reference] = {}

    def reference(self, name: Name) -> Reference:
        ref = self.references.get(name.path)
        if ref is None:
            ref = self.references[name.path] = resolve(name.path, self.runs)
        return ref

    def value(self, node: Node) -> Getter:
        """Compile a node whose value is used (in a comparison)."""
        if isinstance(node, Lit):
            constant = node.value
            return lambda doc, attrs: constant
        if isinstance(node, Name):
            return _required(node.path, _getter(self.reference(node)))
        if isinstance(node, Call):
            ref = self.reference(node.name)
            if node.fn == "default":
                get = _getter(ref)
                fallback = node.fallback

                def get_default(doc: Document, attrs: Attributes) -> Value:
                    value = get(doc, attrs)
                    return fallback if value is _MISSING else value

                return get_default
            if node.fn == "first":
                if ref.kind != "attribute":
                    raise ConfigError(f"first() takes an attribute, not {ref.name!r}")
                return _required(node.name.path, _first(ref))
            if node.fn == "count":
                if ref.kind != "attribute":
                    raise ConfigError(f"count() takes an attribute, not {ref.name!r}")
                return lambda doc, attrs: len(_spans(ref, attrs) or ())
            test = self.boolean(node)
            return lambda doc, attrs: test(doc, attrs)
        test = self.boolean(node)
        return lambda doc, attrs: test(doc, attrs)

    def boolean(self, node: Node) -> Predicate:
        """Compile a node used as a condition."""
        if isinstance(node, BoolOp):
            parts = [self.boolean(item) for item in node.items]
            if node.op == "and":
                return lambda doc, attrs: all(p(doc, attrs) for p in parts)
            return lambda doc, attrs: any(p(doc, attrs) for p in parts)
        if isinstance(node, Not):
            inner = self.boolean(node.item)
            return lambda doc, attrs: not inner(doc, attrs)
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, In):
            get = self.value(node.item)
            options = node.options

            def member(doc: Document, attrs: Attributes) -> bool:
                value = get(doc, attrs)
                return any(_equal(value, option) for option in options)

            return member
        if isinstance(node, Lit):
            constant = bool(node.value)
            return lambda doc, attrs: constant
        if (isinstance(node, Call) and node.fn == "exists") or isinstance(node, Name):
            ref = self.reference(node.name if isinstance(node, Call) else node)
            if ref.kind == "attribute":
                if isinstance(node, Call):
                    return lambda doc, attrs: bool(_spans(ref, attrs))
                return lambda doc, attrs: any(s[2] > 0 for s in _spans(ref, attrs) or ())
            get = _getter(ref)
            if isinstance(node, Call):
                return lambda doc, attrs: get(doc, attrs) is not _MISSING
            return lambda doc, attrs: _truthy(get(doc, attrs))
        get = self.value(node)
        return lambda doc, attrs: _truthy(get(doc, attrs))

    def compare(self, node: Compare) -> Predicate:
        left, right = self.value(node.left), self.value(node.right)
        op = _OPS[node.op]
        text = unparse(node)

        def test(doc: Document, attrs: Attributes) -> bool:
            a, b = left(doc, attrs), right(doc, attrs)
            if node.op in ("==", "!="):
                return _equal(a, b) == (node.op == "==")
            if (_is_number(a) and _is_number(b)) or (type(a) is str and type(b) is str):
                return bool(op(a, b))
            raise EvalError(
                f"cannot compare {_kind(a)} with {_kind(b)} in {text!r} (values {a!r} and {b!r})"
            )

        return test


def _required(name: str, get: Getter) -> Getter:
    def required(doc: Document, attrs: Attributes) -> Value:
        value = get(doc, attrs)
        if value is _MISSING:
            raise MissingValue(name, "no such attribute key or field")
        return value

    return required


def _first(ref: Reference) -> Getter:
    def first(doc: Document, attrs: Attributes) -> Value:
        spans = _spans(ref, attrs)
        return spans[0][2] if spans else _MISSING

    return first


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float)


def _equal(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _truthy(value: Any) -> bool:
    return value is not _MISSING and bool(value)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if _is_number(value):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


@dataclass
class CompiledFilter:
    """A source's filter: its canonical text, its clauses and their predicates."""

    text: str | None
    clause_texts: tuple[str, ...]
    predicates: tuple[Predicate, ...]
    references: dict[str, Reference]

    def first_failing(self, doc: Document, attrs: Attributes) -> int:
        """Return the index of the first clause the document fails, or -1 when it passes."""
        for index, predicate in enumerate(self.predicates):
            if not predicate(doc, attrs):
                return index
        return -1

    def attribute_keys(self) -> dict[str, tuple[str, ...]]:
        """Return, for each attribute name used, the keys it may resolve to."""
        return {n: r.keys for n, r in self.references.items() if r.kind == "attribute"}


def compile_filter(text: str | None, runs: Sequence[str]) -> CompiledFilter:
    """Parse and compile a filter (None: keep everything) for a source joining `runs`."""
    if text is None:
        return CompiledFilter(None, (), (), {})
    tree = parse(text)
    compiler = Compiler(runs)
    for name in names(tree):
        compiler.reference(name)
    parts = clauses(tree)
    return CompiledFilter(
        unparse(tree),
        tuple(unparse(p) for p in parts),
        tuple(compiler.boolean(p) for p in parts),
        compiler.references,
    )
