"""Write files under a temporary name and rename them into place only when complete.

A reader therefore never sees a partial output, and a run killed at any instant leaves only
temporary files (`.NAME.tmp-PID`), which `remove_stale_temporaries` clears before a rerun.
Objects in S3 storage follow the same scheme: written under a temporary key, then moved
(server-side copy and delete), because an S3 upload completes even when its writer fails.
That key is the same for every attempt (`.NAME.tmp-upload`), so clearing a killed run's
leftover costs one request instead of a listing of the folder.

A write that fails because the device is full (or read-only, or over quota) deletes its
temporary and raises StorageError naming the file and the errno (`write_failure`), so the
user reads one line, never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from dolmakit.errors import StorageError
from dolmakit.io import storage
from dolmakit.io.storage import RemotePath

TMP_MARK = ".tmp-"

WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})
"""Errors that only a write gives: a full device, a quota, a read-only or size limit."""


def write_failure(exc: BaseException, final: str | os.PathLike[str] | None) -> StorageError | None:
    """Return the one-line error for a write that failed with one of WRITE_ERRNOS, else None.

    `final` is the file being written (the exception's own file name when None).
    """
    if not isinstance(exc, OSError) or exc.errno not in WRITE_ERRNOS:
        return None
    name = errno.errorcode.get(exc.errno, str(exc.errno))
    what = os.strerror(exc.errno).lower()
    where = final if final is not None else exc.filename
    target = f"cannot write {where}" if where is not None else "cannot write an output"
    hint = (
        "; free some space (or choose another output) and rerun: finished parts are kept"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT)
        else ""
    )
    return StorageError(f"{target}: {what} ({name}){hint}")


def temporary_name(final: Path) -> Path:
    """Return the temporary path a file is written under before it is renamed to `final`.

    Locally, a killed run's temporaries in the folder are deleted first (once per folder and
    process: `clear_dead_temporaries`), so every file a stage writes is cleared on a rerun.
    """
    if isinstance(final, RemotePath):
        return final.with_name(f".{final.name}{TMP_MARK}upload")
    clear_dead_temporaries(final.parent)
    return final.with_name(f".{final.name}{TMP_MARK}{os.getpid()}")


_cleared: set[str] = set()


def clear_dead_temporaries(folder: Path) -> None:
    """Delete the temporaries in `folder` whose writing process no longer runs.

    Done once per folder in a process (a listing of the folder): the name carries the
    writer's pid, and a live writer's file (this process's included) is left alone.
    """
    key = os.fspath(folder)
    if key in _cleared:
        return
    _cleared.add(key)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        head, mark, pid = entry.name.rpartition(TMP_MARK)
        if mark and head.startswith(".") and pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


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
    except BaseException as exc:
        storage.delete(tmp, missing_ok=True)
        failure = write_failure(exc, final)
        if failure is not None:
            raise failure from None
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
