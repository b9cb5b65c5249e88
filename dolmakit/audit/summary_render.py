"""Render the public summary of training content as Markdown, HTML and JSON, and write them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dolmakit.audit.html import esc, page, table
from dolmakit.io import storage
from dolmakit.io.atomic import write_bytes_atomic

TITLE = "Public summary of training content"
_MEASURES = (
    ("filters", "Filters"),
    ("deduplication", "Deduplication"),
    ("personal_information", "Personal information"),
    ("toxicity", "Toxicity and harmful content"),
    ("decontamination", "Decontamination"),
    ("opt_out", "Rights reservations (opt-outs)"),
    ("takedowns", "Takedowns (documents removed on request)"),
)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _licences(row: dict[str, Any]) -> str:
    return ", ".join(f"{k} ({_pct(v)})" for k, v in row["licences"].items())


def _signing_key(mix: dict[str, Any]) -> str:
    """Return the Ed25519 key's fingerprint, or "not signed" (summaries before signing: too)."""
    signature = mix.get("signature") or {}
    return str(signature["key_fingerprint"]) if signature.get("signed") else "not signed"


def sections(
    summary: dict[str, Any],
) -> list[tuple[str, list[str], list[tuple[list[str], list[list[str]]]]]]:
    """Return (heading, paragraphs, tables) per section, shared by both renderings."""
    provider = summary["provider"]
    general = [
        f"{key.replace('_', ' ')}: {value if value not in (None, '', [], {}) else 'MISSING'}"
        for key, value in provider.items()
    ]
    missing = summary["missing"]
    notes = [f"Missing (to be stated by the provider): {', '.join(missing)}."] if missing else []
    mixes = [
        [
            m["name"],
            m["version"],
            f"{m['documents']:,}",
            f"{m['tokens']:,}",
            m["content_sha256"],
            _signing_key(m),
        ]
        for m in summary["mixes"]
    ]
    text = summary["size"]["text"]
    size = [f"Text: {text['range']} ({text['tokens']:,} tokens, {text['documents']:,} documents)."]
    langs = [[r["language"], f"{r['tokens']:,}", _pct(r["share"])] for r in summary["languages"]]
    src = summary["sources"]
    public = src["public_datasets"]
    named = [
        [s["mix"], s["name"], f"{s['tokens']:,}", _pct(s["share"]), _licences(s)]
        for s in public["named"]
    ]
    other = public["other"]
    public_notes = [
        f"Other public datasets (each at most 3% of the text): {other['sources']} sources,"
        f" {other['tokens']:,} tokens ({_pct(other['share'])})."
    ]
    crawled = [
        [s["mix"], s["name"], f"{s['tokens']:,}", _pct(s["share"]), _licences(s)]
        for s in src["crawled"]
    ]
    others = [
        [s["mix"], s["name"], s["kind"], f"{s['tokens']:,}", _pct(s["share"]), _licences(s)]
        for s in src["other"]
    ]
    dom = summary["domains"]
    domain_notes = [
        f"Top 10% of {dom['domains']:,} registered domains by bytes of content"
        f" ({dom['bytes']:,} bytes of crawled text);"
        f" {dom['unparseable_urls']:,} URLs did not parse."
    ]
    domains = [[d["domain"], f"{d['bytes']:,}", _pct(d["share"])] for d in dom["top"]]
    period = [f"{k}: {v['first']} to {v['last']}" for k, v in summary["period"].items()]
    out = [
        (
            "1. General information",
            general + notes,
            [(["mix", "version", "documents", "tokens", "content sha256", "signing key"], mixes)],
        ),
        ("Training data size", size, []),
        ("Languages", [], [(["language", "tokens", "share"], langs)]),
        (
            "2.1 Publicly available datasets",
            public_notes,
            [(["mix", "source", "tokens", "share", "licences"], named)],
        ),
        (
            "2.2 Data crawled from the web",
            domain_notes,
            [
                (["mix", "source", "tokens", "share", "licences"], crawled),
                (["domain", "bytes", "share"], domains),
            ],
        ),
        (
            "2.3 Other sources",
            [] if others else ["None."],
            [(["mix", "source", "kind", "tokens", "share", "licences"], others)] if others else [],
        ),
        ("Period of collection", period or ["No document carries a date."], []),
    ]
    processing = summary["processing"]
    for key, heading in _MEASURES:
        lines = processing.get(key) or []
        out.append((f"3. {heading}", lines or ["None recorded in the manifests."], []))
    return out


def render_markdown(summary: dict[str, Any]) -> str:
    """Return the summary as Markdown."""
    lines = [f"# {TITLE}", ""]
    for heading, paragraphs, tables in sections(summary):
        lines += [f"## {heading}", ""]
        lines += [f"- {p}" for p in paragraphs]
        if paragraphs:
            lines.append("")
        for head, rows in tables:
            lines += _md_table(head, rows)
    return "\n".join(lines)


def _md_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return [*out, ""]


def render_html(summary: dict[str, Any]) -> str:
    """Return the summary as one self-contained HTML page."""
    parts = []
    for heading, paragraphs, tables in sections(summary):
        parts.append(f"<h2>{esc(heading)}</h2>")
        if paragraphs:
            parts.append("<ul>" + "".join(f"<li>{esc(p)}</li>" for p in paragraphs) + "</ul>")
        parts.extend(table(head, rows) for head, rows in tables)
    return page(TITLE, parts)


def write_summary(summary: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Write summary.json, summary.md and summary.html into `out_dir`; return their paths."""
    folder = storage.location(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "summary.json": json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
        "summary.md": render_markdown(summary),
        "summary.html": render_html(summary),
    }
    for name, text in files.items():
        write_bytes_atomic(folder / name, text.encode())
    return [folder / name for name in files]
