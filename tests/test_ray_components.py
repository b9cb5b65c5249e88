"""Distributed connected components equal the single-node union-find, locally and on Ray."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest
from conftest_ray import ray_cluster
from hypothesis import given, settings
from hypothesis import strategies as st

from dolmakit.dedup.clustering import components
from dolmakit.dedup.distributed import (
    collect,
    distributed_components,
    partition_of,
)
from dolmakit.errors import DolmakitError
from dolmakit.run.backends import SerialBackend, make_backend
from dolmakit.run.options import RunOptions

__all__ = ["ray_cluster"]  # the session fixture, imported so that pytest finds it

edge_lists = st.lists(
    st.tuples(st.integers(0, 40), st.integers(0, 40)).filter(lambda e: e[0] != e[1]),
    max_size=80,
)


def as_edges(pairs: list[tuple[int, int]]) -> np.ndarray:
    return np.array(pairs, dtype=np.uint64).reshape(-1, 2)


def test_a_hand_computed_graph() -> None:
    # Components {3, 5, 9} (path 9-5-3), {4, 7}, {10, 11, 12} (triangle); 1 and 2 in no edge.
    edges = as_edges([(9, 5), (5, 3), (7, 4), (10, 12), (12, 11), (11, 10)])
    parts = distributed_components([edges[:2], edges[2:]], partitions=3)
    nodes, labels = collect(parts)
    assert nodes.tolist() == [3, 4, 5, 7, 9, 10, 11, 12]
    assert labels.tolist() == [3, 4, 3, 4, 3, 10, 10, 10]
    # Every component lies whole in the partition of its label, sorted by (label, node).
    for j, (part_nodes, part_labels) in enumerate(parts):
        assert all(partition_of(part_labels, 3) == j)
        assert list(zip(part_labels.tolist(), part_nodes.tolist(), strict=True)) == sorted(
            zip(part_labels.tolist(), part_nodes.tolist(), strict=True)
        )


@settings(max_examples=150, deadline=None)
@given(edge_lists, st.integers(1, 5), st.integers(1, 6), st.randoms(use_true_random=False))
def test_equals_the_local_union_find(pairs, blocks, partitions, rnd) -> None:
    rnd.shuffle(pairs)
    edges = as_edges(pairs)
    split = np.array_split(edges, blocks)
    nodes, labels = collect(distributed_components(split, partitions, SerialBackend()))
    want_nodes, want_labels = components(edges)
    assert nodes.tolist() == want_nodes.tolist()
    assert labels.tolist() == want_labels.tolist()


def test_self_loops_are_ignored_and_empty_input_gives_empty_partitions() -> None:
    nodes, labels = collect(distributed_components([as_edges([(2, 2), (3, 1)])], 2))
    assert (nodes.tolist(), labels.tolist()) == ([1, 3], [1, 1])
    parts = distributed_components([], 4)
    assert len(parts) == 4 and all(len(n) == 0 for n, _ in parts)
    with pytest.raises(DolmakitError, match="partitions must be at least 1"):
        distributed_components([as_edges([(0, 1)])], 0)


def long_shuffled_graph(seed: int) -> np.ndarray:
    """A 3,000-node path in random node order plus random cliques: many rounds needed."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(3000).astype(np.uint64)
    path = np.stack([order[:-1], order[1:]], axis=1)
    cliques = [
        np.array([(a, b) for a in members for b in members if a < b], dtype=np.uint64)
        for members in (rng.choice(np.arange(5000, 6000), size=6, replace=False) for _ in range(40))
    ]
    edges = np.concatenate([path, *cliques])
    return edges[rng.permutation(len(edges))]


def test_on_ray_from_npz_files_equals_the_local_union_find(tmp_path: Path, ray_cluster) -> None:
    edges = long_shuffled_graph(seed=7)
    paths = []
    for i, block in enumerate(np.array_split(edges, 5)):
        paths.append(str(tmp_path / f"edges-{i:04d}.npz"))
        np.savez(paths[-1], pairs=block)
    backend = make_backend("ray")
    parts = distributed_components(paths, partitions=4, backend=backend)
    assert all(isinstance(ref, ray_cluster.ObjectRef) for ref in parts)
    nodes, labels = collect(parts, backend)
    want_nodes, want_labels = components(edges)
    assert np.array_equal(nodes, want_nodes)
    assert np.array_equal(labels, want_labels)
    assert set(labels[nodes < 3000].tolist()) == {0}


def test_on_a_dedup_run_equals_its_union_find(tmp_path: Path, ray_cluster, monkeypatch) -> None:
    """Read the edge files of a real MinHash run on Ray and compare with the stage's own step."""
    stage = importlib.import_module("dolmakit.dedup.stage")
    from test_ray_stages import demo_dataset

    seen: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    local_cluster = stage._cluster

    def cluster_both_ways(shards, work, *rest):
        files = sorted(str(p) for p in Path(work).glob("edges-*.npz"))
        assert len(files) > 1
        backend = make_backend("ray")
        nodes, labels = collect(distributed_components(files, 3, backend), backend)
        verified = []
        for f in files:
            with np.load(f) as data:
                verified.append(data["pairs"][data["verified"]].reshape(-1, 2))
        want_nodes, want_labels = components(np.concatenate(verified).astype(np.uint64))
        seen.append((nodes, labels, want_nodes, want_labels))
        return local_cluster(shards, work, *rest)

    monkeypatch.setattr(stage, "_cluster", cluster_both_ways)
    ds = demo_dataset(tmp_path / "ds")
    summary = stage.dedup_minhash([ds / "documents"], run_options=RunOptions(progress=False))
    ((nodes, labels, want_nodes, want_labels),) = seen
    assert summary.clusters > 0
    assert len(np.unique(labels)) == summary.clusters
    assert np.array_equal(nodes, want_nodes) and np.array_equal(labels, want_labels)
