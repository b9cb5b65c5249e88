"""Connected components over partitioned edges without gathering them on one node.

The alternating large-star / small-star algorithm (Kiveris et al., "Connected Components in
MapReduce and Beyond", SoCC 2014) as rounds of tasks over hash partitions of the nodes:

- prepare (one task per input edge block): contract the block locally with the single-node
  union-find (`clustering.components`), which leaves a star per local component, and route
  each star edge to the partitions of both its ends;
- large-star (one task per node partition): every node u links each larger neighbour to
  m(u) = min(u, neighbours of u);
- small-star: every node u links itself and each smaller neighbour to the smallest of them.

The graph is a forest of stars centred on each component's smallest node exactly when every
node is a centre (no smaller neighbour) or a leaf (one neighbour, smaller); each large-star
task checks this for its nodes, and the rounds stop when all report it. The labels (smallest
node of the component, as `clustering.components` gives) come out partitioned by a hash of
the label, so every component sits whole in one partition, sorted by (label, node).

Self-loops carry no connectivity and are ignored: the nodes are those of edges (u, v), u != v.
Memory per task is that of its partition's edges; the driver only holds references and one
boolean per task per round. Tasks run on any backend (`Backend.submit`/`get`): on Ray as Ray
tasks, at most `workers` at a time; on the local backends in-process (tests, small runs).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dolmakit.dedup.clustering import components
from dolmakit.errors import DolmakitError
from dolmakit.io.arrays import load_npz
from dolmakit.run.backends import Backend, SerialBackend

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
# Each round at least halves the number of non-star edges in practice; the bound in the paper
# is O(log^2 n) rounds, far below this for any graph that fits in 2**64 node numbers.
MAX_ROUNDS = 200
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def partition_of(nodes: U64, partitions: int) -> I64:
    """Return each node's partition: a multiplicative hash, so neighbours spread out."""
    with np.errstate(over="ignore"):
        mixed = nodes.astype(np.uint64) * _GOLDEN
    result: I64 = ((mixed >> np.uint64(32)) % np.uint64(partitions)).astype(np.int64)
    return result


def distributed_components(
    edge_blocks: Sequence[Any], partitions: int, backend: Backend | None = None
) -> list[Any]:
    """Return per partition references to (nodes, labels) arrays, sorted by (label, node).

    `edge_blocks` are (E x 2) uint64 arrays, references to them, or paths of `.npz` files
    holding one under `pairs` (and optionally a boolean `verified` mask), the files the dedup
    stage writes per band partition; a file is read by the task that needs it. The label of
    a node is the smallest node of its component; the union over partitions equals
    `clustering.components` of all edges.
    """
    if partitions < 1:
        raise DolmakitError(f"partitions must be at least 1, got {partitions}")
    run = backend or SerialBackend()
    p = partitions
    if not edge_blocks:
        return [run.submit(_gather_labels, (), 1)[0] for _ in range(p)]
    routed = [run.submit(_prepare, (p, block), p) for block in edge_blocks]
    for _ in range(MAX_ROUNDS):
        large = [run.submit(_large_star, (p, *_column(routed, j)), p + 2) for j in range(p)]
        if not any(run.get(out[p]) for out in large):
            by_label = [run.submit(_route_labels, (p, out[p + 1]), p) for out in large]
            return [run.submit(_gather_labels, _column(by_label, j), 1)[0] for j in range(p)]
        routed = [run.submit(_small_star, (p, *_column(large, j)), p) for j in range(p)]
    raise DolmakitError(f"connected components did not converge in {MAX_ROUNDS} rounds")


def collect(parts: Sequence[Any], backend: Backend | None = None) -> tuple[U64, U64]:
    """Gather partitioned (nodes, labels) into one pair sorted by node (tests, small runs)."""
    run = backend or SerialBackend()
    blocks = [run.get(ref) for ref in parts]
    nodes = np.concatenate([b[0] for b in blocks]) if blocks else np.empty(0, np.uint64)
    labels = np.concatenate([b[1] for b in blocks]) if blocks else np.empty(0, np.uint64)
    order = np.argsort(nodes, kind="stable")
    return nodes[order], labels[order]


def _column(outputs: Sequence[Sequence[Any]], j: int) -> list[Any]:
    return [out[j] for out in outputs]


def _empty_pairs() -> U64:
    return np.empty((0, 2), dtype=np.uint64)


def _load(block: U64 | str | Path) -> U64:
    """Return an edge block; from a file, only its `verified` pairs if it marks them."""
    if isinstance(block, str | Path):
        with load_npz(block) as data:
            pairs: U64 = data["pairs"].reshape(-1, 2)
            if "verified" in data.files:
                pairs = pairs[data["verified"]]
        return pairs.astype(np.uint64, copy=False)
    return np.asarray(block, dtype=np.uint64).reshape(-1, 2)


def _route(pairs: U64, partitions: int) -> list[U64]:
    """Split rows (u, v) by the partition of u."""
    if not len(pairs):
        return [_empty_pairs() for _ in range(partitions)]
    part = partition_of(pairs[:, 0], partitions)
    order = np.argsort(part, kind="stable")
    bounds = np.cumsum(np.bincount(part, minlength=partitions))[:-1]
    return list(np.split(pairs[order], bounds))


def _unique_rows(blocks: Sequence[U64]) -> U64:
    """Concatenate row blocks and return the distinct rows sorted by (first, second)."""
    pairs = np.concatenate([b.reshape(-1, 2) for b in blocks]) if blocks else _empty_pairs()
    if not len(pairs):
        return _empty_pairs()
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    pairs = pairs[order]
    keep = np.concatenate(([True], np.any(pairs[1:] != pairs[:-1], axis=1)))
    result: U64 = pairs[keep]
    return result


def _groups(first: U64) -> tuple[I64, I64]:
    """Return (starts, sizes) of the runs of equal values in a sorted array."""
    starts = np.flatnonzero(np.concatenate(([True], first[1:] != first[:-1])))
    sizes = np.diff(np.append(starts, len(first)))
    return starts.astype(np.int64), sizes.astype(np.int64)


def _both_ways(pairs: U64) -> U64:
    return np.concatenate([pairs, pairs[:, ::-1]])


def _prepare(partitions: int, block: U64 | str | Path) -> list[U64]:
    """Contract one edge block to stars (node, smallest local node); route both directions."""
    edges = _load(block)
    edges = edges[edges[:, 0] != edges[:, 1]]
    nodes, labels = components(edges)
    leaf = nodes != labels
    stars = np.stack([nodes[leaf], labels[leaf]], axis=1)
    return _route(_both_ways(stars), partitions)


def _large_star(partitions: int, *blocks: U64) -> list[Any]:
    """Link every larger neighbour of u to m(u); report whether the graph is not yet stars.

    Input rows (u, v): v is a neighbour of u, u in this partition, every edge both ways.
    Returns the next round's blocks (routed for small-star), the flag, and rows (u, m(u)).
    """
    pairs = _unique_rows(blocks)
    if not len(pairs):
        return [*_route(pairs, partitions), False, _empty_pairs()]
    u, v = pairs[:, 0], pairs[:, 1]
    starts, sizes = _groups(u)
    nodes = u[starts]
    smallest_neighbour = np.minimum.reduceat(v, starts)
    m = np.minimum(nodes, smallest_neighbour)
    centre = smallest_neighbour > nodes
    leaf = (sizes == 1) & (smallest_neighbour < nodes)
    not_stars = not bool(np.all(centre | leaf))
    larger = v > u
    out = np.stack([v[larger], np.repeat(m, sizes)[larger]], axis=1)  # (x, m), m < x
    return [*_route(out, partitions), not_stars, np.stack([nodes, m], axis=1)]


def _small_star(partitions: int, *blocks: U64) -> list[U64]:
    """Link u and each smaller neighbour of u to the smallest of them.

    Input rows (u, v) with v < u, routed by u. Output: every edge both ways, routed for the
    next large-star.
    """
    pairs = _unique_rows(blocks)
    if not len(pairs):
        return _route(pairs, partitions)
    u, v = pairs[:, 0], pairs[:, 1]
    starts, sizes = _groups(u)
    m = np.repeat(v[starts], sizes)  # rows are sorted by (u, v): the first v is the smallest
    moved = v != m
    out = np.concatenate(
        [np.stack([v[moved], m[moved]], axis=1), np.stack([u[starts], v[starts]], axis=1)]
    )
    return _route(_both_ways(out), partitions)


def _route_labels(partitions: int, rows: U64) -> list[U64]:
    """Split rows (node, label) by the partition of the label."""
    return [block[:, ::-1] for block in _route(rows[:, ::-1], partitions)]


def _gather_labels(*blocks: U64) -> list[tuple[U64, U64]]:
    """Merge this partition's (node, label) rows into (nodes, labels) sorted by (label, node)."""
    rows = np.concatenate(blocks) if blocks else _empty_pairs()
    order = np.lexsort((rows[:, 0], rows[:, 1]))
    return [(rows[order, 0], rows[order, 1])]
