"""Match a spec's sources to files under the data root; check every attribute run exists."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dolmakit.errors import DolmakitError
from dolmakit.io import storage
from dolmakit.io.paths import attribute_path, expand_inputs, split_dataset_path
from dolmakit.io.reader import read_documents, unreadable
from dolmakit.io.rejects import Rejects
from dolmakit.mix.spec import MixSpec


@dataclass(frozen=True)
class InputFile:
    """One document file of one source, with its attribute files (one per joined run)."""

    index: int
    source: str
    source_index: int
    path: Path
    rel: str
    attributes: tuple[Path, ...]
    attribute_rels: tuple[str, ...]


def relative(path: Path, root: Path) -> str:
    """Return `path` relative to `root` with '/' separators, or absolute when outside it.

    A path is never relative to a root of the other kind (object storage and local disk).
    """
    if storage.is_remote(path) != storage.is_remote(root):
        return str(path)
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def resolve_inputs(spec: MixSpec, data_root: Path) -> list[InputFile]:
    """Expand every source's globs under `data_root`; ConfigError for no match or missing runs."""
    root = data_root.resolve()
    files: list[InputFile] = []
    for s_index, source in enumerate(spec.sources):
        where = f"sources[{s_index}]"
        matched: set[Path] = set()
        for g_index, pattern in enumerate(source.documents):
            given = storage.location(pattern)
            full = given if given.is_absolute() else root / pattern
            try:
                matched.update(expand_inputs([full]))
            except DolmakitError:
                item = f"{where}.documents[{g_index}]"
                raise spec.error(
                    item if item in spec.lines else f"{where}.documents",
                    f"{pattern!r} matches no document files under the data root {root}",
                ) from None
        for path in sorted(matched, key=str):
            attrs = []
            for r_index, run in enumerate(source.attributes):
                try:
                    attr = attribute_path(path, run)
                except DolmakitError as exc:
                    raise spec.error(f"{where}.attributes[{r_index}]", str(exc)) from None
                if not attr.is_file():
                    dataset, _ = split_dataset_path(path)
                    run_dir = dataset / "attributes" / run
                    if not run_dir.is_dir():
                        problem = f"attribute run {run!r} does not exist (no folder {run_dir})"
                    else:
                        problem = (
                            f"attribute run {run!r} has no file for "
                            f"{relative(path, root)} (expected {attr})"
                        ) + _unreadable_note(path)
                    raise spec.error(f"{where}.attributes[{r_index}]", problem)
                attrs.append(attr)
            files.append(
                InputFile(
                    index=len(files),
                    source=source.name,
                    source_index=s_index,
                    path=path,
                    rel=relative(path, root),
                    attributes=tuple(attrs),
                    attribute_rels=tuple(relative(a, root) for a in attrs),
                )
            )
    return files


def _unreadable_note(path: Path) -> str:
    """Explain a missing attribute file when the document file cannot be read at all."""
    rejects = Rejects()
    if next(read_documents(path, rejects), None) is None and unreadable(0, rejects.counts):
        return (
            ": the document file cannot be read, so no run wrote attributes for it; repair or "
            "remove it, or leave it out of the source's document globs"
        )
    return ""


_GLOB_CHARS = frozenset("*?[")


def _static_prefix(pattern: Path) -> Path:
    """Return the folder part of a glob before its first wildcard."""
    parts: list[str] = []
    for part in pattern.parts:
        if _GLOB_CHARS & set(part):
            break
        parts.append(part)
    prefix = Path(*parts) if parts else Path(".")
    if len(parts) < len(pattern.parts) or prefix.is_dir():
        return prefix
    return prefix.parent  # a single file


def check_output_outside_inputs(
    spec: MixSpec, inputs: list[InputFile], root: Path, mix_dir: Path
) -> None:
    """Refuse a mix folder inside a folder the mix (or a later stage) reads documents from.

    A mix written into a source's `documents/` folder, or under a glob's fixed folder, would be
    read back as documents by the next `tag`, `dedup` or rebuild.
    """
    if storage.is_remote(mix_dir):
        return
    read_from: dict[Path, str] = {}
    for s_index, source in enumerate(spec.sources):
        for g_index, pattern in enumerate(source.documents):
            given = storage.location(pattern)
            full = given if given.is_absolute() else root / pattern
            if not storage.is_remote(full):
                read_from.setdefault(
                    _static_prefix(full).resolve(), f"sources[{s_index}].documents[{g_index}]"
                )
    for item in inputs:
        if storage.is_remote(item.path):
            continue
        try:
            dataset, _ = split_dataset_path(item.path)
        except DolmakitError:
            continue
        read_from.setdefault(dataset / "documents", f"sources[{item.source_index}].documents")
    for folder, where in sorted(read_from.items(), key=lambda kv: str(kv[0])):
        if mix_dir == folder or folder in mix_dir.parents:
            raise spec.error(
                where if where in spec.lines else "sources",
                f"the mix would be written to {mix_dir}, inside {folder}, which this mix reads"
                " documents from (and tag and dedup would read its shards as documents):"
                " choose an output outside it",
            )


def outside_root_warnings(spec: MixSpec, root: Path) -> list[str]:
    """Name every absolute documents glob that points outside the data root."""
    warnings = []
    resolved = root.resolve()
    for s_index, source in enumerate(spec.sources):
        for g_index, pattern in enumerate(source.documents):
            given = storage.location(pattern)
            if not given.is_absolute() or storage.is_remote(given) != storage.is_remote(root):
                continue
            prefix = _static_prefix(given)
            if prefix != resolved and resolved not in prefix.parents:
                warnings.append(
                    f"sources[{s_index}].documents[{g_index}]: {pattern!r} is outside the data"
                    f" root {resolved}; the paths and hashes of the files it matches are recorded"
                    " in the manifest"
                )
    return warnings
