"""The toxicity tagger's per-sentence work: cut, lower, look up, count words, then build spans.

`scan` and `spans` are the compiled `dolmakit._textstats` functions when it is built, else the
pure-Python references below, which define them (tests/test_tagger_kernels.py checks that both
agree). The compiled `scan` knows one word pattern, scikit-learn's default `(?u)\\b\\w\\w+\\b`
(a maximal run of at least two word characters); `scan_for` gives the reference for any other.

Column arrays are native-endian int64 bytes: vocabulary indices, in word order. A kept memo
entry is (its columns, its probability); `new` maps each lowered sentence that is in neither
the memo nor `new` yet to its columns, in first-seen order.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from functools import partial
from typing import Any

from dolmakit.document import Span
from dolmakit.native import load_native
from dolmakit.taggers.segments import sentence_spans

DEFAULT_WORDS = r"(?u)\b\w\w+\b"

# (columns of every text, known words per text, (start, end) of every sentence as int64
# pairs, sentences per text, per sentence its memo probability or else its lowered text)
Scanned = tuple[bytes, list[int], bytes, list[int], list[float | str]]
Kept = tuple[bytes, float]


def scan_reference(
    texts: Sequence[str],
    lowers: Sequence[str | None],
    memo: Mapping[str, Kept],
    vocabulary: Mapping[str, int],
    new: MutableMapping[str, bytes],
    words: re.Pattern[str] = re.compile(DEFAULT_WORDS),
) -> Scanned:
    """Return the sentences of texts with their known words; record unseen sentences in `new`.

    `lowers[i]` is `texts[i].lower()` when that keeps its length (a sentence is then its
    slice), else None (a sentence is then lowered on its own). A text's columns are those of
    its sentences, in order.
    """
    columns = array("q")
    known: list[int] = []
    bounds = array("q")
    counts: list[int] = []
    refs: list[float | str] = []
    for text, lower in zip(texts, lowers, strict=True):
        before = len(columns)
        spans = sentence_spans(text)
        for start, end in spans:
            piece = lower[start:end] if lower is not None else text[start:end].lower()
            kept = memo.get(piece)
            if kept is not None:
                columns.frombytes(kept[0])
                refs.append(kept[1])
            else:
                found = new.get(piece)
                if found is None:
                    indices = [vocabulary.get(word) for word in words.findall(piece)]
                    found = new[piece] = array("q", [i for i in indices if i is not None]).tobytes()
                columns.frombytes(found)
                refs.append(piece)
            bounds += array("q", (start, end))
        known.append(len(columns) - before)
        counts.append(len(spans))
    return columns.tobytes(), known, bounds.tobytes(), counts, refs


def spans_reference(
    bounds: bytes,
    counts: Sequence[int],
    refs: Sequence[float | str],
    scores: Mapping[str, float],
    minimum: float,
) -> list[list[Span]]:
    """Return per text the Spans of its sentences whose probability is at least `minimum`.

    A sentence's probability is its ref when that is a float, else `scores[ref]`.
    """
    ends = array("q")
    ends.frombytes(bounds)
    out: list[list[Span]] = []
    k = 0
    for count in counts:
        kept: list[Span] = []
        for _ in range(count):
            ref = refs[k]
            prob = ref if isinstance(ref, float) else scores[ref]
            if prob >= minimum:
                kept.append(Span(ends[2 * k], ends[2 * k + 1], prob))
            k += 1
        out.append(kept)
    return out


NATIVE = load_native("_textstats")
if NATIVE is not None and not hasattr(NATIVE, "toxicity_scan"):  # an older build
    NATIVE = None

ScanFunction = Callable[
    [
        Sequence[str],
        Sequence["str | None"],
        Mapping[str, Kept],
        Mapping[str, int],
        MutableMapping[str, bytes],
    ],
    Scanned,
]


def scan_for(pattern: str) -> ScanFunction:
    """Return the scan for a vectorizer's word pattern: compiled for the default one."""
    if pattern == DEFAULT_WORDS and NATIVE is not None:
        return NATIVE.toxicity_scan  # type: ignore[no-any-return]
    return partial(scan_reference, words=re.compile(pattern))


def _compiled_spans(*args: Any) -> list[list[Span]]:
    assert NATIVE is not None
    return NATIVE.toxicity_spans(*args, Span)  # type: ignore[no-any-return]


# `spans_reference(...)`, compiled when the extension is built.
spans: Callable[
    [bytes, Sequence[int], Sequence[float | str], Mapping[str, float], float], list[list[Span]]
] = _compiled_spans if NATIVE is not None else spans_reference
