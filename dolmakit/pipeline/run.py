"""Run a pipeline: every stage in order, each skipped when an earlier run finished it unchanged.

Stages run in this order: benchmark indexes (`contamination`), tag runs (one per dataset),
dedup runs, then per mix: the mix, its span index, its release. Each stage is the library call
its command makes, so its outputs are the command's, byte for byte.

Resume works at two levels. A finished stage writes `<state>/<stage>.done.json`: its
configuration and the size and mtime of every file it read and wrote; a rerun skips a stage
whose record still matches all of them. A stage killed midway has no record, and running it
again resumes inside it (the runner's per-shard completion records, the mix's pass records),
so a pipeline killed at any instant and run again ends with the same bytes.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import msgspec

from dolmakit.io import storage
from dolmakit.io.atomic import TMP_MARK, write_bytes_atomic
from dolmakit.io.lock import LOCK_NAMES, PIPELINE_LOCK, exclusive
from dolmakit.mix.spec import load_spec
from dolmakit.pipeline.spec import Pipeline, TagRun, load_pipeline
from dolmakit.pipeline.stages import (
    Outcome,
    benchmark_stage,
    dedup_stage,
    index_stage,
    mix_dir_of,
    mix_stage,
    publish_stage,
    tag_stage,
)
from dolmakit.run.options import RunOptions
from dolmakit.run.runner import config_hash
from dolmakit.taggers.stage import run_config

RECORD_SUFFIX = ".done.json"
HIDDEN = ".dolmakit"


@dataclass(frozen=True)
class Stage:
    """One step of a pipeline: a unique key, a label, what it reads, how to run it."""

    key: str
    label: str
    config: Callable[[], dict[str, Any]]  # when the stage is reached: it may read earlier outputs
    inputs: tuple[Path, ...]
    run: Callable[[RunOptions], Outcome]


@dataclass
class StageReport:
    """What one stage did in this run, with its cost (CPU of this process and its workers)."""

    label: str
    documents: int = 0
    bytes: int = 0
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    shards: int = 0
    shards_skipped: int = 0
    skipped: bool = False
    note: str = ""

    def done_earlier(self) -> str:
        """Return what an earlier run had already done: the stage, some shards, or nothing."""
        if self.skipped:
            return "whole stage"
        if self.shards_skipped:
            return f"{self.shards_skipped:,} of {self.shards:,} shards"
        return "-"


@dataclass
class PipelineReport:
    """The stages of one run in order, and the table `dolmakit run` prints at the end."""

    name: str
    stages: list[StageReport] = field(default_factory=list)
    # Ray workers are not this process's children: their CPU time is not in the table.
    distributed: bool = False

    def lines(self) -> list[str]:
        """Return the summary: per stage documents, bytes, wall and CPU seconds, done earlier."""
        head = ("stage", "documents", "bytes", "wall s", "cpu s", "done earlier", "")
        rows = [head]
        for s in self.stages:
            rows.append(
                (
                    s.label,
                    f"{s.documents:,}",
                    _size(s.bytes),
                    f"{s.wall_seconds:.1f}",
                    f"{s.cpu_seconds:.1f}",
                    s.done_earlier(),
                    s.note,
                )
            )
        wall = sum(s.wall_seconds for s in self.stages)
        cpu = sum(s.cpu_seconds for s in self.stages)
        skipped = sum(s.skipped for s in self.stages)
        done = f"{skipped} of {len(self.stages)} stages skipped"
        rows.append(("total", "", "", f"{wall:.1f}", f"{cpu:.1f}", "", done))
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        out = [f"pipeline {self.name}: {len(self.stages)} stages"]
        for row in rows:
            cells = [
                row[i].ljust(widths[i]) if i in (0, 5, 6) else row[i].rjust(widths[i])
                for i in range(len(head))
            ]
            out.append("  ".join(cells).rstrip())
        if self.distributed:
            out.append(
                "cpu s counts this process and its child processes only, not the Ray"
                " workers' CPU (the Ray dashboard shows theirs)"
            )
        return out


def _size(n: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _fixed(config: dict[str, Any]) -> dict[str, Any]:
    return config


def _tag_config(tag: TagRun) -> dict[str, Any]:
    # Read when the stage is reached: a tagger's record may read a file an earlier stage made.
    return {"run": run_config(tag.run, tag.recipe), "batch_size": tag.batch_size}


def plan(pipeline: Pipeline) -> list[Stage]:
    """Return the stages of a pipeline in the order they run."""
    stages: list[Stage] = []
    for bench in pipeline.contamination:
        stages.append(
            Stage(
                f"contamination-{bench.name}",
                f"contamination index {bench.name}",
                partial(
                    _fixed,
                    {
                        "name": bench.name,
                        "benchmarks": [[n, str(p)] for n, p in bench.benchmarks],
                        "fields": list(bench.fields),
                        "id_field": bench.id_field,
                        "n": bench.n,
                        "output": str(bench.output),
                    },
                ),
                tuple(p for _, p in bench.benchmarks),
                partial(benchmark_stage, bench),
            )
        )
    for tag in pipeline.tag:
        for name in tag.datasets:
            dataset = pipeline.datasets[name]
            stages.append(
                Stage(
                    f"tag-{tag.run}-{name}",
                    f"tag {tag.run} ({name})",
                    partial(_tag_config, tag),
                    (dataset / "documents",),
                    partial(tag_stage, tag, dataset),
                )
            )
    for dedup in pipeline.dedup:
        folders = [pipeline.datasets[n] for n in dedup.datasets]
        inputs = [d / "documents" for d in folders]
        keep = getattr(dedup.config, "keep", None)
        if keep is not None and keep.attribute_run() is not None:
            inputs.extend(d / "attributes" / str(keep.attribute_run()) for d in folders)
        stages.append(
            Stage(
                f"dedup-{dedup.run}",
                f"dedup {dedup.method} {dedup.run}",
                partial(
                    _fixed,
                    {
                        "method": dedup.method,
                        "config": asdict(dedup.config),
                        "datasets": list(map(str, folders)),
                    },
                ),
                tuple(inputs),
                partial(dedup_stage, dedup, folders),
            )
        )
    for mix in pipeline.mixes:
        spec = load_spec(mix.spec)
        mix_dir = mix_dir_of(mix)
        name = f"{spec.name}-v{spec.version}"
        stages.append(
            Stage(
                f"mix-{name}",
                f"mix {spec.name} v{spec.version}",
                partial(
                    _fixed,
                    {"spec": spec.sha256(), "data_root": str(mix.data_root), "mix": str(mix_dir)},
                ),
                (mix.spec, mix.data_root / "documents", mix.data_root / "attributes"),
                partial(mix_stage, mix),
            )
        )
        manifest = mix_dir / "manifest.json"
        if mix.index:
            stages.append(
                Stage(
                    f"index-{name}",
                    f"index {spec.name} v{spec.version}",
                    partial(_fixed, {"mix": str(mix_dir)}),
                    (manifest,),
                    partial(index_stage, mix_dir),
                )
            )
        if mix.publish is not None:
            target = mix.publish
            stages.append(
                Stage(
                    f"publish-{name}",
                    f"publish {spec.name} v{spec.version}",
                    partial(
                        _fixed,
                        {
                            "mix": str(mix_dir),
                            "output": str(target.output),
                            "provenance": target.provenance,
                        },
                    ),
                    (manifest,),
                    partial(publish_stage, mix_dir, target),
                )
            )
    return stages


def file_states(roots: tuple[Path, ...] | list[Path], *, reading: bool) -> dict[str, Any]:
    """Return size and mtime of every file under `roots` (a missing root says so).

    Lock files are left out (a lock changes while it is held), and so, for what a stage
    reads, are the hidden record folders of other stages.
    """
    out: dict[str, Any] = {}
    for root in roots:
        if root.is_file():
            out[str(root)] = storage.fingerprint(root)
            continue
        if not root.exists():
            out[str(root)] = {"missing": True}
            continue
        for path in sorted(storage.list_files(root)):
            if path.name in LOCK_NAMES and path.parent.name == HIDDEN:
                continue
            if TMP_MARK in path.name or (reading and HIDDEN in path.relative_to(root).parts):
                continue
            out[str(path)] = storage.fingerprint(path)
    return out


def _record_path(pipeline: Pipeline, stage: Stage) -> Path:
    return pipeline.state / f"{stage.key}{RECORD_SUFFIX}"


def _finished(pipeline: Pipeline, stage: Stage) -> StageReport | None:
    """Return the report of an earlier run of `stage` if nothing it read or wrote changed."""
    path = _record_path(pipeline, stage)
    if not path.is_file():
        return None
    try:
        record = msgspec.json.decode(path.read_bytes())
    except msgspec.DecodeError:
        return None
    if record.get("config") != config_hash(stage.config()):
        return None
    if record.get("inputs") != file_states(stage.inputs, reading=True):
        return None
    outputs = [Path(p) for p in record.get("output_roots", [])]
    if record.get("outputs") != file_states(outputs, reading=False):
        return None
    report = StageReport(**record["report"])
    report.skipped = True
    report.wall_seconds = report.cpu_seconds = 0.0
    return report


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def run_pipeline(
    pipeline: Pipeline | str | Path,
    *,
    run_options: RunOptions | None = None,
    stream: TextIO | None = None,
) -> PipelineReport:
    """Run every stage of a pipeline (a Pipeline or its file); return the per-stage report.

    With `run_options.resume` (the default), a stage an earlier run finished is skipped when
    nothing it read or wrote has changed since; without it every stage runs again from the
    start. `stream` (default standard error) gets one line as each stage starts, the stage's
    own progress and, when it ends, the lines its command prints (none without progress).
    """
    if not isinstance(pipeline, Pipeline):
        pipeline = load_pipeline(pipeline)
    how = run_options or RunOptions()
    out = stream if stream is not None else sys.stderr
    stages = plan(pipeline)
    storage.make_folder(pipeline.state, "the pipeline's state folder")
    report = PipelineReport(pipeline.name, distributed=how.backend.distributed)
    # A lock file of its own: a stage locking the same folder is not turned away by it.
    with exclusive(pipeline.state, f"run of pipeline {pipeline.name!r}", name=PIPELINE_LOCK):
        for number, stage in enumerate(stages, 1):
            _run_stage(pipeline, stage, f"[{number}/{len(stages)}] {stage.label}", how, out, report)
    return report


def _run_stage(
    pipeline: Pipeline,
    stage: Stage,
    title: str,
    how: RunOptions,
    out: TextIO,
    report: PipelineReport,
) -> None:
    """Skip `stage` if an earlier run finished it unchanged; otherwise run it and record it."""
    done = _finished(pipeline, stage) if how.resume else None
    if done is not None:
        done.label = stage.label
        report.stages.append(done)
        _say(how, out, f"{title}: done earlier, skipped")
        return
    _say(how, out, title)
    inputs = file_states(stage.inputs, reading=True)
    wall, cpu = time.monotonic(), _cpu()
    outcome = stage.run(how)
    result = StageReport(
        stage.label,
        documents=outcome.documents,
        bytes=outcome.bytes,
        wall_seconds=round(time.monotonic() - wall, 3),
        cpu_seconds=round(_cpu() - cpu, 3),
        shards=outcome.shards,
        shards_skipped=outcome.shards_skipped,
        note=outcome.note,
    )
    report.stages.append(result)
    for line in outcome.lines:
        _say(how, out, f"  {line}")
    record = {
        "stage": stage.label,
        "config": config_hash(stage.config()),
        "inputs": inputs,
        "output_roots": [str(p) for p in outcome.outputs],
        "outputs": file_states(outcome.outputs, reading=False),
        "report": asdict(result),
    }
    write_bytes_atomic(
        _record_path(pipeline, stage), msgspec.json.format(msgspec.json.encode(record))
    )


def _say(how: RunOptions, out: TextIO, line: str) -> None:
    if how.progress:
        print(line, file=out, flush=True)
