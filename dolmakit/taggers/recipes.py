"""Tagger recipes: which taggers a run uses, with which parameters, validated before running.

A recipe is a YAML file (see `taggers/web.yaml`)::

    name: web                 # optional
    description: ...          # optional
    taggers:
      - lengths               # a tagger by name, default parameters
      - name: ldnoobw         # or a mapping with the name and its parameters
        params: {language: en}

Every error names the file, the line and the field (`taggers[2].params`).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dolmakit.errors import ConfigError, DolmakitError
from dolmakit.io.config import compose_config, read_config_text
from dolmakit.taggers.base import Tagger, available_taggers

RECIPE_KEYS = ("name", "description", "taggers")
ENTRY_KEYS = ("name", "params")


@dataclass(frozen=True)
class TaggerSpec:
    """One tagger of a run: its registered name and constructor parameters."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recipe:
    """The taggers of a run, in order; `source` is the file it came from, if any."""

    taggers: tuple[TaggerSpec, ...]
    name: str | None = None
    description: str = ""
    source: str | None = None


def recipe_from_names(names: str | Sequence[str]) -> Recipe:
    """Build a recipe from tagger names (a list or a comma-separated string)."""
    items = names.split(",") if isinstance(names, str) else list(names)
    return recipe_from_specs([TaggerSpec(n.strip()) for n in items if n.strip()])


def recipe_from_specs(given: Sequence[TaggerSpec]) -> Recipe:
    """Build a recipe from tagger specs (`--taggers` with `--param`), each one checked."""
    specs = tuple(given)
    if not specs:
        raise ConfigError("--taggers: no tagger names given")
    for i, spec in enumerate(specs):
        problem = check_spec(spec)
        if problem:
            raise ConfigError(f"--taggers: {spec.name!r}: {problem}")
        if spec.name in [s.name for s in specs[:i]]:
            raise ConfigError(f"--taggers: {spec.name!r} is listed twice")
    return Recipe(specs)


def check_spec(spec: TaggerSpec) -> str | None:
    """Return what is wrong with a spec (unknown tagger, unknown parameter), or None."""
    taggers = available_taggers()
    if spec.name not in taggers:
        return f"unknown tagger; `dolmakit taggers` lists them: {', '.join(taggers)}"
    cls: type[Tagger] = taggers[spec.name][0]
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # a class without an inspectable signature
        return None
    try:
        signature.bind(**spec.params)
    except TypeError as exc:
        known = [p for p in signature.parameters if p != "self"]
        return f"bad parameters: {exc} (parameters: {', '.join(known) or 'none'})"
    return None


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a recipe file; ConfigError names the file, line and field."""
    name = str(path)
    text = read_config_text(path, "recipe")
    root = compose_config(text, name, "recipe")
    try:
        # Safe now: no aliases, tags or merge keys, and at most MAX_DEPTH levels.
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        raise ConfigError(f"{where}: invalid YAML: {exc}") from None

    def fail(where: list[str | int], problem: str) -> ConfigError:
        line = _line_of(root, where)
        field_name = _field_name(where)
        prefix = f"{name}:{line}" if line else name
        return ConfigError(
            f"{prefix}: {field_name}: {problem}" if field_name else f"{prefix}: {problem}"
        )

    if not isinstance(data, dict):
        raise fail([], "a recipe is a mapping with a 'taggers' list")
    for key in data:
        if key not in RECIPE_KEYS:
            raise fail([key], f"unknown field; a recipe has {', '.join(RECIPE_KEYS)}")
    entries = data.get("taggers")
    if not isinstance(entries, list) or not entries:
        raise fail(["taggers"] if "taggers" in data else [], "'taggers' must be a non-empty list")
    specs: list[TaggerSpec] = []
    for i, entry in enumerate(entries):
        here: list[str | int] = ["taggers", i]
        if isinstance(entry, str):
            spec = TaggerSpec(entry)
        elif isinstance(entry, dict):
            for key in entry:
                if key not in ENTRY_KEYS:
                    raise fail([*here, key], f"unknown field; an entry has {', '.join(ENTRY_KEYS)}")
            if not isinstance(entry.get("name"), str):
                raise fail(here, "an entry needs a 'name' (string)")
            params = entry.get("params") or {}
            if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
                raise fail([*here, "params"], "'params' must be a mapping of names to values")
            spec = TaggerSpec(entry["name"], params)
        else:
            raise fail(here, "an entry is a tagger name or a mapping with 'name' and 'params'")
        if any(s.name == spec.name for s in specs):
            raise fail(here, f"tagger {spec.name!r} is listed twice")
        try:
            problem = check_spec(spec)
        except DolmakitError as exc:
            raise fail(here, str(exc)) from None
        if problem:
            at = [*here, "params"] if problem.startswith("bad parameters") else here
            raise fail(at, f"{spec.name!r}: {problem}")
        specs.append(spec)
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            raise fail([key], "must be a string")
    return Recipe(tuple(specs), data.get("name"), data.get("description") or "", name)


def _field_name(where: Sequence[str | int]) -> str:
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _line_of(root: yaml.Node | None, where: Sequence[str | int]) -> int:
    """Return the 1-based line of the node at `where` (or of its nearest ancestor)."""
    node = root
    line = node.start_mark.line + 1 if node is not None else 0
    for depth, part in enumerate(where, 1):
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    child = key if depth == len(where) else value
                    break
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line
