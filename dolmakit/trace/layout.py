"""The span index's files under `<mix>/index/` and its manifest, `index.json`; the one place
that knows their names and checks that an index is complete and matches its mix.

`index.json` is written last, so its presence marks a finished build. It records the mix it
was built from (the mix manifest's content hash, every mix shard's path, size and sha256) and
every index file with its size and sha256, which `dolmakit audit verify` checks. It holds no
time stamp: the same mix and options give the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dolmakit.errors import DolmakitError
from dolmakit.io import storage
from dolmakit.io.atomic import write_bytes_atomic
from dolmakit.mix.manifest import read_manifest

INDEX_DIR = "index"
INDEX_MANIFEST = "index.json"
INDEX_FORMAT = "dolmakit.trace.index/1"
WORK_DIR = ".work"
# Ends every document in an index shard's text: 0xFF never occurs in UTF-8, so no match with
# an output (always valid UTF-8) can run from one document into the next.
SEPARATOR = 0xFF
# Suffix arrays hold int32 positions: an index shard's text must stay below 2**31 bytes.
MAX_SHARD_BYTES = (1 << 31) - 1


def text_name(number: int) -> str:
    """Return the file name of index shard `number`'s text (documents' UTF-8 bytes)."""
    return f"text-{number:05d}.bin"


def suffix_array_name(number: int) -> str:
    """Return the file name of index shard `number`'s suffix array (little-endian int32)."""
    return f"sa-{number:05d}.bin"


def documents_name(number: int) -> str:
    """Return the file name of index shard `number`'s position map (Parquet)."""
    return f"docs-{number:05d}.parquet"


@dataclass(frozen=True)
class MixFacts:
    """What the index needs from a mix manifest (read through `mix.manifest.read_manifest`)."""

    mix_dir: Path
    name: str
    version: str
    content_sha256: str
    shards: tuple[dict[str, Any], ...]
    table: str | None

    def shard_path(self, number: int) -> Path:
        """Return where mix shard `number` is."""
        return self.mix_dir / str(self.shards[number]["path"])


def mix_facts(mix_dir: str | Path) -> MixFacts:
    """Read the mix manifest of `mix_dir`; DolmakitError if it is absent or unreadable."""
    folder = storage.location(mix_dir)
    if storage.is_remote(folder):
        raise DolmakitError(
            f"{folder}: the span index memory-maps its files; copy the mix to a local folder"
        )
    manifest = read_manifest(folder)
    shards = tuple({"path": s.path, "bytes": s.bytes, "sha256": s.sha256} for s in manifest.shards)
    return MixFacts(
        mix_dir=folder,
        name=manifest.name,
        version=str(manifest.version),
        content_sha256=manifest.content_sha256,
        shards=shards,
        table=manifest.index.path,
    )


def index_dir(mix_dir: str | Path) -> Path:
    """Return the folder of a mix's span index."""
    return storage.location(mix_dir) / INDEX_DIR


def write_index_manifest(folder: Path, manifest: dict[str, Any]) -> Path:
    """Write `index.json` atomically (sorted keys, two-space indent); return its path."""
    path = folder / INDEX_MANIFEST
    data = json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    write_bytes_atomic(path, data.encode())
    return path


def read_index_manifest(mix_dir: str | Path) -> dict[str, Any]:
    """Read `<mix>/index/index.json`; DolmakitError for a missing, partial or foreign index."""
    folder = index_dir(mix_dir)
    path = folder / INDEX_MANIFEST
    if not path.is_file():
        if folder.is_dir():
            raise DolmakitError(
                f"{folder}: a partial span index (its build did not finish: no {INDEX_MANIFEST});"
                f" rerun: dolmakit index {mix_dir}"
            )
        raise DolmakitError(
            f"{storage.location(mix_dir)}: no span index; build one with: dolmakit index {mix_dir}"
        )
    try:
        obj = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise DolmakitError(f"{path}: unreadable span index manifest: {exc}") from None
    if not isinstance(obj, dict) or obj.get("format") != INDEX_FORMAT:
        raise DolmakitError(f"{path}: not a dolmakit span index ({INDEX_FORMAT})")
    return obj


def index_files(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Return every file an index manifest records: `{"path", "bytes", "sha256", ...}`."""
    return [f for shard in manifest.get("shards", []) for f in shard["files"]]


def stale_reasons(manifest: dict[str, Any], mix: MixFacts) -> list[str]:
    """Return why the index no longer matches its mix (empty when it matches).

    Compares the recorded mix manifest hash and shard list with the current manifest, and
    each mix shard's size on disk with the size the index was built from (a full sha256
    check of shards is `dolmakit audit verify`'s job).
    """
    built = manifest.get("mix", {})
    reasons = []
    if built.get("content_sha256") != mix.content_sha256:
        reasons.append(
            f"the mix manifest changed (content hash {mix.content_sha256[:12]}…, the index was"
            f" built for {str(built.get('content_sha256'))[:12]}…)"
        )
    recorded = {s["path"]: s for s in built.get("shards", [])}
    current = {s["path"]: s for s in mix.shards}
    changed = sorted(p for p in current if p in recorded and current[p] != recorded[p])
    added = sorted(p for p in current if p not in recorded)
    gone = sorted(p for p in recorded if p not in current)
    for label, names in (
        ("changed in the manifest", changed),
        ("new", added),
        ("no longer in the mix", gone),
    ):
        if names:
            reasons.append(f"shards {label}: {', '.join(names)}")
    disk = []
    for shard in mix.shards:
        path = mix.mix_dir / shard["path"]
        if not path.is_file():
            disk.append(f"{shard['path']} (missing)")
        elif path.stat().st_size != recorded.get(shard["path"], shard)["bytes"]:
            size = path.stat().st_size
            disk.append(f"{shard['path']} ({size:,} bytes, indexed {shard['bytes']:,})")
    if disk:
        reasons.append(f"shards no longer match the index: {', '.join(disk)}")
    return reasons


def damaged_files(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """Return index files that are missing or have another size than recorded."""
    found = []
    for record in index_files(manifest):
        path = folder / record["path"]
        if not path.is_file():
            found.append(f"{record['path']} (missing)")
        elif path.stat().st_size != record["bytes"]:
            size = path.stat().st_size
            found.append(f"{record['path']} ({size:,} bytes, index.json says {record['bytes']:,})")
    return found
