"""Build the attribute dicts of a batch from well-formed tagger results, in one pass.

The tag stage's output path: `checked_rows` takes what every tagger returned for a batch and
gives each document's attribute dict, or None for a document with anything unusual (a span
outside the text, a score that is not an int or a finite float, a kind without a known key,
a type other than the plain ones). The stage checks those documents one by one, which raises
the proper TaggerError or converts what it accepts (numpy integers, other sequences). So a
dict returned here always equals what that check gives.

`checked_rows` is the pure-Python reference of the compiled `dolmakit._textstats.checked_rows`
and defines it; both give identical results (tests/test_attribute_rows.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dolmakit.io.attributes import Attributes
from dolmakit.native import load_native

SCORE_DIGITS = 5


def checked_score(score: Any) -> tuple[bool, Any]:
    """Return (True, score as written) for an int or a finite float, else (False, None).

    Floats are rounded to 5 decimals (as Dolma), except 0.0 and 1.0, kept as they are.
    """
    kind = type(score)
    if kind is int:
        return True, score
    if kind is float and score - score == 0.0:  # finite
        return True, score if score == 0.0 or score == 1.0 else round(score, SCORE_DIGITS)
    return False, None


def checked_span(span: Any, size: int, span_type: type) -> list[Any] | None:
    """Return a list, tuple or `span_type` span within [0, size] as [start, end, score], or None."""
    kind = type(span)
    if not (kind is list or kind is tuple or (kind is span_type and isinstance(span, tuple))):
        return None
    if len(span) != 3:
        return None
    start, end, score = span
    if type(start) is not int or type(end) is not int or not 0 <= start <= end <= size:
        return None
    ok, score = checked_score(score)
    return [start, end, score] if ok else None


def checked_attributes(
    attrs: Attributes,
    found: Any,
    keys: dict[str, str],
    value_keys: tuple[str, ...] | None,
    size: int,
    span_type: type,
) -> bool:
    """Put one tagger's result for one document into attrs; False if it needs the full check.

    Kinds with an empty list or tuple of spans are left out; the others need a key in
    `keys`. A ValueTagger's result is a (spans, values) pair; each value not None becomes
    `[[0, size, value]]` under its key, after the spans.
    """
    values: Any = ()
    if value_keys is not None:
        if type(found) is not tuple or len(found) != 2:
            return False
        found, values = found
        if type(values) is not tuple or len(values) != len(value_keys):
            return False
    if type(found) is not dict:
        return False
    for kind, spans in found.items():
        if type(spans) is not list and type(spans) is not tuple:
            return False
        if not spans:
            continue
        key = keys.get(kind) if type(kind) is str else None
        if key is None:
            return False
        out = []
        for span in spans:
            checked = checked_span(span, size, span_type)
            if checked is None:
                return False
            out.append(checked)
        attrs[key] = out
    if value_keys is not None:
        for value_key, value in zip(value_keys, values, strict=True):
            if value is None:
                continue
            ok, score = checked_score(value)
            if not ok:
                return False
            attrs[value_key] = [[0, size, score]]
    return True


def checked_rows(
    outs: list[list[Any]],
    keys: list[dict[str, str]],
    value_keys: list[tuple[str, ...] | None],
    sizes: list[int],
    span_type: type,
) -> list[Attributes | None]:
    """Return each document's attribute dict (taggers in order), or None where one needs checks.

    `outs[t][i]` is tagger t's result for document i, whose text has `sizes[i]` characters;
    `keys[t]` maps its attribute types to keys, `value_keys[t]` are a ValueTagger's value keys
    (None for other taggers).
    """
    rows: list[Attributes | None] = []
    for i, size in enumerate(sizes):
        attrs: Attributes = {}
        for out, known, value_known in zip(outs, keys, value_keys, strict=True):
            if not checked_attributes(attrs, out[i], known, value_known, size, span_type):
                rows.append(None)
                break
        else:
            rows.append(attrs)
    return rows


# The compiled checked_rows, or None (not built, or DOLMAKIT_PURE_PYTHON=1): in pure Python
# the stage checks every document alone, faster than this reference followed by that check.
compiled_checked_rows: Callable[..., list[Attributes | None]] | None = getattr(
    load_native("_textstats"), "checked_rows", None
)
