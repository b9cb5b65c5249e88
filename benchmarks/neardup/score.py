"""Score dolmakit's MinHash dedup on the near-duplicate benchmark against its exact truth.

Usage::

    python benchmarks/neardup/score.py /tmp/neardup [--thresholds 0.7,0.8,0.9] [--json out.json]

For each threshold and verification mode it runs `dedup_minhash` on the benchmark and reports:
- pair recall: of the pairs with exact Jaccard >= t (and >= t + 0.05), the share whose two
  documents end up in one cluster;
- removal precision: of the removed documents, the share whose exact Jaccard with a keeper
  of their cluster is >= t (recentering keeps several); cluster-pair precision: of all
  pairs inside clusters, the share >= t;
- document precision / recall: removed documents that have a true partner (Jaccard >= t);
  documents with a true partner that are in a cluster;
- detection probability vs Jaccard: the share of truth pairs per Jaccard bin that LSH made
  candidates (any band equal), next to the theoretical 1 - (1 - s^r)^b averaged over the bin.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from dolmakit.dedup import MinHashConfig, dedup_minhash  # noqa: E402
from dolmakit.dedup.index import SignatureStore, read_index  # noqa: E402
from dolmakit.dedup.lsh import band_keys, collision_probability  # noqa: E402
from dolmakit.run.backends import make_backend  # noqa: E402
from dolmakit.run.options import RunOptions  # noqa: E402

BINS = np.round(np.arange(0.3, 1.0001, 0.05), 2)


def score(bench: Path, threshold: float, verify: str = "exact", workers: int = 1) -> dict[str, Any]:
    """Run dedup on the benchmark at `threshold` and return its scores."""
    import pyarrow.parquet as pq

    truth = np.load(bench / "truth.npz")
    pairs, ids = truth["pairs"], list(truth["ids"])
    position = {doc_id: i for i, doc_id in enumerate(ids)}
    jac = {(int(i), int(j)): float(x) for i, j, x in pairs}
    run = f"bench_{verify}_{int(threshold * 100)}"
    report = bench / "attributes" / run / ".dolmakit"
    shutil.rmtree(bench / "attributes" / run, ignore_errors=True)
    config = MinHashConfig(threshold=threshold, verify=verify)  # type: ignore[arg-type]
    summary = dedup_minhash(
        [bench / "documents"],
        run,
        config,
        run_options=RunOptions(backend=make_backend("processes", workers), progress=False),
    )
    table = pq.read_table(report / "clusters.parquet").to_pylist()
    cluster_of = np.full(len(ids), -1, dtype=np.int64)
    keepers_of: dict[int, list[int]] = {}
    removed: list[int] = []
    members: dict[int, list[int]] = {}
    for row in table:
        i = position[row["id"]]
        cluster_of[i] = row["cluster"]
        members.setdefault(row["cluster"], []).append(i)
        if row["keeper"]:
            keepers_of.setdefault(row["cluster"], []).append(i)
        if row["removed"]:
            removed.append(i)

    def j_of(a: int, b: int) -> float:
        return jac.get((min(a, b), max(a, b)), 0.0)

    out: dict[str, Any] = {"threshold": threshold, "verify": verify, "documents": len(ids)}
    out["bands"], out["rows"] = summary.extra["bands"], summary.extra["rows"]
    for label, floor in (("recall", threshold), ("recall_plus_0.05", threshold + 0.05)):
        true = pairs[pairs["jaccard"] >= floor]
        same = (cluster_of[true["i"]] >= 0) & (cluster_of[true["i"]] == cluster_of[true["j"]])
        out[label] = float(same.mean()) if len(true) else 1.0
        out[label + "_pairs"] = len(true)
    # A removed document is justified by a kept one of its cluster within the threshold
    # (`--chaining recenter` keeps several per cluster).
    good = [any(j_of(i, k) >= threshold for k in keepers_of[cluster_of[i]]) for i in removed]
    out["removal_precision"] = float(np.mean(good)) if good else 1.0
    inside = [
        j_of(a, b) >= threshold
        for group in members.values()
        for x, a in enumerate(group)
        for b in group[x + 1 :]
    ]
    out["cluster_pair_precision"] = float(np.mean(inside)) if inside else 1.0
    partnered = np.zeros(len(ids), dtype=bool)
    strong = pairs[pairs["jaccard"] >= threshold]
    partnered[strong["i"]] = True
    partnered[strong["j"]] = True
    out["doc_precision"] = float(partnered[removed].mean()) if removed else 1.0
    out["doc_recall"] = float((cluster_of[partnered] >= 0).mean()) if partnered.any() else 1.0
    out["removed"] = len(removed)
    out["clusters"] = summary.clusters
    out["chained_clusters"] = summary.chained_clusters
    out["detection"] = detection(report, pairs, out["bands"], out["rows"], config)
    return out


def detection(
    report: Path, pairs: np.ndarray, bands: int, rows: int, config: MinHashConfig
) -> list[dict[str, float]]:
    """Return, per Jaccard bin, the measured LSH candidate rate and the theoretical one."""
    shards = read_index(report / "index", config.resolved().signature_fields())
    store = SignatureStore(shards)
    numbers_i = pairs["i"].astype(np.uint64)  # one shard: document number = row
    numbers_j = pairs["j"].astype(np.uint64)
    keys_i = band_keys(store.signatures(numbers_i), bands, rows)
    keys_j = band_keys(store.signatures(numbers_j), bands, rows)
    hit = np.any(keys_i == keys_j, axis=1)
    out = []
    for lo, hi in itertools.pairwise(BINS):
        pick = (pairs["jaccard"] >= lo) & (pairs["jaccard"] < (hi if hi < 1 else 1.0001))
        if not pick.any():
            continue
        theory = collision_probability(pairs["jaccard"][pick], bands, rows).mean()
        out.append(
            {"bin": f"{lo:.2f}-{hi:.2f}", "pairs": int(pick.sum()),
             "measured": float(hit[pick].mean()), "theory": float(theory)}
        )  # fmt: skip
    return out


def markdown(results: list[dict[str, Any]]) -> str:
    """Return the results as Markdown tables."""
    lines = [
        "| threshold | verify | b x r | recall (J>=t) | recall (J>=t+0.05) | removal precision"
        " | cluster-pair precision | doc precision | doc recall | removed | chained |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['threshold']} | {r['verify']} | {r['bands']} x {r['rows']} | {r['recall']:.4f}"
            f" ({r['recall_pairs']}) | {r['recall_plus_0.05']:.4f} ({r['recall_plus_0.05_pairs']})"
            f" | {r['removal_precision']:.4f} | {r['cluster_pair_precision']:.4f}"
            f" | {r['doc_precision']:.4f} | {r['doc_recall']:.4f} | {r['removed']}"
            f" | {r['chained_clusters']} |"
        )
    for r in results:
        if r["verify"] != "exact":
            continue
        title = f"Detection probability at threshold {r['threshold']}"
        shape = f"({r['bands']} bands x {r['rows']} rows):"
        lines += ["", f"{title} {shape}", "", "| Jaccard | pairs | measured | theory |"]
        lines.append("|---|---|---|---|")
        for d in r["detection"]:
            lines.append(f"| {d['bin']} | {d['pairs']} | {d['measured']:.3f} | {d['theory']:.3f} |")
    return "\n".join(lines)


def main() -> None:
    """Score from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bench", type=Path)
    parser.add_argument("--thresholds", default="0.7,0.8,0.9")
    parser.add_argument("--verify", default="exact,estimate,none")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    results = [
        score(args.bench, float(t), v, args.workers)
        for t in args.thresholds.split(",")
        for v in args.verify.split(",")
    ]
    print(markdown(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
