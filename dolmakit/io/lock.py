"""One writer at a time: an exclusive lock on the folder a stage writes into.

Two runs of the same stage into the same output would share temporary names and overwrite each
other's parts. `exclusive` holds `<folder>/.dolmakit/lock` for as long as a stage runs: an advisory
`flock` on that file, which the kernel releases when the holder exits in any way (kill -9
included), so a lock left by a killed run is taken over without asking. The file records who
holds it (host, pid, command, since when) so that the run which is turned away can say so.

Object storage has no locks: on `s3://` folders `exclusive` takes none. Who holds what:
`tag` and `dedup` the attribute run folder `<dataset>/attributes/<run>/` (every dataset of the
inputs) and dedup its report folder; `mix` the mix folder `<output>/<name>/v<version>/` (and
its `--work-dir` folder); `convert` its destination; `dolmakit index` and `audit sign` the mix
folder they add to; `contamination index` its output folder; `publish` its output folder
(whose lock file is removed at the end, so that the release holds only the release);
`dolmakit run` its state folder, in a lock file of its own name (`PIPELINE_LOCK`), so that
no stage it runs is turned away by it whatever folder the state is.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import msgspec

from dolmakit.errors import DolmakitError
from dolmakit.io.storage import is_remote

LOCK_NAME = "lock"
PIPELINE_LOCK = "pipeline.lock"  # `dolmakit run`: never a stage's lock file
LOCK_NAMES = (LOCK_NAME, PIPELINE_LOCK)


class Holder(msgspec.Struct, frozen=True):
    """Who holds (or last held) a lock."""

    host: str
    pid: int
    since: str
    command: str
    what: str = ""  # what the holder is doing ("mix build of web v1"); absent in old files

    def describe(self) -> str:
        """Return 'pid 123 on host h since 2026-12-02T17:00:00Z (dolmakit mix ...)'."""
        return f"pid {self.pid} on {self.host} since {self.since} ({self.command})"


class LockedError(DolmakitError):
    """Another run holds the lock on an output folder."""


def lock_path(folder: str | Path, name: str = LOCK_NAME) -> Path:
    """Return the lock file `name` of an output folder."""
    return Path(folder) / ".dolmakit" / name


def read_holder(path: Path) -> Holder | None:
    """Return the holder recorded in a lock file, or None if absent or unreadable."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=Holder)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None


@contextmanager
def exclusive(
    folder: str | Path, what: str, *, remove: bool = False, name: str = LOCK_NAME
) -> Iterator[Holder | None]:
    """Hold the lock of `folder` for the duration; LockedError naming the holder if taken.

    Yields the holder a killed earlier run left behind (its lock was taken over), or None.
    Remote folders are not locked. With `remove`, the lock file (and `.dolmakit/` if that
    leaves it empty) is deleted before the lock is released, for outputs that must hold
    nothing of ours; a run that opened the old file meanwhile gets the lock of a file no one
    else can take, so the stage must check its output again once it holds the lock. `name`
    is the lock file's (locks of different names on one folder do not exclude each other).
    """
    if is_remote(folder):
        yield None
        return
    path = lock_path(folder, name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise DolmakitError(
            f"{folder}: cannot create the lock file {path}: {exc.strerror}"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(path)
            who = holder.describe() if holder else "another process"
            doing = holder.what if holder and holder.what else what
            raise LockedError(
                f"{folder}: another {doing} is writing here: {who}. Wait for it to finish, or"
                f" stop it; a lock left by a killed run is taken over on its own"
            ) from None
        previous = read_holder(path)
        me = Holder(
            host=socket.gethostname(),
            pid=os.getpid(),
            since=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            command=" ".join(["dolmakit", *sys.argv[1:]])[:200],
            what=what,
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, msgspec.json.encode(me), 0)
        try:
            yield previous
        finally:
            # Leave the file (another run may already wait on it); the kernel drops the lock.
            os.ftruncate(fd, 0)
            if remove:
                path.unlink(missing_ok=True)
                with suppress(OSError):  # not empty: the stage keeps other files there
                    path.parent.rmdir()
    finally:
        os.close(fd)


@contextmanager
def exclusive_all(folders: Iterable[str | Path], what: str) -> Iterator[list[Holder]]:
    """Hold the locks of every folder in `folders` (each once); yield the holders taken over.

    Locks are taken in sorted order and none waits, so two runs cannot deadlock; when one is
    taken, those already held are released and LockedError names the holder.
    """
    unique = sorted({str(f) if is_remote(f) else str(Path(f).resolve()) for f in folders})
    with ExitStack() as stack:
        previous = [stack.enter_context(exclusive(f, what)) for f in unique]
        yield [p for p in previous if p is not None]
