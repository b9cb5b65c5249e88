"""The Dolma document and span types.

A `Document` keeps unknown top-level fields in `extra`, so that reading and writing a file
never drops data a user put there (Dolma's mixer keeps them too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

KNOWN_FIELDS = ("id", "text", "source", "added", "created", "metadata")


class Span(NamedTuple):
    """A scored character range `[start, end)` of a document's text (characters, not bytes)."""

    start: int
    end: int
    score: float


@dataclass(slots=True)
class Document:
    """One document: `id` is unique within its source; `text` is what models see."""

    id: str
    text: str
    source: str | None = None
    added: str | None = None
    created: str | None = None
    metadata: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

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
    if doc_id is None:
        raise ValueError("missing field 'id'")
    if not isinstance(doc_id, str):
        raise ValueError(f"field 'id' must be a string, got {type(doc_id).__name__}")
    text = obj.get("text")
    if text is None:
        raise ValueError("missing field 'text'")
    if not isinstance(text, str):
        raise ValueError(f"field 'text' must be a string, got {type(text).__name__}")
    metadata = obj.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise ValueError(f"field 'metadata' must be an object, got {type(metadata).__name__}")
    extra = {k: v for k, v in obj.items() if k not in KNOWN_FIELDS} if len(obj) > 2 else {}
    return Document(
        id=doc_id,
        text=text,
        source=_optional_str(obj, "source"),
        added=_optional_str(obj, "added"),
        created=_optional_str(obj, "created"),
        metadata=metadata,
        extra=extra,
    )


def _optional_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"field {key!r} must be a string, got {type(value).__name__}")
