"""Rebuild a mix from the canonical spec in its manifest and compare the bytes.

A version made by `dolmakit takedown` is rebuilt from the spec and then has each recorded
takedown applied again (the removed documents are listed in its `takedowns/` tables).

The rebuild goes into a temporary folder that is removed afterwards. Compared: the manifest
content (everything but timing), then every file the manifest hashes (shards, index,
decisions), byte by byte; the first difference is reported with its file and offset (and,
for JSON-lines shards, the line).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dolmakit.audit.folder import MixFolder, open_mix
from dolmakit.errors import DolmakitError
from dolmakit.io import storage
from dolmakit.mix import build_from_spec_dict
from dolmakit.mix.manifest import (
    MANIFEST_NAME,
    Manifest,
    Table,
    content_hash,
    manifest_content,
)
from dolmakit.mix.takedown import replay_takedowns
from dolmakit.run.backends import Backend, SerialBackend
from dolmakit.run.options import RunOptions

CHUNK = 1 << 20


@dataclass(frozen=True)
class RebuildResult:
    """The outcome of a rebuild: reproducible, or the first difference found."""

    mix_dir: Path
    files_compared: int
    difference: str | None

    @property
    def reproducible(self) -> bool:
        """Return true when every compared byte is equal."""
        return self.difference is None

    def message(self) -> str:
        """Return 'reproducible ...' or the first difference."""
        if self.difference is None:
            return f"reproducible: {self.files_compared} files byte-identical ({self.mix_dir})"
        return f"not reproducible: {self.difference}"


def first_difference(a: Path, b: Path) -> str | None:
    """Return where files `a` and `b` first differ (offset, and line for text), or None."""
    offset = 0
    line = 1
    with storage.open_read(a) as fa, storage.open_read(b) as fb:
        while True:
            ca, cb = fa.read(CHUNK), fb.read(CHUNK)
            if ca == cb:
                if not ca:
                    return None
                offset += len(ca)
                line += ca.count(b"\n")
                continue
            n = next((i for i, (x, y) in enumerate(zip(ca, cb, strict=False)) if x != y), None)
            if n is None:
                n = min(len(ca), len(cb))
                return f"{b.name}: one copy ends at byte {offset + n:,}, the other goes on"
            line += ca[:n].count(b"\n")
            where = f"byte {offset + n:,}"
            if not a.name.endswith((".zst", ".gz", ".parquet")):
                where += f" (line {line:,})"
            return f"{b.name}: first differs at {where}"


def _first_field(a: Any, b: Any, where: str) -> tuple[str, Any, Any]:
    """Return the dotted path and both values of the first difference of two JSON values."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key) or (key in a) != (key in b):
                return _first_field(a.get(key), b.get(key), f"{where}.{key}" if where else key)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                return _first_field(x, y, f"{where}[{i}]")
        return f"{where} (length)", len(a), len(b)
    return where, a, b


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


def compare_mixes(original: MixFolder, rebuilt: MixFolder) -> tuple[int, str | None]:
    """Return (files compared, first difference or None) between two built mixes."""
    before, after = original.manifest, rebuilt.manifest
    if content_hash(before) != content_hash(after):
        where, old, new = _first_field(manifest_content(before), manifest_content(after), "")
        return 0, f"{MANIFEST_NAME}: field {where} is {_short(old)}, rebuilt {_short(new)}"
    files = [r.path for r in (*before.shards, *before.decisions, before.index, *_removed(before))]
    names = [r.path for r in (*after.shards, *after.decisions, after.index, *_removed(after))]
    if sorted(files) != sorted(names):
        return 0, f"the rebuilt mix has files {sorted(names)} instead of {sorted(files)}"
    for compared, name in enumerate(files):
        mine, theirs = original.folder / name, rebuilt.folder / name
        if not mine.is_file():
            return compared, f"{name}: missing from the original mix (run dolmakit audit verify)"
        found = first_difference(mine, theirs)
        if found is not None:
            return compared, f"{name}: {found.split(': ', 1)[1]}"
    return len(files), None


def _removed(manifest: Manifest) -> list[Table]:
    return [t.removed for t in manifest.takedowns or ()]


def rebuild_mix(
    mix_dir: str | Path,
    *,
    data_root: str | Path | None = None,
    backend: Backend | None = None,
    keep: str | Path | None = None,
) -> RebuildResult:
    """Re-run the mix of `mix_dir` from its embedded spec and compare the result byte for byte.

    The rebuild goes to a temporary folder, removed afterwards, or into `keep` if given.
    """
    original = open_mix(mix_dir, data_root)
    root = original.require_data_root()
    if keep is not None:
        rebuilt_dir = _build(original, root, storage.location(keep), backend)
        compared, difference = compare_mixes(original, open_mix(rebuilt_dir, root))
        return RebuildResult(storage.location(mix_dir), compared, difference)
    with tempfile.TemporaryDirectory(prefix="dolmakit-rebuild-") as tmp:
        rebuilt_dir = _build(original, root, Path(tmp), backend)
        compared, difference = compare_mixes(original, open_mix(rebuilt_dir, root))
    return RebuildResult(storage.location(mix_dir), compared, difference)


def _build(mix: MixFolder, data_root: Path, out: Path, backend: Backend | None) -> Path:
    """Build the manifest's canonical spec under `out` with the mixer; return the new folder."""
    if not mix.manifest.spec:
        raise DolmakitError(f"{mix.manifest_path}: the manifest holds no spec to rebuild from")
    result = build_from_spec_dict(
        mix.manifest.spec,
        data_root,
        out,
        spec_file=mix.manifest.spec_file,
        run_options=RunOptions(backend or SerialBackend(), progress=False),
    )
    if not mix.manifest.takedowns:
        return result.mix_dir
    # A taken-down version: the spec's build, then each recorded removal again, in order.
    return replay_takedowns(result.mix_dir, mix.manifest, mix.folder, result.mix_dir.parent)
