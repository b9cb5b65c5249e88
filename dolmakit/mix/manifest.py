"""The mix manifest, typed: its records, the one writer, the one reader and the hash rule.

`Manifest` is `manifest.json` field for field (docs/manifest.md): reading a manifest and
writing it again gives its bytes back. The content hash covers everything but `timing`,
`location` and the hash itself: where the data was and when the build ran are not content.

A new section (a span index, contamination, a signature) is a field with a default (`None`)
on the record it belongs to. Fields equal to their default are not written, so manifests
without the section keep their bytes and their content hash; every field of format 1 has no
default and is always written. The reader refuses fields it does not know (a newer dolmakit,
or a hand, wrote them): everything it hashes is something it read.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from dolmakit.errors import InputError
from dolmakit.io import storage
from dolmakit.io.atomic import write_bytes_atomic

FORMAT = "dolmakit.mix.manifest/1"
FORMAT_FAMILY = FORMAT.rpartition("/")[0] + "/"
MANIFEST_NAME = "manifest.json"
# Left out of the content hash: when and where the build ran, and the hash itself.
NOT_CONTENT = ("timing", "location", "content_sha256")


class ManifestError(InputError):
    """Report a manifest.json that cannot be read: its path, the field at fault, the problem."""

    def __init__(self, path: str | Path, problem: str, field: str = "") -> None:
        self.field = field
        self.detail = problem
        super().__init__(str(path), 0, f"field {field}: {problem}" if field else problem)

    def __reduce__(self) -> tuple[type[ManifestError], tuple[str, str, str]]:  # type: ignore[override]
        return (ManifestError, (self.path, self.detail, self.field))


class Record(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """A part of the manifest: frozen, unknown fields refused, default-valued fields not written."""


class HashedFile(Record, frozen=True):
    """A file the manifest vouches for: its path, sha256 and size in bytes."""

    path: str
    sha256: str
    bytes: int


class DocumentFile(HashedFile, frozen=True):
    """An input document file (path relative to the data root) and its valid documents."""

    source: str
    documents: int


class AttributeFile(HashedFile, frozen=True):
    """An input attribute file of run `run`, aligned with the document file `document`."""

    run: str
    document: str
    lines: int


class Shard(HashedFile, frozen=True):
    """One output shard: its documents, tokens and documents per source."""

    documents: int
    tokens: int
    sources: dict[str, int]


class Table(HashedFile, frozen=True):
    """A Parquet table of the mix (`index.parquet`) and its rows."""

    rows: int


class DecisionsFile(Table, frozen=True):
    """One `decisions/` table: the fate of every valid document of the input file `input`."""

    input: str


class Funnel(Record, frozen=True):
    """What happened to one source's documents, step by step (docs/manifest.md)."""

    read: int
    rejected_lines: int
    rejected_by_clause: tuple[int, ...]
    passed: int
    sampled: int
    not_sampled: int
    repeated: int
    emitted_documents: int
    tokens_available: int
    tokens_emitted: int
    target_tokens: int | None
    duplicate_ids: int = 0  # valid documents whose id an earlier one of the source had
    # Sampled documents later removed, every copy, by takedowns (dolmakit takedown).
    taken_down: int = 0


class SourceSection(Record, frozen=True):
    """One source of the mix: its spec, the rate it was sampled at, its funnel and share."""

    name: str
    attributes: tuple[str, ...]
    filter: str | None
    clauses: tuple[str, ...]
    weight: float | None
    declared_share: float | None
    rate: float
    max_repeats: int
    licence: str
    notes: str
    files: int
    funnel: Funnel
    realised_share: float

    def __post_init__(self) -> None:
        """Refuse a funnel whose clause counts do not line up with the clauses."""
        counts, clauses = len(self.funnel.rejected_by_clause), len(self.clauses)
        if counts != clauses:
            raise ValueError(
                f"funnel.rejected_by_clause and clauses differ in length ({counts} and {clauses})"
            )


class Totals(Record, frozen=True):
    """The size of the output."""

    documents: int
    tokens: int
    bytes: int
    shards: int


class Inputs(Record, frozen=True):
    """Every input file, in job order: document files, and attribute files (runs in spec order)."""

    documents: tuple[DocumentFile, ...]
    attributes: tuple[AttributeFile, ...]


class RejectedLines(Record, frozen=True):
    """Input lines that could not be read: how many, where they are listed, why."""

    lines: int
    path: str | None
    by_reason: dict[str, int]


class Timing(Record, frozen=True):
    """When and how the build ran (not content)."""

    started: str
    finished: str
    seconds: float
    workers: int
    backend: str


class Location(Record, frozen=True):
    """Where the inputs were when the mix was built (not content)."""

    data_root: str


class LicenceShare(Record, frozen=True):
    """One licence of a source's output: documents and tokens under it, share of the source."""

    licence: str
    documents: int
    tokens: int
    share: float


class SourceLicences(Record, frozen=True):
    """The licences of one source's output documents, most tokens first (docs/manifest.md)."""

    source: str
    licences: tuple[LicenceShare, ...]


class Takedown(Record, frozen=True):
    """One takedown request applied to the mix (docs/manifest.md, `takedowns[]`).

    `documents` counts the input documents removed (every copy), `copies` and `tokens` the
    output documents and their tokens; `removed` lists them (`takedowns/t-NNNNN.parquet`).
    `previous_sha256` is the content hash of the version the request was applied to.
    """

    number: int
    version: str
    previous_version: str
    previous_sha256: str
    kind: str
    list_file: str
    list_sha256: str
    entries: int
    entries_matched: int
    reason: str
    date: str
    documents: int
    copies: int
    tokens: int
    removed: Table


class Manifest(Record, frozen=True):
    """A mix's manifest.json: what went in, what came out, and the content hash.

    `spec` is the canonical spec as JSON values (`MixSpec.canonical()`; `spec_from_canonical`
    turns it back into a `MixSpec`). `content_sha256` is set by `write_manifest`.
    """

    format: str
    name: str
    version: str
    description: str
    seed: int
    tokenizer: str
    dolmakit_version: str
    spec: dict[str, Any]
    spec_sha256: str
    spec_file: str
    draft: bool
    target_tokens: int
    totals: Totals
    sources: tuple[SourceSection, ...]
    inputs: Inputs
    shards: tuple[Shard, ...]
    index: Table
    decisions: tuple[DecisionsFile, ...]
    rejects: RejectedLines
    warnings: tuple[str, ...]
    timing: Timing
    location: Location
    content_sha256: str = ""
    licences: tuple[SourceLicences, ...] | None = None
    # The benchmark indexes the mix's contamination attributes came from (mix/contamination.py).
    contamination: tuple[dict[str, Any], ...] | None = None
    # The robots.txt / TDMRep snapshots the mix's optout runs evaluated (mix/optout.py).
    optout: tuple[dict[str, Any], ...] | None = None
    # Takedown requests applied since the spec's build, oldest first (mix/takedown.py).
    takedowns: tuple[Takedown, ...] | None = None


def canonical_json(value: Any) -> bytes:
    """Return the bytes every hash of a mix is taken over: compact JSON, sorted keys, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def spec_hash(spec: Mapping[str, Any]) -> str:
    """Return the sha256 of a canonical spec (`spec_sha256`)."""
    return hashlib.sha256(canonical_json(spec)).hexdigest()


def manifest_content(manifest: Manifest | Mapping[str, Any]) -> dict[str, Any]:
    """Return a manifest (typed, or a JSON object) as JSON values, without what is not content."""
    obj = msgspec.to_builtins(manifest) if isinstance(manifest, Manifest) else manifest
    return {key: value for key, value in obj.items() if key not in NOT_CONTENT}


def content_hash(manifest: Manifest | Mapping[str, Any]) -> str:
    """Return the sha256 of a manifest's content (`content_sha256`)."""
    return hashlib.sha256(canonical_json(manifest_content(manifest))).hexdigest()


def encode_manifest(manifest: Manifest) -> bytes:
    """Return the bytes of manifest.json: sorted keys, two-space indent, trailing newline."""
    obj = msgspec.to_builtins(manifest)
    return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def write_manifest(mix_dir: Path, manifest: Manifest) -> Manifest:
    """Write `<mix_dir>/manifest.json` atomically with its content hash; return what was written."""
    sealed = msgspec.structs.replace(manifest, content_sha256=content_hash(manifest))
    write_bytes_atomic(mix_dir / MANIFEST_NAME, encode_manifest(sealed))
    return sealed


def read_manifest(mix_dir: str | Path) -> Manifest:
    """Read `<mix_dir>/manifest.json`; ManifestError naming the file and the field if it is bad."""
    path = storage.location(mix_dir) / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(path, "no manifest: is this a mix folder (built by dolmakit mix)?")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ManifestError(path, f"cannot read the manifest: {exc}") from None
    return decode_manifest(data, path)


def decode_manifest(data: bytes, path: str | Path) -> Manifest:
    """Parse the bytes of a manifest.json read from `path` (named in errors)."""
    try:
        raw = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise ManifestError(path, f"invalid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ManifestError(path, "not a dolmakit mix manifest (not a JSON object)")
    found = raw.get("format")
    if isinstance(found, str) and found.startswith(FORMAT_FAMILY) and found != FORMAT:
        raise ManifestError(
            path,
            f"{found!r} is a manifest format this dolmakit does not read (it reads"
            f" {FORMAT!r}): upgrade dolmakit",
            "format",
        )
    if found != FORMAT:
        raise ManifestError(path, f"not a dolmakit mix manifest (format is not {FORMAT!r})")
    try:
        return msgspec.convert(raw, Manifest)
    except msgspec.ValidationError as exc:
        field, problem = _field_problem(str(exc))
        raise ManifestError(path, problem, field) from None


_AT = re.compile(r"^(?P<problem>.*?)(?: - at `\$(?P<where>[^`]*)`)?$", re.DOTALL)
_NAMED = re.compile(r"^Object (?P<kind>missing required|contains unknown) field `(?P<name>.*)`$")


def _field_problem(message: str) -> tuple[str, str]:
    """Return (dotted field, problem) from a msgspec validation message."""
    match = _AT.match(message)
    assert match is not None  # the pattern matches any text
    problem, where = match.group("problem"), (match.group("where") or "").lstrip(".")
    named = _NAMED.match(problem)
    if named is not None:
        where = f"{where}.{named.group('name')}" if where else named.group("name")
        if named.group("kind") == "missing required":
            return where, "missing"
        return where, f"not a field of {FORMAT} (written by a newer dolmakit, or by hand)"
    problem = problem.replace("`", "")
    return where or "(top level)", problem[:1].lower() + problem[1:]
