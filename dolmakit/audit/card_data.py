"""Gather the numbers of a data card from a mix: manifest, index, shards and input attributes.

- Shares, tokens, repeats, the funnel and duplicates removed come from the manifest.
- Languages: output tokens per `metadata.lang` (else `metadata.language`, else "unknown")
  and source, read from the shards and the index (same order, checked row by row).
- Score histograms need the data root: for each attribute a source's filter reads (other than
  deduplication), its per-document value over the documents read and those kept, from the
  input attribute files aligned with the `decisions/` rows. The value of an attribute is the
  mixer's: the score of a span covering the whole text, else the highest span score.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dolmakit.audit.card import (
    CardData,
    ScoreHistogram,
    SourceSummary,
    render_html,
    render_markdown,
)
from dolmakit.audit.card_contamination import contamination_section
from dolmakit.audit.folder import MixFolder, open_mix
from dolmakit.audit.sign import signing_status
from dolmakit.audit.sources import is_dedup_clause, source_rows
from dolmakit.errors import DolmakitError, InputError
from dolmakit.io import storage
from dolmakit.io.atomic import write_bytes_atomic
from dolmakit.io.attributes import read_with_attributes
from dolmakit.io.reader import READ_ERRORS, iter_lines, read_documents
from dolmakit.io.rejects import Rejects
from dolmakit.mix.evaluate import compile_filter
from dolmakit.mix.files import read_table
from dolmakit.mix.manifest import SourceSection

HISTOGRAM_BINS = 20
MAX_HISTOGRAMS = 8


def card_data(
    mix: MixFolder, *, score_keys: Sequence[str] = (), bins: int = HISTOGRAM_BINS
) -> CardData:
    """Return everything the card shows about the mix in `mix`."""
    manifest = mix.manifest
    rows = source_rows(manifest)
    totals = manifest.totals
    facts = [
        (
            "mix",
            f"{manifest.name} version {manifest.version}" + (" (draft)" if manifest.draft else ""),
        ),
        ("documents", f"{totals.documents:,}"),
        ("tokens", f"{totals.tokens:,} ({manifest.tokenizer})"),
        ("shards", f"{totals.shards:,} ({totals.bytes:,} bytes)"),
        ("seed", str(manifest.seed)),
        ("spec sha256", manifest.spec_sha256),
        ("manifest content sha256", manifest.content_sha256),
        ("built by", f"dolmakit {manifest.dolmakit_version}"),
    ]
    facts.append(("signature", _signature_fact(mix)))
    facts.extend(("warning", w) for w in manifest.warnings)
    sources = tuple(
        SourceSummary(
            name=r.name,
            declared_share=r.declared_share,
            realised_share=r.realised_share,
            documents=r.documents,
            tokens=r.tokens,
            repeats=r.repeated,
            input_files=r.input_files,
            funnel=tuple((s.step, s.documents) for s in r.funnel()),
            duplicates_removed=r.duplicates_removed,
            licence=r.licence,
            notes=r.notes,
            rate=r.rate,
        )
        for r in rows
    )
    histograms: tuple[ScoreHistogram, ...] = ()
    if mix.data_root is not None:
        histograms = tuple(_histograms(mix, score_keys, bins))
    else:
        facts.append(("score histograms", "not drawn: the data root was not given"))
    return CardData(
        title=f"{manifest.name} v{manifest.version}: data card",
        description=manifest.description,
        facts=tuple(facts),
        sources=sources,
        languages=_languages(mix),
        histograms=histograms,
    )


def _shard_rows(mix: MixFolder) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """Yield (shard number, row, document object) for every output document."""
    import msgspec

    for number, shard in enumerate(mix.manifest.shards):
        path = mix.folder / shard.path
        if path.name.endswith(".parquet"):
            for row, doc in read_documents(path, Rejects(on_error="fail")):
                yield number, row, doc.to_dict()
            continue
        try:
            for row, line in iter_lines(path, 1 << 40):
                if line is None:
                    raise InputError(str(path), row, "unreadable line")
                yield number, row, msgspec.json.decode(line)
        except (msgspec.DecodeError, RecursionError, *READ_ERRORS) as exc:
            raise InputError(
                str(path), 0, f"unreadable shard ({exc}); run dolmakit audit verify"
            ) from None


def _languages(mix: MixFolder) -> dict[str, dict[str, int]]:
    """Return {source: {language: output tokens}} from the shards and the index."""
    index = read_table(mix.folder / mix.manifest.index.path, columns=["shard", "row", "tokens"])
    shards, rows, tokens = (index.column(c).to_pylist() for c in ("shard", "row", "tokens"))
    out: dict[str, dict[str, int]] = {}
    count = 0
    for i, (number, row, doc) in enumerate(_shard_rows(mix)):
        if i >= len(shards) or (shards[i], rows[i]) != (number, row):
            raise DolmakitError(
                f"{mix.folder}: shard {number} row {row} does not match the index;"
                " run dolmakit audit verify"
            )
        meta = doc.get("metadata") or {}
        lang = str(meta.get("lang") or meta.get("language") or "unknown")
        source = str((meta.get("provenance") or {}).get("source", doc.get("source", "?")))
        per = out.setdefault(source, {})
        per[lang] = per.get(lang, 0) + int(tokens[i] or 0)
        count += 1
    if count != len(shards):
        raise DolmakitError(f"{mix.folder}: the index lists more documents than the shards hold")
    return {s: dict(sorted(v.items())) for s, v in sorted(out.items())}


def _value(spans: list[list[float]], length: int) -> float | None:
    """Return the mixer's value of an attribute: the whole-text span's score, else the highest."""
    if not spans:
        return None
    for start, end, score in spans:
        if start == 0 and end >= length:
            return float(score)
    return float(max(s[2] for s in spans))


def _filter_keys(section: SourceSection) -> list[str]:
    """Return the attribute keys a source's filter reads, except deduplication ones."""
    compiled = compile_filter(section.filter, list(section.attributes))
    keys: list[str] = []
    for name, candidates in compiled.attribute_keys().items():
        if not is_dedup_clause(name):
            keys.extend(k for k in candidates if not is_dedup_clause(k))
    return keys


def _histograms(mix: MixFolder, score_keys: Sequence[str], bins: int) -> list[ScoreHistogram]:
    """Collect per-document values of the chosen keys over documents read and kept."""
    sections = {s.name: s for s in mix.manifest.sources}
    wanted: dict[str, list[str]] = {name: _filter_keys(s) for name, s in sections.items()}
    read: dict[str, list[float]] = {}
    kept: dict[str, list[float]] = {}
    for record in mix.manifest.decisions:
        decisions = _decision_rows(mix, record.path)
        if not decisions:
            continue
        source = str(decisions[0]["source"])
        runs = list(sections[source].attributes)
        if not runs:
            continue
        doc_file = mix.input_path(record.input)
        position = 0
        for line, doc, attrs in read_with_attributes(doc_file, runs, Rejects()):
            if position >= len(decisions) or int(decisions[position]["line"]) != line:
                raise DolmakitError(
                    f"{doc_file}:{line}: the input changed since the mix (decisions do not"
                    " line up); run dolmakit audit verify --inputs"
                )
            outcome = decisions[position]["outcome"]
            position += 1
            for key, spans in attrs.items():
                chosen = key in wanted[source] or any(
                    fnmatch.fnmatchcase(key, p) for p in score_keys
                )
                value = _value(spans, len(doc.text)) if chosen else None
                if value is None:
                    continue
                read.setdefault(key, []).append(value)
                if outcome == "kept":
                    kept.setdefault(key, []).append(value)
    out = []
    for key in sorted(read)[:MAX_HISTOGRAMS]:
        values = np.asarray(read[key], dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        if low == high:
            low, high = low - 0.5, high + 0.5
        edges = np.linspace(low, high, bins + 1)
        out.append(
            ScoreHistogram(
                key,
                tuple(float(e) for e in edges),
                tuple(int(c) for c in np.histogram(values, bins=edges)[0]),
                tuple(int(c) for c in np.histogram(np.asarray(kept.get(key, [])), bins=edges)[0]),
            )
        )
    return out


def _decision_rows(mix: MixFolder, relative: str) -> list[dict[str, Any]]:
    table = read_table(mix.folder / relative, columns=["line", "source", "outcome"])
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def render_card(
    mix_dir: str | Path,
    *,
    out: str | Path | None = None,
    data_root: str | Path | None = None,
    score_keys: Sequence[str] = (),
) -> tuple[Path, Path]:
    """Write card.md and card.html for a mix (into the mix folder, or `out`); return both paths."""
    mix = open_mix(mix_dir, data_root)
    data = card_data(mix, score_keys=score_keys)

    folder = storage.location(out) if out is not None else mix.folder
    md_path, html_path = folder / "card.md", folder / "card.html"

    md_extra, html_extra = contamination_section(mix)
    write_bytes_atomic(md_path, (render_markdown(data) + md_extra).encode())
    write_bytes_atomic(html_path, render_html(data, html_extra).encode())
    return md_path, html_path


def _signature_fact(mix: MixFolder) -> str:
    """Say who signed the mix (the key's fingerprint), or that it is not signed."""
    return signing_status(mix.folder, mix.manifest.content_sha256).describe()
