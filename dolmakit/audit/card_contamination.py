"""The data card's contamination section: per-benchmark table and chart of examples found.

Drawn when the manifest records a contamination run (`manifest["contamination"]`) and the
index it names can be opened (a path relative to the data root, or absolute): the mix is
scanned with that index and the tagger's `min_coverage`, as `dolmakit audit contamination`
does. Otherwise the section says why it is missing.
"""

from __future__ import annotations

from pathlib import Path

from dolmakit.audit import charts
from dolmakit.audit.contamination import ContaminationReport, audit_contamination
from dolmakit.audit.folder import MixFolder
from dolmakit.audit.html import esc, table
from dolmakit.contamination.match import DEFAULT_MIN_COVERAGE
from dolmakit.errors import DolmakitError

HEAD = ["benchmark", "examples found", "share of detectable", "documents", "sources"]


def contamination_section(mix: MixFolder) -> tuple[str, list[str]]:
    """Return the section as (Markdown text, HTML fragments); both empty when not recorded."""
    records = list(mix.manifest.contamination or [])
    if not records:
        return "", []
    record = records[0]
    report, problem = _report(mix, record)
    md = ["", "## Benchmark contamination", ""]
    html = ["<h2>Benchmark contamination</h2>"]
    if report is None:
        md.append(f"Not checked: {problem}")
        html.append(f"<p>Not checked: {esc(problem)}</p>")
        return "\n".join(md) + "\n", html
    intro = (
        f"Index {record.get('name')} ({record.get('index')}, sha256 "
        f"{str(record.get('sha256'))[:12]}), n={report.n}, an example counts when "
        f"{report.min_coverage:g} of its words are found; attribute run {record.get('run')}."
    )
    rows = [
        [
            b.name,
            f"{b.found:,} of {b.detectable:,}",
            f"{b.share:.1%}",
            f"{b.documents:,}",
            ", ".join(f"{s} ({n})" for s, n in b.sources.items()) or "-",
        ]
        for b in report.benchmarks
    ]
    md.extend([intro, "", "| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)])
    md.extend("| " + " | ".join(r) + " |" for r in rows)
    html.extend([f"<p>{esc(intro)}</p>", table(HEAD, rows)])
    fig = charts.bar_chart(
        [b.name for b in report.benchmarks],
        {"share of examples found": [b.share for b in report.benchmarks]},
        title="Benchmark examples found in the mix",
        percent=True,
    )
    html.append(
        f'<figure class="chart">{charts.svg(fig)}<figcaption>Share of each benchmark\'s '
        "detectable examples found in the mix.</figcaption></figure>"
    )
    return "\n".join(md) + "\n", html


def _report(mix: MixFolder, record: dict[str, object]) -> tuple[ContaminationReport | None, str]:
    index = Path(str(record.get("index", "")))
    if not index.is_absolute():
        if mix.data_root is None:
            return None, "the data root holding the index was not given"
        index = mix.data_root / index
    coverage = record.get("min_coverage")
    try:
        report = audit_contamination(
            mix.folder,
            index,
            min_coverage=float(coverage)
            if isinstance(coverage, (int, float))
            else DEFAULT_MIN_COVERAGE,
        )
    except DolmakitError as exc:
        return None, str(exc)
    if report.index_sha256 != record.get("sha256"):
        return None, f"the index at {index} is not the one the mix recorded (sha256 differs)"
    return report, ""
