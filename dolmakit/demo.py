"""Run the whole pipeline on the embedded demo corpus and say what was produced where."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from dolmakit.errors import DolmakitError
from dolmakit.paths import expand_inputs
from dolmakit.reader import read_documents


@dataclass
class DemoReport:
    """What the demo produced: one line per step, and the main paths."""

    out_dir: Path
    steps: list[str] = field(default_factory=list)


def demo_corpus() -> Path:
    """Return the folder of the embedded demo corpus (`<dataset>/documents`)."""
    root = Path(str(resources.files("dolmakit") / "demo_corpus" / "documents"))
    if not root.is_dir():
        raise DolmakitError(f"{root}: the demo corpus is missing from this installation")
    return root


def run_demo(
    out_dir: str | Path, *, workers: int | None = None, progress: bool = True
) -> DemoReport:
    """Copy the demo corpus into `out_dir/data` and run every pipeline stage over it."""
    out = Path(out_dir).resolve()
    report = DemoReport(out)
    documents = out / "data" / "documents"
    if documents.exists():
        shutil.rmtree(documents)
    shutil.copytree(demo_corpus(), documents)
    files = expand_inputs([documents])
    count = sum(1 for f in files for _ in read_documents(f))
    sources = sorted({f.parent.name for f in files})
    report.steps.append(
        f"corpus: {count:,} documents in {len(files)} files from {len(sources)} sources"
        f" ({', '.join(sources)}) -> {documents}"
    )
    return report
