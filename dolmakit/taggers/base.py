"""The tagger protocol and the registry of built-in and third-party taggers.

A tagger turns a batch of documents into, per document, a dict from attribute type to spans.
Built-ins register with `@register`; third-party packages expose a Tagger class under the
entry-point group `dolmakit.taggers`. Instances are created once per worker process
(`load_tagger` caches them), so heavy models load once, not per shard or per document.
"""

from __future__ import annotations

import functools
import importlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol, runtime_checkable

from dolmakit.document import Document, Span
from dolmakit.errors import DolmakitError

ENTRY_POINT_GROUP = "dolmakit.taggers"
# Modules whose import registers the built-in taggers (each module registers its own).
BUILTIN_MODULES: list[str] = [
    "dolmakit.taggers.rules.lengths",
    "dolmakit.taggers.rules.gopher",
    "dolmakit.taggers.rules.c4",
    "dolmakit.taggers.rules.fineweb",
    "dolmakit.taggers.rules.ldnoobw",
    "dolmakit.taggers.lid",
    "dolmakit.taggers.tokens",
    "dolmakit.taggers.pii",
    "dolmakit.taggers.toxicity",
    "dolmakit.taggers.classifier",
    "dolmakit.taggers.contamination",
    "dolmakit.taggers.optout",
]


@runtime_checkable
class Tagger(Protocol):
    """Annotate documents: `tag_batch` returns, per document, {attribute type: spans}.

    Invariants: one result per input document, in order; spans lie within the text
    (character offsets); a type in the result is one of `attributes` (or matches a
    declared prefix ending in '*', for taggers whose types are labels, e.g. languages).
    """

    name: ClassVar[str]
    version: ClassVar[str]
    attributes: ClassVar[tuple[str, ...]]
    requires: ClassVar[str]
    description: ClassVar[str]

    def tag_batch(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        """Return the attributes of each document."""
        ...


Values = tuple[float | None, ...]


@runtime_checkable
class ValueTagger(Tagger, Protocol):
    """A tagger whose attributes are mostly document-level values, written by a faster path.

    `tag_values` returns, per document, `(spans, values)`: `spans` holds the types that are not
    in `value_types`, as `tag_batch` returns them; `values[i]` is the score of the span
    `[0, len(text)]` of type `value_types[i]` (None: no such attribute). The run writes the
    `spans` types first, then the values in `value_types` order. Invariant: `tag_batch` gives
    the same attributes in the same order (`batch_from_values` builds it).
    """

    value_types: ClassVar[tuple[str, ...]]

    def tag_values(self, docs: Sequence[Document]) -> list[tuple[dict[str, list[Span]], Values]]:
        """Return the span attributes and the document-level values of each document."""
        ...


class DocumentValues(ABC):
    """Base of ValueTaggers: `tag_batch` is derived from `tag_values`, so the two never differ."""

    value_types: ClassVar[tuple[str, ...]]

    @abstractmethod
    def tag_values(self, docs: Sequence[Document]) -> list[tuple[dict[str, list[Span]], Values]]:
        """Return the span attributes and the document-level values of each document."""

    def tag_batch(self, docs: Sequence[Document]) -> list[dict[str, list[Span]]]:
        """Return each document's attributes as spans (the values as `[0, len(text)]` spans)."""
        return batch_from_values(docs, self.value_types, self.tag_values(docs))


def batch_from_values(
    docs: Sequence[Document],
    value_types: tuple[str, ...],
    rows: list[tuple[dict[str, list[Span]], Values]],
) -> list[dict[str, list[Span]]]:
    """Return the `tag_batch` result equal to the `tag_values` rows of a ValueTagger."""
    out: list[dict[str, list[Span]]] = []
    for doc, (spans, values) in zip(docs, rows, strict=True):
        n = len(doc.text)
        result = dict(spans)
        for kind, value in zip(value_types, values, strict=True):
            if value is not None:
                result[kind] = [Span(0, n, value)]
        out.append(result)
    return out


@dataclass(frozen=True)
class TaggerInfo:
    """What `dolmakit taggers` lists about one tagger."""

    name: str
    version: str
    attributes: tuple[str, ...]
    requires: str
    description: str
    origin: str


_REGISTRY: dict[str, type[Tagger]] = {}


def register(cls: type[Tagger]) -> type[Tagger]:
    """Register a built-in tagger class under its `name` (a class decorator)."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"tagger name {cls.name!r} is registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def available_taggers() -> dict[str, tuple[type[Tagger], str]]:
    """Return {name: (class, origin)} for built-ins and entry-point taggers, sorted by name."""
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    found: dict[str, tuple[type[Tagger], str]] = {
        name: (cls, "built-in") for name, cls in _REGISTRY.items()
    }
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found:
            continue
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plugin must not break the built-ins
            raise DolmakitError(
                f"tagger plugin {ep.name!r} ({ep.value}) failed to load: {exc}"
            ) from None
        found[ep.name] = (cls, f"plugin {ep.value}")
    return dict(sorted(found.items()))


def tagger_info(name: str) -> TaggerInfo:
    """Describe one registered tagger."""
    cls, origin = _lookup(name)
    return TaggerInfo(cls.name, cls.version, cls.attributes, cls.requires, cls.description, origin)


def _lookup(name: str) -> tuple[type[Tagger], str]:
    taggers = available_taggers()
    if name not in taggers:
        raise DolmakitError(
            f"unknown tagger {name!r}; `dolmakit taggers` lists them: {', '.join(taggers)}"
        )
    return taggers[name]


def load_tagger(name: str, params: dict[str, Any] | None = None) -> Tagger:
    """Return a tagger instance, created once per process for the same name and parameters."""
    return _load(name, json.dumps(params or {}, sort_keys=True))


@functools.cache
def _load(name: str, params_json: str) -> Tagger:
    cls, _ = _lookup(name)
    params = json.loads(params_json)
    try:
        return cls(**params)
    except TypeError as exc:
        raise DolmakitError(f"tagger {name!r}: bad parameters {params}: {exc}") from None
