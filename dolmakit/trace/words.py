"""Split a model's output into lines and words with their byte offsets in UTF-8.

A word is a run of word characters, or one CJK or kana character (those scripts write no
spaces, so each character is a word). Spans start at a word's first byte and end at a word's
last, so they start and end on word boundaries and never split a character (punctuation and
spaces between words belong to a span, not at its ends); lines are traced separately, so no
span crosses a newline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
WORD = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")


@dataclass(frozen=True)
class Line:
    """One line of the output: its UTF-8 bytes and its words.

    `starts[i]`/`ends[i]` are word i's byte offsets within `data`; `char_offset` is where the
    line starts in the whole output, in characters.
    """

    data: bytes
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    char_offset: int
    text: str

    def char(self, byte_offset: int) -> int:
        """Return the character offset in the whole output of a byte offset in this line."""
        return self.char_offset + len(self.data[:byte_offset].decode("utf-8"))


def split_lines(text: str) -> list[Line]:
    """Return the lines of `text` (split at `\\n`; a `\\r` before it is left to the line)."""
    lines = []
    offset = 0
    for part in text.split("\n"):
        data = part.encode("utf-8")
        starts, ends = [], []
        byte_at = _byte_offsets(part) if len(data) != len(part) else None
        for match in WORD.finditer(part):
            s, e = match.span()
            if byte_at is not None:
                s, e = byte_at[s], byte_at[e]
            starts.append(s)
            ends.append(e)
        lines.append(Line(data, tuple(starts), tuple(ends), offset, part))
        offset += len(part) + 1
    return lines


def _byte_offsets(text: str) -> list[int]:
    """Return the UTF-8 byte offset of every character offset of `text` (and of its end)."""
    offsets = [0]
    total = 0
    for ch in text:
        total += len(ch.encode("utf-8"))
        offsets.append(total)
    return offsets


def count_words(text: str) -> int:
    """Return the number of words (word tokens) in `text`."""
    return sum(1 for _ in WORD.finditer(text))


def words_lower(text: str) -> list[str]:
    """Return the lowercased words of `text` (BM25's terms)."""
    return [m.group().lower() for m in WORD.finditer(text)]
