"""Deduplication: exact (text, field, paragraph) and MinHash near-duplicates.

Both write Dolma attribute files and never drop documents: the mixer filters on
`<run>__exact__duplicate` / `<run>__minhash__duplicate`. See docs/dedup.md.
"""

from dolmakit.dedup.config import ExactConfig, KeepRule, MinHashConfig
from dolmakit.dedup.exact import dedup_exact
from dolmakit.dedup.report import DedupSummary
from dolmakit.dedup.stage import dedup_minhash

__all__ = [
    "DedupSummary",
    "ExactConfig",
    "KeepRule",
    "MinHashConfig",
    "dedup_exact",
    "dedup_minhash",
]
