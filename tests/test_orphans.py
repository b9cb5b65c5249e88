"""Pool workers (and the resource tracker) end when their parent process is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find children")

# Two workers, each in a shard that would take a minute.
POOL = """
import time
from dolmakit.run.backends import ProcessBackend
list(ProcessBackend(2).map(time.sleep, [60.0, 60.0]))
"""

# A child that only watches its parent (the fallback where prctl is not available).
WATCHED = """
import multiprocessing, os, time
from dolmakit.run.orphans import watch_parent
if __name__ == "__main__":
    child = multiprocessing.get_context("spawn").Process(
        target=watch_parent, args=(os.getpid(), 0.05)
    )
    child.start()
    time.sleep(60)
"""


def children(pid: int) -> list[int]:
    """Return the pids of the living processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def kill_parent_and_wait(script: str, expected_children: int, tmp_path: Path) -> list[int]:
    """Start `script`, wait for its children, SIGKILL it alone; return children still alive."""
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, start_new_session=True)
    kids: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(kids) < expected_children:
            time.sleep(0.05)
            kids = children(proc.pid)
        assert len(kids) >= expected_children, kids
        time.sleep(0.5)  # let the workers start their shards
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(map(alive, kids)):
            time.sleep(0.05)
        return [k for k in kids if alive(k)]
    finally:
        for pid in kids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_killing_the_parent_ends_its_workers_and_resource_tracker(tmp_path: Path) -> None:
    # Three children: two workers and the multiprocessing resource tracker.
    assert kill_parent_and_wait(POOL, 3, tmp_path) == []


def test_the_parent_watch_alone_ends_an_orphan(tmp_path: Path) -> None:
    assert kill_parent_and_wait(WATCHED, 1, tmp_path) == []
