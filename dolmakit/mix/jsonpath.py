"""Translate Dolma mixer `include`/`exclude` JSONPath filters into the filter language.

Supported (the forms Dolma's own configs use):

- `$.attributes[?(@.KEY && @.KEY[0] && @.KEY[0][2] >= 0.5)]`: `&&`, `||`, parentheses,
  `@.KEY` / `@.KEY[0]` (the key has a span), `@.KEY[0][2] OP number` (the first span's score);
- `$.metadata[?(@.FIELD OP literal)]`, `$.metadata.FIELD`, `$.attributes.KEY` (the field exists).

In JSONPath a comparison on a missing key does not match, so `@.KEY[0][2] < 5` becomes
`(exists(KEY) and first(KEY) < 5)`. Numbers compare by value, so Dolma's `>= 1.0` now also
matches its deduplicator's integer score `1`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dolmakit.errors import ConfigError
from dolmakit.mix.filters import format_literal

_PATH_RE = re.compile(
    r"^\$@?\.(attributes|metadata)(?:\[\?\((?P<pred>.*)\)\]|\.(?P<field>\w+))$", re.S
)
_TERM_RE = re.compile(
    r"""\s*(?:
      (?P<and>&&) | (?P<or>\|\|) | (?P<open>\() | (?P<close>\)) | (?P<neg>!(?!=))
    | @\.(?P<key>\w+)(?P<index>(?:\[\d+\])*)
      (?:\s*(?P<op>==|!=|<=|>=|<|>)\s*
         (?P<lit>-?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|"[^"]*"|'[^']*'|true|false))?
    )""",
    re.X,
)


def translate(path: str) -> str:
    """Return the filter expression matching what one Dolma JSONPath matches."""
    match = _PATH_RE.match(path.strip())
    if match is None:
        raise ConfigError(
            f"unsupported Dolma filter {path!r}: dolmakit reads $.attributes[?(...)], "
            "$.metadata[?(...)], $.metadata.FIELD and $.attributes.KEY; write other "
            "conditions in the filter language"
        )
    section = match.group(1)
    if match.group("field") is not None:
        return f"exists({_name(section, match.group('field'))})"
    return _predicate(path, section, match.group("pred"))


def _name(section: str, key: str) -> str:
    return f"metadata.{key}" if section == "metadata" else key


def _predicate(path: str, section: str, text: str) -> str:
    out: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TERM_RE.match(text, pos)
        if match is None or match.end() == pos:
            raise ConfigError(f"cannot read Dolma filter {path!r} at {text[pos:]!r}")
        pos = match.end()
        if match.group("and"):
            out.append("and")
        elif match.group("or"):
            out.append("or")
        elif match.group("open"):
            out.append("(")
        elif match.group("close"):
            out.append(")")
        elif match.group("neg"):
            out.append("not")
        else:
            out.append(_term(path, section, match))
    return " ".join(out).replace("( ", "(").replace(" )", ")")


def _term(path: str, section: str, match: re.Match[str]) -> str:
    name = _name(section, match.group("key"))
    index = [int(i) for i in re.findall(r"\d+", match.group("index") or "")]
    op, lit = match.group("op"), match.group("lit")
    if section == "metadata":
        if index:
            raise ConfigError(f"cannot read Dolma filter {path!r}: indexing a metadata field")
        if op is None:
            return f"exists({name})"
        return f"(exists({name}) and {name} {op} {_literal(lit)})"
    if op is None:
        if (index and index[0] != 0) or len(index) > 1:
            raise ConfigError(f"cannot read Dolma filter {path!r}: only [0] tests a span exists")
        return f"exists({name})"
    if index != [0, 2]:
        raise ConfigError(
            f"cannot read Dolma filter {path!r}: only the first span's score @.KEY[0][2] "
            "can be compared"
        )
    return f"(exists({name}) and first({name}) {op} {_literal(lit)})"


def _literal(text: str) -> str:
    if text in ("true", "false"):
        return text
    if text[0] in "\"'":
        return format_literal(text[1:-1])
    return text


def translate_dolma(include: Sequence[str], exclude: Sequence[str]) -> str | None:
    """Combine Dolma lists: kept iff any include matches (or there is none) and no exclude does."""
    parts: list[str] = []
    if include:
        parts.append("(" + " or ".join(f"({translate(p)})" for p in include) + ")")
    parts.extend(f"not ({translate(p)})" for p in exclude)
    return " and ".join(parts) if parts else None
