"""Rebuild a mix from the canonical spec in its manifest and compare the bytes.

The rebuild goes into a temporary folder that is removed afterwards. Compared: the manifest
content (everything but timing), then every file the manifest hashes (shards, index,
decisions), byte by byte; the first difference is reported with its file and offset (and,
for JSON-lines shards, the line).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from dolmakit.audit.manifest import MANIFEST_NAME, MixManifest, load_manifest
from dolmakit.errors import DolmakitError

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
    with open(a, "rb") as fa, open(b, "rb") as fb:
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


def compare_mixes(original: MixManifest, rebuilt: MixManifest) -> tuple[int, str | None]:
    """Return (files compared, first difference or None) between two built mixes."""
    if original.computed_content_sha256() != rebuilt.computed_content_sha256():
        for key in sorted(set(original.raw) | set(rebuilt.raw)):
            if key in ("timing", "content_sha256"):
                continue
            if original.raw.get(key) != rebuilt.raw.get(key):
                return 0, f"{MANIFEST_NAME}: field {key!r} differs"
    files = [r.path for r in (*original.shards, *original.decisions)]
    if original.index is not None:
        files.append(original.index.path)
    names = [r.path for r in (*rebuilt.shards, *rebuilt.decisions)]
    if rebuilt.index is not None:
        names.append(rebuilt.index.path)
    if sorted(files) != sorted(names):
        return 0, f"the rebuilt mix has files {sorted(names)} instead of {sorted(files)}"
    for compared, name in enumerate(files):
        a, b = original.mix_dir / name, rebuilt.mix_dir / name
        if not a.is_file():
            return compared, f"{name}: missing from the original mix (run dolmakit audit verify)"
        found = first_difference(a, b)
        if found is not None:
            return compared, f"{name}: {found.split(': ', 1)[1]}"
    return len(files), None


def rebuild_mix(
    mix_dir: str | Path, *, data_root: str | Path | None = None, workers: int = 1
) -> RebuildResult:
    """Re-run the mix of `mix_dir` from its embedded spec and compare the result byte for byte."""
    original = load_manifest(mix_dir, data_root)
    root = original.require_data_root()
    with tempfile.TemporaryDirectory(prefix="dolmakit-rebuild-") as tmp:
        rebuilt_dir = _build(original, root, Path(tmp), workers)
        rebuilt = load_manifest(rebuilt_dir, root)
        compared, difference = compare_mixes(original, rebuilt)
    return RebuildResult(Path(mix_dir), compared, difference)


def _build(manifest: MixManifest, data_root: Path, out: Path, workers: int) -> Path:
    """Build the manifest's canonical spec under `out`; return the new mix folder."""
    try:
        from dolmakit.mix import build_from_canonical  # type: ignore[attr-defined]
    except ImportError:
        raise DolmakitError(
            "this dolmakit's mixer cannot rebuild from a manifest's canonical spec"
        ) from None
    folder: Path = build_from_canonical(manifest.spec, data_root, out, workers=workers)
    return folder
