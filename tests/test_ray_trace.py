"""`dolmakit index --backend ray` writes the bytes of the process pool, through the CLI too."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner
from conftest_ray import ray_cluster
from test_trace_index import SMALL_SHARDS, index_bytes, make_mix

from dolmakit.cli.main import cli
from dolmakit.run.backends import ProcessBackend, make_backend
from dolmakit.run.options import RunOptions

__all__ = ["ray_cluster"]  # the session fixture, imported so that pytest finds it


def test_index_on_ray_gives_the_bytes_of_the_process_pool(tmp_path: Path, ray_cluster) -> None:
    from dolmakit.trace import build_index

    on_ray = make_mix(tmp_path / "ray")
    on_pool = make_mix(tmp_path / "pool")
    quiet = RunOptions(progress=False)
    ray = replace(quiet, backend=make_backend("ray"))
    result = build_index(on_ray, SMALL_SHARDS, run_options=ray)
    build_index(on_pool, SMALL_SHARDS, run_options=replace(quiet, backend=ProcessBackend(2)))
    # one Ray task per mix shard, then one per index shard
    assert result.runs[0].shards == len(list(on_ray.glob("shard-*"))) >= 2
    assert result.runs[1].shards == len(result.manifest["shards"]) >= 3
    assert index_bytes(on_ray) == index_bytes(on_pool)


def test_the_index_command_runs_on_ray(tmp_path: Path, ray_cluster) -> None:
    mix_dir = make_mix(tmp_path)
    args = ["-q", "index", str(mix_dir), "--shard-size", "300KB", "--backend", "ray"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("index: ")
    reference = make_mix(tmp_path / "reference")
    serial = ["-q", "index", str(reference), "--shard-size", "300KB", "--backend", "serial"]
    assert CliRunner().invoke(cli, serial).exit_code == 0
    assert index_bytes(mix_dir) == index_bytes(reference)
