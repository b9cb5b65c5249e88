"""Render a mix's data card: Markdown for repositories, one self-contained HTML page with charts.

The card only presents numbers gathered elsewhere (`CardData`, built by `card_data.card_data` from
the manifest, the shards and the input attributes); the same data gives the same bytes.
Charts are inline SVG drawn by matplotlib: the page loads nothing and runs no script.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dolmakit.audit import charts
from dolmakit.audit.html import esc, page, table
from dolmakit.io.units import counted

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class SourceSummary:
    """What the card says about one source of the mix."""

    name: str
    declared_share: float | None
    realised_share: float
    documents: int
    tokens: int
    repeats: int
    input_files: int
    funnel: tuple[tuple[str, int], ...]
    duplicates_removed: int
    licence: str = ""
    notes: str = ""
    rate: float | None = None


@dataclass(frozen=True)
class ScoreHistogram:
    """A score's distribution over the documents read and over those in the mix."""

    key: str
    edges: tuple[float, ...]
    read: tuple[int, ...]
    kept: tuple[int, ...]


@dataclass(frozen=True)
class CardData:
    """Everything a data card shows."""

    title: str
    description: str
    facts: tuple[tuple[str, str], ...]
    sources: tuple[SourceSummary, ...]
    languages: dict[str, dict[str, int]] = field(default_factory=dict)
    histograms: tuple[ScoreHistogram, ...] = ()


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _declared(s: SourceSummary) -> str:
    """Return the declared share, or the fixed rate of a source sampled by rate."""
    if s.declared_share is None and s.rate is not None:
        return f"rate {s.rate:g}"
    return _pct(s.declared_share)


def _source_rows(data: CardData) -> tuple[list[str], list[list[str]]]:
    head = [
        "source",
        "declared share",
        "realised share",
        "documents",
        "tokens",
        "repeats",
        "input files",
        "duplicates removed",
    ]
    rows = [
        [
            s.name,
            _declared(s),
            _pct(s.realised_share),
            f"{s.documents:,}",
            f"{s.tokens:,}",
            f"{s.repeats:,}",
            f"{s.input_files:,}",
            f"{s.duplicates_removed:,}",
        ]
        for s in data.sources
    ]
    return head, rows


def _funnel_rows(source: SourceSummary) -> list[list[str]]:
    return [[label, f"{count:,}"] for label, count in source.funnel]


def _language_table(data: CardData) -> tuple[list[str], list[list[str]]]:
    langs = sorted({lang for per in data.languages.values() for lang in per})
    head = ["source", *langs]
    rows = [
        [source, *(f"{per.get(lang, 0):,}" for lang in langs)]
        for source, per in sorted(data.languages.items())
    ]
    return head, rows


def _md_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(cell(h) for h in head) + " |"]
    out.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|")
    out.extend("| " + " | ".join(cell(c) for c in row) + " |" for row in rows)
    return out


def render_markdown(data: CardData) -> str:
    """Return the card as Markdown (tables; the charts are in the HTML card)."""
    lines = [f"# {data.title}", ""]
    if data.description:
        lines.extend([data.description, ""])
    lines.extend(f"- **{label}**: {value}" for label, value in data.facts)
    lines.extend(["", "## Sources", ""])
    lines.extend(_md_table(*_source_rows(data)))
    lines.extend(["", "## Licences and provenance", ""])
    for s in data.sources:
        notes = f" {s.notes}" if s.notes else ""
        lines.append(f"- **{s.name}**: licence: {s.licence or 'not stated in the spec'}.{notes}")
    if data.languages:
        lines.extend(["", "## Languages (output tokens)", ""])
        lines.extend(_md_table(*_language_table(data)))
    lines.extend(["", "## Filter funnel", ""])
    for s in data.sources:
        lines.extend([f"### {s.name}", ""])
        lines.extend(_md_table(["step", "documents"], _funnel_rows(s)))
        lines.append("")
    if data.histograms:
        lines.extend(["## Scores", ""])
        for h in data.histograms:
            lines.append(
                f"- `{h.key}`: {counted(sum(h.read), 'document')} read, {sum(h.kept):,} in the mix,"
                f" range {h.edges[0]:.4g} to {h.edges[-1]:.4g}"
            )
        lines.append("")
    lines.append("Charts: see card.html beside this file.")
    return "\n".join(lines) + "\n"


def chart_figures(data: CardData) -> list[tuple[str, Figure]]:
    """Return (caption, matplotlib Figure) for every chart of the card, in page order."""
    names = [s.name for s in data.sources]
    figures: list[tuple[str, Figure]] = [
        (
            "Declared and realised shares of output tokens (a source sampled at a fixed"
            " rate declares no share)",
            charts.bar_chart(
                names,
                {
                    "declared": [s.declared_share or 0.0 for s in data.sources],
                    "realised": [s.realised_share for s in data.sources],
                },
                title="Token share per source",
                percent=True,
            ),
        ),
        (
            "Tokens per source in the mix",
            charts.bar_chart(
                names, {"tokens": [float(s.tokens) for s in data.sources]}, title="Tokens"
            ),
        ),
    ]
    if data.languages:
        langs = sorted({lang for per in data.languages.values() for lang in per})
        sources = sorted(data.languages)
        figures.append(
            (
                "Output tokens per language and source",
                charts.stacked_bar_chart(
                    sources,
                    {
                        lang: [float(data.languages[s].get(lang, 0)) for s in sources]
                        for lang in langs
                    },
                    title="Languages",
                    ylabel="tokens",
                ),
            )
        )
    for h in data.histograms:
        figures.append(
            (
                f"Distribution of {h.key}: documents read and documents in the mix",
                charts.histogram_chart(
                    h.edges, {"read": h.read, "in the mix": h.kept}, title=h.key, xlabel="score"
                ),
            )
        )
    figures.append(
        (
            "Duplicates removed per source",
            charts.bar_chart(
                names,
                {"duplicates removed": [float(s.duplicates_removed) for s in data.sources]},
                title="Duplicates removed",
                ylabel="documents",
            ),
        )
    )
    figures.append(
        (
            "Filter funnel per source, in the order the steps apply: documents read, left after"
            " each filter clause, sampled, and emitted (repeats counted, so it can exceed"
            " sampled); the tables below give every clause in full",
            charts.funnel_chart(
                [(s.name, s.funnel) for s in data.sources], title="Filter funnel per source"
            ),
        )
    )
    return figures


def render_html(data: CardData, extra: Sequence[str] = ()) -> str:
    """Return the card as one self-contained HTML page (`extra`: further sections, at the end)."""
    sections = []
    if data.description:
        sections.append(f"<p>{esc(data.description)}</p>")
    sections.append(table(["fact", "value"], [[k, v] for k, v in data.facts]))
    sections.append("<h2>Sources</h2>")
    sections.append(table(*_source_rows(data)))
    sections.append("<h2>Licences and provenance</h2><ul>")
    for s in data.sources:
        licence = esc(s.licence or "not stated in the spec")
        notes = f" {esc(s.notes)}" if s.notes else ""
        sections.append(f"<li><b>{esc(s.name)}</b>: licence: {licence}.{notes}</li>")
    sections.append("</ul><h2>Charts</h2>")
    for caption, fig in chart_figures(data):
        sections.append(
            f'<figure class="chart">{charts.svg(fig)}'
            f"<figcaption>{esc(caption)}</figcaption></figure>"
        )
    if data.languages:
        sections.append("<h2>Languages (output tokens)</h2>")
        sections.append(table(*_language_table(data)))
    sections.append("<h2>Filter funnel per source</h2>")
    for s in data.sources:
        sections.append(f"<h3>{esc(s.name)}</h3>")
        sections.append(table(["step", "documents"], _funnel_rows(s)))
    sections.extend(extra)
    return page(data.title, sections)
