"""Write files under a temporary name and rename them into place only when complete.

A reader therefore never sees a partial output, and a run killed at any instant leaves only
temporary files (`.NAME.tmp-PID`), which `remove_stale_temporaries` clears before a rerun.
Objects in S3 storage follow the same scheme: written under a temporary key, then moved
(server-side copy and delete), because an S3 upload completes even when its writer fails.
That key is the same for every attempt (`.NAME.tmp-upload`), so clearing a killed run's
leftover costs one request instead of a listing of the folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from dolmakit.io import storage
from dolmakit.io.storage import RemotePath

TMP_MARK = ".tmp-"


def temporary_name(final: Path) -> Path:
    """Return the temporary path a file is written under before it is renamed to `final`."""
    if isinstance(final, RemotePath):
        return final.with_name(f".{final.name}{TMP_MARK}upload")
    return final.with_name(f".{final.name}{TMP_MARK}{os.getpid()}")


@contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path; on success rename it to `final`, on failure delete it.

    For an s3:// `final` the temporary is a RemotePath: write it with `storage.open_write`
    or `atomic_open`, not the builtin `open`.
    """
    final = storage.location(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(final)
    try:
        yield tmp
        storage.move(tmp, final)
    except BaseException:
        storage.delete(tmp, missing_ok=True)
        raise


@contextmanager
def atomic_open(final: str | Path) -> Iterator[BinaryIO]:
    """Yield a binary stream that becomes `final` only if the block ends without an error."""
    with atomic_path(final) as tmp, storage.open_write(tmp) as out:
        yield out


def remove_stale_temporaries(final: Path) -> None:
    """Delete temporary files left for `final` by a killed run."""
    final = storage.location(final)
    if isinstance(final, RemotePath):
        storage.delete(temporary_name(final), missing_ok=True)
        return
    if final.parent.is_dir():
        for stale in final.parent.glob(f".{_glob_escape(final.name)}{TMP_MARK}*"):
            stale.unlink(missing_ok=True)


def write_bytes_atomic(final: str | Path, data: bytes) -> None:
    """Write a whole file atomically."""
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)
