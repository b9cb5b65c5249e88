"""Read and validate a mix spec (YAML) into a frozen `MixSpec`; errors name file, line and field.

Only the structure is checked here; `dolmakit.mix.inputs` checks the spec against the data
(globs that match nothing, attribute runs that do not exist).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dolmakit.errors import ConfigError, DolmakitError
from dolmakit.io.config import compose_config, plain_values, read_config_text
from dolmakit.io.config import value_kind as _type
from dolmakit.io.units import parse_size
from dolmakit.mix.evaluate import compile_filter, resolve
from dolmakit.mix.filters import FilterSyntaxError
from dolmakit.mix.jsonpath import translate_dolma
from dolmakit.mix.manifest import spec_hash
from dolmakit.mix.spans import SpanRule

FORMATS = ("jsonl.zst", "jsonl.gz", "jsonl", "parquet")
DEFAULT_MAX_REPEATS = 4
DEFAULT_SHARD_SIZE = 256 * 10**6
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TOKENS_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMbBtT]?)\s*$")
_TOKEN_UNITS = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}

TOP_KEYS = (
    "name version description seed tokenizer target_tokens scale sources span_replacements output"
    " allowed_licences"
)
SOURCE_KEYS = "name documents attributes filter tokens weight rate max_repeats licence notes"
SPAN_KEYS = "attribute replacement min_score max_score"
OUTPUT_KEYS = "root format shard_size drop_fields"
FILTER_KEYS = "include exclude"


@dataclass(frozen=True)
class SourceSpec:
    """One source: which documents, which attribute runs, which filter, how much of it."""

    name: str
    documents: tuple[str, ...]
    attributes: tuple[str, ...] = ()
    filter: str | None = None
    weight: float | None = None
    rate: float | None = None
    max_repeats: int = DEFAULT_MAX_REPEATS
    licence: str = ""
    notes: str = ""
    tokens: str | None = None


@dataclass(frozen=True)
class OutputSpec:
    """Where and how shards are written (`root` is resolved against the spec's folder)."""

    root: str | None = None
    format: str = "jsonl.zst"
    shard_size: int = DEFAULT_SHARD_SIZE
    drop_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class MixSpec:
    """A validated mix spec; `canonical()` is what its hash and the manifest record."""

    name: str
    version: str
    seed: int
    tokenizer: str
    sources: tuple[SourceSpec, ...]
    description: str = ""
    target_tokens: int | None = None
    scale: float = 1.0
    span_replacements: tuple[SpanRule, ...] = ()
    output: OutputSpec = OutputSpec()
    allowed_licences: tuple[str, ...] | None = None
    path: Path = Path("mix.yaml")
    lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    def canonical(self) -> dict[str, Any]:
        """Return the canonical spec: every default filled in, no locations."""
        out: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "seed": self.seed,
            "tokenizer": self.tokenizer,
            "target_tokens": self.target_tokens,
            "scale": self.scale,
            "sources": [_canonical_source(s) for s in self.sources],
            "span_replacements": [
                {
                    "attribute": r.attribute,
                    "replacement": r.replacement,
                    "min_score": r.min_score,
                    "max_score": r.max_score,
                }
                for r in self.span_replacements
            ],
            "output": {
                "format": self.output.format,
                "shard_size": self.output.shard_size,
                "drop_fields": list(self.output.drop_fields),
            },
        }
        if self.allowed_licences is not None:  # only when set: other specs keep their hashes
            out["allowed_licences"] = list(self.allowed_licences)
        return out

    def sha256(self) -> str:
        """Return the sha256 of the canonical spec (compact JSON, sorted keys)."""
        return spec_hash(self.canonical())

    def where(self, field_path: str) -> str:
        """Return `file:line` of a field (or of its closest enclosing field)."""
        probe = field_path
        while probe and probe not in self.lines:
            probe = probe.rpartition(".")[0] if "." in probe else ""
        line = self.lines.get(probe, 0)
        return f"{self.path}:{line}" if line else str(self.path)

    def error(self, field_path: str, problem: str) -> ConfigError:
        """Return a ConfigError naming the spec file, the field's line and the field."""
        return ConfigError(f"{self.where(field_path)}: {field_path}: {problem}")


def _canonical_source(s: SourceSpec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": s.name,
        "documents": list(s.documents),
        "attributes": list(s.attributes),
        "filter": s.filter,
        "weight": s.weight,
        "rate": s.rate,
        "max_repeats": s.max_repeats,
        "licence": s.licence,
        "notes": s.notes,
    }
    if s.tokens is not None:  # only when set, so specs without it keep their hashes
        out["tokens"] = s.tokens
    return out


# ---------------------------------------------------------------- YAML with line numbers


def _compose(text: str, path: Path) -> tuple[Any, dict[str, int]]:
    root = compose_config(text, path, "mix spec")
    if root is None:
        raise ConfigError(f"{path}: the mix spec is empty")
    return plain_values(root, path, "spec")


# ---------------------------------------------------------------- validation


class _Checker:
    def __init__(self, path: Path, lines: dict[str, int]) -> None:
        self.path = path
        self.lines = lines

    def error(self, where: str, problem: str) -> ConfigError:
        line = self.lines.get("" if where == "spec" else where, 0)
        return ConfigError(f"{self.path}:{line}: {where}: {problem}")

    def mapping(self, value: Any, where: str, known: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(where or "spec", f"expected a mapping, got {_type(value)}")
        allowed = known.split()
        for key in value:
            if key not in allowed:
                child = f"{where}.{key}" if where else key
                raise self.error(child, f"unknown key {key!r} (known keys: {', '.join(allowed)})")
        return value

    def get(
        self,
        obj: dict[str, Any],
        where: str,
        key: str,
        check: Callable[[Any, str], Any],
        default: Any = ...,
    ) -> Any:
        child = f"{where}.{key}" if where else key
        if key not in obj or obj[key] is None:
            if default is ...:
                raise self.error(where or "spec", f"missing required key {key!r}")
            return default
        return check(obj[key], child)

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise self.error(where, f"expected a string, got {_type(value)}")
        return value

    def name(self, value: Any, where: str) -> str:
        text = self.string(value, where)
        if not _NAME_RE.match(text):
            raise self.error(
                where, f"{text!r} is not a valid name (letters, digits, '_', '.', '-')"
            )
        return text

    def version(self, value: Any, where: str) -> str:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self.error(where, f"expected an integer or a string, got {_type(value)}")
        return self.name(str(value), where)

    def integer(self, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(where, f"expected an integer, got {_type(value)}")
        return value

    def positive_int(self, value: Any, where: str) -> int:
        number = self.integer(value, where)
        if number <= 0:
            raise self.error(where, f"must be positive, got {number}")
        return number

    def positive(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(where, f"expected a number, got {_type(value)}")
        if not value > 0 or value == float("inf"):
            raise self.error(where, f"must be positive, got {value}")
        return float(value)

    def number(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(where, f"expected a number, got {_type(value)}")
        return float(value)

    def tokens(self, value: Any, where: str) -> int:
        if isinstance(value, str):
            match = _TOKENS_RE.match(value)
            if match is None:
                raise self.error(where, f"cannot read {value!r} as a token count (e.g. 5M, 2.5B)")
            value = int(float(match.group(1)) * _TOKEN_UNITS[match.group(2).lower()])
        return self.positive_int(value, where)

    def size(self, value: Any, where: str) -> int:
        if isinstance(value, str):
            try:
                value = parse_size(value)
            except DolmakitError as exc:
                raise self.error(where, str(exc)) from None
        return self.positive_int(value, where)

    def strings(self, value: Any, where: str) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list):
            raise self.error(where, f"expected a list of strings, got {_type(value)}")
        return tuple(self.string(v, f"{where}[{i}]") for i, v in enumerate(value))


def load_spec(path: str | Path) -> MixSpec:
    """Read a mix spec file and validate it; ConfigError names file, line and field."""
    path = Path(path)
    return parse_spec(read_config_text(path, "mix spec"), path)


def parse_spec(text: str, path: Path) -> MixSpec:
    """Validate the text of a mix spec (`path` is used in messages and for relative paths)."""
    raw, lines = _compose(text, path)
    return _validate(raw, lines, path)


def spec_from_canonical(canonical: dict[str, Any], path: Path) -> MixSpec:
    """Validate a canonical spec (a manifest's `spec`) back into the `MixSpec` it came from.

    `path` names the spec in messages and becomes the manifest's `spec_file` (its name). The
    result's `canonical()` equals the input, so the spec hash is the same; ConfigError if not.
    """
    raw = dict(canonical)
    if raw.get("target_tokens") is not None and raw.get("scale") == 1.0:
        raw.pop("scale")  # canonical() records scale 1.0 next to a target; the spec gives one
    spec = _validate(raw, {}, path)
    if spec.canonical() != canonical:
        raise ConfigError(f"{path}: the canonical spec does not validate back to itself")
    return spec


def _validate(raw: Any, lines: dict[str, int], path: Path) -> MixSpec:
    c = _Checker(path, lines)
    top = c.mapping(raw, "", TOP_KEYS)
    target = c.get(top, "", "target_tokens", c.tokens, None)
    scale = c.get(top, "", "scale", c.positive, None)
    if target is not None and scale is not None:
        raise c.error("scale", "give target_tokens or scale, not both")
    sources_raw = c.get(top, "", "sources", lambda v, w: v)
    if not isinstance(sources_raw, list) or not sources_raw:
        raise c.error("sources", "expected a non-empty list of sources")
    sources = tuple(_source(c, s, f"sources[{i}]") for i, s in enumerate(sources_raw))
    names = [s.name for s in sources]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise c.error(f"sources[{i}].name", f"duplicate source name {name!r}")
    rules_raw = c.get(top, "", "span_replacements", lambda v, w: v, [])
    if not isinstance(rules_raw, list):
        raise c.error("span_replacements", f"expected a list, got {_type(rules_raw)}")
    rules = tuple(_rule(c, r, f"span_replacements[{i}]") for i, r in enumerate(rules_raw))
    out_raw = c.mapping(c.get(top, "", "output", lambda v, w: v, {}), "output", OUTPUT_KEYS)
    fmt = c.get(out_raw, "output", "format", c.string, "jsonl.zst")
    if fmt not in FORMATS:
        raise c.error(
            "output.format", f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}"
        )
    drop = c.get(out_raw, "output", "drop_fields", c.strings, ())
    for i, name in enumerate(drop):
        if name in ("id", "text", "metadata", "metadata.provenance"):
            raise c.error(f"output.drop_fields[{i}]", f"{name!r} cannot be dropped")
    output = OutputSpec(
        root=c.get(out_raw, "output", "root", c.string, None),
        format=fmt,
        shard_size=c.get(out_raw, "output", "shard_size", c.size, DEFAULT_SHARD_SIZE),
        drop_fields=drop,
    )
    return MixSpec(
        name=c.get(top, "", "name", c.name),
        version=c.get(top, "", "version", c.version),
        description=c.get(top, "", "description", c.string, ""),
        seed=c.get(top, "", "seed", c.integer),
        tokenizer=c.get(top, "", "tokenizer", c.string),
        target_tokens=target,
        scale=1.0 if scale is None else scale,
        sources=sources,
        span_replacements=rules,
        output=output,
        allowed_licences=c.get(top, "", "allowed_licences", c.strings, None),
        path=path,
        lines=lines,
    )


def _source(c: _Checker, raw: Any, where: str) -> SourceSpec:
    obj = c.mapping(raw, where, SOURCE_KEYS)
    attributes = c.get(obj, where, "attributes", c.strings, ())
    for i, run in enumerate(attributes):
        c.name(run, f"{where}.attributes[{i}]")
    weight = c.get(obj, where, "weight", c.positive, None)
    rate = c.get(obj, where, "rate", c.positive, None)
    if (weight is None) == (rate is None):
        raise c.error(where, "give exactly one of 'weight' (share of output tokens) and 'rate'")
    max_repeats = c.get(obj, where, "max_repeats", c.positive_int, DEFAULT_MAX_REPEATS)
    if rate is not None and rate > max_repeats:
        raise c.error(f"{where}.rate", f"rate {rate} is above max_repeats {max_repeats}")
    documents = c.get(obj, where, "documents", c.strings)
    if not documents:
        raise c.error(f"{where}.documents", "expected at least one glob")
    return SourceSpec(
        name=c.get(obj, where, "name", c.name),
        documents=documents,
        attributes=attributes,
        filter=_filter(c, obj.get("filter"), f"{where}.filter", attributes),
        weight=weight,
        rate=rate,
        max_repeats=max_repeats,
        licence=c.get(obj, where, "licence", c.string, ""),
        notes=c.get(obj, where, "notes", c.string, ""),
        tokens=c.get(obj, where, "tokens", lambda v, w: _tokens_name(c, v, w, attributes), None),
    )


def _tokens_name(c: _Checker, raw: Any, where: str, runs: tuple[str, ...]) -> str:
    """Check `tokens`: an attribute name (as in filters) whose value is the token count."""
    name = c.string(raw, where)
    try:
        ref = resolve(name, runs)
    except ConfigError as exc:
        raise c.error(where, str(exc)) from None
    if ref.kind != "attribute":
        raise c.error(where, f"{name!r} is not an attribute (e.g. tags.tokens.count)")
    if not runs:
        raise c.error(where, f"{name!r}: the source joins no attribute runs")
    return name


def _filter(c: _Checker, raw: Any, where: str, runs: tuple[str, ...]) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, dict):
        obj = c.mapping(raw, where, FILTER_KEYS)
        include = c.get(obj, where, "include", c.strings, ())
        exclude = c.get(obj, where, "exclude", c.strings, ())
        try:
            text = translate_dolma(include, exclude)
        except ConfigError as exc:
            raise c.error(where, str(exc)) from None
    else:
        text = c.string(raw, where)
    try:
        return compile_filter(text, runs).text
    except FilterSyntaxError as exc:
        raise c.error(where, f"{exc} in {exc.expression!r}") from None
    except ConfigError as exc:
        raise c.error(where, str(exc)) from None


def _rule(c: _Checker, raw: Any, where: str) -> SpanRule:
    obj = c.mapping(raw, where, SPAN_KEYS)
    return SpanRule(
        attribute=c.get(obj, where, "attribute", c.string),
        replacement=c.get(obj, where, "replacement", c.string, ""),
        min_score=c.get(obj, where, "min_score", c.number, None),
        max_score=c.get(obj, where, "max_score", c.number, None),
    )
