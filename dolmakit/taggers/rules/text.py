"""Text units shared by the rule taggers: words, non-blank lines, paragraphs, duplicates.

Definitions (docs/taggers.md repeats them): a *word* is a maximal run of non-whitespace
characters (`str.split()`); a *line* is a piece of `text.split("\\n")` with surrounding
whitespace stripped, blank lines left out; a *paragraph* is a piece between runs of two or
more newlines (with only whitespace between them), stripped, blank ones left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dolmakit.document import Span

PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def lines_of(text: str) -> list[str]:
    """Return the non-blank lines of `text`, stripped."""
    return [s for line in text.split("\n") if (s := line.strip())]


def paragraphs_of(text: str) -> list[str]:
    """Return the non-blank paragraphs of `text`, stripped."""
    if "\n" not in text:
        stripped = text.strip()
        return [stripped] if stripped else []
    return [s for part in PARAGRAPH_BREAK.split(text) if (s := part.strip())]


def duplicates(items: Sequence[str]) -> tuple[int, int]:
    """Return (count, characters) of the items that repeat an earlier item.

    The first occurrence of a repeated item is not counted: these are the copies that
    exact deduplication of the items would remove.
    """
    if len(set(items)) == len(items):
        return 0, 0
    seen: set[str] = set()
    count = chars = 0
    for item in items:
        if item in seen:
            count += 1
            chars += len(item)
        else:
            seen.add(item)
    return count, chars


def ratio(part: float, whole: float) -> float:
    """Return part / whole, or 0.0 when whole is 0."""
    return part / whole if whole else 0.0


def whole(text: str, value: float) -> list[Span]:
    """Return the document-level span `[0, len(text), value]`."""
    return [Span(0, len(text), value)]
