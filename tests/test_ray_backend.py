"""The Ray backend: same bytes as the process pool, retries of dead workers, resume, progress."""

from __future__ import annotations

import functools
import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import make_docs, make_kill_corpus, write_lines
from conftest_ray import gcs_address, ray_cluster
from test_runner import make_shards, tree_digest

from dolmakit import convert
from dolmakit.cli.main import cli
from dolmakit.errors import DolmakitError, InputError
from dolmakit.io.rejects import Rejects
from dolmakit.io.writer import JsonlWriter
from dolmakit.run.backends import ProcessBackend, SerialBackend, make_backend
from dolmakit.run.options import RunOptions
from dolmakit.run.progress import advance
from dolmakit.run.runner import ShardJob, ShardResult, run_shards

pytest.importorskip("ray")
__all__ = ["ray_cluster"]  # the session fixture, imported so that pytest finds it


def test_convert_on_ray_gives_the_bytes_of_the_process_pool(tmp_path: Path, ray_cluster) -> None:
    src = make_shards(tmp_path / "in", shards=6, docs=25, bad_every=6)
    backend = make_backend("ray")
    ray_summary = convert(
        [str(src)],
        tmp_path / "ray",
        "jsonl.zst",
        run_options=RunOptions(backend=backend, progress=False),
    )
    procs = convert(
        [str(src)],
        tmp_path / "procs",
        "jsonl.zst",
        run_options=RunOptions(backend=ProcessBackend(2), progress=False),
    )
    assert tree_digest(tmp_path / "ray") == tree_digest(tmp_path / "procs")
    assert len(tree_digest(tmp_path / "ray")) == 6
    # 25 documents + 5 broken lines per shard (i = 0, 6, 12, 18, 24).
    assert (ray_summary.read, ray_summary.written) == (procs.read, procs.written) == (180, 150)
    assert ray_summary.rejects_file is not None and procs.rejects_file is not None
    assert ray_summary.rejects_file.read_bytes() == procs.rejects_file.read_bytes()


def test_cli_joins_a_running_cluster_with_ray_address(tmp_path: Path, ray_cluster) -> None:
    src = make_shards(tmp_path / "in", shards=3, docs=4)
    result = CliRunner().invoke(
        cli,
        [
            *("-q", "convert", str(src), str(tmp_path / "out"), "--format", "jsonl"),
            *("--backend", "ray", "--ray-address", gcs_address(ray_cluster)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "convert: 12 documents read = 12 written + 0 rejected (3 shards)" in result.output
    lines = (tmp_path / "out" / "part-001.jsonl").read_text().splitlines()
    assert [line.split('"')[3] for line in lines] == ["s1-0", "s1-1", "s1-2", "s1-3"]


def test_ray_address_without_the_ray_backend_is_refused(tmp_path: Path) -> None:
    src = make_shards(tmp_path / "in", shards=1, docs=1)
    result = CliRunner().invoke(
        cli, ["convert", str(src), str(tmp_path / "out"), "--ray-address", "auto"]
    )
    assert result.exit_code == 1
    assert result.output == "Error: --ray-address needs --backend ray\n"


def test_input_errors_reach_the_caller_unwrapped(tmp_path: Path, ray_cluster) -> None:
    src = make_shards(tmp_path / "in", shards=2, docs=3, bad_every=2)
    with pytest.raises(InputError, match=r"^\S*part-00[01]\.jsonl\.zst:2: invalid JSON"):
        convert(
            [str(src)],
            tmp_path / "out",
            "jsonl",
            run_options=RunOptions(backend=make_backend("ray"), on_error="fail", progress=False),
        )


def _die_once_then_copy(job: ShardJob, rejects: Rejects) -> ShardResult:
    """Copy the input's lines; the first attempt at shard 'b' kills its own worker midway."""
    marker: Path = job.options
    result = ShardResult(job.key, stats=None)
    with JsonlWriter(job.outputs[0]) as out:
        for i, line in enumerate(job.input.read_text().splitlines()):
            if job.key == "b" and i == 2 and not marker.exists():
                marker.write_text(str(os.getpid()))
                os.kill(os.getpid(), signal.SIGKILL)
            out.write_line(line.encode())
            result.read += 1
    result.written = result.read
    return result


def test_a_killed_worker_is_retried_and_the_output_is_unchanged(
    tmp_path: Path, ray_cluster
) -> None:
    inputs = {}
    for key in "abc":
        inputs[key] = tmp_path / "in" / f"{key}.jsonl"
        write_lines(inputs[key], make_docs(5, prefix=key))

    def run(out: Path, backend: Any, marker: Path) -> Any:
        jobs = [ShardJob(k, p, (out / f"{k}.jsonl",), marker) for k, p in inputs.items()]
        return run_shards(
            "copy",
            jobs,
            _die_once_then_copy,
            record_dir=out / ".records",
            config={},
            stats=type(None),
            options=RunOptions(backend=backend, progress=False),
        )

    serial_marker = tmp_path / "serial-marker"
    serial_marker.write_text("never die")
    run(tmp_path / "serial", SerialBackend(), serial_marker)
    marker = tmp_path / "marker"
    summary = run(tmp_path / "ray", make_backend("ray"), marker)
    killed_pid = int(marker.read_text())
    assert killed_pid != os.getpid()
    assert (summary.read, summary.written) == (15, 15)
    assert tree_digest(tmp_path / "ray") == tree_digest(tmp_path / "serial")
    assert len(tree_digest(tmp_path / "serial")) == 3
    assert not list((tmp_path / "ray").glob(".*tmp-*"))


def _always_die(job: ShardJob, rejects: Rejects) -> ShardResult:
    with job.options.open("a") as attempts:
        attempts.write(f"{os.getpid()}\n")
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


def test_a_shard_whose_worker_always_dies_stops_the_run_with_its_name(
    tmp_path: Path, ray_cluster
) -> None:
    src = tmp_path / "doomed.jsonl"
    write_lines(src, make_docs(2))
    attempts = tmp_path / "attempts"
    job = ShardJob("doomed", src, (tmp_path / "out.jsonl",), attempts)
    with pytest.raises(DolmakitError, match=r"^shard doomed: the Ray worker died 4 times"):
        run_shards(
            "die",
            [job],
            _always_die,
            record_dir=tmp_path / "records",
            config={},
            stats=type(None),
            options=RunOptions(backend=make_backend("ray"), progress=False),
        )
    assert len(set(attempts.read_text().split())) == 4  # 1 attempt + 3 retries, new workers
    assert not (tmp_path / "records" / "doomed.done.json").exists()


def _count_slowly(n: int) -> int:
    for _ in range(n):
        advance(1, 100)
        time.sleep(0.001)
    return n


def test_progress_totals_come_back_from_tasks(ray_cluster) -> None:
    ticks: list[tuple[int, int]] = []
    backend = make_backend("ray")
    results = dict(
        backend.map(_count_slowly, [300, 200, 100, 400], lambda d, b: ticks.append((d, b)))
    )
    assert results == {0: 300, 1: 200, 2: 100, 3: 400}
    assert ticks[-1] == (1000, 100_000)
    assert [d for d, _ in ticks] == sorted(d for d, _ in ticks)


def _count_then_die_once(marker: Path) -> str:
    advance(100, 1000)
    time.sleep(0.2)  # let the first report reach the actor before the worker dies
    if not marker.exists():
        marker.write_text("died")
        os.kill(os.getpid(), signal.SIGKILL)
    return "done"


def test_a_retried_shard_is_not_counted_twice(tmp_path: Path, ray_cluster) -> None:
    ticks: list[tuple[int, int]] = []
    marker = tmp_path / "marker"
    backend = make_backend("ray")
    results = list(backend.map(_count_then_die_once, [marker], lambda *t: ticks.append(t)))
    assert results == [(0, "done")]
    assert marker.read_text() == "died"
    assert ticks[-1] == (100, 1000)
    assert max(ticks) == (100, 1000)


_probe_instances = 0


class _Probe:
    """Stands in for a tagger with a heavy model: counts how often it is built per process."""

    def __init__(self) -> None:
        global _probe_instances
        _probe_instances += 1
        time.sleep(0.05)


@functools.cache
def _load_probe() -> _Probe:
    return _Probe()


def _which_worker(_: int) -> tuple[int, int, int]:
    from dolmakit.taggers.base import load_tagger

    _load_probe()
    tagger = load_tagger("lengths")
    return os.getpid(), _probe_instances, id(tagger)


def test_workers_are_reused_so_models_load_once_per_worker(ray_cluster) -> None:
    importlib.import_module("dolmakit.taggers.rules.lengths")
    results = [r for _, r in make_backend("ray").map(_which_worker, list(range(24)))]
    pids = {pid for pid, _, _ in results}
    assert len(pids) < 24, "Ray reused no worker process"
    assert {instances for _, instances, _ in results} == {1}
    # load_tagger hands every task of a worker the same instance.
    assert len({(pid, tagger) for pid, _, tagger in results}) == len(pids)


def test_a_killed_driver_reruns_from_completed_shards(tmp_path: Path, ray_cluster) -> None:
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
    cmd = [sys.executable, "-m", "dolmakit", "-q", "convert", str(src), str(out)]
    cmd += ["--format", "jsonl.gz", "--backend", "ray", "--ray-address", gcs_address(ray_cluster)]
    proc = subprocess.Popen(cmd, start_new_session=True)
    records = out / ".dolmakit" / "convert"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(records.glob("*.done.json")):
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # Tasks already running may still finish after their driver died; wait for them to settle.
    time.sleep(1.0)
    finished = len(list(records.glob("*.done.json")))
    assert 0 < finished < 16, "the kill must land mid-run"

    rerun = subprocess.run(cmd, capture_output=True, text=True, check=True)
    skipped = int(rerun.stderr.split("(16 shards, ")[1].split(" already complete")[0])
    assert skipped >= finished
    assert tree_digest(out) == tree_digest(reference)
    assert not list(out.rglob(".*tmp-*"))
