"""Make pool workers exit when the process that started them dies.

A worker busy with a long shard does not notice that its pool's pipe closed, so a parent
killed with SIGKILL would leave it running until the shard ends, and with it the
multiprocessing resource tracker, which waits for every holder of its pipe. On Linux the
kernel kills the worker when its parent dies (prctl PR_SET_PDEATHSIG); elsewhere, and as a
fallback, a daemon thread ends the worker once its parent's pid is no longer its parent.

PR_SET_PDEATHSIG fires when the *thread* that started the worker ends, so a pool must not
be used from another thread than the one that created it: `ProcessBackend` reuses its pool
only for `map` calls from that thread and starts a new one for any other.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCH_SECONDS = 1.0
ORPHAN_EXIT_CODE = 70


def exit_with_parent(parent_pid: int) -> None:
    """End this process when `parent_pid`, its parent, is gone (call at worker start-up)."""
    _kill_me_with_parent()
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(ORPHAN_EXIT_CODE)
    watch = threading.Thread(
        target=watch_parent, args=(parent_pid,), name="dolmakit-parent-watch", daemon=True
    )
    watch.start()


def _kill_me_with_parent() -> bool:
    """Ask Linux to send this process SIGKILL when its parent dies; false where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def watch_parent(parent_pid: int, interval: float = WATCH_SECONDS) -> None:
    """Exit the process as soon as its parent is no longer `parent_pid` (runs forever)."""
    while True:
        time.sleep(interval)
        if os.getppid() != parent_pid:
            os._exit(ORPHAN_EXIT_CODE)
