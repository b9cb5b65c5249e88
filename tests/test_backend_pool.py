"""ProcessBackend keeps one pool per thread across `map` calls, and drops it on failure."""

from __future__ import annotations

import os
import pickle
import threading
import time
from pathlib import Path

import pytest

from dolmakit.run.backends import ProcessBackend


def pids(backend: ProcessBackend, n: int = 6) -> set[int]:
    """Return the pids of the workers that ran `n` items."""
    return {pid for _, pid in backend.map(_pid_after_a_moment, list(range(n)))}


def _pid_after_a_moment(_: int) -> int:
    time.sleep(0.05)  # long enough that the pool starts its second worker
    return os.getpid()


def gone(pid: int) -> bool:
    """Return true when `pid` is no longer a running process (reaped or a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


def test_maps_from_one_thread_share_the_workers() -> None:
    backend = ProcessBackend(2)
    try:
        first = pids(backend)
        assert len(first) <= 2 and os.getpid() not in first
        assert pids(backend) <= first
        assert sorted(backend.map(abs, [-3, 4, -5])) == [(0, 3), (1, 4), (2, 5)]  # as done
    finally:
        backend.close()


def test_another_thread_never_uses_the_pool_of_the_first() -> None:
    backend = ProcessBackend(2)
    found: list[set[int]] = []
    try:
        first = pids(backend)
        thread = threading.Thread(target=lambda: found.append(pids(backend)))
        thread.start()
        thread.join()
        assert found and not found[0] & first
        assert not pids(backend) & first  # the thread's pool replaced it; a new one here
    finally:
        backend.close()


def test_a_failed_map_ends_the_pool_and_the_next_map_starts_one() -> None:
    backend = ProcessBackend(2)
    try:
        first = pids(backend)
        with pytest.raises(ValueError):
            list(backend.map(int, ["1", "x", "3"]))
        assert not pids(backend) & first
    finally:
        backend.close()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to see processes")
def test_close_ends_the_workers_and_pickling_leaves_the_pool_behind() -> None:
    backend = ProcessBackend(2)
    workers = pids(backend)
    copy = pickle.loads(pickle.dumps(backend))
    assert copy.workers == 2
    backend.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(map(gone, workers)):
        time.sleep(0.05)
    assert all(map(gone, workers))
    assert [value for _, value in copy.map(abs, [-1])] == [1]
    copy.close()


def test_a_command_ends_its_workers_before_it_returns(tmp_path: Path) -> None:
    import multiprocessing

    from click.testing import CliRunner

    from dolmakit.cli.main import cli

    docs = tmp_path / "data" / "documents" / "web"
    docs.mkdir(parents=True)
    for n in range(3):
        (docs / f"{n}.jsonl").write_text(f'{{"id": "d{n}", "text": "some words here"}}\n')
    assert not multiprocessing.active_children()
    args = ["-q", "tag", str(tmp_path / "data" / "documents"), "--run", "r", "--taggers"]
    result = CliRunner().invoke(cli, [*args, "lengths", "--workers", "2"])
    assert result.exit_code == 0, result.output
    # Left to interpreter exit, Python 3.11 can print "Bad file descriptor" while the pool's
    # manager thread closes its pipe; the command closes its pool instead.
    assert not multiprocessing.active_children()
