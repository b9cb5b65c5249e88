"""Compiled text statistics for the rule taggers (pure-Python reference: taggers/rules)."""

from typing import Any

FIELDS: int

def summarize(text: str, /) -> tuple[int, ...]:
    """Return the fields of `dolmakit.taggers.rules.text.Summary` for a text."""

def c4_lines(text: str, /) -> tuple[int, int, int, int, int, list[tuple[int, int]], str, int, bool]:
    """Return the fields of `dolmakit.taggers.rules.text.C4Lines` for a text."""

def token_hash(token: str, /) -> int:
    """Return the 64-bit hash that `tokens_in` looks up for a token."""

def tokens_in(text: str, bits: bytes, /) -> set[str]:
    """Return the distinct word tokens of a text whose hash bit is set in `bits`."""

def put_values(
    attrs: dict[str, list[list[float]]],
    keys: tuple[str, ...],
    size: int,
    values: tuple[float | None, ...],
    /,
) -> int:
    """Set attrs[key] = [[0, size, value]] per value not None; return -1 or a bad index."""

def checked_rows(
    outs: list[list[Any]],
    keys: list[dict[str, str]],
    value_keys: list[tuple[str, ...] | None],
    sizes: list[int],
    span_type: type,
    /,
) -> list[dict[str, list[list[float]]] | None]:
    """Return each document's checked attribute dict, or None where it needs the full check."""

def pii_candidates(
    text: str, /
) -> tuple[list[int], list[int], list[int], list[int], list[int], bool]:
    """Return the fields of `dolmakit.taggers.pii_scan.Candidates` for a text."""

def bad_span_key(attrs: dict[str, Any], /) -> str | None:
    """Return the first key whose value is not a list of [start, end, score] spans, or None."""

def minhash_min(mixed: Any, offsets: Any, a: Any, b: Any, out: Any, /) -> None:
    """Write min over each document's hashes of (a * h + b) mod 2**32 into its rows of out."""

def word_hashes(data: bytes, /) -> bytes:
    """Return XXH32 (seed 0) of each `data.split()` word, as little-endian uint32 bytes."""

def collapse_spaces(text: str, /) -> str:
    """Return `" ".join(text.split())`."""

def paragraph_spans(text: str, /) -> list[tuple[int, int]]:
    """Return the stripped, non-blank paragraphs of a text as (start, end) pairs."""

def sentence_spans(text: str, /) -> list[tuple[int, int]]:
    """Return the stripped, non-blank sentences of a text as (start, end) pairs."""

def profanity_scores(
    columns: bytes,
    lengths: list[int],
    vocabulary: int,
    classifiers: int,
    idf: Any,
    weights: Any,
    intercepts: Any,
    slopes: Any,
    offsets: Any,
    /,
) -> list[float]:
    """Return P(toxic) of rows of vocabulary columns under the profanity model's numbers."""

def toxicity_scan(
    texts: list[str],
    lowers: list[str | None],
    memo: dict[str, tuple[bytes, float]],
    vocabulary: dict[str, int],
    new: dict[str, bytes],
    /,
) -> tuple[bytes, list[int], bytes, list[int], list[float | str]]:
    """Return the sentences of texts with their known words (dolmakit.taggers.toxicity_scan)."""

def toxicity_spans(
    bounds: bytes,
    counts: list[int],
    refs: list[float | str],
    scores: dict[str, float],
    minimum: float,
    span_type: type,
    /,
) -> list[list[Any]]:
    """Return per text the spans of its sentences scoring at least `minimum`."""

def doc_languages(spans: list[tuple[int, int]], preds: list[Any], /) -> Any:
    """Return a document's languages from its paragraphs' predictions (lid_fasttext)."""

def new_span(span_type: type, start: Any, end: Any, score: Any, /) -> Any:
    """Return span_type(start, end, score), untracked by the cycle collector when it may be."""
