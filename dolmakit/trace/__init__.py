"""Trace a model's output back to the mix documents it repeats (docs/trace.md).

`build_index` writes a span index under `<mix>/index/` (sharded suffix arrays over the
documents' UTF-8 bytes, a position map, `index.json`); `open_index` and `trace_text` find the
maximal spans of an output that occur verbatim in the mix and the documents that hold them.
"""

from __future__ import annotations

from dolmakit.trace.build import IndexOptions, IndexResult, build_index
from dolmakit.trace.index import SpanIndex, open_index
from dolmakit.trace.query import TraceOptions, TraceResult, check_output, format_trace, trace_text
from dolmakit.trace.spans import SpanOptions

__all__ = [
    "IndexOptions",
    "IndexResult",
    "SpanIndex",
    "SpanOptions",
    "TraceOptions",
    "TraceResult",
    "build_index",
    "check_output",
    "format_trace",
    "open_index",
    "trace_text",
]
