"""Read YAML configuration files (mix specs, tagger recipes) that a stranger may have written.

A config is data, never code, and small: before anything is built from it, the file's size,
its nesting depth and its node count are bounded, and the YAML features that make a small file
expand or run constructors are refused with the line they are on: anchors and aliases (`&a`,
`*a`: the "billion laughs" bomb), explicit tags (`!!python/name:...`, `!custom`) and merge keys
(`<<:`). The check walks PyYAML's event stream, which needs no recursion, so a list nested
10,000 deep is refused as quickly as a deep one is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dolmakit.errors import ConfigError
from dolmakit.io import storage

MAX_CONFIG_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_NODES = 200_000


def read_config_text(path: str | Path, what: str, *, max_bytes: int = MAX_CONFIG_BYTES) -> str:
    """Return the text of a config file (local or s3://); ConfigError if unreadable, too large."""
    path = storage.location(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ConfigError(
                f"{path}: the {what} is {size:,} bytes, over the limit of {max_bytes:,}"
                " (a config file lists choices; data belongs in the documents)"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: the {what} is not UTF-8 (byte {exc.start})") from None


def compose_config(text: str, path: str | Path, what: str) -> yaml.Node | None:
    """Check a config's YAML for bombs and code, then compose its node tree (None if empty)."""
    check_config_events(text, path, what)
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path) from None


def plain_values(node: yaml.Node, path: str | Path, top: str) -> tuple[Any, dict[str, int]]:
    """Return a composed config as plain values, and the line of every field path in it.

    Field paths read `sources[2].filter`; "" is the whole file. Keys must be unique strings
    (ConfigError naming file and line otherwise; `top` names the whole file in that message).
    """
    lines: dict[str, int] = {}
    return _plain(node, "", lines, Path(path), top), lines


def _plain(node: yaml.Node, where: str, lines: dict[str, int], path: Path, top: str) -> Any:
    lines.setdefault(where, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = scalar_value(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                raise ConfigError(f"{path}:{line}: {where or top}: keys must be strings")
            child = f"{where}.{key}" if where else key
            if key in out:
                raise ConfigError(f"{path}:{line}: {child}: duplicate key")
            lines[child] = line
            out[key] = _plain(value_node, child, lines, path, top)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(v, f"{where}[{i}]", lines, path, top) for i, v in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return scalar_value(node, path)


def scalar_value(node: yaml.ScalarNode, path: str | Path) -> Any:
    """Return the value of one scalar node (safe types only); ConfigError naming its line."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        line = node.start_mark.line + 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{line}: {node.value!r}: {problem}") from None
    finally:
        loader.dispose()


def value_kind(value: Any) -> str:
    """Return what a config value is, for messages: 'a string ('x')', 'a list', 'nothing'."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def check_config_events(text: str, path: str | Path, what: str) -> None:
    """Raise ConfigError at the first anchor, alias, tag or merge key, or past the size bounds."""
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: the {what} is over the limit of {MAX_CONFIG_BYTES:,} bytes")
    depth = nodes = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            line = event.start_mark.line + 1 if event.start_mark is not None else 0
            where = f"{path}:{line}"
            if isinstance(event, yaml.AliasEvent):
                raise ConfigError(
                    f"{where}: YAML aliases (*{event.anchor}) are not allowed in a {what};"
                    " write the value out"
                )
            if not isinstance(event, yaml.NodeEvent):
                if isinstance(event, yaml.CollectionEndEvent):
                    depth -= 1
                continue
            nodes += 1
            if nodes > MAX_NODES:
                raise ConfigError(f"{where}: the {what} has over {MAX_NODES:,} values")
            if event.anchor is not None:
                raise ConfigError(
                    f"{where}: YAML anchors (&{event.anchor}) are not allowed in a {what};"
                    " write the value out"
                )
            tag = getattr(event, "tag", None)
            if tag is not None and tag != "!":
                raise ConfigError(
                    f"{where}: YAML tags ({tag}) are not allowed in a {what}: it holds plain"
                    " values only"
                )
            if isinstance(event, yaml.ScalarEvent):
                if event.value == "<<" and event.style is None:
                    raise ConfigError(
                        f"{where}: YAML merge keys (<<:) are not allowed in a {what};"
                        " write the keys out (or quote '<<' if it is a value)"
                    )
            elif isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ConfigError(
                        f"{where}: the {what} is nested deeper than {MAX_DEPTH} levels"
                    )
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path) from None


def _yaml_error(exc: yaml.YAMLError, path: str | Path) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    line = f":{mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return ConfigError(f"{path}{line}: invalid YAML: {problem}")
