"""Taggers: annotate documents with scored spans, never change or drop them."""

from dolmakit.taggers.base import (
    Tagger,
    TaggerInfo,
    available_taggers,
    load_tagger,
    register,
)

__all__ = ["Tagger", "TaggerInfo", "available_taggers", "load_tagger", "register"]
