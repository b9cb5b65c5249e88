"""Read evaluation examples from local benchmark files: JSONL, JSON, Parquet, CSV, or folders.

An example's text is the chosen fields joined by newlines (a list or object value gives each
item on its own line); its id is the `id_field` or, without one, `<file>:<row>`. A row that
lacks a field, has a null field or is not an object is skipped and counted with its reason
and first location; a field that no row of a file has is an error (a misspelt `--fields`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dolmakit.errors import ConfigError, DolmakitError, InputError
from dolmakit.io.compression import iter_chunks
from dolmakit.io.digest import file_sha256

SUFFIXES = (".jsonl", ".json", ".ndjson", ".parquet", ".csv", ".tsv")
_COMPRESSED = ("", ".gz", ".zst")
_NAME = re.compile(r"[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*")


@dataclass(frozen=True)
class Example:
    """One evaluation example: its id, its text, and where it was read."""

    id: str
    text: str
    file: str
    row: int


@dataclass
class Skipped:
    """Examples left out for one reason: how many, and the first one's location."""

    count: int = 0
    first: str = ""


@dataclass
class BenchmarkRead:
    """A benchmark's examples, its files with their sha256, and what was skipped and why."""

    name: str
    fields: tuple[str, ...] = ()
    id_field: str | None = None
    examples: list[Example] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, Skipped] = field(default_factory=dict)

    def skip(self, reason: str, where: str) -> None:
        """Count one skipped example."""
        entry = self.skipped.setdefault(reason, Skipped())
        entry.count += 1
        entry.first = entry.first or where


def parse_benchmark_arg(arg: str) -> tuple[str, Path]:
    """Split `NAME=PATH` (or a bare PATH, named by its file stem) into (name, path)."""
    if "=" in arg and not Path(arg).exists():
        name, _, path = arg.partition("=")
    else:
        path = arg
        name = Path(arg).name.split(".")[0]
        name = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")
    check_name(name)
    return name, Path(path)


def check_name(name: str) -> None:
    """Refuse a benchmark name that would not survive as an attribute key part."""
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"benchmark name {name!r}: use letters and digits joined by single '_' "
            "(it becomes part of attribute names), e.g. mmlu_pro"
        )


def benchmark_files(path: Path) -> list[Path]:
    """Return the benchmark files at `path`: the file itself, or a folder's, sorted."""
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and _kind(p) and not any(x.startswith(".") for x in p.parts)
        )
        if not files:
            raise DolmakitError(f"{path}: no benchmark files (.jsonl, .json, .parquet, .csv)")
        return files
    if path.is_file():
        if not _kind(path):
            raise DolmakitError(f"{path}: not a benchmark file (.jsonl, .json, .parquet, .csv)")
        return [path]
    raise DolmakitError(f"{path}: no such file or folder")


def _kind(path: Path) -> str:
    name = path.name.lower()
    for suffix in SUFFIXES:
        for comp in _COMPRESSED:
            if name.endswith(suffix + comp):
                return suffix.lstrip(".")
    return ""


def read_benchmark(
    name: str,
    path: Path,
    fields: Sequence[str],
    id_field: str | None = None,
    *,
    fail: bool = False,
) -> BenchmarkRead:
    """Read every example of one benchmark; `fail` makes the first bad row an InputError."""
    if not fields:
        raise ConfigError("give the example fields to index, e.g. --fields question,answer")
    out = BenchmarkRead(name, tuple(fields), id_field)
    root = path if path.is_dir() else path.parent
    for file in benchmark_files(path):
        rel = file.relative_to(root).as_posix()
        out.files.append({"path": rel, "sha256": file_sha256(file), "bytes": file.stat().st_size})
        seen: set[str] = set()
        rows = 0
        for row, obj in _rows(file):
            rows += 1
            where = f"{file}:{row}"
            problem, example = _example(obj, fields, id_field, rel, row, seen)
            if problem is not None:
                if fail:
                    raise InputError(str(file), row, problem)
                out.skip(problem, where)
                continue
            assert example is not None
            out.examples.append(example)
        missing = [f for f in (*fields, *([id_field] if id_field else [])) if f not in seen]
        if rows and missing:
            raise InputError(
                str(file), 0, f"no row has the field {missing[0]!r} (check --fields/--id-field)"
            )
    if not out.examples:
        reasons = "; ".join(f"{k} ({v.count})" for k, v in out.skipped.items()) or "no rows"
        raise DolmakitError(f"benchmark {name!r} ({path}) is empty: {reasons}")
    return out


def _example(
    obj: Any,
    fields: Sequence[str],
    id_field: str | None,
    rel: str,
    row: int,
    seen: set[str],
) -> tuple[str | None, Example | None]:
    if obj is _BAD_JSON:
        return "not valid JSON", None
    if not isinstance(obj, dict):
        return f"row is not an object ({type(obj).__name__})", None
    parts = []
    for name in fields:
        value = _get(obj, name)
        if value is _MISSING:
            return f"missing field {name!r}", None
        seen.add(name)
        if value is None:
            return f"field {name!r} is null", None
        parts.append(_text(value))
    if id_field:
        raw = _get(obj, id_field)
        if raw is _MISSING or raw is None or isinstance(raw, (dict, list)):
            if raw is not _MISSING:
                seen.add(id_field)
            return f"missing or non-scalar id field {id_field!r}", None
        seen.add(id_field)
        example_id = str(raw)
    else:
        example_id = f"{rel}:{row}"
    return None, Example(example_id, "\n".join(parts), rel, row)


_MISSING = object()
_BAD_JSON = object()


def _get(obj: dict[str, Any], dotted: str) -> Any:
    """Return `obj[a][b]` for the field `a.b` (a key with a dot in it is tried first)."""
    if dotted in obj:
        return obj[dotted]
    value: Any = obj
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(_text(v) for v in value if v is not None)
    if isinstance(value, dict):
        return "\n".join(_text(v) for v in value.values() if v is not None)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _rows(file: Path) -> Iterator[tuple[int, Any]]:
    """Yield (row number, object) of a file; rows and lines count from 1."""
    kind = _kind(file)
    try:
        if kind == "parquet":
            yield from _parquet_rows(file)
            return
        data = b"".join(iter_chunks(file))
    except (OSError, EOFError) as exc:
        raise InputError(str(file), 0, f"cannot read: {exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(str(file), 0, f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if kind in ("csv", "tsv"):
        reader = csv.DictReader(io.StringIO(text), delimiter="\t" if kind == "tsv" else ",")
        for i, record in enumerate(reader, start=2):
            yield i, {k: v for k, v in record.items() if k is not None}
        return
    if kind == "json" and text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except ValueError as exc:
            raise InputError(str(file), 0, f"bad JSON: {exc}") from None
        yield from enumerate(items, start=1)
        return
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield i, json.loads(line)
        except ValueError:
            yield i, _BAD_JSON


def _parquet_rows(file: Path) -> Iterator[tuple[int, Any]]:
    try:
        import pyarrow.parquet as pq

        table = pq.read_table(file)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise InputError(str(file), 0, f"cannot read Parquet: {exc}") from None
    yield from enumerate(table.to_pylist(), start=1)
