"""Benchmark dolmakit's rule taggers against Dolma 1.2.1 and datatrove 0.10.1, same documents.

Usage::

    python benchmarks/bench_taggers.py --corpus /tmp/bench50        # an existing dataset root
    python benchmarks/bench_taggers.py --size 200MB --corpus /tmp/bench200   # build it first

Runs, on `<corpus>/documents`, each with `--workers` processes (default 2):

* `--pairs`, side by side with Dolma 1.2.1 (`dolma tag`, benchmarks/peers.py venv), for
  `--repeat` rounds, the side that goes first alternating between rounds:
  - rules: dolmakit lengths + gopher_quality + gopher_repetition + c4 vs Dolma `gopher_v1`
    (both Gopher rule sets in one tagger), `c4_v2`, `char_length_v1`;
  - pii: dolmakit `pii` vs Dolma `pii_regex_with_counts_fast_v2` (not like for like:
    docs/benchmarks-taggers.md says what each detects); pii_like: dolmakit `pii` limited to
    the kinds Dolma's looks for (e-mail, IPv4, phone);
  - issue: both sets at once, the issue's Dolma set.
  The speed-ups divide the medians over the rounds (CPU seconds and wall seconds).
* `--runs`, once, dolmakit only: bench_rules (the web recipe's six rule taggers) and
  bench_vs_datatrove (gopher_quality + c4 + fineweb).
* datatrove (`--peers datatrove`): JsonlReader -> filter -> JsonlWriter, once per filter so
  that each filter sees every document (in one pipeline Gopher drops most documents before C4
  and FineWeb see them); the sum of the three pipeline times is compared with
  bench_vs_datatrove. The chained run is reported too.

Every figure includes reading the documents and writing the output (attribute files for
dolmakit and Dolma, kept documents for datatrove). Per-core rates divide by the workers.
CPU seconds (user + system of the run and its worker processes, from getrusage) are reported
too for dolmakit and Dolma: on a shared, loaded machine they are far steadier than wall time.
Prints a Markdown table and writes `--json` (default `<corpus>/bench_taggers.json`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

from dolmakit.run.options import RunOptions
from dolmakit.taggers.recipes import TaggerSpec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

RULES = ("lengths", "gopher_quality", "gopher_repetition", "c4", "fineweb", "ldnoobw")
VS_DOLMA = ("lengths", "gopher_quality", "gopher_repetition", "c4")
VS_DATATROVE = ("gopher_quality", "c4", "fineweb")
DOLMA_TAGGERS = ("gopher_v1", "c4_v2", "char_length_v1")
DOLMA_PII = ("pii_regex_with_counts_fast_v2",)
PII_LIKE_DOLMA = TaggerSpec("pii", {"kinds": ["email", "ipv4", "phone"]})
# name -> (label, dolmakit run and taggers, Dolma taggers): the rule sets compared with Dolma.
PAIRS: dict[str, tuple[str, str, tuple[str | TaggerSpec, ...], tuple[str, ...]]] = {
    "rules": ("+".join(VS_DOLMA), "bench_vs_dolma", VS_DOLMA, DOLMA_TAGGERS),
    "pii": ("pii", "bench_pii", ("pii",), DOLMA_PII),
    # The kinds Dolma's fast regex tagger looks for: e-mail, phone, IPv4 (dolmakit validates).
    "pii_like": ("pii email+ipv4+phone", "bench_pii_like", (PII_LIKE_DOLMA,), DOLMA_PII),
    "issue": (
        "+".join((*VS_DOLMA, "pii")),
        "bench_issue",
        (*VS_DOLMA, "pii"),
        DOLMA_TAGGERS + DOLMA_PII,
    ),
}


def corpus_size(documents: Path) -> tuple[int, int]:
    """Return (documents, UTF-8 bytes of text) of every document file under `documents`."""
    from dolmakit.io.paths import expand_inputs
    from dolmakit.io.reader import read_documents

    docs = nbytes = 0
    for path in expand_inputs([documents]):
        for _, doc in read_documents(path):
            docs += 1
            nbytes += len(doc.text.encode("utf-8", "surrogatepass"))
    return docs, nbytes


def time_dolmakit(
    documents: Path, run: str, taggers: tuple[str | TaggerSpec, ...], workers: int
) -> float:
    """Tag with dolmakit on a process pool (no resume); return wall seconds."""
    from dolmakit.run.backends import ProcessBackend
    from dolmakit.taggers.stage import tag

    shutil.rmtree(documents.parent / "attributes" / run, ignore_errors=True)
    backend = ProcessBackend(workers)
    start = time.perf_counter()
    try:
        summary = tag(
            [documents],
            run,
            list(taggers),
            run_options=RunOptions(backend=backend, progress=False, resume=False),
        )
    finally:
        backend.close()  # the workers exit and are reaped, so their CPU time is counted
    seconds = time.perf_counter() - start
    assert summary.rejected_total == 0, summary.lines()
    return seconds


def cpu_seconds() -> float:
    """Return the CPU seconds (user + system) of this process and its reaped children so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def row(
    name: str, seconds: float, docs: int, nbytes: int, workers: int, cpu: float | None = None
) -> dict[str, float | str]:
    """Return one result row with per-core rates (wall-clock over workers, and CPU time)."""
    out: dict[str, float | str] = {
        "what": name,
        "seconds": round(seconds, 2),
        "docs_per_s_per_core": round(docs / seconds / workers),
        "mb_per_s_per_core": round(nbytes / 1e6 / seconds / workers, 2),
    }
    if cpu is not None:  # CPU time is what a loaded machine distorts least
        out["cpu_seconds"] = round(cpu, 2)
        out["mb_per_cpu_s"] = round(nbytes / 1e6 / cpu, 2)
    return out


def versions() -> dict[str, str]:
    """Return the versions of the tools compared, and the machine."""
    from importlib.metadata import version

    out = {
        "python": platform.python_version(),
        "dolmakit": version("dolmakit"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
    }
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        out["cpu"] = cpu
    except (OSError, StopIteration):
        pass
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="dataset root (has documents/)")
    ap.add_argument("--size", default=None, help="build the corpus first, e.g. 200MB")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-peers", action="store_true", help="only dolmakit")
    ap.add_argument(
        "--peers",
        default="dolma,datatrove",
        help="peers to run, comma-separated (datatrove takes ~10x longer than Dolma)",
    )
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--runs",
        default="bench_rules,bench_vs_datatrove",
        help="dolmakit-only runs (once): bench_rules,bench_vs_datatrove ('' for none)",
    )
    ap.add_argument(
        "--pairs",
        default="rules,pii,issue",
        help="dolmakit-vs-Dolma pairs, run side by side each round: rules,pii,pii_like,issue",
    )
    ap.add_argument("--repeat", type=int, default=1, help="rounds of the pairs, sides alternating")
    args = ap.parse_args(argv)
    corpus: Path = args.corpus.resolve()
    if args.size:
        subprocess.run(
            [
                sys.executable,
                str(HERE / "build_corpus.py"),
                "--size",
                args.size,
                "--out",
                str(corpus),
                "--workers",
                str(args.workers),
            ],
            check=True,
        )
    documents = corpus / "documents"
    docs, nbytes = corpus_size(documents)
    workers = args.workers
    results: list[dict[str, float | str]] = []
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for label, run, taggers in (
        ("dolmakit: all rule taggers (web recipe rules)", "bench_rules", RULES),
        ("dolmakit: gopher_quality+c4+fineweb", "bench_vs_datatrove", VS_DATATROVE),
    ):
        if run not in args.runs.split(","):
            continue
        before = cpu_seconds()
        timings[run] = time_dolmakit(documents, run, taggers, workers)
        cpu[run] = cpu_seconds() - before
        results.append(row(label, timings[run], docs, nbytes, workers, cpu[run]))
        print(results[-1], flush=True)
    wanted = set() if args.skip_peers else set(args.peers.split(","))
    pairs = [PAIRS[name] for name in args.pairs.split(",") if name]
    rounds: dict[str, list[tuple[float, float]]] = {}  # side -> [(wall, cpu)] per round
    for r in range(args.repeat):
        for pair in pairs:
            label, run, taggers, dolma_taggers = pair
            sides = [("dolmakit", run), ("dolma", run)]
            if r % 2:  # alternate which side goes first
                sides.reverse()
            for side, name in sides:
                if side == "dolma" and "dolma" not in wanted:
                    continue
                before = cpu_seconds()
                if side == "dolmakit":
                    wall = time_dolmakit(documents, name, taggers, workers)
                    what = f"dolmakit: {label}"
                else:
                    import peers

                    glob = str(documents / "**" / "*.jsonl.zst")
                    wall = peers.run_dolma_tag(glob, dolma_taggers, processes=workers)
                    what = f"Dolma 1.2.1: {' '.join(dolma_taggers)}"
                used = cpu_seconds() - before
                rounds.setdefault(f"{side}:{name}", []).append((wall, used))
                results.append({**row(what, wall, docs, nbytes, workers, used), "round": r + 1})
                print(results[-1], flush=True)
    speedups: dict[str, float] = {}
    for _, run, _, _ in pairs:
        ours, theirs = rounds.get(f"dolmakit:{run}"), rounds.get(f"dolma:{run}")
        if ours and theirs:
            speedups[f"{run}_cpu_median"] = round(
                median(c for _, c in theirs) / median(c for _, c in ours), 2
            )
            speedups[f"{run}_wall_median"] = round(
                median(w for w, _ in theirs) / median(w for w, _ in ours), 2
            )
            timings[run] = median(w for w, _ in ours)
    peer_info: dict[str, object] = {}
    if "datatrove" in wanted:
        import peers

        per_filter = 0.0
        for name in ("gopher", "c4", "fineweb"):
            summary: dict[str, object] = {}
            peers.run_datatrove_filters(
                documents,
                corpus / f"dt_{name}",
                filters=(name,),
                tasks=workers,
                workers=workers,
                summary=summary,
            )
            seconds = float(summary["seconds"])  # type: ignore[arg-type]
            per_filter += seconds
            peer_info[f"datatrove_{name}"] = summary
            results.append(
                row(f"datatrove 0.10.1: {name} filter alone", seconds, docs, nbytes, workers)
            )
            print(results[-1], flush=True)
        timings["datatrove"] = per_filter
        results.append(
            row(
                "datatrove 0.10.1: gopher+c4+fineweb (sum of the three)",
                per_filter,
                docs,
                nbytes,
                workers,
            )
        )
        chained: dict[str, object] = {}
        peers.run_datatrove_filters(
            documents, corpus / "dt_chain", tasks=workers, workers=workers, summary=chained
        )
        peer_info["datatrove_chained"] = chained
        results.append(
            row(
                "datatrove 0.10.1: gopher->c4->fineweb chained (drops as it goes)",
                float(chained["seconds"]),
                docs,
                nbytes,
                workers,
            )
        )  # type: ignore[arg-type]
        for run in ("dt_gopher", "dt_c4", "dt_fineweb", "dt_chain"):
            shutil.rmtree(corpus / run, ignore_errors=True)
    if "datatrove" in timings and "bench_vs_datatrove" in timings:
        speedups["vs_datatrove"] = round(timings["datatrove"] / timings["bench_vs_datatrove"], 2)
    report = {
        "corpus": str(corpus),
        "documents": docs,
        "text_bytes": nbytes,
        "workers": workers,
        "versions": versions(),
        "results": results,
        "speedups": speedups,
        "peers": peer_info,
    }
    out = args.json or corpus / "bench_taggers.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\n{docs:,} documents, {nbytes / 1e6:.1f} MB of text, {workers} workers\n")
    print("| round | what | seconds | docs/s/core | MB/s/core | CPU s | MB per CPU s |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.get('round', '')} | {r['what']} | {r['seconds']} | {r['docs_per_s_per_core']:,} "
            f"| {r['mb_per_s_per_core']} | {r.get('cpu_seconds', '')} "
            f"| {r.get('mb_per_cpu_s', '')} |"
        )
    print(f"\nspeed-ups on shared rule sets: {speedups}\nwritten to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
