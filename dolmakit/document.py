"""The Dolma document and span types.

A `Document` keeps unknown top-level fields in `extra`, so that reading and writing a file
never drops data a user put there (Dolma's mixer keeps them too).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec

KNOWN_FIELDS = ("id", "text", "source", "added", "created", "metadata")
_KNOWN = frozenset(KNOWN_FIELDS)


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


def document_from_dict(obj: Any) -> Document:
    """Build a document from a decoded JSON value; raise ValueError naming the bad field."""
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
    return Document(
        id=doc_id,
        text=text,
        source=_optional_str(obj, "source"),
        added=_optional_str(obj, "added"),
        created=_optional_str(obj, "created"),
        metadata=metadata,
        extra={k: v for k, v in obj.items() if k not in _KNOWN},
    )


def _optional_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"field {key!r} must be a string, got {type(value).__name__}")
