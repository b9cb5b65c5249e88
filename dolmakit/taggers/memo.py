"""A bounded memo of per-text results, for taggers that see the same paragraphs again.

Corpora repeat themselves: boilerplate lines, copied paragraphs, near-duplicate documents.
A tagger whose result for a piece of text depends on that text alone can keep it here and
skip the model for a repeat. Results never depend on the memo's contents (a hit returns what
the model returned for the same text), so outputs are the same with any size, order or
batch; only the time changes. Memory stays bounded: when the memo holds `max_entries`
texts it is emptied and fills again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

V = TypeVar("V")

DEFAULT_MAX_ENTRIES = 1 << 16


class TextMemo(Generic[V]):
    """Map texts to a tagger's result for them, holding at most `max_entries` texts."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self.entries: dict[str, V] = {}

    def get(self, text: str) -> V | None:
        """Return the result kept for `text`, or None."""
        return self.entries.get(text)

    def put(self, text: str, value: V) -> None:
        """Keep `value` as the result for `text`, emptying the memo first when it is full."""
        if len(self.entries) >= self.max_entries:
            self.entries.clear()
        self.entries[text] = value

    def put_many(self, items: Iterable[tuple[str, V]]) -> None:
        """Keep each (text, value) as `put` would, in order, a dict update at a time."""
        entries, pending = self.entries, list(items)
        while pending:
            if len(entries) >= self.max_entries:
                entries.clear()
            room = self.max_entries - len(entries)
            entries.update(pending[:room])
            pending = pending[room:]
