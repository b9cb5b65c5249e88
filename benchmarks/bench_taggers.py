"""Benchmark dolmakit's rule taggers against Dolma 1.2.1 and datatrove 0.10.1, same documents.

Usage::

    python benchmarks/bench_taggers.py --corpus /tmp/bench50        # an existing dataset root
    python benchmarks/bench_taggers.py --size 200MB --corpus /tmp/bench200   # build it first

Runs, on `<corpus>/documents`, each with `--workers` processes (default 2) and timed wall-clock:

* dolmakit `tag` with the web recipe's rule taggers (lengths, gopher_quality,
  gopher_repetition, c4, fineweb, ldnoobw), and with the subsets the peers share:
  - vs Dolma: lengths + gopher_quality + gopher_repetition + c4
    (Dolma `gopher_v1` computes both Gopher rule sets, `c4_v2`, `char_length_v1`);
  - vs datatrove: gopher_quality + c4 + fineweb (its Gopher quality, C4 and FineWeb filters).
* Dolma `dolma tag --taggers gopher_v1 c4_v2 char_length_v1` (benchmarks/peers.py venv).
* datatrove JsonlReader -> filter -> JsonlWriter, once per filter so that each filter sees
  every document (in one pipeline Gopher drops most documents before C4 and FineWeb see them);
  the sum of the three pipeline times is compared. The chained run is reported too.

Every figure includes reading the documents and writing the output (attribute files for
dolmakit and Dolma, kept documents for datatrove). Per-core rates divide by the workers.
CPU seconds (user + system of the run and its worker processes, from getrusage) are reported
too for dolmakit and Dolma: on a shared, loaded machine they are far steadier than wall time.
`--runs` limits the dolmakit runs, `--peers` the peers.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

RULES = ("lengths", "gopher_quality", "gopher_repetition", "c4", "fineweb", "ldnoobw")
VS_DOLMA = ("lengths", "gopher_quality", "gopher_repetition", "c4")
VS_DATATROVE = ("gopher_quality", "c4", "fineweb")
DOLMA_TAGGERS = ("gopher_v1", "c4_v2", "char_length_v1")


def corpus_size(documents: Path) -> tuple[int, int]:
    """Return (documents, UTF-8 bytes of text) of every document file under `documents`."""
    from dolmakit.paths import expand_inputs
    from dolmakit.reader import read_documents

    docs = nbytes = 0
    for path in expand_inputs([documents]):
        for _, doc in read_documents(path):
            docs += 1
            nbytes += len(doc.text.encode("utf-8", "surrogatepass"))
    return docs, nbytes


def time_dolmakit(documents: Path, run: str, taggers: tuple[str, ...], workers: int) -> float:
    """Tag with dolmakit on a process pool (no resume); return wall seconds."""
    from dolmakit.backends import ProcessBackend
    from dolmakit.tagging import tag

    shutil.rmtree(documents.parent / "attributes" / run, ignore_errors=True)
    start = time.perf_counter()
    summary = tag(
        [documents],
        run,
        list(taggers),
        backend=ProcessBackend(workers),
        resume=False,
        progress=False,
    )
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
        default="",
        help="dolmakit runs only: bench_rules,bench_vs_dolma,bench_vs_datatrove",
    )
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
        ("dolmakit: lengths+gopher_quality+gopher_repetition+c4", "bench_vs_dolma", VS_DOLMA),
        ("dolmakit: gopher_quality+c4+fineweb", "bench_vs_datatrove", VS_DATATROVE),
    ):
        if args.runs and run not in args.runs.split(","):
            continue
        before = cpu_seconds()
        timings[run] = time_dolmakit(documents, run, taggers, workers)
        cpu[run] = cpu_seconds() - before
        results.append(row(label, timings[run], docs, nbytes, workers, cpu[run]))
        print(results[-1], flush=True)
    peer_info: dict[str, object] = {}
    wanted = set() if args.skip_peers else set(args.peers.split(","))
    if "dolma" in wanted:
        import peers

        glob = str(documents / "**" / "*.jsonl.zst")
        before = cpu_seconds()
        timings["dolma"] = peers.run_dolma_tag(glob, DOLMA_TAGGERS, processes=workers)
        cpu["dolma"] = cpu_seconds() - before
        results.append(
            row(
                "Dolma 1.2.1: gopher_v1+c4_v2+char_length_v1",
                timings["dolma"],
                docs,
                nbytes,
                workers,
                cpu["dolma"],
            )
        )
        print(results[-1], flush=True)
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
    speedups = {}
    if "dolma" in timings and "bench_vs_dolma" in timings:
        speedups["vs_dolma"] = round(timings["dolma"] / timings["bench_vs_dolma"], 2)
        speedups["vs_dolma_cpu"] = round(cpu["dolma"] / cpu["bench_vs_dolma"], 2)
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
    print("| what | seconds | docs/s/core | MB/s/core | CPU s | MB per CPU s |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['what']} | {r['seconds']} | {r['docs_per_s_per_core']:,} "
            f"| {r['mb_per_s_per_core']} | {r.get('cpu_seconds', '')} "
            f"| {r.get('mb_per_cpu_s', '')} |"
        )
    print(f"\nspeed-ups on shared rule sets: {speedups}\nwritten to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
