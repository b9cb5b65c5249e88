"""Write files under a temporary name and rename them into place only when complete.

A reader therefore never sees a partial output, and a run killed at any instant leaves only
temporary files (`.NAME.tmp-PID`), which `remove_stale_temporaries` clears before a rerun.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TMP_MARK = ".tmp-"


def temporary_name(final: Path) -> Path:
    """Return the temporary path a file is written under before it is renamed to `final`."""
    return final.with_name(f".{final.name}{TMP_MARK}{os.getpid()}")


@contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path; on success rename it to `final`, on failure delete it."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(final)
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_stale_temporaries(final: Path) -> None:
    """Delete temporary files left for `final` by a killed run."""
    if final.parent.is_dir():
        for stale in final.parent.glob(f".{_glob_escape(final.name)}{TMP_MARK}*"):
            stale.unlink(missing_ok=True)


def write_bytes_atomic(final: str | Path, data: bytes) -> None:
    """Write a whole file atomically."""
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)
