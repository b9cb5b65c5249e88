"""The Dolma document and span types.

A `Document` keeps unknown top-level fields in `extra`, so that reading and writing a file
never drops data a user put there (Dolma's mixer keeps them too).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec

KNOWN_FIELDS = ("id", "text", "source", "added", "created", "metadata")
_KNOWN = frozenset(KNOWN_FIELDS)
MAX_NESTING = 256
"""Deepest nesting of objects and arrays a document may have (the document itself is 1).

A fixed limit, far below Python's recursion limit, so that every stage can encode, copy and
walk any document it accepts, and acceptance does not depend on the stack depth of the
process (or backend) that reads the line.
"""


# Fewest JSON bytes besides the text's characters that can nest past MAX_NESTING: each level
# takes an opening and a closing bracket, and the text's JSON string two quotes.
_DEEP_BYTES = 2 * (MAX_NESTING + 1) + 2


class NestingError(ValueError):
    """Report a document whose objects and arrays nest deeper than MAX_NESTING."""


class Span(NamedTuple):
    """A scored character range `[start, end)` of a document's text (characters, not bytes)."""

    start: int
    end: int
    score: float


class Document(msgspec.Struct, omit_defaults=True):
    """One document: `id` is unique within its source; `text` is what models see.

    A msgspec Struct so that it encodes to JSON in C: encoded directly it gives Dolma's field
    order with absent fields omitted, which equals `to_dict()` whenever `extra` is empty.
    """

    id: str
    text: str
    source: str | None = None
    added: str | None = None
    created: str | None = None
    metadata: dict[str, Any] | None = None
    extra: dict[str, Any] = msgspec.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the Dolma JSON object: known fields in Dolma's order, absent ones omitted."""
        out: dict[str, Any] = {"id": self.id, "text": self.text}
        if self.source is not None:
            out["source"] = self.source
        if self.added is not None:
            out["added"] = self.added
        if self.created is not None:
            out["created"] = self.created
        if self.metadata is not None:
            out["metadata"] = self.metadata
        out.update(self.extra)
        return out


def document_from_dict(
    obj: Any, json_bytes: int | None = None, json_text: bytes | None = None
) -> Document:
    """Build a document from a decoded JSON value; raise ValueError naming the bad field.

    Nesting deeper than MAX_NESTING raises NestingError. `json_bytes`, the length of the JSON
    text `obj` was decoded from, lets that check be skipped when it cannot fail: each level
    takes two bracket bytes outside the text field, so a short rest cannot nest that deep.
    So does `json_text`, that JSON text itself: each level opens one `{` or `[`, so a text
    with at most MAX_NESTING of them cannot nest deeper (counted only when needed).
    """
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    doc_id = obj.get("id")
    text = obj.get("text")
    source = obj.get("source")
    added = obj.get("added")
    created = obj.get("created")
    metadata = obj.get("metadata")
    # Fast path: the usual document, every field of its expected type and no unknown fields.
    if (
        type(doc_id) is str
        and doc_id
        and type(text) is str
        and (source is None or type(source) is str)
        and (added is None or type(added) is str)
        and (created is None or type(created) is str)
        and (metadata is None or type(metadata) is dict)
        and obj.keys() <= _KNOWN
    ):
        # `_shallow` inlined: this is the reader's per-document path.
        if (
            metadata
            and (json_bytes is None or json_bytes - len(text) >= _DEEP_BYTES)
            and (json_text is None or json_brackets(json_text) > MAX_NESTING)
            and _too_deep(metadata, 2)
        ):
            raise NestingError(_nesting_problem("metadata"))
        return Document(doc_id, text, source, added, created, metadata, {})
    if doc_id is None:
        raise ValueError("missing field 'id'")
    if not isinstance(doc_id, str):
        raise ValueError(f"field 'id' must be a string, got {type(doc_id).__name__}")
    if not doc_id:
        raise ValueError("field 'id' must not be empty")
    if text is None:
        raise ValueError("missing field 'text'")
    if not isinstance(text, str):
        raise ValueError(f"field 'text' must be a string, got {type(text).__name__}")
    if metadata is not None and not isinstance(metadata, dict):
        raise ValueError(f"field 'metadata' must be an object, got {type(metadata).__name__}")
    if not _shallow(json_bytes, text) and (
        json_text is None or json_brackets(json_text) > MAX_NESTING
    ):
        for key, value in obj.items():
            if key not in ("id", "text") and _too_deep(value, 2):
                raise NestingError(_nesting_problem(key))
    return Document(
        id=doc_id,
        text=text,
        source=_optional_str(obj, "source"),
        added=_optional_str(obj, "added"),
        created=_optional_str(obj, "created"),
        metadata=metadata,
        extra={k: v for k, v in obj.items() if k not in _KNOWN},
    )


def json_brackets(data: bytes) -> int:
    """Return the number of `{` and `[` bytes of a JSON text: an upper bound of its nesting."""
    return data.count(b"{") + data.count(b"[")


def _shallow(json_bytes: int | None, text: str) -> bool:
    """Return true when JSON of `json_bytes` bytes with this text cannot nest too deeply.

    The text's characters take at least as many bytes; see _DEEP_BYTES for the rest.
    """
    return json_bytes is not None and json_bytes - len(text) < _DEEP_BYTES


def _too_deep(value: Any, level: int) -> bool:
    """Return true when `value`, at nesting `level`, holds containers deeper than MAX_NESTING.

    Iterative, so that it cannot itself overflow the stack; a flat object costs one loop.
    """
    kind = type(value)
    if kind is not dict and kind is not list:
        return False
    stack: list[tuple[Any, int]] = [(value, level)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            return True
        for child in item.values() if type(item) is dict else item:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return False


def _nesting_problem(field: str) -> str:
    return f"field {field!r} nests objects and arrays more than {MAX_NESTING} levels deep"


def _optional_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"field {key!r} must be a string, got {type(value).__name__}")
