"""Rule-based taggers: lengths, Gopher quality and repetition, C4, FineWeb, LDNOOBW words.

Each module registers its taggers on import; `dolmakit.taggers.base.BUILTIN_MODULES` names them.
"""
