"""The manifest's `contamination` entry: which benchmark index the mix's attribute runs used.

For every attribute run a source joins whose record (`attributes/<run>/.dolmakit/run.json`)
lists a `contamination` tagger: the run, the index path (relative to the data root when it
lies under it), the sha256 of its `index.json`, n, the normalisation, the benchmarks and the
tagger's `min_coverage`. Absent when no run used the tagger, so other manifests keep their
bytes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dolmakit.errors import DolmakitError
from dolmakit.io.paths import split_dataset_path
from dolmakit.mix.inputs import InputFile
from dolmakit.mix.spec import MixSpec


def contamination_record(
    spec: MixSpec, inputs: Sequence[InputFile], root: Path
) -> list[dict[str, Any]]:
    """Return one entry per (dataset, run) whose contamination tagger the mix relies on."""
    return [
        _entry(run, record, root) for run, record in tagger_records(spec, inputs, "contamination")
    ]


def tagger_records(
    spec: MixSpec, inputs: Sequence[InputFile], tagger_name: str
) -> list[tuple[str, dict[str, Any]]]:
    """Return (run, record) per (dataset, joined run) whose tagger `tagger_name` left a record.

    The record is what the tagger's `run_record` wrote into the run's `run.json`.
    """
    out: list[tuple[str, dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    for f in inputs:
        dataset = split_dataset_path(f.path)[0]
        for run in spec.sources[f.source_index].attributes:
            key = (str(dataset), run)
            if key in seen:
                continue
            seen.add(key)
            for tagger in _taggers(dataset / "attributes" / run / ".dolmakit" / "run.json"):
                record = tagger.get("record") if tagger.get("name") == tagger_name else None
                if isinstance(record, dict):
                    out.append((run, record))
    return out


def _taggers(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():  # no record: the run is not a tag run (dedup), or it is older
        return []
    try:
        taggers = json.loads(path.read_bytes()).get("taggers", [])
    except (OSError, ValueError, AttributeError, DolmakitError):
        return []
    return [t for t in taggers if isinstance(t, dict)]


def _entry(run: str, record: dict[str, Any], root: Path) -> dict[str, Any]:
    index = Path(str(record.get("index", "")))
    try:
        shown = index.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        shown = str(index)
    return {
        "run": run,
        "index": shown,
        "name": record.get("index_name"),
        "sha256": record.get("index_sha256"),
        "n": record.get("n"),
        "normalisation": record.get("normalisation"),
        "benchmarks": record.get("benchmarks"),
        "min_coverage": record.get("min_coverage"),
    }
