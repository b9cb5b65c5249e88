"""The manifest's `optout` entry: the rights-reservation snapshots the mix's runs evaluated.

For every attribute run a source joins whose record lists an `optout` tagger: the run, the
snapshot (relative to the data root when under it), its digest, the user agents, the counts
of sites, robots.txt and TDMRep files (malformed ones among them) and the fetch period.
Absent when no run used the tagger, so other manifests keep their bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dolmakit.mix.contamination import tagger_records
from dolmakit.mix.inputs import InputFile
from dolmakit.mix.spec import MixSpec

FIELDS = (
    "sha256",
    "agents",
    "sites",
    "robots",
    "robots_malformed",
    "tdmrep",
    "tdmrep_malformed",
    "headers",
    "fetched",
)


def optout_record(spec: MixSpec, inputs: Sequence[InputFile], root: Path) -> list[dict[str, Any]]:
    """Return one entry per (dataset, run) whose optout tagger the mix's filters may read."""
    out = []
    for run, record in tagger_records(spec, inputs, "optout"):
        snapshot = Path(str(record.get("snapshot", "")))
        try:
            shown = snapshot.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            shown = str(snapshot)
        out.append({"run": run, "snapshot": shown, **{k: record.get(k) for k in FIELDS}})
    return out
