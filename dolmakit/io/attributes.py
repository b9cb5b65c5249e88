"""Read and write Dolma attribute files, line-aligned with their document files.

An attribute file holds one line per valid document line of its document file, in the same
order, with the same id: `{"id", "attributes": {"<run>__<tagger>__<type>": [[s, e, score]]}}`.
Lines that the reader rejected (bad JSON, missing id) have no attribute line, so every
dolmakit stage re-reading the same file stays aligned. Scores `1` and `1.0` are equal.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec

from dolmakit.document import Document
from dolmakit.errors import InputError
from dolmakit.io import storage
from dolmakit.io.paths import attribute_path
from dolmakit.io.reader import (
    DEFAULT_MAX_LINE_BYTES,
    READ_ERRORS,
    file_problem,
    iter_lines,
    line_problem,
    read_documents,
)
from dolmakit.io.rejects import Rejects
from dolmakit.io.writer import JsonlWriter
from dolmakit.native import load_native

Attributes = dict[str, list[list[float]]]
_NAME_RE = re.compile(r"[^A-Za-z0-9_]")
_decoder = msgspec.json.Decoder()


class _LazyLine(msgspec.Struct):
    """An attribute line whose values stay undecoded JSON until asked for."""

    id: Any = None
    attributes: dict[str, msgspec.Raw] | None = None


_lazy_decoder = msgspec.json.Decoder(_LazyLine)


def sanitize_name(name: str) -> str:
    """Replace characters outside [A-Za-z0-9_] by '_', as Dolma does in attribute keys."""
    return _NAME_RE.sub("_", name)


def attribute_key(run: str, tagger: str, kind: str) -> str:
    """Return the Dolma attribute key `<run>__<tagger>__<type>`."""
    return f"{sanitize_name(run)}__{sanitize_name(tagger)}__{sanitize_name(kind)}"


def make_attribute_folders(documents: Sequence[Path], run: str) -> None:
    """Create the folders attribute run `run` writes into; StorageError names a file in the way."""
    for folder in sorted({attribute_path(doc, run).parent for doc in documents}, key=str):
        storage.make_folder(folder, f"the folder of attribute run {run!r}")


class AttributeWriter(JsonlWriter):
    """Write one attribute line per document, atomically, in the Dolma shape."""

    def write_attributes(self, doc: Document, attributes: Attributes) -> None:
        """Append the attributes of one document (an empty dict is still written)."""
        line: dict[str, Any] = {"id": doc.id, "attributes": attributes}
        if doc.source is not None:
            line["source"] = doc.source
        self.write(line)


def read_attribute_lines(
    path: str | Path, only: Collection[str] | None = None, names: set[str] | None = None
) -> Iterator[tuple[int, str, Attributes]]:
    """Yield (line number, id, attributes) of an attribute file; InputError on a bad line.

    Every value is checked once, here: a list of [start, end, score] spans (see span_problem),
    so that filters, statistics and span replacement can index spans without checks. With
    `only`, just those keys are decoded, checked and yielded (the line must still be valid
    JSON), and `names`, when given, collects every key the lines hold.
    """
    name = str(path)
    lineno = 0
    try:
        for lineno, line in iter_lines(name, DEFAULT_MAX_LINE_BYTES):
            if line is None:
                raise InputError(name, lineno, "attribute line too long")
            found = _lazy_attributes(line, only, names) if only is not None else None
            doc_id, attrs = found if found is not None else _attributes(line, name, lineno)
            key = _bad_span_key(attrs)
            if key is not None:
                problem = span_problem(attrs[key]) or "not a list of spans"
                raise InputError(name, lineno, f"attribute {key!r}: {problem}")
            yield lineno, doc_id, attrs
    except READ_ERRORS as exc:
        raise InputError(name, lineno + 1, f"attribute file: {file_problem(exc)}") from None


def _attributes(line: bytes, name: str, lineno: int) -> tuple[str, Attributes]:
    """Return the id and the attributes of a line, decoded whole; InputError naming the line."""
    try:
        obj = _decoder.decode(line)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        problem = line_problem(line, lineno, exc)
        raise InputError(name, lineno, f"attribute file: {problem}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        raise InputError(name, lineno, "attribute line has no string 'id'")
    attrs = obj.get("attributes") or {}
    if not isinstance(attrs, dict):
        raise InputError(name, lineno, "'attributes' must be an object")
    return obj["id"], attrs


def _lazy_attributes(
    line: bytes, only: Collection[str], names: set[str] | None
) -> tuple[str, Attributes] | None:
    """Return the id and the `only` attributes of a line, or None to decode it whole.

    None for any line that is not well formed, so that `_attributes` reports it.
    """
    try:
        obj = _lazy_decoder.decode(line)
        if not isinstance(obj.id, str):
            return None
        raw = obj.attributes or {}
        if names is not None:
            names.update(raw)
        return obj.id, {key: _decoder.decode(raw[key]) for key in only if key in raw}
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None


MAX_OFFSET = 1 << 63
SPAN_SHAPE = "[start, end, score]"


def span_problem(spans: Any) -> str | None:
    """Return why an attribute value is not a list of [start, end, score] spans, or None.

    start and end are integers (not booleans; integral floats such as 0.0 too) with
    0 <= start <= end < 2**63; score is an integer or a finite float (not a boolean). The
    pure-Python reference of the reader's compiled check (`dolmakit._textstats.bad_span_key`),
    and the wording of its errors.
    """
    if not isinstance(spans, list):
        return f"must be a list of {SPAN_SHAPE} spans, got {_shown(spans)}"
    for i, span in enumerate(spans):
        if not isinstance(span, list) or len(span) != 3:
            return f"span {i} is {_shown(span)}, not {SPAN_SHAPE}"
        start, end, score = span
        for what, value in (("start", start), ("end", end)):
            if type(value) is not int and not (type(value) is float and value.is_integer()):
                return f"span {i} {_shown(span)}: {what} {_shown(value)} is not an integer"
            if not 0 <= value < MAX_OFFSET:
                return f"span {i} {_shown(span)}: {what} {value} is out of range"
        if start > end:
            return f"span {i} {_shown(span)}: start {start} is after end {end}"
        if type(score) is float:
            if not math.isfinite(score):
                return f"span {i} {_shown(span)}: score {score} is not finite"
        elif type(score) is not int:
            kind = "a boolean, not a number" if isinstance(score, bool) else "not a number"
            return f"span {i} {_shown(span)}: score {_shown(score)} is {kind}"
    return None


def first_bad_key(attrs: Attributes) -> str | None:
    """Return the first key whose value span_problem rejects, or None (pure Python)."""
    for key, spans in attrs.items():
        if span_problem(spans) is not None:
            return key
    return None


def _shown(value: Any, limit: int = 60) -> str:
    """Return a value as JSON for a message, cut to `limit` characters."""
    try:
        text = msgspec.json.encode(value).decode()
    except (TypeError, RecursionError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# The compiled span check, or the pure-Python one (not built, or DOLMAKIT_PURE_PYTHON=1).
_bad_span_key: Callable[[Attributes], str | None] = getattr(
    load_native("_textstats"), "bad_span_key", first_bad_key
)


def read_with_attributes(
    document_file: str | Path,
    runs: Sequence[str],
    rejects: Rejects | None = None,
    *,
    max_line_bytes: int | None = None,
    only: Collection[str] | None = None,
    names: set[str] | None = None,
) -> Iterator[tuple[int, Document, Attributes]]:
    """Yield (line, document, merged attributes of all runs), checking ids line by line.

    A missing attribute file, an id mismatch, a short or a long attribute file is an
    InputError naming both files and the lines. `only` and `names` are read_attribute_lines'.
    """
    doc_name = str(document_file)
    paths = [attribute_path(document_file, run) for run in runs]
    for run, path in zip(runs, paths, strict=True):
        if not path.is_file():
            raise InputError(str(path), 0, f"attribute run {run!r} has no file for {doc_name}")
    streams = [read_attribute_lines(p, only, names) for p in paths]
    for lineno, doc in read_documents(doc_name, rejects, max_line_bytes=max_line_bytes):
        merged: Attributes = {}
        for path, stream in zip(paths, streams, strict=True):
            item = next(stream, None)
            if item is None:
                raise InputError(
                    str(path), 0, f"attribute file ends before document {doc_name}:{lineno}"
                )
            attr_line, attr_id, attrs = item
            if attr_id != doc.id:
                raise InputError(
                    str(path),
                    attr_line,
                    f"id {attr_id!r} does not match id {doc.id!r} at {doc_name}:{lineno}",
                )
            merged.update(attrs)
        yield lineno, doc, merged
    for path, stream in zip(paths, streams, strict=True):
        extra = next(stream, None)
        if extra is not None:
            raise InputError(
                str(path), extra[0], f"attribute file has more lines than documents in {doc_name}"
            )
