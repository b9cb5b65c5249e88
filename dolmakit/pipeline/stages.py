"""Call the stage library functions for the pipeline: the one place that knows their signatures.

Each `*_stage` function runs one stage exactly as its command does (`dolmakit tag`, `dolmakit
dedup exact|minhash`, `dolmakit mix`, `dolmakit index`, `dolmakit publish`, `dolmakit
contamination index`) and returns an `Outcome`: what it read, what it wrote, what an earlier
run had already done, and the lines its command prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dolmakit.errors import DolmakitError
from dolmakit.io import storage
from dolmakit.io.paths import expand_inputs
from dolmakit.pipeline.spec import BenchmarkIndex, DedupRun, MixRun, Publish, TagRun
from dolmakit.run.options import RunOptions
from dolmakit.run.runner import RunSummary

PARTIAL_SUFFIX = ".partial"


@dataclass
class Outcome:
    """What one stage did: documents and input bytes it covered, shards an earlier run did."""

    documents: int = 0
    bytes: int = 0
    shards: int = 0
    shards_skipped: int = 0
    note: str = ""
    outputs: list[Path] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def input_bytes(files: list[Path]) -> int:
    """Return the total size of input files."""
    return sum(storage.size(f) for f in files)


def _read(outcome: Outcome, summary: RunSummary[Any]) -> None:
    outcome.documents = summary.read
    outcome.shards = summary.shards
    outcome.shards_skipped = summary.shards_skipped


def benchmark_stage(entry: BenchmarkIndex, run_options: RunOptions) -> Outcome:
    """Build a benchmark n-gram index (`dolmakit contamination index`)."""
    from dolmakit.contamination.index import IndexOptions, index_benchmarks

    options = IndexOptions() if entry.n is None else IndexOptions(n=entry.n)
    summary = index_benchmarks(
        [(name, path) for name, path in entry.benchmarks],
        entry.output,
        entry.name,
        list(entry.fields),
        entry.id_field,
        options,
        on_error=run_options.on_error,
    )
    examples = sum(sum(b["examples"].values()) for b in summary.record["benchmarks"])
    return Outcome(
        documents=examples,
        bytes=input_bytes([path for _, path in entry.benchmarks]),
        outputs=[entry.output],
        lines=list(summary.lines),
    )


def tag_stage(entry: TagRun, dataset: Path, run_options: RunOptions) -> Outcome:
    """Tag one dataset's documents as run `entry.run` (`dolmakit tag`)."""
    from dolmakit.taggers.stage import tag

    documents = dataset / "documents"
    summary = tag(
        [documents], entry.run, entry.recipe, run_options=run_options, batch_size=entry.batch_size
    )
    outcome = Outcome(bytes=input_bytes(expand_inputs([documents])))
    _read(outcome, summary)
    outcome.outputs = [dataset / "attributes" / entry.run]
    outcome.lines = summary.lines()
    return outcome


def dedup_stage(entry: DedupRun, datasets: list[Path], run_options: RunOptions) -> Outcome:
    """Mark exact or near duplicates as run `entry.run` (`dolmakit dedup exact|minhash`)."""
    from dolmakit.dedup import DedupSummary, ExactConfig, dedup_exact, dedup_minhash

    documents = [d / "documents" for d in datasets]
    method: Callable[..., DedupSummary] = (
        dedup_exact if isinstance(entry.config, ExactConfig) else dedup_minhash
    )
    summary = method(
        documents,
        entry.run,
        entry.config,
        run_options=run_options,
    )
    outcome = Outcome(bytes=input_bytes(expand_inputs(documents)))
    if summary.read is not None:
        _read(outcome, summary.read)
    outcome.note = f"{summary.removed:,} marked"
    outcome.outputs = [d / "attributes" / entry.run for d in datasets]
    outcome.lines = summary.lines()
    return outcome


def mix_dir_of(entry: MixRun) -> Path:
    """Return the folder the mix of `entry` is built in, as `dolmakit mix` chooses it."""
    from dolmakit.mix.spec import load_spec

    spec = load_spec(entry.spec)
    root = entry.output
    if root is None:
        if spec.output.root is None:
            raise DolmakitError(
                f"{spec.path}: no output folder: give the mix an output in the pipeline or set"
                " output.root in the spec"
            )
        root = storage.location(spec.output.root)
        if not root.is_absolute():
            root = spec.path.parent / root
    return (root / spec.name / f"v{spec.version}").resolve()


def mix_stage(entry: MixRun, run_options: RunOptions) -> Outcome:
    """Build a mix (`dolmakit mix SPEC --data-root ... --output ...`)."""
    from dolmakit.mix import build_mix

    result = build_mix(
        entry.spec,
        data_root=entry.data_root,
        output=entry.output,
        run_options=run_options,
    )
    manifest = result.manifest
    read = sum(s.funnel.read for s in manifest.sources) + manifest.rejects.lines
    return Outcome(
        documents=read,
        bytes=sum(d.bytes for d in manifest.inputs.documents),
        shards=len(manifest.inputs.documents),
        shards_skipped=len(manifest.inputs.documents) if result.already_built else 0,
        note=f"{manifest.totals.documents:,} out"
        + (", built earlier" if result.already_built else ""),
        # Not `index/`: the span index is the next stage's output, written after this record.
        outputs=sorted(p for p in result.mix_dir.iterdir() if p.name != "index"),
        lines=result.lines(),
    )


def index_stage(mix_dir: Path, run_options: RunOptions) -> Outcome:
    """Build the span index of a mix (`dolmakit index MIX`)."""
    from dolmakit.trace import build_index

    result = build_index(mix_dir, run_options=run_options)
    totals = result.manifest["totals"]
    shards = len(result.manifest["shards"])
    return Outcome(
        documents=int(totals["documents"]),
        bytes=int(totals["text_bytes"]),
        shards=shards,
        shards_skipped=shards if result.up_to_date else 0,
        note="up to date" if result.up_to_date else "",
        outputs=[result.index_dir],
        lines=result.lines(),
    )


def publish_stage(mix_dir: Path, target: Publish, run_options: RunOptions) -> Outcome:
    """Publish a mix (`dolmakit publish MIX OUT`), into a side folder renamed when complete.

    A publish killed half-way leaves only `<out>.partial`, which the next run replaces; `out`
    itself appears whole or not at all.
    """
    from dolmakit.publish.release import check_empty_output, publish_mix, remove_output

    out = target.output.resolve()
    check_empty_output(out)
    partial = out.with_name(out.name + PARTIAL_SUFFIX)
    storage.delete_tree(partial)
    release = publish_mix(mix_dir, partial, provenance=target.provenance)
    remove_output(out)  # empty but for a killed run's lock or files: checked above
    partial.rename(out)
    return Outcome(
        documents=release.documents,
        bytes=release.manifest.totals.bytes,
        outputs=[out],
        lines=[line.replace(str(partial), str(out)) for line in release.lines()],
    )
