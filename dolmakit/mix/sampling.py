"""Deterministic, hash-based sampling: a document's copies depend only on (seed, source, id, rate).

`unit(seed, source, id)` maps a document to a number in [0, 1). With rate r, a document that
passed the filter is written `floor(r)` times, plus once more when `unit < r - floor(r)`. Order,
worker count and the other documents never change a decision.

Rates are calibrated from token budgets: for a budget B in the fractional part, the threshold is
placed exactly between two documents in `unit` order so that the kept tokens are as close to B
as a whole document allows (see `calibrate`), rather than left to chance as an independent coin
per document would. The result is still "keep iff unit < rate".
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass

_SAMPLE_PERSON = b"dolmakit-sample"
_ORDER_PERSON = b"dolmakit-order"
BUCKET_BITS = 12
BUCKETS = 1 << BUCKET_BITS


def _hash64(person: bytes, *parts: object) -> int:
    data = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8, person=person).digest(), "big")


# Keyed hashers copied per document: `_hash64` with these persons, without building the
# hasher and the joined parts through keyword and generator calls (the mixer's per-document
# path; tests/test_mix_weights.py holds them equal).
_SAMPLE = hashlib.blake2b(digest_size=8, person=_SAMPLE_PERSON)
_ORDER = hashlib.blake2b(digest_size=8, person=_ORDER_PERSON)


def unit(seed: int, source: str, doc_id: str) -> float:
    """Return the document's sampling value in [0, 1) (53 bits of a keyed blake2b hash)."""
    h = _SAMPLE.copy()
    h.update(f"{seed}\x1f{source}\x1f{doc_id}".encode())
    return (int.from_bytes(h.digest(), "big") >> 11) / 2.0**53


def bucket(u: float) -> int:
    """Return the histogram bucket (0..BUCKETS-1) of a sampling value."""
    return int(u * BUCKETS)


def decide(seed: int, source: str, doc_id: str, rate: float) -> int:
    """Return how many copies of a document that passed the filter are written at `rate`."""
    return repeats_for(unit(seed, source, doc_id), rate)


def repeats_for(u: float, rate: float) -> int:
    """Return the copies for sampling value `u` at `rate` (what `decide` computes)."""
    whole = math.floor(rate)
    return whole + (1 if u < rate - whole else 0)


def order_key(seed: int, source: str, doc_id: str, repeat: int) -> int:
    """Return the 64-bit key that places one output copy in the interleaved output order."""
    h = _ORDER.copy()
    h.update(f"{seed}\x1f{source}\x1f{doc_id}\x1f{repeat}".encode())
    return int.from_bytes(h.digest(), "big")


@dataclass(frozen=True)
class Plan:
    """A source's sampling decision: its rate and the tokens it is expected to emit."""

    rate: float
    target_tokens: int | None
    capped: bool


def whole_and_budget(available: int, target: int, max_repeats: int) -> tuple[int, int, bool]:
    """Split a token target into whole copies of everything and a remaining budget.

    Returns (whole, budget, capped): `whole` copies of every document, then `budget` tokens more
    from the fractional part. `capped` when max_repeats stops the target from being met.
    """
    if available <= 0:
        return 0, 0, target > 0
    if target >= available * max_repeats:
        return max_repeats, 0, target > available * max_repeats
    whole = target // available
    return whole, target - whole * available, False


def threshold(candidates: Iterable[tuple[float, int]], below: int, budget: int) -> float:
    """Return the rate fraction whose kept tokens come closest to `budget`.

    `candidates` are (unit, tokens) of the documents in the bucket where the budget is crossed;
    `below` is the tokens of all documents in lower buckets. The threshold lies at a document's
    own unit value (that document is then excluded: keep iff unit < threshold), or at the bucket's
    upper end when the budget needs all of it. Ties go to the smaller total.
    """
    ordered = sorted(candidates)
    total = below
    best_gap = abs(budget - total)
    best = ordered[0][0] if ordered else 0.0
    for index, (u, tokens) in enumerate(ordered):
        total += tokens
        following = ordered[index + 1][0] if index + 1 < len(ordered) else math.nan
        if following == u:
            continue  # equal values (a repeated id) are kept or dropped together
        gap = abs(budget - total)
        if gap < best_gap:
            best_gap = gap
            best = following
    return best


def crossing_bucket(histogram: list[int], budget: int) -> tuple[int, int]:
    """Return (bucket, tokens below it) where the cumulative tokens first reach `budget`."""
    total = 0
    for index, tokens in enumerate(histogram):
        if total + tokens >= budget:
            return index, total
        total += tokens
    return len(histogram) - 1, total - histogram[-1]
