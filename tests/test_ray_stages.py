"""Stages on Ray write the same bytes as on the process pool (one small dataset per backend)."""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from conftest import DEMO_CORPUS
from conftest_ray import ray_cluster
from test_runner import tree_digest

from dolmakit.run.backends import ProcessBackend, make_backend
from dolmakit.run.options import RunOptions

__all__ = ["ray_cluster"]  # the session fixture, imported so that pytest finds it

# A few demo shards in four sources and two languages; python-mirror holds exact and near
# copies of python-doc documents, so that deduplication has clusters to find.
DEMO_FILES = (
    "debian-handbook/de-0000",
    "fortunes/en-0000",
    "python-doc/en-0000",
    "python-mirror/en-0000",
)


def demo_dataset(root: Path) -> Path:
    """Copy a few demo corpus shards to root/documents and return root."""
    for name in DEMO_FILES:
        src = DEMO_CORPUS / f"{name}.jsonl.zst"
        dest = root / "documents" / f"{name}.jsonl.zst"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    return root


def on_both_backends(tmp_path: Path, run) -> tuple[Path, Path]:
    """Run `run(dataset, backend)` on a fresh copy per backend; return the two datasets."""
    ray_ds = demo_dataset(tmp_path / "ray")
    procs_ds = demo_dataset(tmp_path / "procs")
    run(ray_ds, make_backend("ray"))
    run(procs_ds, ProcessBackend(2))
    return ray_ds, procs_ds


def test_tag_on_ray_gives_the_bytes_of_the_process_pool(tmp_path: Path, ray_cluster) -> None:
    tagging = importlib.import_module("dolmakit.taggers.stage")

    def run(ds: Path, backend) -> None:
        summary = tagging.tag(
            [ds / "documents"],
            "quality",
            "gopher_quality,fineweb,lengths",
            run_options=RunOptions(backend=backend, progress=False),
        )
        assert summary.read == summary.written > 0

    ray_ds, procs_ds = on_both_backends(tmp_path, run)
    ray_attrs = tree_digest(ray_ds / "attributes")
    assert ray_attrs == tree_digest(procs_ds / "attributes")
    assert sorted(ray_attrs) == [f"quality/{name}.jsonl.zst" for name in sorted(DEMO_FILES)]


def test_dedup_on_ray_gives_the_bytes_of_the_process_pool(tmp_path: Path, ray_cluster) -> None:
    dedup = importlib.import_module("dolmakit.dedup")
    summaries = {}

    def run(ds: Path, backend) -> None:
        exact = dedup.dedup_exact(
            [ds / "documents"], run_options=RunOptions(backend=backend, progress=False)
        )
        near = dedup.dedup_minhash(
            [ds / "documents"], run_options=RunOptions(backend=backend, progress=False)
        )
        # python-mirror copies python-doc: both methods must have found something to mark.
        assert exact.removed > 0 and near.removed > 0 and near.clusters > 0
        summaries[backend.name] = near.to_dict()

    ray_ds, procs_ds = on_both_backends(tmp_path, run)
    ray_attrs = tree_digest(ray_ds / "attributes")
    assert ray_attrs == tree_digest(procs_ds / "attributes")
    runs = sorted({name.split("/")[0] for name in ray_attrs})
    assert runs == ["dedup_exact", "dedup_minhash"]
    assert len(ray_attrs) == 2 * len(DEMO_FILES)
    # On Ray, connected components ran as Ray tasks (distributed_components), elsewhere the
    # local union-find; clusters, counts and keepers are the same.
    report = Path("attributes") / "dedup_minhash" / ".dolmakit"
    recorded = {
        name: json.loads((ds / report / "summary.json").read_text())
        for name, ds in (("ray", ray_ds), ("processes", procs_ds))
    }
    for name, how in (("ray", "distributed"), ("processes", "local")):
        assert recorded[name].pop("clustering") == summaries[name].pop("clustering") == how
    assert summaries["ray"]["clusters"] > 0
    assert summaries["ray"] == summaries["processes"]
    assert recorded["ray"] == recorded["processes"]
    # clusters.parquet names each member's file by its absolute path: compare below the dataset.
    tables = [
        pq.read_table(ds / report / "clusters.parquet").to_pylist() for ds in (ray_ds, procs_ds)
    ]
    for rows, ds in zip(tables, (ray_ds, procs_ds), strict=True):
        for row in rows:
            assert row["path"].startswith(f"{ds}/documents/")
            row["path"] = row["path"][len(str(ds)) :]
    assert len(tables[0]) == recorded["ray"]["documents_in_clusters"] > 0
    assert tables[0] == tables[1]


def test_dedup_on_ray_runs_connected_components_as_ray_tasks(
    tmp_path: Path, ray_cluster, monkeypatch
) -> None:
    stage = importlib.import_module("dolmakit.dedup.stage")
    distributed = importlib.import_module("dolmakit.dedup.distributed")
    calls = []
    real = distributed.distributed_components

    def spy(edge_blocks, partitions, backend=None):
        calls.append((list(edge_blocks), partitions, type(backend).__name__))
        return real(edge_blocks, partitions, backend)

    def no_local_union_find(edges):
        raise AssertionError("the Ray backend must not run the single-node union-find")

    monkeypatch.setattr(stage, "distributed_components", spy)
    monkeypatch.setattr(stage, "components", no_local_union_find)
    ds = demo_dataset(tmp_path / "ds")
    summary = stage.dedup_minhash(
        [ds / "documents"], run_options=RunOptions(backend=make_backend("ray"), progress=False)
    )
    # The tasks got the paths of the 16 partitions' edge files, never the edges themselves.
    ((blocks, partitions, backend),) = calls
    assert backend == "RayBackend" and partitions == 16
    assert [Path(b).name for b in blocks] == [f"edges-{p:04d}.npz" for p in range(16)]
    assert summary.to_dict()["clustering"] == "distributed" and summary.clusters > 0
    # The same dataset again with the local union-find: the same bytes, clusters.parquet too.
    monkeypatch.undo()
    report = ds / "attributes" / "dedup_minhash" / ".dolmakit"
    distributed_files = tree_digest(ds / "attributes")
    distributed_clusters = (report / "clusters.parquet").read_bytes()
    shutil.rmtree(ds / "attributes")
    local = stage.dedup_minhash(
        [ds / "documents"], run_options=RunOptions(backend=ProcessBackend(2), progress=False)
    )
    assert local.to_dict()["clustering"] == "local"
    assert tree_digest(ds / "attributes") == distributed_files
    assert (report / "clusters.parquet").read_bytes() == distributed_clusters


MIX_SPEC = """
name: raytest
version: 1
seed: 11
tokenizer: cl100k_base
sources:
  - name: python
    documents: [documents/python-doc/*.jsonl.zst, documents/python-mirror/*.jsonl.zst]
    attributes: [quality, dedup_exact]
    filter: not exact.duplicate
    weight: 0.6
  - name: rest
    documents: [documents/fortunes/*.jsonl.zst, documents/debian-handbook/*.jsonl.zst]
    attributes: [quality]
    filter: gopher_quality.pass == 1
    weight: 0.4
    max_repeats: 2
output:
  format: jsonl.zst
  shard_size: 64KB
"""


def test_mix_on_ray_gives_the_bytes_of_the_process_pool(tmp_path: Path, ray_cluster) -> None:
    import json

    tagging = importlib.import_module("dolmakit.taggers.stage")
    dedup = importlib.import_module("dolmakit.dedup")
    mix_build = importlib.import_module("dolmakit.mix.build")
    ds = demo_dataset(tmp_path / "ds")
    tagging.tag(
        [ds / "documents"], "quality", "gopher_quality", run_options=RunOptions(progress=False)
    )
    dedup.dedup_exact([ds / "documents"], run_options=RunOptions(progress=False))
    (ds / "spec.yaml").write_text(MIX_SPEC)
    outputs = {}
    for name, backend in [("ray", make_backend("ray")), ("procs", ProcessBackend(2))]:
        result = mix_build.build_mix(
            ds / "spec.yaml",
            data_root=ds,
            output=tmp_path / name,
            run_options=RunOptions(backend=backend, progress=False),
        )
        outputs[name] = tmp_path / name / "raytest" / "v1"
        assert result.manifest_path == outputs[name] / "manifest.json"
    ray_files = tree_digest(outputs["ray"])
    procs_files = tree_digest(outputs["procs"])
    assert len([k for k in ray_files if k.startswith("shard-")]) >= 2
    manifests = [json.loads((outputs[n] / "manifest.json").read_text()) for n in ("ray", "procs")]
    # Only the timing section (when, how long, which backend) may differ.
    assert [m.pop("timing")["backend"] for m in manifests] == ["ray", "processes"]
    assert manifests[0] == manifests[1]
    del ray_files["manifest.json"], procs_files["manifest.json"]
    assert ray_files == procs_files


def test_clustering_on_ray_honours_workers_and_gives_the_bytes_of_the_process_pool(
    tmp_path: Path, ray_cluster
) -> None:
    stage = importlib.import_module("dolmakit.dedup.stage")
    options = importlib.import_module("dolmakit.run.options")
    ds = demo_dataset(tmp_path / "ds")
    report = ds / "attributes" / "dedup_minhash" / ".dolmakit"
    # The session's Ray has 2 CPUs: with --workers 1 at most one clustering task may be
    # submitted and unfinished at any time (a task not yet submitted cannot run).
    ray_backend: Any = make_backend("ray", 1)
    assert ray_backend.workers == 1
    summary = stage.dedup_minhash(
        [ds / "documents"], run_options=options.RunOptions(ray_backend, progress=False)
    )
    assert summary.to_dict()["clustering"] == "distributed" and summary.clusters > 0
    assert ray_backend.peak_tasks == 1
    on_ray = tree_digest(ds / "attributes")
    clusters_on_ray = (report / "clusters.parquet").read_bytes()
    shutil.rmtree(ds / "attributes")
    local = stage.dedup_minhash(
        [ds / "documents"], run_options=options.RunOptions(ProcessBackend(2), progress=False)
    )
    assert local.to_dict()["clustering"] == "local"
    assert tree_digest(ds / "attributes") == on_ray
    assert (report / "clusters.parquet").read_bytes() == clusters_on_ray
    # With 2 workers, two tasks run at once: the cap is the count asked for, not always 1.
    distributed = importlib.import_module("dolmakit.dedup.distributed")
    two: Any = make_backend("ray", 2)
    edges = np.array([[i, i + 1] for i in range(0, 400, 2)], dtype=np.uint64)
    nodes, labels = distributed.collect(
        distributed.distributed_components(np.array_split(edges, 8), 4, two), two
    )
    assert two.peak_tasks == 2
    assert np.array_equal(labels, nodes - nodes % 2)
