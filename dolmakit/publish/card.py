"""Render a published mix's dataset card: README.md with the YAML header the Hub reads.

The header carries `pretty_name`, `license`, `language`, `size_categories`,
`task_categories`, `source_datasets`, `tags`, and `configs`: a default config (every document,
in mix order) and, when provenance columns are written, one per source (the same files,
filtered on `provenance_source`; the `filters` key needs `datasets` 4.2 or newer). The body
follows the usual card sections, filled from the manifest and its spec; nothing is invented.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from dolmakit.io.units import counted
from dolmakit.mix.licences import UNSTATED, parse_licence

if TYPE_CHECKING:
    from dolmakit.publish.release import Release

# The Hub's size categories: (upper bound on the number of documents, label).
_SIZES = (
    (10**3, "n<1K"),
    (10**4, "1K<n<10K"),
    (10**5, "10K<n<100K"),
    (10**6, "100K<n<1M"),
    (10**7, "1M<n<10M"),
    (10**8, "10M<n<100M"),
    (10**9, "100M<n<1B"),
    (10**10, "1B<n<10B"),
    (10**11, "10B<n<100B"),
    (10**12, "100B<n<1T"),
)
# A filter clause naming one of these screens for sensitive or harmful content.
SENSITIVE_FILTERS = ("tox", "nsfw", "ldnoobw", "pii")


def size_category(documents: int) -> str:
    """Return the Hub's size category of a dataset of `documents` rows."""
    for bound, label in _SIZES:
        if documents < bound:
            return label
    return "n>1T"


def hub_licences(release: Release) -> list[str]:
    """Return the Hub's `license` values: each SPDX identifier, lower case; `other` for the rest."""
    found: set[str] = set()
    for source in release.licences:
        for share in source.licences:
            if share.licence == UNSTATED:
                found.add("unknown")
                continue
            try:
                licence = parse_licence(share.licence)
            except ValueError:
                found.add("other")
                continue
            for key in licence.keys:
                found.add("other" if key in licence.unknown or "Ref-" in key else key.lower())
    return sorted(found) or ["unknown"]


def header(release: Release) -> dict[str, Any]:
    """Return the card's YAML header as a mapping."""
    m = release.manifest
    files = "data/*.parquet"
    configs: list[dict[str, Any]] = [
        {
            "config_name": "default",
            "default": True,
            "data_files": [{"split": "train", "path": files}],
        }
    ]
    if release.provenance:
        configs.extend(
            {
                "config_name": s.name,
                "data_files": [{"split": "train", "path": files}],
                "filters": [["provenance_source", "==", s.name]],
            }
            for s in m.sources
            if s.name != "default"
        )
    languages = [lang for lang in release.languages if lang != "unknown"]
    return {
        "pretty_name": f"{m.name} v{m.version}",
        "license": hub_licences(release),
        "language": languages,
        "size_categories": [size_category(release.documents)],
        "task_categories": ["text-generation"],
        "source_datasets": [s.name for s in m.sources],
        "tags": ["dolmakit", "pretraining", "text"],
        "configs": configs,
        "dolmakit": {
            "mix": m.name,
            "version": m.version,
            "content_sha256": m.content_sha256,
            "tokenizer": m.tokenizer,
            "tokens": m.totals.tokens,
            "licences": {
                s.source: {x.licence: round(x.share, 6) for x in s.licences}
                for s in release.licences
            },
        },
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out.extend("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows)
    return [*out, ""]


def render_card(release: Release) -> str:
    """Return README.md: the YAML header between `---` lines, then the card in Markdown."""
    m = release.manifest
    head = yaml.safe_dump(header(release), sort_keys=False, allow_unicode=True)
    licences = {s.source: s for s in release.licences}
    lines = ["---", head.rstrip("\n"), "---", "", f"# {m.name} v{m.version}", ""]
    lines += ["## Dataset description", "", m.description or "(the spec gives no description)", ""]
    lines += _table(
        ["fact", "value"],
        [
            ["documents", f"{release.documents:,}"],
            ["tokens", f"{m.totals.tokens:,} ({m.tokenizer})"],
            ["seed", str(m.seed)],
            ["mix manifest content sha256", f"`{m.content_sha256}`"],
            ["built by", f"dolmakit {m.dolmakit_version}"],
            ["draft", "yes" if m.draft else "no"],
        ],
    )
    lines += [
        "Load it with `datasets.load_dataset(<folder or repo>)` (every document, in mix order)"
        + (
            " or name a source as the config, e.g. "
            f"`load_dataset(<folder>, {m.sources[0].name!r})`."
            if release.provenance
            else "."
        ),
        "",
        "## Sources and shares",
        "",
    ]
    rows = []
    for s in m.sources:
        shares = licences.get(s.name)
        named = ", ".join(
            f"{x.licence} ({_pct(x.share)})" for x in (shares.licences if shares else ())
        )
        rows.append(
            [
                s.name,
                _pct(s.declared_share),
                _pct(s.realised_share),
                f"{s.funnel.emitted_documents:,}",
                f"{s.funnel.tokens_emitted:,}",
                named or (s.licence or UNSTATED),
            ]
        )
    lines += _table(
        ["source", "declared share", "realised share", "documents", "tokens", "licences"], rows
    )
    lines += [f"- **{s.name}**: {s.notes}" for s in m.sources if s.notes]
    lines += ["", "## Languages", ""]
    total = sum(release.languages.values()) or 1
    lines += _table(
        ["language", "tokens", "share"],
        [[k, f"{v:,}", _pct(v / total)] for k, v in release.languages.items()],
    )
    lines += ["## Curation steps", ""]
    for s in m.sources:
        f = s.funnel
        lines.append(f"### {s.name}")
        lines.append("")
        lines.append(f"Filter: `{s.filter}`" if s.filter else "Filter: none (every document read)")
        lines.append("")
        steps = [["read", f"{f.read:,}"]]
        if f.rejected_lines:
            steps.append(["unreadable lines (not read)", f"{f.rejected_lines:,}"])
        left = f.read
        for clause, rejected in zip(s.clauses, f.rejected_by_clause, strict=True):
            left -= rejected
            steps.append([f"passes `{clause}`", f"{left:,}"])
        steps += [
            [f"sampled (rate {s.rate:.4g})", f"{f.sampled:,}"],
        ]
        if f.taken_down:
            steps.append(["taken down on request (every copy)", f"{f.taken_down:,}"])
        steps.append(["emitted (with repeats)", f"{f.emitted_documents:,}"])
        lines += _table(["step", "documents"], steps)
    for t in m.takedowns or ():
        lines.append(
            f"Takedown {t.number} ({t.date}, v{t.previous_version} -> v{t.version}): {t.reason};"
            f" {counted(t.documents, 'document')} removed ({t.copies:,} output copies,"
            f" {t.tokens:,} tokens), nothing sampled again. Request: {t.kind} list sha256"
            f" `{t.list_sha256}`."
        )
        lines.append("")
    lines += ["## Personal and sensitive information", ""]
    lines += _sensitive(m.spec)
    lines += ["## Known limitations", ""]
    lines += _limitations(release)
    lines += ["## Provenance", ""]
    if release.provenance:
        lines.append(
            "Every row names where it came from: `provenance_source` (the mix source),"
            " `provenance_path` (the input file, relative to the data root), `provenance_line`"
            " (1-based line) and `provenance_repeat` (0 for a first copy)."
        )
    else:
        lines.append("Published without provenance columns (`--no-provenance`).")
    lines.append("")
    return "\n".join(lines)


def _sensitive(spec: dict[str, Any]) -> list[str]:
    rules = spec.get("span_replacements") or []
    out = [f"- spans of `{r['attribute']}` are replaced by `{r['replacement']}`" for r in rules]
    out += [
        f"- source {s['name']} filters on `{s['filter']}`"
        for s in spec.get("sources", [])
        if s.get("filter") and any(w in s["filter"] for w in SENSITIVE_FILTERS)
    ]
    if not out:
        out = ["- The mix masks no personal information and filters on no sensitive-content score."]
    return [*out, ""]


def _limitations(release: Release) -> list[str]:
    m = release.manifest
    out = [f"- {w}" for w in m.warnings]
    if any(s.funnel.repeated for s in m.sources):
        out.append("- Some documents appear more than once (upsampled sources, see the funnel).")
    if "unknown" in release.languages:
        out.append("- Some documents carry no `metadata.lang`; their language is unknown.")
    out.append(
        "- Languages are the documents' `metadata.lang` labels, not a check of every paragraph."
    )
    return [*out, ""]
