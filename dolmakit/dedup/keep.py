"""Pick each cluster's keeper with the configured, deterministic keep rule."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dolmakit.dedup.config import KeepRule

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def source_rank(sources: list[str | None], rule: KeepRule) -> I64:
    """Return each source's position in the priority list (unlisted: after all listed)."""
    position = {name: i for i, name in enumerate(rule.source_priority)}
    last = len(position)
    return np.array([position.get(s or "", last) for s in sources], dtype=np.int64)


def rank_members(
    labels: U64,
    numbers: U64,
    *,
    indexed: npt.NDArray[np.bool_],
    priority: I64,
    score: F64,
    length: I64,
    rule: KeepRule,
) -> I64:
    """Return the order of members grouped by component, best keeper candidate first.

    Criteria, in order: documents of an earlier run's index (already published) first; source
    priority; highest `rule.attribute` score (missing scores last); longest text (if
    `rule.prefer_longer`); canonical order (smallest document number). Every criterion is a
    value of the document, so the result never depends on input order or worker count.
    """
    score_key = np.where(np.isnan(score), np.inf, -score)
    if rule.attribute is None:
        score_key = np.zeros_like(score_key)
    length_key = -length if rule.prefer_longer else np.zeros_like(length)
    order: I64 = np.lexsort((numbers, length_key, score_key, priority, ~indexed, labels)).astype(
        np.int64
    )
    return order
