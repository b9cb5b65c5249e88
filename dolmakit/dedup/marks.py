"""The last pass of every dedup method: one attribute file per shard, from the decisions.

Each shard's index folder holds its document ids and sources (in input order) and the run
has saved the shard's decisions; the pass writes one attribute line per document, in input
order, with the marks the method computes for it (none for a document in no cluster).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dolmakit.dedup.index import load_meta
from dolmakit.dedup.layout import DedupRun
from dolmakit.io import storage
from dolmakit.io.attributes import AttributeWriter
from dolmakit.io.paths import attribute_path
from dolmakit.io.rejects import Rejects
from dolmakit.run.options import RunOptions
from dolmakit.run.progress import Tally
from dolmakit.run.runner import ShardJob, ShardResult, run_shards

Marks = dict[str, list[list[float]]]


@dataclass(frozen=True)
class MarkOptions:
    """What the attribute pass of one shard needs besides its input and output."""

    shard_dir: str
    decisions: str
    run: str


MarkFn = Callable[[ShardJob[MarkOptions], Rejects], ShardResult[None]]


def write_marks(job: ShardJob[MarkOptions], marks_of: Callable[[int], Marks]) -> ShardResult[None]:
    """Write the shard's attribute file: `marks_of(row)` for each document, ids and sources."""
    ids, sources = load_meta(storage.location(job.options.shard_dir))
    tally = Tally()
    with AttributeWriter(job.outputs[0]) as writer:
        for row, doc_id in enumerate(ids):
            tally.add(0)
            line: dict[str, object] = {"id": doc_id, "attributes": marks_of(row)}
            if sources[row] is not None:
                line["source"] = sources[row]
            writer.write(line)
    tally.flush()
    return ShardResult(job.key, read=len(ids), written=len(ids), stats=None)


def mark_shards(
    dedup: DedupRun,
    stage: str,
    shards: Sequence[tuple[str, Path, str]],
    fn: MarkFn,
    work: Path,
    *,
    config: Any,
    options: RunOptions,
) -> None:
    """Run the attribute pass over `shards` (key, input file, index folder), never resumed."""
    jobs = [
        ShardJob(
            key,
            path,
            (attribute_path(path, dedup.run),),
            MarkOptions(shard_dir, str(work / "decisions" / f"{key}.npz"), dedup.run),
        )
        for key, path, shard_dir in shards
    ]
    run_shards(
        f"{stage} attributes",
        jobs,
        fn,
        record_dir=dedup.report / "records" / "attributes",
        config=config,
        stats=type(None),
        options=options.replace(resume=False),
    )
