"""The tagging stage: run taggers over document shards and write Dolma attribute files.

For `<dataset>/documents/<rel>` a run named NAME writes `<dataset>/attributes/NAME/<rel>`:
one line per valid document line, same order, same id, keys `NAME__<tagger>__<type>`. All
taggers of a run share one pass over each shard (one read, one write); documents reach
`tag_batch` in batches; taggers load once per worker process. Spans are checked (within the
text, start <= end, finite score) and a tagger that breaks the contract stops the run with a
TaggerError naming it. Scores are rounded to 5 decimals, as Dolma does. Nothing is dropped:
the mixer decides later.
"""

from __future__ import annotations

import gc
import math
import numbers
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import msgspec

from dolmakit.document import Document, Span
from dolmakit.errors import ConfigError, DolmakitError
from dolmakit.io.atomic import write_bytes_atomic
from dolmakit.io.attributes import (
    Attributes,
    AttributeWriter,
    attribute_key,
    make_attribute_folders,
)
from dolmakit.io.duplicate_ids import IdRecorder, recorded_duplicates
from dolmakit.io.lock import exclusive
from dolmakit.io.paths import attribute_path, expand_inputs, split_dataset_path
from dolmakit.io.reader import read_documents, unreadable
from dolmakit.io.rejects import Rejects, rejects_file
from dolmakit.run.options import RunOptions, or_default
from dolmakit.run.progress import Tally
from dolmakit.run.runner import RunSummary, ShardJob, ShardResult, run_shards
from dolmakit.taggers.attribute_rows import SCORE_DIGITS, checked_span, compiled_checked_rows
from dolmakit.taggers.base import Tagger, ValueTagger, available_taggers, load_tagger
from dolmakit.taggers.recipes import (
    Recipe,
    TaggerSpec,
    load_recipe,
    recipe_from_names,
    recipe_from_specs,
)
from dolmakit.taggers.rules.text import NATIVE

DEFAULT_BATCH_SIZE = 512
ROW_CHUNK = 16  # documents per compiled checked_rows call (see _checked_rows)
RECORD_FOLDER = ".dolmakit"
_RUN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


class TaggerError(DolmakitError):
    """Report a tagger that failed or broke the Tagger contract (a bug in the tagger)."""


@dataclass(frozen=True)
class TagOptions:
    """What every shard of a run needs: the run name, the taggers, the batch size."""

    run: str
    taggers: tuple[TaggerSpec, ...]
    batch_size: int = DEFAULT_BATCH_SIZE


def resolve_recipe(taggers: Recipe | str | Path | Sequence[str | TaggerSpec]) -> Recipe:
    """Return a validated recipe from a Recipe, a recipe file, or tagger names/specs."""
    if isinstance(taggers, Recipe):
        return taggers
    if isinstance(taggers, Path) or (
        isinstance(taggers, str) and taggers.endswith((".yaml", ".yml"))
    ):
        return load_recipe(taggers)
    if isinstance(taggers, str):
        return recipe_from_names(taggers)
    names = [t for t in taggers if isinstance(t, str)]
    if len(names) == len(taggers):
        return recipe_from_names(names)
    return recipe_from_specs([t if isinstance(t, TaggerSpec) else TaggerSpec(t) for t in taggers])


def run_config(run: str, recipe: Recipe) -> dict[str, Any]:
    """Return the configuration that decides a run's output bytes (hashed for resume)."""
    registry = available_taggers()
    taggers = []
    for s in recipe.taggers:
        cls = registry[s.name][0]
        entry: dict[str, Any] = {"name": s.name, "version": cls.version, "params": dict(s.params)}
        # A tagger reading a data file (the contamination index) records which one it read,
        # so a changed file is a new configuration and the mixer can name it in manifests.
        record = getattr(cls, "run_record", None)
        if callable(record):
            entry["record"] = record(dict(s.params))
        taggers.append(entry)
    return {"run": run, "taggers": taggers, "score_digits": SCORE_DIGITS}


def tag(
    documents: Sequence[str | Path],
    run: str,
    taggers: Recipe | str | Path | Sequence[str | TaggerSpec],
    *,
    run_options: RunOptions | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> RunSummary[None]:
    """Tag every document file under `documents` as run `run`; return the run's totals.

    `taggers` is a Recipe, a recipe file (.yaml), a comma-separated string of names, or a
    list of names or TaggerSpecs. A rerun skips shards whose attribute file is complete for
    the same configuration (tagger names, versions, parameters).
    """
    if not _RUN_NAME.fullmatch(run):
        raise ConfigError(f"run name {run!r}: use letters, digits, '_', '-' or '.'")
    if batch_size < 1:
        raise ConfigError("batch size must be at least 1")
    recipe = resolve_recipe(taggers)
    files = expand_inputs(documents)
    datasets = sorted({split_dataset_path(f)[0] for f in files}, key=str)
    if len(datasets) > 1:
        raise ConfigError(
            "documents come from several datasets ("
            + ", ".join(str(d) for d in datasets)
            + "); tag one dataset per run"
        )
    make_attribute_folders(files, run)
    options = TagOptions(run, recipe.taggers, batch_size)
    config = run_config(run, recipe)
    output = datasets[0] / "attributes" / run
    record_dir = output / RECORD_FOLDER
    jobs = [
        ShardJob(
            str(split_dataset_path(f)[1]),
            f,
            (attribute_path(f, run), record_dir / "ids" / f"{n:05d}.msgpack"),
            options,
        )
        for n, f in enumerate(files)
    ]
    with exclusive(output, f"tag run {run!r}"):
        summary = run_shards(
            "tag",
            jobs,
            tag_shard,
            record_dir=record_dir,
            config=config,
            stats=type(None),
            options=run_options,
            rejects_file=rejects_file(output),
        )
        config_bytes = msgspec.json.format(msgspec.json.encode(config))
        write_bytes_atomic(record_dir / "run.json", config_bytes)
        found = recorded_duplicates(
            [(job.input, job.outputs[1]) for job in jobs], or_default(run_options).on_error
        )
        summary.warnings.extend(w for w in [found.message()] if w is not None)
    return summary


def tag_shard(job: ShardJob[TagOptions], rejects: Rejects) -> ShardResult[None]:
    """Tag one documents file: one read, one attribute file written atomically."""
    options = job.options
    taggers = [(spec.name, load_tagger(spec.name, dict(spec.params))) for spec in options.taggers]
    checker = _Checker(options.run, taggers, str(job.input))
    result = ShardResult(job.key, stats=None)
    tally = Tally()
    batch: list[tuple[int, Document]] = []
    seen = IdRecorder()
    writer = AttributeWriter(job.outputs[0])
    with writer:
        for item in read_documents(job.input, rejects):
            seen.add(*item)
            batch.append(item)
            if len(batch) >= options.batch_size:
                checker.write_batch(batch, writer)
                batch.clear()
            tally.add(len(item[1].text))
            result.text_bytes += len(item[1].text)
        if batch:
            checker.write_batch(batch, writer)
        if unreadable(writer.lines, rejects.counts):
            writer.discard()
    seen.save(job.outputs[1])
    tally.flush()
    result.written = writer.lines
    result.read = result.written + rejects.total
    return result


class _Checker:
    """Run the taggers on a batch, check their results and write the attribute lines."""

    def __init__(self, run: str, taggers: list[tuple[str, Tagger]], path: str) -> None:
        self.run = run
        self.taggers = taggers
        self.path = path
        self.keys: dict[str, dict[str, str]] = {}  # tagger -> attribute type -> key
        self.value_keys: dict[str, tuple[str, ...] | None] = {
            name: self._value_keys(name, tagger) for name, tagger in taggers
        }

    def _value_keys(self, name: str, tagger: Tagger) -> tuple[str, ...] | None:
        """Return the keys of a ValueTagger's value types (None: not a ValueTagger)."""
        types = getattr(tagger, "value_types", None)
        if not isinstance(tagger, ValueTagger) or not isinstance(types, tuple):
            return None
        self.keys.setdefault(name, {})
        return tuple(self._key(name, tagger, kind) for kind in types)

    def write_batch(self, batch: list[tuple[int, Document]], writer: AttributeWriter) -> None:
        # The batch's objects die by reference counting; pausing the cyclic collector while
        # they are made saves its repeated scans of them (it runs again right after).
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._write_batch(batch, writer)
        finally:
            if collecting:
                gc.enable()

    def _write_batch(self, batch: list[tuple[int, Document]], writer: AttributeWriter) -> None:
        docs = [doc for _, doc in batch]
        where = f"{self.path} (lines {batch[0][0]}-{batch[-1][0]})"
        results = []
        for name, tagger in self.taggers:
            value_keys = self.value_keys[name]
            try:
                if value_keys is None:
                    out: list[Any] = tagger.tag_batch(docs)
                else:
                    out = cast(ValueTagger, tagger).tag_values(docs)
            except DolmakitError:
                raise
            except Exception as exc:
                raise TaggerError(
                    f"tagger {name!r} failed on {where}: {type(exc).__name__}: {exc}"
                ) from exc
            if not isinstance(out, list) or len(out) != len(docs):
                got = len(out) if isinstance(out, list) else type(out).__name__
                raise TaggerError(
                    f"tagger {name!r} returned {got} results for {len(docs)} documents on {where}"
                )
            results.append((name, tagger, self.keys.setdefault(name, {}), out, value_keys))
        for start in range(0, len(batch), ROW_CHUNK):
            rows = _checked_rows(results, docs[start : start + ROW_CHUNK], start)
            for i, attrs in enumerate(rows, start):
                lineno, doc = batch[i]
                if attrs is None:  # anything unusual: check this document alone
                    attrs = self._attributes(results, i, lineno, len(doc.text))
                writer.write_attributes(doc, attrs)

    def _attributes(self, results: list[Any], i: int, lineno: int, size: int) -> Attributes:
        """Return document i's attributes, checking each result; TaggerError names a bad one."""
        attrs: Attributes = {}
        for name, tagger, keys, out, value_keys in results:
            found = out[i]
            values: tuple[Any, ...] = ()
            if value_keys is not None:
                if type(found) is not tuple or len(found) != 2:
                    raise TaggerError(
                        f"tagger {name!r} returned {type(found).__name__}, not a (spans,"
                        f" values) pair, for {self.path}:{lineno}"
                    )
                found, values = found
                if type(values) is not tuple:
                    raise TaggerError(
                        f"tagger {name!r} returned values of type {type(values).__name__},"
                        f" not a tuple, for {self.path}:{lineno}"
                    )
            if type(found) is not dict:
                raise TaggerError(
                    f"tagger {name!r} returned {type(found).__name__}, not a dict,"
                    f" for {self.path}:{lineno}"
                )
            for kind, spans in found.items():
                if not spans:
                    continue
                key = keys.get(kind) or self._key(name, tagger, kind)
                if len(spans) == 1:  # one span, usually a document value: check inline
                    checked = checked_span(spans[0], size, Span)
                    if checked is not None:
                        attrs[key] = [checked]
                        continue
                attrs[key] = self._spans(spans, size, name, kind, lineno)
            if value_keys is not None:
                bad = _put_values(attrs, value_keys, size, values)
                if bad >= 0:
                    raise self._bad_value(name, tagger, values, bad, lineno)
        return attrs

    def _bad_value(
        self, name: str, tagger: Tagger, values: tuple[Any, ...], bad: int, lineno: int
    ) -> TaggerError:
        types: tuple[str, ...] = getattr(tagger, "value_types", ())
        if len(values) != len(types):
            return TaggerError(
                f"tagger {name!r} returned {len(values)} values for its {len(types)} value"
                f" types at {self.path}:{lineno}"
            )
        return TaggerError(
            f"tagger {name!r}, type {types[bad]!r}: value {values[bad]!r} is not an int or a"
            f" finite float at {self.path}:{lineno}"
        )

    def _key(self, name: str, tagger: Tagger, kind: str) -> str:
        declared = tagger.attributes
        if not isinstance(kind, str) or not (
            kind in declared or any(d.endswith("*") and kind.startswith(d[:-1]) for d in declared)
        ):
            raise TaggerError(
                f"tagger {name!r} returned attribute type {kind!r}, which it does not declare"
                f" ({', '.join(declared)}) on {self.path}"
            )
        key = attribute_key(self.run, name, kind)
        self.keys[name][kind] = key
        return key

    def _spans(self, spans: Any, size: int, name: str, kind: str, lineno: int) -> list[list[float]]:
        out: list[list[float]] = []
        try:
            for start, end, score in spans:
                if type(start) is not int or type(end) is not int:
                    start, end = operator.index(start), operator.index(end)
                if not 0 <= start <= end <= size:
                    raise TaggerError(
                        f"tagger {name!r}, type {kind!r}: span [{start}, {end}] is not within"
                        f" the text (0..{size}) of {self.path}:{lineno}"
                    )
                kind_of_score = type(score)
                if kind_of_score is float and score - score == 0.0:  # finite
                    score = round(score, SCORE_DIGITS)
                elif kind_of_score is not int:
                    score = _score(score, name, kind, f"{self.path}:{lineno}")
                out.append([start, end, score])
        except (TypeError, ValueError) as exc:  # not iterable, or not three items
            raise TaggerError(
                f"tagger {name!r}, type {kind!r}: spans must be [start, end, score] triples"
                f" of integers and a number at {self.path}:{lineno}: {exc}"
            ) from None
        return out


def _checked_rows(results: list[Any], docs: list[Document], start: int) -> list[Attributes | None]:
    """Return the attribute dicts of docs (batch positions from `start`), None where unsure.

    Compiled: every well-formed result in one call (attribute_rows.checked_rows defines it).
    A few documents a call, not a whole batch: their objects are then encoded and freed
    while still in the CPU cache (measured: the output path costs a fifth less than with 512).
    Pure Python: None for every document, as the per-document check is then the faster one.
    """
    if compiled_checked_rows is None:
        return [None] * len(docs)
    end = start + len(docs)
    return compiled_checked_rows(
        [r[3][start:end] for r in results],
        [r[2] for r in results],
        [r[4] for r in results],
        [len(doc.text) for doc in docs],
        Span,
    )


def put_values(attrs: Attributes, keys: tuple[str, ...], size: int, values: tuple[Any, ...]) -> int:
    """Write `[[0, size, value]]` under the key of each value not None; return -1 or a bad index.

    A bad value is neither an int nor a finite float: the index of the first one is returned
    and nothing is written for it or after it. Floats are rounded to 5 decimals (0.0 and 1.0
    as they are). A values tuple of the wrong length is bad at the shorter length. The
    compiled `dolmakit._textstats.put_values` does the same.
    """
    if len(values) != len(keys):
        return min(len(values), len(keys))
    for i, value in enumerate(values):
        if value is None:
            continue
        kind = type(value)
        if kind is float and value - value == 0.0:  # finite
            if value != 0.0 and value != 1.0:
                value = round(value, SCORE_DIGITS)
        elif kind is not int:
            return i
        attrs[keys[i]] = [[0, size, value]]
    return -1


_put_values = NATIVE.put_values if NATIVE is not None else put_values


def _score(score: Any, name: str, kind: str, where: str) -> float:
    """Return a span score as a JSON number: floats rounded to 5 decimals (as Dolma)."""
    if isinstance(score, bool) or not isinstance(score, numbers.Real):
        raise TaggerError(
            f"tagger {name!r}, type {kind!r}: score {score!r} is not a number at {where}"
        )
    if isinstance(score, numbers.Integral):
        return int(score)
    value = float(score)
    if not math.isfinite(value):
        raise TaggerError(f"tagger {name!r}, type {kind!r}: score {score} is not finite at {where}")
    return round(value, SCORE_DIGITS)
