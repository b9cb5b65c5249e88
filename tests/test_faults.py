"""Faults during a run: kill -9, a full disk, read errors and inputs that change under a stage.

The kill and full-disk cases drive every stage through `python -m dolmakit` (tests/faults.py);
the long form with ten kill points per stage is scripts/fault_injection.py. Where the tests run
as root (CI) the workspace is a tmpfs, which the full-disk cases shrink until it fills up.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from faults import (
    DEMO_DOCUMENTS,
    ROOMY,
    STAGE_NAMES,
    StageReference,
    build_references,
    digest,
    fill_disk,
    kill_delays,
    landing_kill,
    mount_tmpfs,
    temporaries,
    unmount,
)

import dolmakit.io.reader as reader_module
from dolmakit.cli.main import cli
from dolmakit.errors import StorageError
from dolmakit.io.atomic import write_bytes_atomic, write_failure
from dolmakit.io.compression import iter_chunks
from dolmakit.io.writer import JsonlWriter

KILLS_PER_STAGE = 2
SEED = 16
SERIAL = ("--backend", "serial")


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, bool, dict]]:
    """Every stage run once undisturbed; the workspace is a tmpfs when we may mount one."""
    base = tmp_path_factory.mktemp("faults")
    mounted = False
    if os.geteuid() == 0:
        try:
            mount_tmpfs(base / "work", ROOMY)
            mounted = True
        except (OSError, Exception):  # no mount command, or no permission in this container
            mounted = False
    try:
        refs = {ref.stage.name: ref for ref in build_references(base, SERIAL, ())}
        yield base, mounted, refs
    finally:
        if mounted:
            unmount(base / "work")


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_a_stage_killed_at_seeded_points_reruns_to_the_same_bytes(
    pipeline: tuple[Path, bool, dict[str, StageReference]], stage: str
) -> None:
    base, _, refs = pipeline
    ref = refs[stage]
    outcomes = [
        landing_kill(ref, base / "work", delay)
        for delay in kill_delays(SEED, stage, ref.seconds, KILLS_PER_STAGE)
    ]
    for outcome in outcomes:
        assert outcome.rerun_code == 0, outcome.stderr
        assert outcome.differing == [], f"kill at {outcome.delay:.2f} s"
        assert outcome.left == [], f"kill at {outcome.delay:.2f} s"
    assert any(o.landed for o in outcomes), "no kill landed while the stage ran"


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_a_full_disk_is_one_line_leaves_nothing_complete_and_a_rerun_finishes(
    pipeline: tuple[Path, bool, dict[str, StageReference]], stage: str
) -> None:
    base, mounted, refs = pipeline
    if not mounted:
        pytest.skip("needs root to mount a small tmpfs (CI runs as root)")
    outcome = fill_disk(refs[stage], base / "work")
    assert outcome.problems() == []
    assert "Traceback" not in outcome.stderr


# Inputs that fail or change in the middle of a read, in-process (the reader is patched).


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    work = tmp_path / "w"
    for name in ("python-doc", "python-mirror"):
        shutil.copytree(DEMO_DOCUMENTS / name, work / "data" / "documents" / name)
    return work


TARGET = "python-doc/en-0000.jsonl.zst"


def patch_reads(monkeypatch: pytest.MonkeyPatch, after_first_chunk: object, times: int) -> None:
    """Make reading TARGET call `after_first_chunk(path)` after its first chunk, `times` times."""
    original = iter_chunks  # the reader calls it by this name: patched there below
    left = [times]

    def chunks(path: object, *args: object, **kwargs: object) -> Iterator[bytes]:
        first = True
        for chunk in original(path, *args, **kwargs):  # type: ignore[arg-type]
            yield chunk
            if first and str(path).endswith(TARGET) and left[0] > 0:
                left[0] -= 1
                after_first_chunk(Path(str(path)))  # type: ignore[operator]
            first = False

    monkeypatch.setattr(reader_module, "iter_chunks", chunks)


def touch(path: Path) -> None:
    stamp = path.stat().st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def eio(path: Path) -> None:
    raise OSError(errno.EIO, "Input/output error", str(path))


STAGES = {
    "tag": lambda w: ["tag", f"{w}/data/documents", "--run", "t", "--taggers", "lengths"],
    "convert": lambda w: ["convert", f"{w}/data/documents", f"{w}/out"],
    "dedup-exact": lambda w: ["dedup", "exact", f"{w}/data/documents"],
}
OUTPUT = {
    "tag": "data/attributes/t/python-doc/en-0000.jsonl.zst",
    "convert": "out/python-doc/en-0000.jsonl.zst",
    "dedup-exact": "data/attributes/dedup_exact/python-doc/en-0000.jsonl.zst",
}


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["-q", *args, "--backend", "serial"])


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_an_input_changed_once_while_read_is_read_again_and_said(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, stage: str, tmp_path: Path
) -> None:
    clean = tmp_path / "clean"
    shutil.copytree(workspace, clean)
    assert invoke(*STAGES[stage](clean)).exit_code == 0
    patch_reads(monkeypatch, touch, times=1)
    result = invoke(*STAGES[stage](workspace))
    assert result.exit_code == 0, result.output
    assert f"{TARGET}: changed while being read" in result.output
    assert "read again" in result.output
    assert (workspace / OUTPUT[stage]).read_bytes() == (clean / OUTPUT[stage]).read_bytes()


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_an_input_that_keeps_changing_stops_the_run_with_nothing_recorded(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    patch_reads(monkeypatch, touch, times=2)
    result = invoke(*STAGES[stage](workspace))
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()[-1:]
    assert line.startswith(f"Error: {workspace / 'data' / 'documents' / TARGET}: changed while")
    assert "at the start" in line and "at the end" in line
    assert not (workspace / OUTPUT[stage]).exists()
    assert not [p for p in workspace.rglob("*.done.json") if "python-doc-en" in p.name]
    assert temporaries(workspace) == []
    monkeypatch.undo()
    assert invoke(*STAGES[stage](workspace)).exit_code == 0
    assert (workspace / OUTPUT[stage]).exists()


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_a_read_error_in_the_middle_of_a_file_keeps_what_was_read_and_counts_the_rest(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    # main's rule: documents before the cut are written, the cut is one counted reject; only
    # a file that gave no document at all gets no output file (test_error_paths.py).
    patch_reads(monkeypatch, eio, times=1)
    result = invoke(*STAGES[stage](workspace))
    assert result.exit_code == 0, result.output
    assert "rejected: 1 unreadable file" in result.output
    assert (workspace / OUTPUT[stage]).exists()
    assert temporaries(workspace) == []


def test_a_read_error_with_on_error_fail_names_the_file_and_line(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    patch_reads(monkeypatch, eio, times=1)
    documents = workspace / "data" / "documents" / "python-doc"
    result = invoke("convert", str(documents), str(workspace / "out"), "--on-error", "fail")
    assert result.exit_code == 1
    assert f"{TARGET}:" in result.output and "unreadable file" in result.output
    assert "Input/output error" in result.output and "Traceback" not in result.output


def mix_workspace(pipeline: tuple[Path, bool, dict[str, StageReference]], tmp_path: Path) -> Path:
    """Copy the workspace as it is before the mix stage; return the copy."""
    work = tmp_path / "w"
    shutil.copytree(pipeline[2]["mix"].before, work)
    return work


def run_mix(work: Path) -> Result:
    """Run the workspace's mix, serially, in this process."""
    return CliRunner().invoke(
        cli, ["-q", "mix", f"{work}/faults.yaml", "--data-root", f"{work}/data", "--output",
              f"{work}/mixes", "--backend", "serial"],
    )  # fmt: skip


def test_a_mix_whose_input_changes_writes_no_manifest(
    pipeline: tuple[Path, bool, dict[str, StageReference]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work = mix_workspace(pipeline, tmp_path)
    patch_reads(monkeypatch, touch, times=3)  # pass 1, its second read, then pass 2
    result = run_mix(work)
    assert result.exit_code == 1
    assert "changed or deleted while" in result.output
    assert "no manifest was written" in result.output
    assert not (work / "mixes" / "faults" / "v1" / "manifest.json").exists()


def test_a_mix_whose_attributes_are_deleted_while_it_runs_is_one_line(
    pipeline: tuple[Path, bool, dict[str, StageReference]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work = mix_workspace(pipeline, tmp_path)
    reads = []

    def delete_on_pass_2(path: Path) -> None:
        reads.append(path)
        if len(reads) == 2:  # the documents are being read; their attributes are next
            path.unlink()

    patch_reads(monkeypatch, delete_on_pass_2, times=2)
    result = run_mix(work)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    deleted = reads[1]
    assert "attributes" in deleted.parts and not deleted.exists()
    assert f"Error: {deleted}: no such file: was it moved or deleted" in result.output
    assert not (work / "mixes" / "faults" / "v1" / "manifest.json").exists()


# A full disk at the level of one write (needs no mount).


class FullStream:
    """A binary stream on a device with no space left."""

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def close(self) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_in_a_writer_names_the_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dolmakit.io.writer as writer_module

    monkeypatch.setattr(writer_module, "open_write", lambda tmp, kind_of: FullStream())
    target = tmp_path / "out" / "part.jsonl"
    with pytest.raises(StorageError) as failed, JsonlWriter(target) as writer:
        writer.write({"id": "a", "text": "b"})
    assert str(failed.value).startswith(f"cannot write {target}: no space left on device (ENOSPC)")
    assert list((tmp_path / "out").iterdir()) == []


def test_a_full_disk_in_an_atomic_write_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(self: Path, data: bytes) -> int:
        self.write_text("partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(StorageError, match=r"cannot write .*summary\.json: no space left"):
        write_bytes_atomic(tmp_path / "summary.json", b"{}")
    assert list(tmp_path.iterdir()) == []


def test_only_write_errors_become_a_write_failure() -> None:
    assert write_failure(OSError(errno.EIO, "Input/output error"), "x") is None
    assert write_failure(ValueError("no"), "x") is None
    read_only = write_failure(OSError(errno.EROFS, "Read-only file system"), "/x/y")
    assert (
        read_only is not None
        and str(read_only) == "cannot write /x/y: read-only file system (EROFS)"
    )


def test_digest_leaves_out_only_records_and_build_times(tmp_path: Path) -> None:
    (tmp_path / "a.done.json").write_text("1")
    (tmp_path / "manifest.json").write_text('{"timing": {"seconds": 1}, "name": "m"}')
    first = digest(tmp_path)
    (tmp_path / "a.done.json").write_text("2")
    (tmp_path / "manifest.json").write_text('{"name": "m", "timing": {"seconds": 2}}')
    assert digest(tmp_path) == first and list(first) == ["manifest.json"]
    (tmp_path / "manifest.json").write_text('{"name": "n", "timing": {"seconds": 2}}')
    assert digest(tmp_path) != first


def test_a_rerun_clears_the_record_and_rejects_temporaries_of_a_killed_run(
    tmp_path: Path,
) -> None:
    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / "a.jsonl").write_text('{"id": "a", "text": "x"}\n{broken\n')
    out = tmp_path / "out"
    assert invoke("convert", str(docs), str(out)).exit_code == 0
    (record,) = out.rglob("*.done.json")
    (rejects,) = out.rglob("a*.rejects.jsonl")
    record.unlink()  # as if killed before the record was renamed into place
    stale = [p.with_name(f".{p.name}.tmp-999999") for p in (record, rejects)]
    for path in stale:
        path.write_text("left by a killed run")
    assert invoke("convert", str(docs), str(out)).exit_code == 0
    assert temporaries(out) == [] and record.is_file()


def test_a_write_clears_temporaries_of_dead_writers_and_keeps_live_ones(tmp_path: Path) -> None:
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    folder = tmp_path / "report"
    folder.mkdir()
    stale = folder / f".clusters.parquet.tmp-{dead.stdout.strip()}"
    live = folder / f".other.json.tmp-{os.getppid()}"
    for path in (stale, live):
        path.write_text("partial")
    write_bytes_atomic(folder / "summary.json", b"{}")
    assert sorted(p.name for p in folder.iterdir()) == [live.name, "summary.json"]
