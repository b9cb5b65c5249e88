"""An output folder has one writer at a time; a killed writer's lock is taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dolmakit.io.lock import LockedError, exclusive, lock_path, read_holder

HOLD = """
import sys, time
from dolmakit.io.lock import exclusive
with exclusive(sys.argv[1], "test stage"):
    print("held", flush=True)
    time.sleep(60)
"""


def start_holder(folder: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    return child


def test_a_second_writer_is_told_who_holds_the_lock(tmp_path: Path) -> None:
    child = start_holder(tmp_path)
    try:
        with pytest.raises(LockedError) as info, exclusive(tmp_path, "mix"):
            pass
        message = str(info.value)
        assert f"pid {child.pid} on " in message
        assert message.startswith(f"{tmp_path}: another test stage is writing here")  # its own
    finally:
        child.kill()
        child.wait()


def test_a_killed_writer_leaves_a_lock_that_is_taken_over(tmp_path: Path) -> None:
    child = start_holder(tmp_path)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    holder = read_holder(lock_path(tmp_path))
    assert holder is not None and holder.pid == child.pid
    with exclusive(tmp_path, "mix") as previous:
        assert previous is not None and previous.pid == child.pid
        mine = read_holder(lock_path(tmp_path))
        assert mine is not None and mine.pid == os.getpid()


def test_a_finished_writer_leaves_nothing_to_take_over(tmp_path: Path) -> None:
    with exclusive(tmp_path, "tag"):
        pass
    with exclusive(tmp_path, "tag") as previous:
        assert previous is None


def test_the_lock_is_released_when_the_block_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), exclusive(tmp_path, "tag"):
        raise RuntimeError("boom")
    with exclusive(tmp_path, "tag") as previous:
        assert previous is None


def test_a_second_tag_run_of_one_run_name_is_turned_away(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dolmakit.cli.main import cli

    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / "a.jsonl").write_text('{"id": "a", "text": "hello there"}\n')
    args = ["tag", str(docs), "--run", "r", "--taggers", "lengths", "--backend", "serial"]
    with exclusive(tmp_path / "attributes" / "r", "tag run 'r'"):
        result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0
    assert "another tag run 'r' is writing here: pid " in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(cli, args)  # the lock is free again
    assert result.exit_code == 0, result.output
