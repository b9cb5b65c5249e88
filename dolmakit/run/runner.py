"""Run a stage over shards with completion records, resume, rejects and a balanced summary.

For each shard the worker writes its outputs atomically, then its rejects log, then a
completion record (`<record_dir>/<key>.done.json`) naming the input's size and mtime (size
and ETag for `s3://` objects), the stage configuration hash and every output with its size.
A rerun skips a shard whose record still matches and redoes the rest, so a run killed at any
instant and rerun ends with the same bytes as an uninterrupted one. Inputs, outputs and the
record folder may each be local or in object storage (dolmakit.io.storage).

The input's state is taken before and after its shard: an input that changed meanwhile is
read again (with a warning), and one that changes again stops the run with InputError and
nothing recorded for it, so no record ever names a state its outputs were not made from
(docs/faults.md).
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import msgspec

from dolmakit.errors import InputError
from dolmakit.io import storage
from dolmakit.io.atomic import (
    atomic_open,
    remove_stale_temporaries,
    temporary_name,
    write_bytes_atomic,
)
from dolmakit.io.rejects import OnError, Rejects
from dolmakit.io.units import counted
from dolmakit.run.options import RunOptions, or_default
from dolmakit.run.progress import Progress, short_names

J = TypeVar("J")
S = TypeVar("S")


@dataclass(frozen=True)
class ShardJob(Generic[J]):
    """One unit of work: an input file, the outputs it produces, and the stage's options.

    `options` is the stage's own frozen record (None for a stage that needs none); it is
    pickled to the worker with the job.
    """

    key: str
    input: Path
    outputs: tuple[Path, ...]
    options: J


@dataclass
class ShardResult(Generic[S]):
    """What one shard did: lines read = documents written + lines rejected.

    `stats` is the stage's own typed record of per-shard figures (a msgspec Struct, or None);
    it is kept in the shard's completion record, so a resumed shard gives it back unchanged.
    """

    key: str
    read: int = 0
    written: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    text_bytes: int = 0
    warnings: list[str] = field(default_factory=list)
    stats: S = field(kw_only=True)


@dataclass
class RunSummary(Generic[S]):
    """Totals of a stage run over all its shards."""

    stage: str
    shards: int = 0
    shards_skipped: int = 0
    read: int = 0
    written: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    results: list[ShardResult[S]] = field(default_factory=list)
    rejects_file: Path | None = None

    @property
    def rejected_total(self) -> int:
        """Return the number of rejected lines."""
        return sum(self.rejected.values())

    def lines(self) -> list[str]:
        """Return a human summary; the first line always shows read = written + rejected."""
        out = [
            f"{self.stage}: {counted(self.read, 'document')} read = {self.written:,} written"
            f" + {self.rejected_total:,} rejected ({counted(self.shards, 'shard')}"
            + (f", {self.shards_skipped:,} already complete" if self.shards_skipped else "")
            + ")"
        ]
        for reason, count in sorted(self.rejected.items()):
            out.append(f"  rejected: {count:,} {reason}")
        if self.rejects_file is not None:
            out.append(f"  rejected lines listed in {self.rejects_file}")
        out.extend(f"  warning: {w}" for w in self.warnings)
        return out


ShardFn = Callable[[ShardJob[J], Rejects], ShardResult[S]]


@dataclass(frozen=True)
class _Call(Generic[J, S]):
    """A picklable closure: run `fn` on one job and write its rejects log and record."""

    fn: ShardFn[J, S]
    record_dir: Path
    config_hash: str
    on_error: OnError

    def __call__(self, job: ShardJob[J]) -> ShardResult[S]:
        for out in job.outputs:
            remove_stale_temporaries(out)
        log = _rejects_path(self.record_dir, job.key)
        # A killed run's temporaries carry its process id: clear any pid's, not only ours.
        remove_stale_temporaries(log)
        remove_stale_temporaries(_record_path(self.record_dir, job.key))
        tmp_log = temporary_name(log)
        before = _file_state(job.input)
        result, rejects = self._run(job, tmp_log)
        after = _file_state(job.input)
        if after != before:
            # Read it again: a file that was being finished is stable now. One that changes
            # again has no content a record could name: stop, with nothing kept for it.
            result, rejects = self._run(job, tmp_log)
            again = _file_state(job.input)
            if again != after:
                self._discard(job, tmp_log)
                raise InputError(str(job.input), 0, changed_problem(before, again))
            result.warnings.append(
                f"{job.input}: {CHANGED} ({describe_state(before)} at the start,"
                f" {describe_state(after)} at the end); read again, {describe_state(again)}"
            )
        if tmp_log.exists():
            tmp_log.replace(log)
        else:
            log.unlink(missing_ok=True)
        result.rejected = dict(rejects.counts)
        if result.read != result.written + rejects.total:
            raise AssertionError(
                f"{job.input}: read {result.read} != written {result.written}"
                f" + rejected {rejects.total} (a bug in the {job.key} stage function)"
            )
        record = {
            "config": self.config_hash,
            "input": _file_state(job.input),
            "outputs": [_file_state(p) for p in job.outputs],
            "result": result,
        }
        write_bytes_atomic(_record_path(self.record_dir, job.key), msgspec.json.encode(record))
        return result

    def _run(self, job: ShardJob[J], tmp_log: Path) -> tuple[ShardResult[S], Rejects]:
        tmp_log.unlink(missing_ok=True)
        rejects = Rejects(on_error=self.on_error, log_path=tmp_log)
        try:
            result = self.fn(job, rejects)
        finally:
            rejects.close()
        return result, rejects

    def _discard(self, job: ShardJob[J], tmp_log: Path) -> None:
        for out in job.outputs:
            storage.delete(out, missing_ok=True)
        tmp_log.unlink(missing_ok=True)


CHANGED = "changed while being read"


def describe_state(state: dict[str, Any]) -> str:
    """Return a file state (`storage.fingerprint`) in words: its size and stamp."""
    if state.get("missing"):
        return "missing"
    stamp = f"etag {state['etag']}" if "etag" in state else f"mtime_ns {state.get('mtime_ns')}"
    return f"{state.get('bytes', 0):,} bytes, {stamp}"


def changed_problem(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Name how an input kept changing while a stage read it (twice)."""
    return (
        f"{CHANGED}, and again when read a second time ({describe_state(before)} at the"
        f" start, {describe_state(after)} at the end); nothing was written or recorded for"
        " it: rerun once it no longer changes"
    )


def config_hash(config: Any) -> str:
    """Return a short stable hash of a configuration (any msgspec-encodable value)."""
    return hashlib.sha256(msgspec.json.encode(config, order="sorted")).hexdigest()[:16]


def run_shards(
    stage: str,
    jobs: Sequence[ShardJob[J]],
    fn: ShardFn[J, S],
    *,
    record_dir: Path,
    config: Any,
    stats: type[S],
    options: RunOptions | None = None,
    rejects_file: Path | None = None,
) -> RunSummary[S]:
    """Run `fn` on every job not already complete and return the totals over all jobs.

    `stats` is the type of the shard results' `stats` (to read them back from completion
    records). Rejected lines of all shards, in canonical shard order, go to `rejects_file`
    (default `<record_dir>/rejects.jsonl`); a run without any removes an earlier run's file.
    """
    options = or_default(options)
    digest = config_hash(config)
    # A file where a folder must be fails here, named, not later in a worker under a
    # temporary name.
    storage.make_folder(record_dir, f"{stage}: its record folder")
    for folder in sorted({out.parent for job in jobs for out in job.outputs}, key=str):
        storage.make_folder(folder, f"{stage}: an output folder")
    summary: RunSummary[S] = RunSummary(stage=stage, shards=len(jobs))
    todo: list[ShardJob[J]] = []
    done: dict[str, ShardResult[S]] = {}
    for job in jobs:
        previous = _completed(record_dir, job, digest, stats) if options.resume else None
        if previous is not None:
            done[job.key] = previous
        else:
            todo.append(job)
    sizes = {job.key: _size(job.input) for job in jobs}
    reporter = Progress(stage, len(jobs), sum(sizes.values()), enabled=options.progress)
    names = dict(
        zip((job.key for job in jobs), short_names([job.input for job in jobs]), strict=True)
    )
    reporter.skipped(len(done), sum(sizes[key] for key in done))
    summary.shards_skipped = len(done)
    call = _Call(fn, record_dir, digest, options.on_error)
    for index, result in options.backend.map(call, todo, on_tick=reporter.update):
        done[todo[index].key] = result
        reporter.shard_done(names[todo[index].key], sizes[todo[index].key])
    reporter.finish()
    for job in jobs:
        result = done[job.key]
        summary.results.append(result)
        summary.read += result.read
        summary.written += result.written
        summary.rejected.update(result.rejected)
        summary.warnings.extend(result.warnings)
    merged = rejects_file or record_dir / "rejects.jsonl"
    if summary.rejected_total:
        summary.rejects_file = _merge_rejects(record_dir, jobs, merged)
    else:
        storage.delete(merged)
    return summary


def _completed(
    record_dir: Path, job: ShardJob[J], digest: str, stats: type[S]
) -> ShardResult[S] | None:
    """Return the result a shard's completion record holds, or None to redo the shard.

    A record of another configuration, input or outputs, or one that does not decode (also
    one written before `stats` had its present type), means the shard is done again.
    """
    path = _record_path(record_dir, job.key)
    if not path.is_file():
        return None
    try:
        record = msgspec.json.decode(path.read_bytes())
        if record.get("config") != digest or record.get("input") != _file_state(job.input):
            return None
        if record.get("outputs") != [_file_state(p) for p in job.outputs]:
            return None
        fields = dict(record["result"])
        value = msgspec.convert(fields.pop("stats"), stats)
        return ShardResult(**fields, stats=value)
    except (msgspec.DecodeError, msgspec.ValidationError, AttributeError, KeyError, TypeError):
        return None


def _file_state(path: Path) -> dict[str, Any]:
    return {"path": str(path), **storage.fingerprint(path)}


def _size(path: Path) -> int:
    return storage.size(path)


def _record_path(record_dir: Path, key: str) -> Path:
    return record_dir / f"{key}.done.json"


def _rejects_path(record_dir: Path, key: str) -> Path:
    return record_dir / f"{key}.rejects.jsonl"


def _merge_rejects(record_dir: Path, jobs: Sequence[ShardJob[Any]], merged: Path) -> Path:
    """Concatenate per-shard reject logs in canonical shard order into one file."""
    with atomic_open(merged) as out:
        for job in jobs:
            log = _rejects_path(record_dir, job.key)
            if log.is_file():
                with storage.open_read(log) as part:
                    shutil.copyfileobj(part, out)
    return merged


def print_summary(summary: RunSummary[Any]) -> None:
    """Print a run summary to standard error."""
    for line in summary.lines():
        print(line, file=sys.stderr)
