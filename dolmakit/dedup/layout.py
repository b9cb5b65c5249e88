"""Where a dedup run writes, and the set-up every dedup method shares.

A run marks documents in the attribute run `<dataset>/attributes/<run>/` of each input's
dataset and keeps its own files in a report folder (default `<run folder>/.dolmakit/`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from dolmakit.io import storage
from dolmakit.io.attributes import make_attribute_folders
from dolmakit.io.paths import attribute_path, expand_inputs, split_dataset_path
from dolmakit.io.reader import unreadable
from dolmakit.io.rejects import rejects_file
from dolmakit.run.runner import RunSummary, ShardJob

J = TypeVar("J")


def attribute_run_dir(first_input: Path, run: str) -> Path:
    """Return `<dataset>/attributes/<run>` for the dataset of the first input."""
    dataset, _ = split_dataset_path(first_input)
    return dataset / "attributes" / run


def written_folders(report: Path, files: Sequence[Path], run: str) -> list[Path]:
    """Return the folders a dedup run writes: each dataset's attribute run folder, the report.

    These are what the run locks; a report folder inside an attribute run folder (the
    default) is covered by that folder's lock.
    """
    dirs = list(dict.fromkeys(attribute_run_dir(f, run) for f in files))
    dirs = [d if storage.is_remote(d) else d.resolve() for d in dirs]
    if storage.is_remote(report):
        return dirs
    inside = any(report.resolve().is_relative_to(d) for d in dirs)
    return dirs if inside else [*dirs, report]


def default_report_dir(first_input: Path, run: str) -> Path:
    """Return `<dataset>/attributes/<run>/.dolmakit` for the dataset of the first input."""
    return attribute_run_dir(first_input, run) / ".dolmakit"


@dataclass(frozen=True)
class DedupRun:
    """The inputs of a dedup run and its folders, made before any work starts."""

    run: str
    files: list[Path]
    report: Path

    @property
    def folders(self) -> list[Path]:
        """Return the folders the run writes, which it locks (`written_folders`)."""
        return written_folders(self.report, self.files, self.run)

    @property
    def rejects(self) -> Path:
        """Return where the run lists the input lines it rejected."""
        return rejects_file(attribute_run_dir(self.files[0], self.run))


def start_run(inputs: Sequence[str | Path], run: str, report_dir: str | Path | None) -> DedupRun:
    """Expand `inputs`, check each sits under a `documents` folder, make the run's folders."""
    files = expand_inputs(inputs)
    for path in files:
        split_dataset_path(path)
    report = storage.location(report_dir) if report_dir else default_report_dir(files[0], run)
    storage.make_folder(report, "the report folder")
    make_attribute_folders(files, run)
    return DedupRun(run, files, report.resolve())


def readable_inputs(
    jobs: Sequence[ShardJob[J]], read: RunSummary[Any], run: str
) -> list[ShardJob[J]]:
    """Return the jobs whose input could be read; delete the run's attributes of the others.

    A file that gave no document because it could not be read gets no attribute file (an
    empty one would look like a complete result); `read.results` are in `jobs` order.
    """
    out = []
    for job, result in zip(jobs, read.results, strict=True):
        if unreadable(result.written, result.rejected):
            storage.delete(attribute_path(job.input, run), missing_ok=True)
        else:
            out.append(job)
    return out
