"""Time the whole pipeline, stage by stage, and give its cost in core-hours per TB.

    python benchmarks/build_corpus.py --size 100MB --out /tmp/bench100 --workers 2
    nice python benchmarks/bench_pipeline.py --corpus /tmp/bench100 --workers 2 \
        [--repeats 2] [--baseline-python OLD/.venv/bin/python] [--json out.json] \
        [--compare old.json] [--markdown]

The corpus is any Dolma-format folder (`<corpus>/documents/**/*.jsonl.zst|.gz|.jsonl`). Its
document files are hard-linked (copied across file systems) into a scratch folder, so the
attributes and the mix are written there and the corpus is left as it was. The stages run one
after the other, each as a fresh `python -m dolmakit` process, as a user would run them:

1. `tag --recipe taggers/web.yaml --run tags`
2. `dedup exact` (run `dedup_exact`)
3. `dedup minhash` (run `dedup_minhash`)
4. `mix`: one source with every document, exact and MinHash duplicates and documents failing
   the Gopher quality rules dropped, token counts from the `tokens` tagger, e-mail addresses
   replaced.

For each stage the script reports CPU seconds (user + system of the stage process and every
worker it waited for, from `os.wait4`), wall seconds, the peak resident memory of the largest
single process of the stage (the main process or a worker), and MB/s per core (uncompressed
input MB, 10**6 bytes, per CPU second); for the whole pipeline, core-hours per TB
(10**12 bytes of uncompressed input). With `--baseline-python` (the interpreter of another
checkout, e.g. main before a change) each repeat runs the whole pipeline with both
interpreters, alternating, so before and after come from the same run on the same data; the
median of the repeats is reported. `--compare OLD.json` prints a saved result beside this one.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import zstandard

HERE = Path(__file__).resolve().parent
RECIPE = HERE.parent / "taggers" / "web.yaml"
STAGES = ("tag", "dedup exact", "dedup minhash", "mix")
DOCUMENT_SUFFIXES = (".jsonl.zst", ".jsonl.gz", ".jsonl")
TB = 10**12
MB = 10**6

MIX_SPEC = """\
name: pipeline
version: 1
description: Every document that is no exact or near duplicate and passes Gopher quality.
seed: 1
tokenizer: cl100k_base
sources:
  - name: all
    documents: [documents/**/*{suffix}]
    attributes: [tags, dedup_exact, dedup_minhash]
    tokens: tags.tokens.count
    filter: not exact.duplicate and not minhash.duplicate and gopher_quality.pass == 1
    weight: 1.0
    licence: LicenseRef-various
span_replacements:
  - attribute: pii.email
    replacement: "|||EMAIL_ADDRESS|||"
output:
  format: jsonl.zst
"""


@dataclass(frozen=True)
class StageTime:
    """What one stage process (with its workers) used."""

    stage: str
    cpu_s: float
    wall_s: float
    peak_rss_mb: float


def document_files(corpus: Path) -> list[Path]:
    """Return the corpus's document files, sorted; exit with a message if there are none."""
    root = corpus / "documents"
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith(DOCUMENT_SUFFIXES))
    if not files:
        raise SystemExit(f"{root}: no *.jsonl.zst, *.jsonl.gz or *.jsonl document files")
    return files


def uncompressed_size(path: Path) -> int:
    """Return the decompressed size in bytes of one document file."""
    total = 0
    with open(path, "rb") as raw:
        if path.name.endswith(".zst"):
            stream: Any = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        elif path.name.endswith(".gz"):
            stream = gzip.GzipFile(fileobj=raw)
        else:
            stream = raw
        while chunk := stream.read(1 << 20):
            total += len(chunk)
    return total


def link_corpus(files: Sequence[Path], corpus: Path, scratch: Path) -> Path:
    """Hard-link (or copy) the document files under `scratch/documents`; return `scratch`."""
    if scratch.exists():
        shutil.rmtree(scratch)
    for path in files:
        target = scratch / path.relative_to(corpus)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copyfile(path, target)
    return scratch


def stage_commands(scratch: Path, suffix: str, workers: int) -> dict[str, list[str]]:
    """Return the dolmakit arguments of each stage over the scratch copy."""
    glob = str(scratch / "documents" / "**" / f"*{suffix}")
    common = ["--workers", str(workers)]
    spec = scratch / "pipeline.yaml"
    spec.write_text(MIX_SPEC.format(suffix=suffix), encoding="utf-8")
    return {
        "tag": ["tag", glob, "--run", "tags", "--recipe", str(RECIPE), *common],
        "dedup exact": ["dedup", "exact", glob, *common],
        "dedup minhash": ["dedup", "minhash", glob, *common],
        "mix": [
            "mix",
            str(spec),
            "--data-root",
            str(scratch),
            "--output",
            str(scratch / "mixes"),
            *common,
        ],
    }


def clear_outputs(scratch: Path) -> None:
    """Remove what an earlier pipeline run wrote, so that every run does all the work."""
    for name in ("attributes", "mixes"):
        shutil.rmtree(scratch / name, ignore_errors=True)


def run_stage(python: str, stage: str, args: Sequence[str], log: Path) -> StageTime:
    """Run one stage as a fresh process; return its CPU (with its workers), wall and peak RSS."""
    # PYTHONSAFEPATH: `python -m` would put the current folder first on sys.path, so a run
    # started from one checkout would import that checkout's dolmakit with either interpreter.
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONSAFEPATH="1")
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [python, "-m", "dolmakit", *args], stdout=out, stderr=subprocess.STDOUT, env=env
        )
        # wait4 reports the child's usage including every descendant it waited for (the
        # worker processes): user + system time and the largest single peak RSS among them.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise SystemExit(f"stage {stage!r} failed (exit {proc.returncode}); log {log}:\n{tail}")
    return StageTime(
        stage=stage,
        cpu_s=usage.ru_utime + usage.ru_stime,
        wall_s=wall,
        peak_rss_mb=usage.ru_maxrss / 1024,  # Linux reports KiB
    )


def run_pipeline(
    python: str, commands: dict[str, list[str]], scratch: Path, tag: str
) -> list[StageTime]:
    """Run the four stages one after the other with `python`; return their times."""
    clear_outputs(scratch)
    logs = scratch / "logs"
    logs.mkdir(exist_ok=True)
    return [
        run_stage(python, stage, commands[stage], logs / f"{tag}-{stage.replace(' ', '_')}.log")
        for stage in STAGES
    ]


def core_hours_per_tb(cpu_s: float, input_bytes: int) -> float:
    """Return CPU seconds over `input_bytes` scaled to core-hours per 10**12 bytes."""
    return cpu_s / 3600 * TB / input_bytes


def summarise(runs: list[list[StageTime]], input_bytes: int) -> dict[str, Any]:
    """Return the median of each stage over the repeats, the total and core-hours per TB."""
    stages = []
    for i, name in enumerate(STAGES):
        cpu = statistics.median(run[i].cpu_s for run in runs)
        wall = statistics.median(run[i].wall_s for run in runs)
        stages.append(
            {
                "stage": name,
                "cpu_s": round(cpu, 3),
                "wall_s": round(wall, 3),
                "peak_rss_mb": round(max(run[i].peak_rss_mb for run in runs), 1),
                "mb_per_s_per_core": round(input_bytes / MB / cpu, 2) if cpu > 0 else None,
                "core_hours_per_tb": round(core_hours_per_tb(cpu, input_bytes), 2),
            }
        )
    totals = [sum(t.cpu_s for t in run) for run in runs]
    walls = [sum(t.wall_s for t in run) for run in runs]
    cpu = statistics.median(totals)
    return {
        "stages": stages,
        "total": {
            "cpu_s": round(cpu, 3),
            "cpu_s_runs": [round(t, 3) for t in totals],
            "wall_s": round(statistics.median(walls), 3),
            "peak_rss_mb": max(s["peak_rss_mb"] for s in stages),
            "mb_per_s_per_core": round(input_bytes / MB / cpu, 2) if cpu > 0 else None,
            "core_hours_per_tb": round(core_hours_per_tb(cpu, input_bytes), 2),
        },
        "runs": [[asdict(t) for t in run] for run in runs],
    }


def format_table(result: dict[str, Any], markdown: bool) -> str:
    """Return one variant's per-stage table (plain text or Markdown)."""
    header = ("stage", "CPU s", "wall s", "peak RSS MB", "MB/s per core", "core-h per TB")
    rows = [
        (
            s["stage"],
            f"{s['cpu_s']:.2f}",
            f"{s['wall_s']:.2f}",
            f"{s['peak_rss_mb']:.0f}",
            f"{s['mb_per_s_per_core']:.2f}" if s["mb_per_s_per_core"] else "-",
            f"{s['core_hours_per_tb']:.1f}",
        )
        for s in [*result["stages"], {**result["total"], "stage": "total"}]
    ]
    return _table(header, rows, markdown)


def format_compare(old: dict[str, Any], new: dict[str, Any], markdown: bool) -> str:
    """Return before/after CPU and wall seconds per stage and their ratios (before / after)."""
    header = (
        "stage",
        "CPU s before",
        "CPU s after",
        "CPU before/after",
        "wall s before",
        "wall s after",
        "core-h/TB before",
        "core-h/TB after",
    )
    olds = {s["stage"]: s for s in old["stages"]}
    olds["total"] = old["total"]
    rows = []
    for s in [*new["stages"], {**new["total"], "stage": "total"}]:
        o = olds.get(s["stage"])
        if o is None:
            continue
        ratio = o["cpu_s"] / s["cpu_s"] if s["cpu_s"] else float("inf")
        rows.append(
            (
                s["stage"],
                f"{o['cpu_s']:.2f}",
                f"{s['cpu_s']:.2f}",
                f"{ratio:.2f}x",
                f"{o['wall_s']:.2f}",
                f"{s['wall_s']:.2f}",
                f"{o['core_hours_per_tb']:.1f}",
                f"{s['core_hours_per_tb']:.1f}",
            )
        )
    return _table(header, rows, markdown)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" + "---:|" * (len(header) - 1)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join(fmt.format(*r) for r in [header, *rows])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="A Dolma-format folder.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="Whole-pipeline runs (median).")
    parser.add_argument(
        "--scratch",
        type=Path,
        default=None,
        help="Scratch folder (default: <corpus>.pipeline-bench; removed after).",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the scratch folder.")
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="Interpreter whose dolmakit is measured (default: this one).",
    )
    parser.add_argument(
        "--baseline-python",
        default=None,
        help="Also run another checkout's interpreter, alternating (before).",
    )
    parser.add_argument("--json", type=Path, default=None, help="Save the result here.")
    parser.add_argument("--compare", type=Path, default=None, help="A saved result to compare.")
    parser.add_argument("--markdown", action="store_true", help="Print Markdown tables.")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.workers < 1:
        parser.error("--repeats and --workers must be at least 1")

    corpus = args.corpus.resolve()
    files = document_files(corpus)
    suffixes = {next(s for s in DOCUMENT_SUFFIXES if p.name.endswith(s)) for p in files}
    if len(suffixes) != 1:
        raise SystemExit(f"{corpus}: mixed document formats {sorted(suffixes)}; use one")
    suffix = suffixes.pop()
    input_bytes = sum(uncompressed_size(p) for p in files)
    scratch = (args.scratch or corpus.with_name(corpus.name + ".pipeline-bench")).resolve()
    link_corpus(files, corpus, scratch)
    commands = stage_commands(scratch, suffix, args.workers)
    variants = {"after": args.python}
    if args.baseline_python:
        variants = {"before": args.baseline_python, "after": args.python}

    runs: dict[str, list[list[StageTime]]] = {name: [] for name in variants}
    about = {
        "corpus": str(corpus),
        "files": len(files),
        "input_bytes": input_bytes,
        "workers": args.workers,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
    }
    result: dict[str, Any] = {}
    try:
        for repeat in range(args.repeats):
            for name, python in variants.items():
                times = run_pipeline(python, commands, scratch, f"{name}{repeat}")
                runs[name].append(times)
                total = sum(t.cpu_s for t in times)
                print(
                    f"# {name} run {repeat + 1}: {total:.2f} CPU s, "
                    f"{core_hours_per_tb(total, input_bytes):.1f} core-h/TB",
                    file=sys.stderr,
                )
            # Saved after every repeat, so an interrupted long run keeps what it measured.
            result = {
                **about,
                "repeats": repeat + 1,
                "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "variants": {name: summarise(r, input_bytes) for name, r in runs.items()},
            }
            if args.json:
                args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)

    print(
        f"corpus {corpus}: {len(files)} files, {input_bytes / MB:.1f} MB uncompressed, "
        f"{args.workers} workers, median of {args.repeats}"
    )
    for name, summary in result["variants"].items():
        print(f"\n{name}:\n{format_table(summary, args.markdown)}")
    if "before" in result["variants"]:
        print("\nbefore vs after (same run):")
        print(
            format_compare(result["variants"]["before"], result["variants"]["after"], args.markdown)
        )
    if args.compare:
        old = json.loads(args.compare.read_text(encoding="utf-8"))
        print(f"\n{args.compare} ({old['measured']}) vs this run:")
        print(format_compare(old["variants"]["after"], result["variants"]["after"], args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
