"""Read a mix's `manifest.json` into typed records; the one place that knows its layout.

The layout is the mixer's contract, docs/manifest.md. Input paths in it are relative to the
data root, which is not content (moving the data does not change a mix): the mixer notes it in
`location.data_root`, outside the content hash, and `--data-root` overrides it (data moved).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from dolmakit.errors import DolmakitError, InputError
from dolmakit.io import storage

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "dolmakit.mix.manifest/1"
# Left out of the content hash (docs/manifest.md): when and where the build ran.
NOT_CONTENT = ("content_sha256", "timing", "location")


@dataclass(frozen=True)
class FileRecord:
    """A file named by the manifest with its hash, size and (when known) counts."""

    path: str
    sha256: str
    bytes: int
    documents: int | None = None
    tokens: int | None = None
    source: str = ""
    run: str = ""
    document: str = ""


@dataclass(frozen=True)
class MixManifest:
    """A parsed manifest: its raw object and the records the audit uses."""

    path: Path
    raw: dict[str, Any]
    name: str
    version: str
    tokenizer: str
    spec: dict[str, Any]
    spec_sha256: str
    content_sha256: str
    shards: tuple[FileRecord, ...]
    documents: tuple[FileRecord, ...]
    attributes: tuple[FileRecord, ...]
    decisions: tuple[FileRecord, ...]
    index: FileRecord | None
    data_root: Path | None

    @property
    def mix_dir(self) -> Path:
        """Return the folder holding the manifest and the shards."""
        return self.path.parent

    @property
    def inputs(self) -> tuple[FileRecord, ...]:
        """Return every input file: documents, then attributes."""
        return self.documents + self.attributes

    def sources(self) -> list[dict[str, Any]]:
        """Return the per-source sections, in spec order."""
        return [s for s in self.raw.get("sources") or [] if isinstance(s, dict)]

    def source(self, name: str) -> dict[str, Any]:
        """Return the section of source `name`; DolmakitError if the mix has no such source."""
        for section in self.sources():
            if section.get("name") == name:
                return section
        known = ", ".join(str(s.get("name")) for s in self.sources())
        raise DolmakitError(f"{self.path}: no source {name!r} in this mix (sources: {known})")

    def computed_content_sha256(self) -> str:
        """Return the sha256 of the manifest's content (everything but timing and the hash)."""
        return content_sha256(self.raw)

    def computed_spec_sha256(self) -> str | None:
        """Return the sha256 of the embedded canonical spec (None without a spec)."""
        return hashlib.sha256(canonical_json(self.spec)).hexdigest() if self.spec else None

    def require_data_root(self) -> Path:
        """Return the data root, or explain how to give it."""
        if self.data_root is None:
            noted = (self.raw.get("location") or {}).get("data_root")
            where = f"the recorded data root {noted} is gone" if noted else "no data root noted"
            raise DolmakitError(
                f"{self.path}: {where}; pass --data-root (the folder the mix's input paths,"
                " e.g. documents/..., are relative to)"
            )
        return self.data_root

    def input_path(self, relative: str) -> Path:
        """Return where an input file named by the manifest is now."""
        path = storage.location(relative)
        return path if path.is_absolute() else self.require_data_root() / path


def canonical_json(value: Any) -> bytes:
    """Return the canonical JSON bytes the mixer hashes (sorted keys, no spaces, UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_sha256(raw: dict[str, Any]) -> str:
    """Return the sha256 of a manifest object without `timing` and `content_sha256`."""
    return hashlib.sha256(
        canonical_json({k: v for k, v in raw.items() if k not in NOT_CONTENT})
    ).hexdigest()


def _record(item: Any, where: str, path: Path) -> FileRecord:
    try:
        return FileRecord(
            path=str(item["path"]),
            sha256=str(item["sha256"]),
            bytes=int(item["bytes"]),
            documents=item.get("documents", item.get("lines", item.get("rows"))),
            tokens=item.get("tokens"),
            source=str(item.get("source", "")),
            run=str(item.get("run", "")),
            document=str(item.get("document", item.get("input", ""))),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(str(path), 0, f"manifest field {where}: missing or bad {exc}") from None


def _records(raw: Any, where: str, path: Path) -> tuple[FileRecord, ...]:
    if not isinstance(raw, list):
        raise InputError(str(path), 0, f"manifest field {where!r} must be a list")
    return tuple(_record(item, f"{where}[{i}]", path) for i, item in enumerate(raw))


def _data_root(raw: dict[str, Any], given: str | Path | None) -> Path | None:
    """Return the data root: given, else `location.data_root` of the manifest, else None."""
    if given is not None:
        root = storage.location(given).resolve()
        if not root.is_dir():
            raise DolmakitError(f"--data-root {given}: not a folder")
        return root
    location = raw.get("location")
    noted = location.get("data_root") if isinstance(location, dict) else None
    if isinstance(noted, str) and storage.location(noted).is_dir():
        return storage.location(noted)
    return None  # not noted, or moved: commands that need the inputs ask for --data-root


def load_manifest(mix_dir: str | Path, data_root: str | Path | None = None) -> MixManifest:
    """Read `<mix_dir>/manifest.json`; InputError naming the file and the field if malformed."""
    folder = storage.location(mix_dir)
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise InputError(str(path), 0, "no manifest: is this a mix folder (built by dolmakit mix)?")
    try:
        raw = msgspec.json.decode(path.read_bytes())
    except msgspec.DecodeError as exc:
        raise InputError(str(path), 0, f"invalid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InputError(str(path), 0, "the manifest must be a JSON object")
    if raw.get("format") != MANIFEST_FORMAT:
        raise InputError(
            str(path), 0, f"not a dolmakit mix manifest (format is not {MANIFEST_FORMAT!r})"
        )
    inputs = raw.get("inputs") or {}
    index = raw.get("index")
    try:
        return MixManifest(
            path=path,
            raw=raw,
            name=str(raw["name"]),
            version=str(raw["version"]),
            tokenizer=str(raw["tokenizer"]),
            spec=dict(raw.get("spec") or {}),
            spec_sha256=str(raw.get("spec_sha256", "")),
            content_sha256=str(raw.get("content_sha256", "")),
            shards=_records(raw.get("shards", []), "shards", path),
            documents=_records(inputs.get("documents", []), "inputs.documents", path),
            attributes=_records(inputs.get("attributes", []), "inputs.attributes", path),
            decisions=_records(raw.get("decisions", []), "decisions", path),
            index=_record(index, "index", path) if isinstance(index, dict) else None,
            data_root=_data_root(raw, data_root),
        )
    except KeyError as exc:
        raise InputError(str(path), 0, f"manifest has no field {exc}") from None
