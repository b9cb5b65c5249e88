"""Expand user inputs into document files, and map documents to their attribute files.

Dolma layout: documents at `<dataset>/documents/<rel>`, the attributes of run `<name>` at
`<dataset>/attributes/<name>/<rel>`. Canonical order of files is sorted by path string.
Inputs may be local or `s3://` URIs; remote files come back as `storage.RemotePath`s.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path

from dolmakit.errors import DolmakitError
from dolmakit.io import storage
from dolmakit.io.storage import RemotePath

DOCUMENT_SUFFIXES = (
    ".jsonl",
    ".json",
    ".jsonl.gz",
    ".json.gz",
    ".jsonl.zst",
    ".json.zst",
    ".jsonl.zstd",
    ".parquet",
)
_GLOB_CHARS = set("*?[")


def is_document_file(path: Path) -> bool:
    """Return true for file names with a document extension that are not hidden."""
    return path.name.endswith(DOCUMENT_SUFFIXES) and not path.name.startswith(".")


def expand_inputs(specs: Iterable[str | Path]) -> list[Path]:
    """Return the sorted, de-duplicated document files named by files, folders or globs.

    Folders are searched recursively; hidden files and folders (temporaries, run records)
    are skipped. A spec that matches nothing is an error naming it. An `s3://` spec is a
    prefix listed recursively, an object, or a glob matched with the same rules.
    """
    found: set[Path] = set()
    for spec in specs:
        text = str(spec)
        remote = storage.location(spec)
        if isinstance(remote, RemotePath):
            files = _expand_remote(remote)
        elif _GLOB_CHARS & set(text):
            matches = [Path(m) for m in glob.glob(text, recursive=True)]
            files = [m for m in matches if m.is_file() and not _hidden(m)]
        else:
            path = Path(text)
            if path.is_dir():
                files = [p for p in path.rglob("*") if p.is_file() and is_document_file(p)]
                files = [p for p in files if not _hidden(p.relative_to(path))]
            elif path.is_file():
                files = [path]
            else:
                raise DolmakitError(f"{text}: no such file or folder")
        if not files:
            raise DolmakitError(f"{text}: matched no document files")
        found.update(p.resolve() for p in files)
    return sorted(found, key=str)


def _expand_remote(spec: RemotePath) -> list[Path]:
    if _GLOB_CHARS & set(spec.key):
        return [m for m in storage.glob(spec) if not _hidden(m)]
    if spec.is_file():
        return [spec]
    files = [p for p in storage.list_files(spec) if is_document_file(p)]
    files = [p for p in files if not _hidden(p.relative_to(spec))]
    if not files and not spec.is_dir():
        raise DolmakitError(storage.missing_message(spec))
    return files


def _hidden(path: Path) -> bool:
    return any(part.startswith(".") and part not in (".", "..") for part in path.parts)


def split_dataset_path(path: str | Path) -> tuple[Path, Path]:
    """Split `<dataset>/documents/<rel>` into (dataset, rel), using the last `documents` folder."""
    path = storage.location(path).resolve()
    parts = path.parts
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "documents":
            return path.parents[len(parts) - 1 - i], Path(*parts[i + 1 :])
    raise DolmakitError(
        f"{path}: not inside a 'documents' folder; Dolma datasets keep documents at "
        "<dataset>/documents/... so that attributes can live at <dataset>/attributes/<run>/..."
    )


def attribute_path(document: str | Path, run: str) -> Path:
    """Return the attribute file of `run` for a document file (same relative path and name)."""
    dataset, rel = split_dataset_path(document)
    return dataset / "attributes" / run / rel


def attribute_runs(document: str | Path) -> list[str]:
    """List the attribute runs that have a file for this document file, sorted by name."""
    dataset, rel = split_dataset_path(document)
    root = dataset / "attributes"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / rel).is_file())
