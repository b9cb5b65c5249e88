"""The shard runner: balanced counts, resume, worker-count independence, kill and rerun."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SHARED_CORPUS, make_docs, make_kill_corpus, write_lines

from dolmakit import convert
from dolmakit.run.backends import ProcessBackend, SerialBackend
from dolmakit.run.options import RunOptions


def tree_digest(root: Path) -> dict[str, str]:
    """Map every visible file under root to its sha256."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


def make_shards(root: Path, shards: int, docs: int, bad_every: int = 0) -> Path:
    for s in range(shards):
        lines: list = []
        for i, doc in enumerate(make_docs(docs, prefix=f"s{s}-")):
            lines.append(doc)
            if bad_every and i % bad_every == 0:
                lines.append("{broken")
        write_lines(root / f"part-{s:03d}.jsonl.zst", lines)
    return root


def test_counts_balance_and_rejects_are_listed(tmp_path: Path) -> None:
    src = make_shards(tmp_path / "in", shards=3, docs=40, bad_every=10)
    summary = convert([str(src)], tmp_path / "out", "jsonl", run_options=RunOptions(progress=False))
    assert summary.read == 132
    assert summary.written == 120
    assert summary.rejected == {"invalid JSON": 12}
    assert summary.rejects_file is not None
    assert len(summary.rejects_file.read_text().splitlines()) == 12
    assert (
        summary.lines()[0] == "convert: 132 documents read = 120 written + 12 rejected (3 shards)"
    )


def test_rerun_skips_complete_shards_and_redoes_changed_ones(tmp_path: Path) -> None:
    src = make_shards(tmp_path / "in", shards=3, docs=5)
    first = convert([str(src)], tmp_path / "out", "jsonl", run_options=RunOptions(progress=False))
    assert first.shards_skipped == 0
    second = convert([str(src)], tmp_path / "out", "jsonl", run_options=RunOptions(progress=False))
    assert second.shards_skipped == 3
    assert (second.read, second.written) == (first.read, first.written)
    write_lines(src / "part-001.jsonl.zst", make_docs(7, prefix="new"))
    (tmp_path / "out" / "part-002.jsonl").unlink()
    third = convert([str(src)], tmp_path / "out", "jsonl", run_options=RunOptions(progress=False))
    assert third.shards_skipped == 1
    assert third.written == 17
    assert "new6" in (tmp_path / "out" / "part-001.jsonl").read_text()


def test_output_does_not_depend_on_backend_or_workers(tmp_path: Path) -> None:
    src = make_shards(tmp_path / "in", shards=5, docs=30, bad_every=7)
    digests = []
    for name, backend in [
        ("serial", SerialBackend()),
        ("two", ProcessBackend(2)),
        ("three", ProcessBackend(3)),
    ]:
        convert(
            [str(src)],
            tmp_path / name,
            "jsonl.gz",
            run_options=RunOptions(backend=backend, progress=False),
        )
        digests.append(tree_digest(tmp_path / name))
    assert digests[0] == digests[1] == digests[2]
    assert len(digests[0]) == 5


def test_worker_errors_stop_the_run_with_file_and_line(tmp_path: Path) -> None:
    src = make_shards(tmp_path / "in", shards=2, docs=3, bad_every=2)
    with pytest.raises(Exception, match=r"part-00[01]\.jsonl\.zst:2: invalid JSON"):
        convert(
            [str(src)],
            tmp_path / "out",
            "jsonl",
            run_options=RunOptions(backend=ProcessBackend(2), on_error="fail", progress=False),
        )


def test_sigkill_mid_run_then_rerun_gives_identical_bytes(tmp_path: Path) -> None:
    src = tmp_path / "in"
    make_kill_corpus(src)
    reference = tmp_path / "reference"
    convert(
        [str(src)],
        reference,
        "jsonl.gz",
        run_options=RunOptions(backend=SerialBackend(), progress=False),
    )

    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "dolmakit",
        "-q",
        "convert",
        str(src),
        str(out),
        "--format",
        "jsonl.gz",
        "--workers",
        "2",
    ]
    proc = subprocess.Popen(cmd, start_new_session=True)
    records = out / ".dolmakit" / "convert"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(records.glob("*.done.json")):
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list(records.glob("*.done.json")))
    assert 0 < finished < 16, "the kill must land mid-run"

    rerun = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert f"(16 shards, {finished} already complete)" in rerun.stderr
    assert tree_digest(out) == tree_digest(reference)
    assert not [p for p in out.rglob(".*tmp-*")]


@pytest.mark.skipif(not SHARED_CORPUS.is_dir(), reason="needs ../shared/corpus")
def test_dev_corpus_round_trips_through_every_format(tmp_path: Path) -> None:
    from dolmakit import expand_inputs, read_documents

    def contents(root: Path) -> list[dict]:
        return [doc.to_dict() for f in expand_inputs([root]) for _, doc in read_documents(f)]

    original = contents(SHARED_CORPUS)
    assert len(original) > 20_000
    previous = SHARED_CORPUS
    for fmt in ("parquet", "jsonl", "jsonl.gz", "jsonl.zst"):
        target = tmp_path / fmt
        summary = convert(
            [str(previous)],
            target,
            fmt,
            run_options=RunOptions(backend=ProcessBackend(2), progress=False),
        )
        assert summary.written == len(original)
        assert contents(target) == original, fmt
        previous = target


def test_run_options_are_one_frozen_value_every_stage_call_takes(tmp_path: Path) -> None:
    import dataclasses

    from dolmakit.errors import ConfigError

    default = RunOptions()
    assert (default.backend.name, default.on_error, default.progress, default.resume) == (
        "serial",
        "skip",
        True,
        True,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        default.on_error = "fail"  # type: ignore[misc]
    with pytest.raises(ConfigError, match=r"^on_error 'ignore': choose skip or fail$"):
        RunOptions(on_error="ignore")  # type: ignore[arg-type]
    pool = RunOptions.make("processes", 3, on_error="fail")
    assert (pool.backend.name, pool.workers, pool.on_error) == ("processes", 3, "fail")
    src = make_shards(tmp_path / "in", shards=2, docs=3)
    quiet = RunOptions(progress=False)
    convert([str(src)], tmp_path / "out", "jsonl", run_options=quiet)
    again = convert([str(src)], tmp_path / "out", "jsonl", run_options=quiet)
    redone = convert([str(src)], tmp_path / "out", "jsonl", run_options=quiet.replace(resume=False))
    assert (again.shards_skipped, redone.shards_skipped) == (2, 0)
    assert quiet.resume and (redone.read, redone.written) == (again.read, again.written) == (6, 6)
