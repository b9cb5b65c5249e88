"""Content hashes of files, as recorded in manifests, model cards and completion records."""

from __future__ import annotations

import hashlib
from pathlib import Path

from dolmakit.io import storage

_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """Return the hex sha256 of a file's (or object's) bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with storage.open_read(path) as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
