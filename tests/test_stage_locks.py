"""Every stage holds the lock of what it writes: a second run is turned away in one line.

Each test holds the folder's lock the way a running stage does, runs the command, and checks
that it stops before writing, naming the holder, with no traceback; then that it runs once the
lock is free. Two real `dolmakit mix` processes at once end with one mix, and a lock left by
a killed run is taken over.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_mix_helpers import make_source, words, write_jsonl, write_spec

from dolmakit.cli.main import cli
from dolmakit.io.lock import exclusive, lock_path, read_holder

HOLD = """
import sys, time
from dolmakit.io.lock import exclusive
with exclusive(sys.argv[1], "test stage"):
    print("held", flush=True)
    time.sleep(60)
"""


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def assert_turned_away(code: int, output: str, folder: Path, what: str) -> None:
    assert code != 0
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines == [
        f"Error: {folder.resolve()}: another {what} is writing here: pid {os.getpid()} on "
        + lines[0].split(" on ", 1)[1]
    ], output
    assert "since " in lines[0]


def dataset(tmp_path: Path) -> Path:
    """Write `<tmp>/ds/documents/web/` with two shards (one repeated text); return the shards."""
    docs = [{"id": f"d{i}", "text": words(12 + i % 5, "hello")} for i in range(20)]
    make_source(tmp_path / "ds", "web", docs[:10], {})
    write_jsonl(tmp_path / "ds" / "documents" / "web" / "part-1.jsonl.zst", docs[10:])
    return tmp_path / "ds" / "documents" / "web"


def mix_spec(tmp_path: Path) -> Path:
    dataset(tmp_path)
    spec = {
        "name": "locked",
        "version": 1,
        "seed": 7,
        "tokenizer": "whitespace",
        "output": {"root": "mixes"},
        "sources": [{"name": "web", "documents": "ds/documents/web/*.jsonl.zst", "weight": 1.0}],
    }
    return write_spec(tmp_path / "mix.yaml", spec)


def build(tmp_path: Path) -> Path:
    code, out = invoke("-q", "mix", str(mix_spec(tmp_path)), "--backend", "serial")
    assert code == 0, out
    return tmp_path / "mixes" / "locked" / "v1"


@pytest.mark.parametrize("method", ["exact", "minhash"])
def test_a_second_dedup_run_of_one_run_name_is_turned_away(tmp_path: Path, method: str) -> None:
    docs = dataset(tmp_path)
    args = ["-q", "dedup", method, str(docs), "--run", "dd", "--backend", "serial"]
    folder = tmp_path / "ds" / "attributes" / "dd"
    with exclusive(folder, "dedup run 'dd'"):
        code, out = invoke(*args)
    assert_turned_away(code, out, folder, "dedup run 'dd'")
    assert not list(folder.glob("**/*.jsonl*"))  # nothing written while turned away
    code, out = invoke(*args)
    assert code == 0, out


def test_a_second_mix_into_one_folder_is_turned_away(tmp_path: Path) -> None:
    spec = mix_spec(tmp_path)
    folder = tmp_path / "mixes" / "locked" / "v1"
    with exclusive(folder, "mix build of locked v1"):
        code, out = invoke("-q", "mix", str(spec), "--backend", "serial")
    assert_turned_away(code, out, folder, "mix build of locked v1")
    assert not (folder / "manifest.json").exists()
    assert invoke("-q", "mix", str(spec), "--backend", "serial")[0] == 0


def test_a_mix_sharing_a_work_folder_is_turned_away(tmp_path: Path) -> None:
    spec = mix_spec(tmp_path)
    work = tmp_path / "work"
    folder = work / "locked" / "v1"
    with exclusive(folder, "mix build of locked v1"):
        code, out = invoke("-q", "mix", str(spec), "--work-dir", str(work), "--backend", "serial")
    assert_turned_away(code, out, folder, "mix build of locked v1")


def test_a_second_convert_into_one_destination_is_turned_away(tmp_path: Path) -> None:
    docs = dataset(tmp_path)
    dest = tmp_path / "out"
    with exclusive(dest, "convert"):
        code, out = invoke("convert", str(docs), str(dest), "--backend", "serial")
    assert_turned_away(code, out, dest, "convert")
    assert not list(dest.glob("*.jsonl*"))
    assert invoke("convert", str(docs), str(dest), "--backend", "serial")[0] == 0


def test_signing_and_indexing_hold_the_mix_lock(tmp_path: Path) -> None:
    pytest.importorskip("cryptography")
    mix = build(tmp_path)
    key = tmp_path / "k.key"
    assert invoke("audit", "keygen", str(key))[0] == 0
    with exclusive(mix, "mix build of locked v1"):
        code, out = invoke("audit", "sign", str(mix), "--key", str(key))
        assert_turned_away(code, out, mix, "mix build of locked v1")
        if importlib.util.find_spec("pydivsufsort") is not None:  # (the trace extra)
            code, out = invoke("-q", "index", str(mix), "--backend", "serial")
            assert_turned_away(code, out, mix, "mix build of locked v1")
    assert not (mix / "manifest.sig").exists()
    assert invoke("audit", "sign", str(mix), "--key", str(key))[0] == 0


def test_a_second_publish_into_one_folder_is_turned_away(tmp_path: Path) -> None:
    mix = build(tmp_path)
    out_dir = tmp_path / "release"
    with exclusive(out_dir, "publish"):
        code, out = invoke("publish", str(mix), str(out_dir))
    assert_turned_away(code, out, out_dir, "publish")
    code, out = invoke("publish", str(mix), str(out_dir))  # only our lock file was there
    assert code == 0, out
    assert not (out_dir / ".dolmakit").exists()  # the release holds only the release


def test_a_second_contamination_index_into_one_folder_is_turned_away(tmp_path: Path) -> None:
    bench = write_jsonl(tmp_path / "quiz.jsonl", [{"q": words(30, "quiz")}])
    index = tmp_path / "quiz.index"
    args = ["contamination", "index", str(bench), "--name", "q", "--fields", "q", "-o", str(index)]
    with exclusive(index, "contamination index build"):
        code, out = invoke(*args)
    assert_turned_away(code, out, index, "contamination index build")
    assert invoke(*args)[0] == 0


def test_two_mix_processes_at_once_give_one_mix_and_a_clear_line(tmp_path: Path) -> None:
    spec = mix_spec(tmp_path)
    command = [sys.executable, "-m", "dolmakit", "-q", "mix", str(spec), "--backend", "serial"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(2)]  # fmt: skip
    results = [(run.wait(timeout=120), run.communicate()[0]) for run in runs]
    assert any(code == 0 for code, _ in results), results
    for code, out in results:
        assert "Traceback" not in out, out
        if code != 0:
            assert "another mix build of locked v1 is writing here: pid " in out, out
            assert len(out.strip().splitlines()) == 1, out
    code, out = invoke("audit", "verify", str(tmp_path / "mixes" / "locked" / "v1"))
    assert code == 0, out


def test_a_lock_left_by_a_killed_mix_is_taken_over(tmp_path: Path) -> None:
    spec = mix_spec(tmp_path)
    folder = tmp_path / "mixes" / "locked" / "v1"
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    holder = read_holder(lock_path(folder))
    assert holder is not None and holder.pid == child.pid  # the killed run's record is there
    code, out = invoke("-q", "mix", str(spec), "--backend", "serial")
    assert code == 0, out
    assert (folder / "manifest.json").is_file()


def test_a_finished_read_only_mix_is_already_built_without_a_lock(tmp_path: Path) -> None:
    mix = build(tmp_path)
    shutil.rmtree(mix / ".dolmakit")
    mix.chmod(0o555)
    try:
        code, out = invoke("-q", "mix", str(tmp_path / "mix.yaml"), "--backend", "serial")
    finally:
        mix.chmod(0o755)
    assert code == 0, out
    assert out.startswith("already built, nothing to do: mix locked v1")
    assert not (mix / ".dolmakit").exists()


def test_a_contamination_index_under_a_regular_file_is_one_line(tmp_path: Path) -> None:
    bench = write_jsonl(tmp_path / "quiz.jsonl", [{"q": words(30, "quiz")}])
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "idx"
    code, output = invoke(
        "contamination", "index", str(bench), "--name", "q", "--fields", "q", "-o", str(out)
    )
    assert code != 0
    assert output.startswith("Error: ") and len(output.strip().splitlines()) == 1, output
    assert f"{tmp_path / 'file'}" in output and "Traceback" not in output
