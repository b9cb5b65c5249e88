"""Score MinHash dedup runs (dolmakit and datatrove) on an exact-Jaccard ground truth at scale.

Usage (after `bench_dedup_peers.py` has run both tools on CORPUS and kept their outputs)::

    python benchmarks/bench_dedup_truth.py /tmp/ddb/c1530MB --out /tmp/dd2/truth \
        --datatrove /tmp/dolmakit-dedup-peers/dt-split \
        --dolmakit /tmp/dolmakit-dedup-peers/dolmakit-0.8 [--dolmakit ...] \
        [--datatrove-shingles]

**Pairs that matter.** Every pair of documents that either the corpus builder or a tool links:

* all pairs inside each builder family (a distinct document and every copy whose
  `metadata.bench.of` names it, edited or not);
* datatrove: every candidate pair it wrote in its `buckets/*.dups` files (what it clusters),
  and every removed document with the member of its cluster that it kept;
* dolmakit: every cluster member with every keeper of its cluster (`clusters.parquet`; one
  keeper per cluster unless `--chaining recenter`).

**Exact Jaccard** of each such pair, by brute force over the two shingle sets: shingles are the
issue's word 5-grams after dolmakit's normalisation (NFKC, lower case, punctuation and symbols
to spaces, digits to 0, whitespace split, unspaced scripts one character per token), each
shingle the space-joined tokens hashed with 64-bit xxh3 (not the 32-bit key hash dolmakit
uses, so the truth does not inherit its shortcuts). With `--datatrove-shingles` the same pairs
are also scored with datatrove's own shingles (`MinhashDedupSignature.get_shingles`: its
`simplify_text`, `str.split` words, 5-grams, 64-bit xxhash), computed in the datatrove venv.
Documents without shingles have Jaccard 0 with everything.

**Truth at threshold t.** The truth graph links two documents when their Jaccard is >= t. In
each connected component C of it, |C| - 1 documents should be removed; which ones is not
prescribed (tools keep different members). Scores of a tool's set of removed documents:

* `precision` / `recall`: right = sum over components of min(removed in C, |C| - 1);
  precision = right / removed, recall = right / sum(|C| - 1) (the builder-truth formula of
  bench_dedup_peers.py with Jaccard components as clusters);
* `strict_precision`: share of removed documents with a truth partner (Jaccard >= t) that
  the tool kept (a removal whose every near copy was removed too counts as wrong);
* `pair_recall`: share of truth pairs in which at least one document was removed.

Pairs with Jaccard >= t that no tool linked and that are not a builder family are not in the
truth (both tools miss them). Prints one JSON line per (shingling, t, tool), then a table.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from multiprocessing import Pool
from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt
import zstandard

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SHIFT = np.uint64(20)  # document numbers are < 2**20 in a pair key (a << 20 | b)
SENTINEL = 0xFFFFFFFF
NGRAM = 5


def _files(corpus: Path) -> list[Path]:
    return sorted(p for p in (corpus / "documents").rglob("*.jsonl.zst") if p.is_file())


def _docs(path: Path) -> Iterator[dict]:
    with open(path, "rb") as raw:
        reader = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(raw), "utf-8")
        for line in reader:
            yield msgspec.json.decode(line)


def _meta_of(path: Path) -> tuple[list[str], list[str]]:
    ids, of = [], []
    for doc in _docs(path):
        ids.append(doc["id"])
        of.append(doc["metadata"]["bench"].get("of", doc["id"]))
    return ids, of


def load_meta(corpus: Path, cache: Path) -> tuple[list[str], npt.NDArray[np.int64], list[Path]]:
    """Return document ids in canonical order, each one's builder root number, and the files."""
    files = _files(corpus)
    if (cache / "meta.json").exists():
        saved = msgspec.json.decode((cache / "meta.json").read_bytes())
        return saved["ids"], np.load(cache / "roots.npy"), files
    with Pool(2) as pool:
        parts = pool.map(_meta_of, files)
    ids = [i for part in parts for i in part[0]]
    number = {d: k for k, d in enumerate(ids)}
    roots = np.array([number[o] for part in parts for o in part[1]], dtype=np.int64)
    offsets = np.cumsum([0] + [len(p[0]) for p in parts]).tolist()
    (cache / "meta.json").write_bytes(msgspec.json.encode({"ids": ids, "file_offsets": offsets}))
    np.save(cache / "roots.npy", roots)
    return ids, roots, files


def _pair_keys(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    lo, hi = np.minimum(a, b).astype(np.uint64), np.maximum(a, b).astype(np.uint64)
    keys = (lo << SHIFT) | hi
    return keys[lo != hi]


def family_pairs(roots: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """All pairs inside each builder family (root plus its copies)."""
    order = np.argsort(roots, kind="stable")
    sorted_roots = roots[order]
    starts = np.flatnonzero(np.r_[True, sorted_roots[1:] != sorted_roots[:-1]])
    sizes = np.diff(np.r_[starts, len(roots)])
    out = []
    for start, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(), strict=True):
        members = order[start : start + size]
        i, j = np.triu_indices(size, 1)
        out.append(_pair_keys(members[i], members[j]))
    return np.unique(np.concatenate(out)) if out else np.empty(0, np.uint64)


def _components(n: int, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.int32]:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    a = (keys >> SHIFT).astype(np.int64)
    b = (keys & np.uint64((1 << 20) - 1)).astype(np.int64)
    graph = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n)).tocsr()
    return connected_components(graph, directed=False)[1].astype(np.int32)


def _with_partner(
    labels: npt.NDArray[np.int32], removed: npt.NDArray[np.bool_]
) -> npt.NDArray[np.uint64]:
    """Pairs of each removed document with the kept member of its component (if any)."""
    members = np.flatnonzero(np.bincount(labels)[labels] > 1)
    kept = members[~removed[members]]
    keeper = np.full(labels.max() + 1, -1, dtype=np.int64)
    keeper[labels[kept]] = kept
    gone = members[removed[members]]
    partner = keeper[labels[gone]]
    ok = partner >= 0
    return _pair_keys(gone[ok], partner[ok])


def datatrove_run(work: Path, file_offsets: list[int], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Return datatrove's removed flags and linked pairs from its work folder."""
    edges = []
    for path in sorted((work / "buckets").glob("*.dups")):
        rows = np.fromfile(path, dtype="<u4").reshape(-1, 4).astype(np.int64)
        rows = rows[(rows[:, 0] != SENTINEL) & (rows[:, 2] != SENTINEL)]
        offsets = np.asarray(file_offsets, dtype=np.int64)
        edges.append(_pair_keys(offsets[rows[:, 0]] + rows[:, 1], offsets[rows[:, 2]] + rows[:, 3]))
    keys = np.unique(np.concatenate(edges))
    removed = np.zeros(n, dtype=bool)
    for path in (work / "remove").glob("*.remove"):
        docs = np.fromfile(path, dtype="<u4").astype(np.int64)
        removed[file_offsets[int(path.stem)] + docs] = True
    labels = _components(n, keys)
    return removed, np.union1d(keys, _with_partner(labels, removed))


def dolmakit_run(
    saved: Path, files: list[Path], file_offsets: list[int], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return dolmakit's removed flags and member-keeper pairs from a saved clusters.parquet."""
    import pyarrow.parquet as pq

    table = pq.read_table(saved / "clusters.parquet").to_pydict()
    start = {str(p): o for p, o in zip(files, file_offsets, strict=False)}
    number = np.array(
        [start[p] + line - 1 for p, line in zip(table["path"], table["line"], strict=True)],
        dtype=np.int64,
    )
    cluster = np.asarray(table["cluster"], dtype=np.int64)
    keeper_flag = np.asarray(table["keeper"], dtype=bool)
    removed = np.zeros(n, dtype=bool)
    removed[number[np.asarray(table["removed"], dtype=bool)]] = True
    # Each member with every keeper of its cluster (--chaining recenter keeps several).
    keepers = np.flatnonzero(keeper_flag)
    by_cluster = keepers[np.argsort(cluster[keepers], kind="stable")]
    first = np.searchsorted(cluster[by_cluster], cluster, "left")
    count = np.searchsorted(cluster[by_cluster], cluster, "right") - first
    member = np.repeat(np.arange(len(number)), count)
    mate = by_cluster[np.repeat(first - (np.cumsum(count) - count), count) + np.arange(count.sum())]
    return removed, _pair_keys(number[member], number[mate])


def _xxh3_sets(job: tuple[str, list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct xxh3-64 hashes of the space-joined 5-gram shingles of chosen lines."""
    import xxhash

    from dolmakit.dedup.normalize import batch_token_bytes

    path, lines = job
    wanted = set(lines)
    texts = [d["text"] for k, d in enumerate(_docs(Path(path))) if k in wanted]
    values, sizes = [], []
    for start in range(0, len(texts), 1024):
        for words in batch_token_bytes(texts[start : start + 1024]):
            if not words:
                values.append(np.empty(0, np.uint64))
                sizes.append(0)
                continue
            width = min(NGRAM, len(words))
            grams = [b" ".join(words[i : i + width]) for i in range(len(words) - width + 1)]
            hashes = np.unique(np.fromiter(map(xxhash.xxh3_64_intdigest, grams), np.uint64))
            values.append(hashes)
            sizes.append(len(hashes))
    flat = np.concatenate(values) if values else np.empty(0, np.uint64)
    return flat, np.asarray(sizes, dtype=np.int64)


def _pick(
    values: np.ndarray, offsets: np.ndarray, at: npt.NDArray[np.int64]
) -> tuple[np.ndarray, np.ndarray]:
    """Return the sets at positions `at`, concatenated, and their offsets."""
    sizes = offsets[at + 1] - offsets[at]
    first = np.repeat(offsets[at] - (np.cumsum(sizes) - sizes), sizes)
    return values[first + np.arange(int(sizes.sum()))], np.r_[0, np.cumsum(sizes)].astype(np.int64)


def _compute_sets(
    files: list[Path], file_offsets: list[int], wanted: npt.NDArray[np.int64], kind: str,
    cache: Path,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    jobs = []
    for k, path in enumerate(files):
        lo, hi = np.searchsorted(wanted, [file_offsets[k], file_offsets[k + 1]])
        jobs.append((str(path), (wanted[lo:hi] - file_offsets[k]).tolist()))
    if kind == "dolmakit":
        with Pool(2) as pool:
            parts = pool.map(_xxh3_sets, jobs)
    else:
        from peers import ensure_venv

        shutil.rmtree(cache / "dt-parts", ignore_errors=True)
        (cache / "jobs.json").write_text(json.dumps(jobs))
        subprocess.run(
            [str(ensure_venv("datatrove")),
             str(ROOT / "benchmarks/peer_scripts/datatrove_shingles.py"),
             str(cache / "jobs.json"), str(cache / "dt-parts")],
            check=True,
        )  # fmt: skip
        parts = []
        for k in range(len(jobs)):
            saved = np.load(cache / "dt-parts" / f"{k:05d}.npz")
            parts.append((saved["values"], saved["sizes"]))
    values = np.concatenate([p[0] for p in parts])
    offsets = np.r_[0, np.cumsum(np.concatenate([p[1] for p in parts]))].astype(np.int64)
    return values, offsets


def shingle_sets(
    files: list[Path], file_offsets: list[int], involved: npt.NDArray[np.int64], kind: str,
    cache: Path,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Return (values, offsets) of the involved documents' shingle sets, in `involved` order.

    Sets are cached in `cache/sets-KIND.npz`; only documents missing from it are computed.
    """
    target = cache / f"sets-{kind}.npz"
    have = np.empty(0, np.int64)
    values, offsets = np.empty(0, np.uint64), np.zeros(1, np.int64)
    if target.exists():
        saved = np.load(target)
        have, values, offsets = saved["involved"], saved["values"], saved["offsets"]
    missing = np.setdiff1d(involved, have)
    if len(missing):
        new_values, new_offsets = _compute_sets(files, file_offsets, missing, kind, cache)
        order = np.argsort(np.r_[have, missing], kind="stable")
        values = np.r_[values, new_values]
        offsets = np.r_[offsets[:-1], new_offsets + offsets[-1]]
        have = np.r_[have, missing][order]
        values, offsets = _pick(values, offsets, order)
        np.savez(target, values=values, offsets=offsets, involved=have)
    return _pick(values, offsets, np.searchsorted(have, involved))


def jaccard_pairs(
    values: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray
) -> npt.NDArray[np.float64]:
    """Exact Jaccard of sets a[i] and b[i] (positions into offsets), by counting common values.

    The 64-bit hashes are first renumbered densely (np.unique), so each value fits in 32 bits
    next to a 32-bit pair tag; in each chunk both sides' tagged values are sorted together and
    a value present in both sets appears twice in a row.
    """
    _, dense = np.unique(values, return_inverse=True)
    dense = dense.astype(np.uint64)
    sizes = np.diff(offsets)
    out = np.zeros(len(a), dtype=np.float64)
    step = 200_000
    for lo in range(0, len(a), step):
        pa, pb = a[lo : lo + step], b[lo : lo + step]
        tags, gathered = [], []
        for side in (pa, pb):
            n = sizes[side]
            tag = np.repeat(np.arange(len(side), dtype=np.uint64), n)
            first = np.repeat(offsets[side] - (np.cumsum(n) - n), n)
            gathered.append(dense[first + np.arange(int(n.sum()))])
            tags.append(tag)
        keys = np.concatenate(
            [(tags[0] << np.uint64(32)) | gathered[0], (tags[1] << np.uint64(32)) | gathered[1]]
        )
        keys.sort()
        twice = keys[1:][keys[1:] == keys[:-1]]
        common = np.bincount((twice >> np.uint64(32)).astype(np.int64), minlength=len(pa))
        union = sizes[pa] + sizes[pb] - common
        np.divide(common, union, out=out[lo : lo + len(pa)], where=union > 0)
    return out


def score(
    n: int, truth: npt.NDArray[np.uint64], labels: npt.NDArray[np.int32], removed: np.ndarray
) -> dict[str, float | int]:
    """Scores of one tool's removed flags against truth pairs and their components."""
    sizes = np.bincount(labels)
    should = int((sizes[sizes > 1] - 1).sum())
    removed_in = np.bincount(labels[removed], minlength=len(sizes))
    right = int(np.minimum(removed_in, np.maximum(sizes - 1, 0)).sum())
    a = (truth >> SHIFT).astype(np.int64)
    b = (truth & np.uint64((1 << 20) - 1)).astype(np.int64)
    partnered = np.zeros(n, dtype=bool)
    partnered[a[removed[a] & ~removed[b]]] = True
    partnered[b[removed[b] & ~removed[a]]] = True
    total = int(removed.sum())
    return {
        "removed": total,
        "should_remove": should,
        "right": right,
        "precision": round(right / total, 4) if total else 1.0,
        "recall": round(right / should, 4) if should else 1.0,
        "strict_precision": round(int(partnered.sum()) / total, 4) if total else 1.0,
        "pair_recall": round(float((removed[a] | removed[b]).mean()), 4) if len(a) else 1.0,
        "truth_pairs": len(a),
    }


def builder_score(roots: npt.NDArray[np.int64], removed: np.ndarray) -> dict[str, float]:
    """Precision/recall against the builder's families (bench_dedup_peers.py's formula)."""
    sizes = np.bincount(roots, minlength=len(roots))
    removed_in = np.bincount(roots[removed], minlength=len(roots))
    right = int(np.minimum(removed_in, np.maximum(sizes - 1, 0)).sum())
    total, allowed = int(removed.sum()), int(np.maximum(sizes - 1, 0).sum())
    return {
        "builder_precision": round(right / total, 4),
        "builder_recall": round(right / allowed, 4),
    }


def main() -> None:
    """Build the pairs, their exact Jaccard, and score every run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="cache and results folder")
    parser.add_argument("--datatrove", type=Path, action="append", default=[])
    parser.add_argument("--dolmakit", type=Path, action="append", default=[])
    parser.add_argument("--datatrove-shingles", action="store_true")
    parser.add_argument("--thresholds", default="0.7,0.8,0.85,0.9")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    clock = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - clock:7.1f}s] {message}", file=sys.stderr, flush=True)

    ids, roots, files = load_meta(args.corpus, args.out)
    n = len(ids)
    file_offsets = msgspec.json.decode((args.out / "meta.json").read_bytes())["file_offsets"]
    log(f"{n} documents in {len(files)} files")
    runs: dict[str, np.ndarray] = {}
    linked = [family_pairs(roots)]
    log(f"{len(linked[0])} builder family pairs")
    for work in args.datatrove:
        removed, pairs = datatrove_run(work, file_offsets, n)
        listed = set(Path(work / "removed_ids.txt").read_text().split())
        assert listed == {ids[k] for k in np.flatnonzero(removed)}, "datatrove mapping is wrong"
        runs[f"datatrove {work.name}"] = removed
        linked.append(pairs)
        log(f"datatrove {work.name}: {int(removed.sum())} removed, {len(pairs)} linked pairs")
    for saved in args.dolmakit:
        removed, pairs = dolmakit_run(saved, files, file_offsets, n)
        listed = set(Path(saved / "removed_ids.txt").read_text().split())
        assert listed == {ids[k] for k in np.flatnonzero(removed)}, "dolmakit mapping is wrong"
        runs[f"dolmakit {saved.name}"] = removed
        linked.append(pairs)
        log(f"dolmakit {saved.name}: {int(removed.sum())} removed, {len(pairs)} linked pairs")
    pairs = np.unique(np.concatenate(linked))
    a = (pairs >> SHIFT).astype(np.int64)
    b = (pairs & np.uint64((1 << 20) - 1)).astype(np.int64)
    involved = np.unique(np.r_[a, b])
    log(f"{len(pairs)} pairs over {len(involved)} documents")
    thresholds = [float(t) for t in args.thresholds.split(",")]
    kinds = ["dolmakit"] + (["datatrove"] if args.datatrove_shingles else [])
    rows = []
    for kind in kinds:
        values, offsets = shingle_sets(files, file_offsets, involved, kind, args.out)
        log(f"{kind} shingles: {len(values)} values")
        where_a, where_b = np.searchsorted(involved, a), np.searchsorted(involved, b)
        similarity = jaccard_pairs(values, offsets, where_a, where_b)
        np.save(args.out / f"jaccard-{kind}.npy", similarity)
        np.save(args.out / "pairs.npy", pairs)
        log(f"{kind} Jaccard of {len(pairs)} pairs; >= 0.8: {int((similarity >= 0.8).sum())}")
        for t in thresholds:
            truth = pairs[similarity >= t]
            labels = _components(n, truth)
            for name, removed in runs.items():
                row = {"shingles": kind, "t": t, "tool": name, **score(n, truth, labels, removed),
                       **builder_score(roots, removed)}  # fmt: skip
                rows.append(row)
                print(json.dumps(row), flush=True)
    print("| shingles | truth t | tool | removed | should remove | precision | recall "
          "| strict precision | pair recall |")  # fmt: skip
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['shingles']} | {r['t']} | {r['tool']} | {r['removed']:,} | "
              f"{r['should_remove']:,} | {r['precision']:.3f} | {r['recall']:.3f} | "
              f"{r['strict_precision']:.3f} | {r['pair_recall']:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
