"""Trace a model's output through a mix's span index, `dolmakit trace`: spans and documents.

For each kept span (dolmakit.trace.spans): where it is in the output, how often it occurs in
the mix, and up to `max_documents` documents holding it, each with a context window and its
provenance (mix shard and row, document id, source, input path and line, which `dolmakit
audit trace` and `audit where` follow up). A span's documents are ranked by BM25 relevance
to the whole output, over the collection of every document retrieved for the output.
"""

from __future__ import annotations

import textwrap
from dataclasses import asdict, dataclass, field
from typing import Any

from dolmakit.errors import DolmakitError
from dolmakit.trace.bm25 import bm25_scores
from dolmakit.trace.index import SpanIndex
from dolmakit.trace.spans import SpanOptions, maximal_spans, select_spans
from dolmakit.trace.suffix import Located
from dolmakit.trace.words import count_words, split_lines, words_lower

DEFAULT_MAX_BYTES = 100_000
# Documents are gathered from at most this many occurrences of one span.
OCCURRENCE_LIMIT = 1000


@dataclass(frozen=True)
class TraceOptions:
    """Span filters, how many documents per span, the context window, the output size limit."""

    spans: SpanOptions = field(default_factory=SpanOptions)
    max_documents: int = 10
    context_chars: int = 100
    max_bytes: int = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        if self.max_documents < 1:
            raise DolmakitError(f"--max-documents {self.max_documents}: must be at least 1")
        if self.context_chars < 0:
            raise DolmakitError(f"--context {self.context_chars}: must not be negative")


@dataclass(frozen=True)
class DocumentHit:
    """A document of the mix holding a span, with the span in its context."""

    shard: str
    row: int
    id: str
    source: str
    path: str
    line: int
    offset: int
    before: str
    match: str
    after: str
    score: float


@dataclass(frozen=True)
class SpanHit:
    """A span of the output found in the mix: output character offsets, count, documents."""

    start: int
    end: int
    text: str
    words: int
    count: int
    log_probability: float
    documents: tuple[DocumentHit, ...]


@dataclass(frozen=True)
class TraceResult:
    """Everything a trace found for one output."""

    mix: str
    text: str
    words: int
    maximal_spans: int
    spans: tuple[SpanHit, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the result as a JSON-ready object (what `--json` and the web page get)."""
        return asdict(self)


def check_output(
    data: bytes, name: str, max_bytes: int = DEFAULT_MAX_BYTES, *, partial: bool = False
) -> str:
    """Return the output text in `data`; DolmakitError for binary, non-UTF-8, empty or huge.

    `partial`: `data` is only the first max_bytes + 1 bytes of a stream of unknown size.
    """
    if len(data) > max_bytes:
        what = f"more than {max_bytes:,} bytes" if partial else f"{len(data):,} bytes"
        raise DolmakitError(f"{name}: {what}; the limit is {max_bytes:,} bytes (--max-bytes)")
    nul = data.find(b"\0")
    if nul >= 0:
        raise DolmakitError(f"{name}: a binary file (NUL byte at offset {nul:,}), not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DolmakitError(
            f"{name}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start:,})"
        ) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise DolmakitError(f"{name}: the output text is empty: nothing to trace")
    return text


def trace_text(index: SpanIndex, text: str, options: TraceOptions | None = None) -> TraceResult:
    """Find the kept spans of `text` in the mix and the documents that hold them."""
    options = options or TraceOptions()
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DolmakitError(f"the output is not valid text: {exc.reason} at {exc.start}") from None
    text = check_output(data, "the output", options.max_bytes)
    lines = split_lines(text)
    output_words = count_words(text)
    found = maximal_spans(lines, index)
    kept = select_spans(found, lines, index, options.spans, output_words)
    per_span: list[dict[tuple[int, int], tuple[Located, int]]] = []
    for ranked in kept:
        documents: dict[tuple[int, int], tuple[Located, int]] = {}
        for shard, offset in index.occurrences(ranked.span.data, OCCURRENCE_LIMIT):
            located = index.locate(shard, offset)
            key = (shard, located.document)
            if key not in documents or offset < documents[key][1]:
                documents[key] = (located, offset)
        per_span.append(documents)
    collection = sorted(
        {key: value[0] for spans in per_span for key, value in spans.items()}.items()
    )
    texts = {key: index.text_of(key[0], located) for key, located in collection}
    scores = dict(
        zip(
            texts,
            bm25_scores(
                words_lower(text),
                [words_lower(t.decode("utf-8", "replace")) for t in texts.values()],
            ),
            strict=True,
        )
    )
    hits = []
    for ranked, documents in zip(kept, per_span, strict=True):
        order = sorted(documents, key=lambda k: (-scores[k], k))[: options.max_documents]
        hits.append(
            SpanHit(
                start=ranked.span.start,
                end=ranked.span.end,
                text=text[ranked.span.start : ranked.span.end],
                words=ranked.span.words,
                count=ranked.count,
                log_probability=round(ranked.log_probability, 6),
                documents=tuple(
                    _hit(
                        index,
                        key,
                        *documents[key],
                        ranked.span.data,
                        texts[key],
                        scores[key],
                        options.context_chars,
                    )
                    for key in order
                ),
            )
        )
    return TraceResult(str(index.mix.mix_dir), text, output_words, len(found), tuple(hits))


def _hit(
    index: SpanIndex,
    key: tuple[int, int],
    located: Located,
    offset: int,
    span: bytes,
    data: bytes,
    score: float,
    context: int,
) -> DocumentHit:
    """Describe one document holding a span: provenance and the span in context."""
    where = index.provenance(key[0], located)
    at = offset - located.start
    before = data[max(0, at - 4 * context) : at].decode("utf-8", "ignore")
    after = data[at + len(span) : at + len(span) + 4 * context].decode("utf-8", "ignore")
    return DocumentHit(
        shard=where.shard_path,
        row=where.row,
        id=where.id,
        source=where.source,
        path=where.path,
        line=where.line,
        offset=len(data[:at].decode("utf-8", "replace")),
        before=before[-context:] if context else "",
        match=span.decode("utf-8"),
        after=after[:context],
        score=round(score, 6),
    )


def format_trace(result: TraceResult) -> str:
    """Return the terminal report: the output with spans marked, then each span's documents."""
    out = [_marked(result), ""]
    if not result.spans:
        out.append(
            f"no spans kept ({result.maximal_spans} maximal spans found in the mix before the"
            " length, frequency and density filters)"
        )
        return "\n".join(out)
    out.append(
        f"{len(result.spans)} spans kept of {result.maximal_spans} maximal spans"
        f" ({result.words:,} words in the output)"
    )
    for number, span in enumerate(result.spans, 1):
        out.append("")
        times = "once" if span.count == 1 else f"{span.count} times"
        out.append(
            f"[{number}] chars {span.start}-{span.end}, {span.words} words, in the mix {times}:"
        )
        out.append(textwrap.indent(textwrap.fill(f'"{span.text}"', 96), "    "))
        for rank, doc in enumerate(span.documents, 1):
            out.append(f"  {rank}. {doc.id}  (source {doc.source or '?'}, bm25 {doc.score:.2f})")
            out.append(f"     in the mix: {doc.shard}:{doc.row}   from: {doc.path}:{doc.line}")
            context = f"…{doc.before}[{doc.match}]{doc.after}…".replace("\n", " ")
            out.append(textwrap.indent(textwrap.fill(context, 92), "     "))
    out.append("")
    out.append(f"follow up: dolmakit audit trace {result.mix} SHARD:ROW  (or a document id)")
    return "\n".join(out)


def _marked(result: TraceResult) -> str:
    """Return the output text with span n marked ⟦n … ⟧n (spans may overlap)."""
    events: list[tuple[int, int, str]] = []
    for number, span in enumerate(result.spans, 1):
        events.append((span.start, 1, f"⟦{number} "))
        events.append((span.end, 0, f"⟧{number}"))
    pieces = []
    at = 0
    for position, _, mark in sorted(events):
        pieces.append(result.text[at:position])
        pieces.append(mark)
        at = position
    pieces.append(result.text[at:])
    return "".join(pieces)


def summarize(result: TraceResult) -> str:
    """Return one line: how many spans the output repeats and where the longest comes from."""
    if not result.spans:
        return f"a {result.words}-word output repeats no span of the mix"
    best = max(result.spans, key=lambda s: (s.words, -s.start))
    times = "once" if best.count == 1 else f"{best.count} times"
    line = (
        f"a {result.words}-word output repeats {len(result.spans)} span"
        f"{'s' if len(result.spans) != 1 else ''} of the mix; the longest, {best.words} words"
        f' ("{best.text}"), is in the mix {times}'
    )
    if best.documents:
        doc = best.documents[0]
        line += (
            f", in document {doc.id} (source {doc.source}) at {doc.shard}:{doc.row},"
            f" from {doc.path}:{doc.line}"
        )
    return line
