"""Replace attribute spans in a document's text (mask PII, drop duplicate paragraphs).

Spans are character offsets (Python string indices), never bytes, so multi-byte text is cut
where the tagger meant. Overlapping spans: the one starting first (the longer on a tie) is
replaced and spans overlapping it are skipped, so no character is replaced twice. `{}` in a
replacement stands for the original span text (as in Dolma's mixer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dolmakit.errors import DolmakitError
from dolmakit.io.attributes import Attributes
from dolmakit.mix.evaluate import resolve


@dataclass(frozen=True)
class SpanRule:
    """Replace the spans of attribute `attribute` whose score is within [min_score, max_score]."""

    attribute: str
    replacement: str
    min_score: float | None = None
    max_score: float | None = None


@dataclass(frozen=True)
class _Compiled:
    keys: tuple[str, ...]
    rule: SpanRule


class SpanError(DolmakitError):
    """Report a span that does not fit the document's text."""


class SpanReplacer:
    """Apply span rules for one source (names resolved against the source's joined runs)."""

    def __init__(self, rules: Sequence[SpanRule], runs: Sequence[str]) -> None:
        self._rules = tuple(_Compiled(resolve(r.attribute, runs).keys, r) for r in rules)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def attribute_keys(self) -> set[str]:
        """Return every attribute key the rules may read."""
        return {key for compiled in self._rules for key in compiled.keys}

    def apply(self, text: str, attrs: Attributes) -> str:
        """Return `text` with every selected span replaced; SpanError for an invalid span."""
        return self.splice(text, self.choose(text, attrs))

    def choose(self, text: str, attrs: Attributes) -> list[tuple[int, int, int]]:
        """Return the spans to replace as (start, end, rule index), sorted, none overlapping."""
        chosen: list[tuple[int, int, int]] = []
        length = len(text)
        for index, compiled in enumerate(self._rules):
            rule = compiled.rule
            for key in compiled.keys:
                for span in attrs.get(key) or ():
                    if len(span) < 3:
                        raise SpanError(
                            f"attribute {key!r}: span {span!r} is not [start, end, score]"
                        )
                    score = span[2]
                    if rule.min_score is not None and score < rule.min_score:
                        continue
                    if rule.max_score is not None and score > rule.max_score:
                        continue
                    start, end = _offset(key, span[0]), _offset(key, span[1])
                    if not 0 <= start <= end <= length:
                        raise SpanError(
                            f"attribute {key!r}: span [{start}, {end}] is outside the text "
                            f"({length} characters)"
                        )
                    chosen.append((start, -end, index))
        chosen.sort()
        out: list[tuple[int, int, int]] = []
        cursor = 0
        for start, neg_end, index in chosen:
            if start < cursor:
                continue
            out.append((start, -neg_end, index))
            cursor = -neg_end
        return out

    def splice(self, text: str, chosen: Sequence[tuple[int, int, int]]) -> str:
        """Return `text` with the spans `choose` returned replaced by their rules' text."""
        if not chosen:
            return text
        out: list[str] = []
        cursor = 0
        for start, end, index in chosen:
            replacement = self._rules[index].rule.replacement
            out.append(text[cursor:start])
            out.append(
                replacement.replace("{}", text[start:end]) if "{}" in replacement else replacement
            )
            cursor = end
        out.append(text[cursor:])
        return "".join(out)


def _offset(key: str, value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise SpanError(f"attribute {key!r}: span offset {value!r} is not an integer")
