"""The mixer's two passes over input files, as shard functions for `run_shards`.

Pass 1 reads each document with its attributes, finds the first filter clause it fails,
applies span replacements to those that pass and counts their tokens; it saves, per valid
document, (line, sampling value, tokens, clause) to a small `.npz` file. Pass 2 re-reads the
file, decides each document's copies from the calibrated rate, writes the copies sorted by
their order key to a spill run, and the per-document decisions to Parquet.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from dolmakit.document import Document, document_from_dict
from dolmakit.errors import DolmakitError, InputError
from dolmakit.io.attributes import Attributes, read_with_attributes
from dolmakit.io.digest import file_sha256
from dolmakit.io.paths import attribute_path
from dolmakit.io.reader import (
    READ_ERRORS,
    file_problem,
    iter_lines,
    max_line_bytes_default,
    read_documents,
)
from dolmakit.io.rejects import Rejects
from dolmakit.mix.evaluate import (
    CompiledFilter,
    Reference,
    attribute_value,
    compile_filter,
    resolve,
)
from dolmakit.mix.files import load_npz, save_npz, write_table
from dolmakit.mix.sampling import bucket, order_key, unit
from dolmakit.mix.shards import write_run
from dolmakit.mix.spans import SpanReplacer, SpanRule
from dolmakit.run.progress import Tally
from dolmakit.run.runner import ShardJob, ShardResult
from dolmakit.tokenizers import Tokenizer, get_tokenizer

TOKEN_BATCH = 256


@dataclass(frozen=True)
class JobConfig:
    """What a worker needs to process one input file of one source (picklable)."""

    index: int
    source: str
    rel: str
    runs: tuple[str, ...]
    attribute_rels: tuple[str, ...]
    filter: str | None
    rules: tuple[SpanRule, ...]
    tokenizer: str
    seed: int
    pass1: Path
    rate: float = 0.0
    drop_fields: tuple[str, ...] = ()
    tokens: str | None = None


class FileDigest(msgspec.Struct, frozen=True):
    """An input file's sha256 and size, for the manifest."""

    sha256: str
    bytes: int


class PassOneStats(msgspec.Struct, frozen=True):
    """What pass 1 found in one input file (summed per source by the mixer).

    `histogram`: (bucket, tokens) of passing documents; `rejected_by_clause`: documents each
    filter clause rejected first; `keys`: the attribute keys seen (to check filter names).
    """

    histogram: list[tuple[int, int]]
    rejected_by_clause: list[int]
    passed: int
    tokens: int
    tokens_missing: int
    keys: list[str]
    document: FileDigest
    attributes: list[FileDigest]


class PassTwoStats(msgspec.Struct, frozen=True):
    """What pass 2 emitted from one input file: documents sampled, repeated, copies, tokens."""

    sampled: int
    repeated: int
    emitted: int
    tokens_emitted: int


@functools.lru_cache(maxsize=64)
def _filter(text: str | None, runs: tuple[str, ...]) -> CompiledFilter:
    return compile_filter(text, runs)


@functools.lru_cache(maxsize=64)
def _replacer(rules: tuple[SpanRule, ...], runs: tuple[str, ...]) -> SpanReplacer:
    return SpanReplacer(rules, runs)


def _first_failing(
    cfg: JobConfig, compiled: CompiledFilter, line: int, doc: Document, attrs: Attributes
) -> int:
    try:
        return compiled.first_failing(doc, attrs)
    except DolmakitError as exc:
        raise InputError(
            cfg.rel, line, f"source {cfg.source!r}, id {doc.id!r}: filter: {exc}"
        ) from None


def _choose(
    cfg: JobConfig, replacer: SpanReplacer, line: int, doc: Document, attrs: Attributes
) -> list[tuple[int, int, int]]:
    if not replacer:
        return []
    try:
        return replacer.choose(doc.text, attrs)
    except DolmakitError as exc:
        raise InputError(
            cfg.rel, line, f"source {cfg.source!r}, id {doc.id!r}: span replacement: {exc}"
        ) from None


class TokenAttribute:
    """Read a passing document's token count from the attribute the source's `tokens` names.

    `get` returns None when the count must be computed instead: no `tokens` in the spec, the
    document has no value for it, or a span replacement changed the text (the attribute
    counted the original text). A value that is not a non-negative integer is an error.
    """

    def __init__(self, name: str | None, runs: tuple[str, ...]) -> None:
        self.name = name
        self._ref: Reference | None = resolve(name, runs) if name is not None else None
        self.missing = 0

    def attribute_keys(self) -> tuple[str, ...]:
        """Return the attribute keys the count may be read from."""
        return self._ref.keys if self._ref is not None else ()

    def get(self, cfg: JobConfig, line: int, doc: Document, attrs: Attributes) -> int | None:
        """Return the document's token count from its attribute, or None to count it."""
        if self._ref is None:
            return None
        try:
            value = attribute_value(self._ref, doc, attrs)
        except DolmakitError as exc:
            raise InputError(cfg.rel, line, f"source {cfg.source!r}: tokens: {exc}") from None
        if value is None:
            self.missing += 1
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or value < 0:
            raise InputError(
                cfg.rel,
                line,
                f"source {cfg.source!r}, id {doc.id!r}: tokens: {self.name!r} is {value!r}, "
                "not a token count (a non-negative integer)",
            )
        return value


def pass1(job: ShardJob[JobConfig], rejects: Rejects) -> ShardResult[PassOneStats]:
    """Filter, replace spans and count tokens of one input file; save per-document results.

    With `tokens` set, counts are read from that attribute where it has a value and the text
    was not changed by a span replacement; other passing documents are counted.
    """
    cfg = job.options
    compiled = _filter(cfg.filter, cfg.runs)
    replacer = _replacer(cfg.rules, cfg.runs)
    from_attribute = TokenAttribute(cfg.tokens, cfg.runs)
    loaded: list[Tokenizer] = []
    lines: list[int] = []
    ids: list[str] = []
    spans: list[tuple[int, int, int, int]] = []  # (document index, start, end, rule)
    units: list[float] = []
    clauses: list[int] = []
    tokens: list[int] = []
    pending: list[str] = []
    pending_at: list[int] = []
    keys: set[str] = set()
    tally = Tally()

    def count_pending() -> None:
        if not pending:
            return
        if not loaded:  # only when needed: with a tokens attribute, perhaps never
            loaded.append(get_tokenizer(cfg.tokenizer))
        for at, n in zip(pending_at, loaded[0].count_batch(pending), strict=True):
            tokens[at] = n
        pending.clear()
        pending_at.clear()

    # Only the attributes the filter, the span rules and the token counts read are decoded;
    # the names of all of them go into the manifest.
    used = {key for keys_of in compiled.attribute_keys().values() for key in keys_of}
    used |= replacer.attribute_keys() | set(from_attribute.attribute_keys())
    for line, doc, attrs in read_with_attributes(
        job.input, cfg.runs, rejects, only=used, names=keys
    ):
        clause = _first_failing(cfg, compiled, line, doc, attrs)
        lines.append(line)
        ids.append(doc.id)
        units.append(unit(cfg.seed, cfg.source, doc.id))
        clauses.append(clause)
        tokens.append(-1)
        if clause < 0:
            chosen = _choose(cfg, replacer, line, doc, attrs)
            text = replacer.splice(doc.text, chosen)
            spans.extend((len(lines) - 1, *span) for span in chosen)
            known = from_attribute.get(cfg, line, doc, attrs) if text == doc.text else None
            if known is not None:
                tokens[-1] = known
            else:
                pending.append(text)
                pending_at.append(len(tokens) - 1)
                if len(pending) >= TOKEN_BATCH:
                    count_pending()
        tally.add(len(doc.text))
    count_pending()
    tally.flush()
    histogram: dict[int, int] = {}
    by_clause = [0] * len(compiled.predicates)
    for u, clause, n in zip(units, clauses, tokens, strict=True):
        if clause < 0:
            b = bucket(u)
            histogram[b] = histogram.get(b, 0) + n
        else:
            by_clause[clause] += 1
    save_npz(
        job.outputs[0],
        line=np.array(lines, dtype=np.int64),
        u=np.array(units, dtype=np.float64),
        clause=np.array(clauses, dtype=np.int32),
        tokens=np.array(tokens, dtype=np.int64),
        ids=np.frombuffer(msgspec.msgpack.encode(ids), dtype=np.uint8),
        spans=np.array(spans, dtype=np.int64).reshape(-1, 4),
    )
    stats = PassOneStats(
        histogram=sorted(histogram.items()),
        rejected_by_clause=by_clause,
        passed=sum(1 for c in clauses if c < 0),
        tokens=sum(n for n in tokens if n > 0),
        tokens_missing=from_attribute.missing,
        keys=sorted(keys),
        document=FileDigest(file_sha256(job.input), job.input.stat().st_size),
        attributes=[FileDigest(file_sha256(p), p.stat().st_size) for p in _attribute_paths(job)],
    )
    return ShardResult(job.key, read=len(lines) + rejects.total, written=len(lines), stats=stats)


def _attribute_paths(job: ShardJob[JobConfig]) -> list[Path]:
    return [attribute_path(job.input, run) for run in job.options.runs]


def load_pass1(path: Path) -> dict[str, Any]:
    """Read a pass-1 file: arrays line, u, clause, tokens, spans (n x 4) and the id list."""
    with load_npz(path) as data:
        out: dict[str, Any] = {name: data[name] for name in ("line", "u", "clause", "tokens")}
        out["spans"] = data["spans"]
        out["ids"] = msgspec.msgpack.decode(data["ids"].tobytes())
    return out


def copies(first: dict[str, Any], rate: float) -> Any:
    """Return each document's copies at `rate` (0 when rejected): `repeats_for`, vectorised."""
    whole = math.floor(rate)
    extra = (first["u"] < rate - whole).astype(np.int64)
    return np.where(first["clause"] < 0, whole + extra, 0)


def _drop(obj: dict[str, Any], fields: Sequence[str]) -> None:
    for name in fields:
        parts = name.split(".")
        target: Any = obj
        for part in parts[:-1]:
            target = target.get(part) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target.pop(parts[-1], None)


_encoder = msgspec.json.Encoder()


def _kept_documents(path: Path, wanted: dict[int, int]) -> Iterator[tuple[int, int, Document]]:
    """Yield (line, document index, document) for the lines in `wanted`, parsing only those.

    Reading stops after the last wanted line: pass 1 rejected the rest of a file it could not
    read past a point (a truncated or corrupt stream), and no wanted line lies beyond it.
    """
    if not wanted:
        return
    if path.name.endswith(".parquet"):
        for line, doc in read_documents(path):
            if line in wanted:
                yield line, wanted[line], doc
        return
    decode = msgspec.json.Decoder().decode
    last = max(wanted)
    line = 0
    try:
        for line, raw in iter_lines(path, max_line_bytes_default()):
            index = wanted.get(line)
            if index is None:
                continue
            try:
                parsed = document_from_dict(decode(raw), len(raw), raw) if raw is not None else None
            except (msgspec.DecodeError, UnicodeDecodeError, ValueError, RecursionError):
                parsed = None
            if parsed is None:
                raise InputError(str(path), line, "the file changed between the mixer's two passes")
            yield line, index, parsed
            if line == last:
                return
    except READ_ERRORS as exc:
        raise InputError(
            str(path),
            line + 1,
            f"{file_problem(exc)}; the mixer's first pass read this line, so the file "
            "changed between its two passes",
        ) from None


def pass2(job: ShardJob[JobConfig], rejects: Rejects) -> ShardResult[PassTwoStats]:
    """Sample one input file at its source's rate: write its copies as a sorted spill run.

    Decisions come from the pass-1 arrays; only kept lines are parsed again, and span
    replacements are those pass 1 chose (attributes are not read again). The run is the
    copies' JSON lines sorted by (order key, line, repeat), with a `.npz` of their keys.
    """
    cfg = job.options
    first = load_pass1(cfg.pass1)
    replacer = _replacer(cfg.rules, cfg.runs)
    repeats = copies(first, cfg.rate)
    ids: list[str] = first["ids"]
    count = len(ids)
    _write_decisions(job.outputs[1], cfg, first, repeats)
    kept = np.flatnonzero(repeats)
    wanted = {int(first["line"][i]): int(i) for i in kept}
    by_doc: dict[int, list[tuple[int, int, int]]] = {}
    for doc_index, start, end, rule in first["spans"].tolist():
        by_doc.setdefault(doc_index, []).append((start, end, rule))
    keys: list[int] = []
    lines: list[int] = []
    reps: list[int] = []
    toks: list[int] = []
    out_ids: list[str] = []
    payloads: list[bytes] = []
    tally = Tally()
    found = 0
    for line, index, doc in _kept_documents(job.input, wanted):
        if doc.id != ids[index]:
            raise InputError(cfg.rel, line, "the file changed between the mixer's two passes")
        found += 1
        tally.add(len(doc.text))
        obj = doc.to_dict()
        obj["text"] = replacer.splice(doc.text, by_doc.get(index, ()))
        _drop(obj, cfg.drop_fields)
        metadata = dict(obj.get("metadata") or {})
        obj["metadata"] = metadata
        tokens = int(first["tokens"][index])
        for repeat in range(int(repeats[index])):
            metadata["provenance"] = {
                "source": cfg.source,
                "path": cfg.rel,
                "line": line,
                "repeat": repeat,
            }
            keys.append(order_key(cfg.seed, cfg.source, doc.id, repeat))
            lines.append(line)
            reps.append(repeat)
            toks.append(tokens)
            out_ids.append(doc.id)
            payloads.append(_encoder.encode(obj))
    tally.flush()
    if found != len(wanted):
        raise InputError(cfg.rel, 0, "the file changed between the mixer's two passes")
    key_arr = np.array(keys, dtype=np.uint64)
    line_arr = np.array(lines, dtype=np.int64)
    rep_arr = np.array(reps, dtype=np.int32)
    order = np.lexsort((rep_arr, line_arr, key_arr))
    write_run(
        job.outputs[0],
        job.outputs[2],
        [payloads[i] for i in order.tolist()],
        {
            "key": key_arr[order],
            "line": line_arr[order],
            "repeat": rep_arr[order],
            "tokens": np.array(toks, dtype=np.int64)[order],
        },
        [out_ids[i] for i in order.tolist()],
    )
    passed = first["clause"] < 0
    stats = PassTwoStats(
        sampled=int(np.count_nonzero(repeats)),
        repeated=int(np.count_nonzero(repeats > 1)),
        emitted=int(repeats.sum()),
        tokens_emitted=int((repeats * np.where(passed, first["tokens"], 0)).sum()),
    )
    return ShardResult(job.key, read=count, written=count, stats=stats)


def _write_decisions(path: Path, cfg: JobConfig, first: dict[str, Any], repeats: Any) -> None:
    """Write one row per valid input document: its fate, from the pass-1 arrays."""
    import pyarrow as pa

    count = len(first["ids"])
    clause = first["clause"]
    rejected = clause >= 0
    outcome = np.where(rejected, "rejected", np.where(repeats > 0, "kept", "not-sampled"))
    table = pa.table(
        {
            "path": pa.array([cfg.rel] * count, pa.string()),
            "line": pa.array(first["line"], pa.int64()),
            "id": pa.array(first["ids"], pa.string()),
            "source": pa.array([cfg.source] * count, pa.string()),
            "outcome": pa.array(outcome.tolist(), pa.string()),
            "clause": pa.array(clause.astype(np.int32), pa.int32(), mask=~rejected),
            "repeats": pa.array(repeats.astype(np.int32), pa.int32()),
            "tokens": pa.array(first["tokens"], pa.int64(), mask=rejected),
            "u": pa.array(first["u"], pa.float64()),
        }
    )
    write_table(table, path, compression="zstd")
