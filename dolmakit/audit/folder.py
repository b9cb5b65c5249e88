"""Open a mix folder for audit: its manifest, and where the inputs it names are now.

Input paths in the manifest are relative to the data root, which is not content (moving the
data does not change a mix): the mixer notes it in `location.data_root`, and `--data-root`
overrides it (data moved). The manifest itself is read by `dolmakit.mix.manifest`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dolmakit.errors import DolmakitError
from dolmakit.io import storage
from dolmakit.mix.manifest import MANIFEST_NAME, Manifest, SourceSection, read_manifest


@dataclass(frozen=True)
class MixFolder:
    """A mix folder, its manifest, and the data root (None: not given and not found)."""

    folder: Path
    manifest: Manifest
    data_root: Path | None

    @property
    def manifest_path(self) -> Path:
        """Return the path of manifest.json."""
        return self.folder / MANIFEST_NAME

    def source(self, name: str) -> SourceSection:
        """Return the section of source `name`; DolmakitError if the mix has no such source."""
        for section in self.manifest.sources:
            if section.name == name:
                return section
        known = ", ".join(s.name for s in self.manifest.sources)
        raise DolmakitError(
            f"{self.manifest_path}: no source {name!r} in this mix (sources: {known})"
        )

    def require_data_root(self) -> Path:
        """Return the data root, or explain how to give it."""
        if self.data_root is None:
            noted = self.manifest.location.data_root
            where = f"the recorded data root {noted} is gone" if noted else "no data root noted"
            raise DolmakitError(
                f"{self.manifest_path}: {where}; pass --data-root (the folder the mix's input"
                " paths, e.g. documents/..., are relative to)"
            )
        return self.data_root

    def input_path(self, relative: str) -> Path:
        """Return where an input file named by the manifest is now."""
        path = storage.location(relative)
        return path if path.is_absolute() else self.require_data_root() / path


def open_mix(mix_dir: str | Path, data_root: str | Path | None = None) -> MixFolder:
    """Read the manifest of `mix_dir` and find its data root: `data_root`, else the noted one."""
    folder = storage.location(mix_dir)
    manifest = read_manifest(folder)
    return MixFolder(folder, manifest, _data_root(manifest, data_root))


def _data_root(manifest: Manifest, given: str | Path | None) -> Path | None:
    """Return the data root: given, else `location.data_root` of the manifest, else None."""
    if given is not None:
        root = storage.location(given).resolve()
        if not root.is_dir():
            raise DolmakitError(f"--data-root {given}: not a folder")
        return root
    noted = manifest.location.data_root
    if noted and storage.location(noted).is_dir():
        return storage.location(noted)
    return None  # moved: commands that need the inputs ask for --data-root
