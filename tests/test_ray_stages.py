"""Stages on Ray write the same bytes as on the process pool (one small dataset per backend)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dolmakit.backends import ProcessBackend, make_backend
from tests.conftest import DEMO_CORPUS
from tests.conftest_ray import ray_cluster
from tests.test_runner import tree_digest

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
    tagging = pytest.importorskip("dolmakit.tagging")

    def run(ds: Path, backend) -> None:
        summary = tagging.tag(
            [ds / "documents"],
            "quality",
            "gopher_quality,fineweb,lengths",
            backend=backend,
            progress=False,
        )
        assert summary.read == summary.written > 0

    ray_ds, procs_ds = on_both_backends(tmp_path, run)
    ray_attrs = tree_digest(ray_ds / "attributes")
    assert ray_attrs == tree_digest(procs_ds / "attributes")
    assert sorted(ray_attrs) == [f"quality/{name}.jsonl.zst" for name in sorted(DEMO_FILES)]


def test_dedup_on_ray_gives_the_bytes_of_the_process_pool(tmp_path: Path, ray_cluster) -> None:
    dedup = pytest.importorskip("dolmakit.dedup")

    def run(ds: Path, backend) -> None:
        exact = dedup.dedup_exact([ds / "documents"], backend=backend, progress=False)
        near = dedup.dedup_minhash([ds / "documents"], backend=backend, progress=False)
        # python-mirror copies python-doc: both methods must have found something to mark.
        assert exact.removed > 0 and near.removed > 0 and near.clusters > 0

    ray_ds, procs_ds = on_both_backends(tmp_path, run)
    ray_attrs = tree_digest(ray_ds / "attributes")
    assert ray_attrs == tree_digest(procs_ds / "attributes")
    runs = sorted({name.split("/")[0] for name in ray_attrs})
    assert runs == ["dedup_exact", "dedup_minhash"]
    assert len(ray_attrs) == 2 * len(DEMO_FILES)


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

    tagging = pytest.importorskip("dolmakit.tagging")
    dedup = pytest.importorskip("dolmakit.dedup")
    mix_build = pytest.importorskip("dolmakit.mix.build")
    ds = demo_dataset(tmp_path / "ds")
    tagging.tag([ds / "documents"], "quality", "gopher_quality", progress=False)
    dedup.dedup_exact([ds / "documents"], progress=False)
    (ds / "spec.yaml").write_text(MIX_SPEC)
    outputs = {}
    for name, backend in [("ray", make_backend("ray")), ("procs", ProcessBackend(2))]:
        result = mix_build.build_mix(
            ds / "spec.yaml", data_root=ds, output=tmp_path / name, backend=backend, progress=False
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
