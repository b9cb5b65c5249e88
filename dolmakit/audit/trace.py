"""Trace documents both ways: from an output document to its input, and from an input to the mix.

`trace` starts from the mix (a document id, or SHARD:ROW) and reads `index.parquet`; `where`
starts from an input (PATH:LINE, or an input document id) and reads the `decisions/` files,
which hold the fate of every valid input document: kept (how many copies), not sampled (its
hash value against the source's rate) or rejected (the first failing filter clause). For a
clause that removes duplicates, the deduplication run's clusters name the kept document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dolmakit.audit.duplicates import kept_duplicate
from dolmakit.audit.folder import MixFolder, open_mix
from dolmakit.audit.sources import is_dedup_clause
from dolmakit.errors import DolmakitError
from dolmakit.io import storage
from dolmakit.io.attributes import Attributes, read_with_attributes
from dolmakit.io.digest import file_sha256
from dolmakit.io.rejects import REJECTS_FILE, Rejects
from dolmakit.mix.evaluate import compile_filter
from dolmakit.mix.files import read_table
from dolmakit.mix.manifest import SourceSection

_REF = re.compile(r"^(?P<file>.+):(?P<line>[0-9]+)$")


@dataclass(frozen=True)
class ClauseResult:
    """One filter clause and whether the document passes it (None: not evaluated)."""

    clause: str
    passed: bool | None


@dataclass
class Origin:
    """An input document and what the mix did with it."""

    source: str
    path: str
    line: int
    id: str
    outcome: str
    copies: int
    tokens: int | None = None
    u: float | None = None
    rate: float | None = None
    failed_clause: str | None = None
    duplicate_of: str | None = None
    locations: list[tuple[str, int, int]] = field(default_factory=list)
    clauses: list[ClauseResult] = field(default_factory=list)
    attributes: Attributes | None = None
    notes: list[str] = field(default_factory=list)
    takedown: str | None = None

    def reason(self) -> str:
        """Return one sentence: in the mix how many times, or why not."""
        if self.outcome == "taken-down":
            return f"not in the mix: removed by {self.takedown}"
        if self.outcome == "kept":
            return f"in the mix {self.copies} time{'s' if self.copies != 1 else ''}"
        if self.outcome == "unreadable":
            return "not in the mix: the input line could not be read (see .dolmakit/rejects.jsonl)"
        if self.outcome == "not-sampled":
            detail = ""
            if self.u is not None and self.rate is not None:
                detail = f": its sampling value {self.u:.6f} >= rate {self.rate:.6f}"
            return f"not in the mix: passed the filter but was not sampled{detail}"
        if self.duplicate_of:
            return (
                f"not in the mix: removed as a duplicate by clause `{self.failed_clause}`;"
                f" the kept copy is {self.duplicate_of}"
            )
        return f"not in the mix: rejected by filter clause `{self.failed_clause}`"


def _read_table(path: Path, filters: list[tuple[str, str, Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = read_table(path, filters=filters).to_pylist()
    return rows


def _shard_number(mix: MixFolder, name: str) -> int | None:
    """Return the shard number named by `name` (a shard path, its stem, or a number)."""
    if name.isdigit():
        return int(name)
    for number, shard in enumerate(mix.manifest.shards):
        stem = shard.path.split(".", 1)[0]
        if name in (shard.path, stem) or Path(name).name == shard.path:
            return number
    return None


def trace(mix_dir: str | Path, ref: str, *, data_root: str | Path | None = None) -> list[Origin]:
    """Return the origin of the output document(s) named by `ref` (DOC_ID or SHARD:ROW).

    An id names every copy of a repeated document: one Origin per input document, listing all
    its copies. SHARD:ROW names one copy, and the Origin says which.
    """
    mix = open_mix(mix_dir, data_root)
    index = mix.folder / mix.manifest.index.path
    match = _REF.match(ref)
    shard = _shard_number(mix, match.group("file")) if match else None
    if match and shard is not None:
        if shard >= len(mix.manifest.shards):
            raise DolmakitError(
                f"{ref}: no shard {shard} in {mix.folder} (it has {len(mix.manifest.shards)})"
            )
        rows = _read_table(index, [("shard", "=", shard), ("row", "=", int(match.group("line")))])
        if not rows:
            raise DolmakitError(
                f"{ref}: {mix.manifest.shards[shard].path} has no row {match.group('line')}"
                f" ({mix.manifest.shards[shard].documents} documents)"
            )
    else:
        rows = _read_table(index, [("id", "=", ref)])
    if not rows:
        hint = ""
        if _read_decisions(mix, ref):
            hint = f"; it is an input document: dolmakit audit where {mix.folder} {ref}"
        raise DolmakitError(f"{ref}: not an output document of the mix {mix.folder}{hint}")
    origins: dict[tuple[str, str, int], Origin] = {}
    for row in rows:
        key = (str(row["source"]), str(row["path"]), int(row["line"]))
        if key in origins:
            continue
        origin = _origin(mix, *key)
        if origin is None:
            raise DolmakitError(f"{row['path']}:{row['line']}: in the index but not in decisions")
        if match and shard is not None:
            origin.notes.insert(
                0,
                f"{ref} is copy {int(row['repeat']) + 1} of {origin.copies}"
                + (" (a repeat)" if row["repeat"] else " (the first copy)"),
            )
        origins[key] = origin
    found = list(origins.values())
    if not (match and shard is not None):
        _mark_ambiguous(ref, found, "output documents", "SHARD:ROW")
    return found


def _mark_ambiguous(ref: str, found: list[Origin], what: str, precise: str) -> None:
    """Note on each origin that an id named several different input documents."""
    if len(found) < 2:
        return
    places = ", ".join(f"{o.source}: {o.path}:{o.line}" for o in found[:5])
    more = f" and {len(found) - 5} more" if len(found) > 5 else ""
    note = (
        f"ambiguous id: {ref!r} names {len(found)} different {what} ({places}{more});"
        f" name one by {precise}"
    )
    for origin in found:
        origin.notes.insert(0, note)


def _read_decisions(mix: MixFolder, doc_id: str) -> list[dict[str, Any]]:
    """Return the decisions rows of every input document with this id."""
    rows: list[dict[str, Any]] = []
    for record in mix.manifest.decisions:
        rows.extend(_read_table(mix.folder / record.path, [("id", "=", doc_id)]))
    return rows


def where(mix_dir: str | Path, ref: str, *, data_root: str | Path | None = None) -> list[Origin]:
    """Return the fate of the input document(s) named by `ref` (PATH:LINE or an input id)."""
    mix = open_mix(mix_dir, data_root)
    match = _REF.match(ref)
    found: list[Origin] = []
    if match:
        rel = _relative_input(mix, match.group("file"))
        if rel is not None:
            line = int(match.group("line"))
            for record in mix.manifest.decisions:
                if record.input != rel:
                    continue
                path = mix.folder / record.path
                for row in _read_table(path, [("line", "=", line)]):
                    found.append(_complete(mix, row))
            if not found:
                found.append(_unreadable(mix, rel, line))
            return found
    found = [_complete(mix, row) for row in _read_decisions(mix, ref)]
    if not found:
        what = "neither an input FILE:LINE nor" if match else "not"
        raise DolmakitError(f"{ref}: {what} an input document id of the mix {mix.folder}")
    _mark_ambiguous(ref, found, "input documents", "INPUT_PATH:LINE")
    return found


def _relative_input(mix: MixFolder, name: str) -> str | None:
    """Return the manifest's relative path of an input file given as written by a user."""
    known = [r.path for r in mix.manifest.inputs.documents]
    if name in known:
        return name
    given = storage.location(name)
    if mix.data_root is not None:
        try:
            rel = str(given.resolve().relative_to(mix.data_root))
            if rel in known:
                return rel
        except ValueError:
            pass
    suffix = [k for k in known if k.endswith("/" + name.lstrip("./"))]
    return suffix[0] if len(suffix) == 1 else None


def _unreadable(mix: MixFolder, rel: str, line: int) -> Origin:
    """Return the Origin of an input line the mixer could not read (from its rejects file)."""
    rejects = mix.folder / (mix.manifest.rejects.path or REJECTS_FILE.as_posix())
    if rejects.is_file():
        import msgspec

        for raw in rejects.read_bytes().splitlines():
            item = msgspec.json.decode(raw)
            if str(item.get("path", "")) == rel and item.get("line") == line:
                source = next(
                    (r.source for r in mix.manifest.inputs.documents if r.path == rel), ""
                )
                origin = Origin(source, rel, line, "", "unreadable", 0)
                origin.notes.append(f"the mixer could not read this line: {item.get('reason')}")
                return origin
    raise DolmakitError(f"{rel}:{line}: no such document line in the inputs of this mix")


def _origin(mix: MixFolder, source: str, path: str, line: int) -> Origin | None:
    for record in mix.manifest.decisions:
        if record.input != path:
            continue
        rows = _read_table(mix.folder / record.path, [("line", "=", line), ("source", "=", source)])
        if rows:
            return _complete(mix, rows[0])
    return None


def _complete(mix: MixFolder, row: dict[str, Any]) -> Origin:
    """Build an Origin from a decisions row: clauses, rate, locations, attributes, duplicates."""
    section = mix.source(row["source"])
    clauses = list(section.clauses)
    origin = Origin(
        source=row["source"],
        path=row["path"],
        line=int(row["line"]),
        id=row["id"],
        outcome=row["outcome"],
        copies=int(row["repeats"] or 0),
        tokens=row.get("tokens"),
        u=row.get("u"),
        rate=section.rate,
    )
    if origin.outcome == "taken-down":
        origin.takedown = _takedown(mix, row.get("takedown"))
    if origin.outcome == "rejected" and row.get("clause") is not None:
        origin.failed_clause = clauses[int(row["clause"])]
    if origin.outcome == "kept":
        index_rows = _read_table(
            mix.folder / mix.manifest.index.path,
            [
                ("path", "=", origin.path),
                ("line", "=", origin.line),
                ("source", "=", origin.source),
            ],
        )
        for r in sorted(index_rows, key=lambda r: int(r["repeat"])):
            shard = mix.manifest.shards[int(r["shard"])].path
            origin.locations.append((shard, int(r["row"]), int(r["repeat"])))
    _attach_attributes(mix, section, origin, clauses)
    if origin.failed_clause and is_dedup_clause(origin.failed_clause):
        origin.duplicate_of = _kept_duplicate(mix, section, origin)
    return origin


def _takedown(mix: MixFolder, number: Any) -> str:
    """Name the takedown that removed a document: 'takedown N (reason) of DATE, in vX'."""
    for record in mix.manifest.takedowns or ():
        if record.number == number:
            return (
                f"takedown {record.number} ({record.reason}) of {record.date}, from"
                f" v{record.previous_version} to v{record.version}"
            )
    return f"takedown {number} (not recorded in the manifest)"


def _attach_attributes(
    mix: MixFolder, section: SourceSection, origin: Origin, clauses: list[str]
) -> None:
    """Read the document's attributes from the inputs and evaluate each clause on them."""
    runs = list(section.attributes)
    if mix.data_root is None:
        origin.notes.append("attributes not shown: pass --data-root to read the inputs")
        origin.clauses = [ClauseResult(c, None) for c in clauses]
        if origin.outcome != "rejected":
            origin.clauses = [ClauseResult(c, True) for c in clauses]
        return
    doc_file = mix.input_path(origin.path)
    for record in mix.manifest.inputs.attributes:
        if record.document == origin.path and record.run in runs:
            path = mix.input_path(record.path)
            if not path.is_file() or file_sha256(path) != record.sha256:
                origin.notes.append(f"attribute file changed since the mix: {record.path}")
    for line, doc, attrs in read_with_attributes(doc_file, runs, Rejects()):
        if line == origin.line:
            origin.attributes = attrs
            origin.clauses = _evaluate(section, runs, doc, attrs, clauses)
            return
        if line > origin.line:
            break
    origin.notes.append(f"{origin.path}:{origin.line} is no longer a readable document")


def _evaluate(
    section: SourceSection, runs: list[str], doc: Any, attrs: Attributes, clauses: list[str]
) -> list[ClauseResult]:
    compiled = compile_filter(section.filter, runs)
    results = []
    for text, predicate in zip(compiled.clause_texts, compiled.predicates, strict=True):
        try:
            results.append(ClauseResult(text, bool(predicate(doc, attrs))))
        except DolmakitError:
            results.append(ClauseResult(text, None))
    return results


def _kept_duplicate(mix: MixFolder, section: SourceSection, origin: Origin) -> str | None:
    """Name the kept member of the document's duplicate cluster, from the dedup run."""
    if mix.data_root is None:
        origin.notes.append("the kept copy is not named: pass --data-root to read the dedup run")
        return None
    runs = list(section.attributes)
    # the runs the failing clause reads come first: their clusters removed the document
    keys = compile_filter(origin.failed_clause, runs).attribute_keys().values()
    named = [r for r in runs if any(k.startswith(f"{r}__") for ks in keys for k in ks)]
    ordered = named + [r for r in runs if r not in named]
    return kept_duplicate(mix.data_root, ordered, origin.path, origin.line, origin.id)


def format_origins(origins: list[Origin], *, all_attributes: bool = False) -> str:
    """Return a terminal report of traced documents; attributes are listed only if asked."""
    out: list[str] = []
    for o in origins:
        if out:
            out.append("")
        out.append(f"{o.id or '(no id)'}  (source {o.source})")
        out.append(f"  input:    {o.path}:{o.line}")
        out.append(f"  outcome:  {o.reason()}")
        for shard, row, repeat in o.locations:
            out.append(f"  in mix:   {shard}:{row}" + (f"  (repeat {repeat})" if repeat else ""))
        if o.tokens is not None:
            out.append(f"  tokens:   {o.tokens:,}")
        for c in o.clauses:
            mark = {True: "pass", False: "FAIL", None: "?"}[c.passed]
            out.append(f"  clause:   [{mark}] {c.clause}")
        if o.attributes is not None and not all_attributes:
            out.append(
                f"  attrs:    {len(o.attributes)} keys at mix time (--attributes lists them)"
            )
        elif o.attributes is not None:
            for key in sorted(o.attributes):
                spans = o.attributes[key]
                shown = ", ".join(f"[{int(s[0])}:{int(s[1])}] {s[2]:g}" for s in spans[:3])
                more = f" (+{len(spans) - 3} spans)" if len(spans) > 3 else ""
                out.append(f"  attr:     {key} = {shown or '[]'}{more}")
        out.extend(f"  note:     {n}" for n in o.notes)
    return "\n".join(out)
