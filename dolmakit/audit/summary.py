"""Gather the EU AI Act public summary of training content from one or several mixes.

Art. 53(1)(d) asks a general-purpose model's provider for a public summary of its training
content; the AI Office template (July 2025) lists what it holds. What the manifests and
shards say is computed here: size in the template's ranges (exact tokens beside), languages
and shares, sources by kind with their licences, the top 10% of crawled domains by bytes
(registered domains from `metadata.url`, through tldextract's bundled suffix list, offline),
the period of `created`/`added`, and the processing and opt-out measures. What only a person
can state comes from `provider.yaml`; every field left empty is listed as missing.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dolmakit.audit.folder import open_mix
from dolmakit.audit.sign import signing_status
from dolmakit.audit.sources import is_dedup_clause
from dolmakit.errors import ConfigError
from dolmakit.io.config import read_config_text
from dolmakit.io.units import counted
from dolmakit.mix.manifest import Manifest
from dolmakit.mix.output import iter_output

FORMAT = "dolmakit.audit.summary/1"
# What only the provider can state (the template's general section), in template order.
PROVIDER_FIELDS = (
    "provider",
    "contact",
    "authorised_representative",
    "models",
    "market_date",
    "crawler",
)
PROVIDER_KEYS = (*PROVIDER_FIELDS, "source_kinds")
SOURCE_KINDS = ("public", "crawled", "private", "user", "synthetic", "other")
# The template's ranges for the text modality.
TEXT_RANGES = (
    (10**9, "Less than 1 billion tokens"),
    (10**13, "1 billion to 10 trillion tokens"),
)
TEXT_ABOVE = "More than 10 trillion tokens"
NAMED_SHARE = 0.03
TOP_DOMAINS = 0.10
_TOXIC = ("tox", "nsfw", "ldnoobw", "profan")
_CONTAMINATION = ("contamina",)
_OPTOUT = ("optout",)


@dataclass(frozen=True)
class Provider:
    """The provider's statements from provider.yaml and the fields left empty."""

    values: dict[str, Any]
    source_kinds: dict[str, str]
    missing: tuple[str, ...]


def load_provider(path: str | Path | None) -> Provider:
    """Read provider.yaml (None: nothing stated); ConfigError naming an unknown key."""
    import yaml

    raw: Any = {}
    if path is not None:
        text = read_config_text(path, "provider file")
        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not YAML ({exc})") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping of provider fields")
        for key in raw:
            if key not in PROVIDER_KEYS:
                raise ConfigError(
                    f"{path}: unknown key {key!r} (known keys: {', '.join(PROVIDER_KEYS)})"
                )
    kinds = raw.get("source_kinds") or {}
    if not isinstance(kinds, dict):
        raise ConfigError(f"{path}: source_kinds: expected a mapping of source name to kind")
    for name, kind in kinds.items():
        if kind not in SOURCE_KINDS:
            raise ConfigError(
                f"{path}: source_kinds.{name}: unknown kind {kind!r}"
                f" (choose one of {', '.join(SOURCE_KINDS)})"
            )
    # YAML reads `market_date: 2027-01-01` as a date: keep it as the ISO text it was.
    values = {k: _plain(raw.get(k)) for k in PROVIDER_FIELDS}
    missing = tuple(k for k, v in values.items() if v in (None, "", [], {}))
    return Provider(values, {str(k): str(v) for k, v in kinds.items()}, missing)


def _plain(value: Any) -> Any:
    """Return a provider value as JSON values: dates and times as ISO 8601 text."""
    import datetime

    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def text_range(tokens: int) -> str:
    """Return the template's size range of `tokens` text tokens."""
    for bound, label in TEXT_RANGES:
        if tokens < bound:
            return label
    return TEXT_ABOVE


@cache
def _extractor() -> Any:
    try:
        import tldextract
    except ImportError:
        raise ConfigError(
            "domains are found with tldextract: pip install 'dolmakit[publish]'"
        ) from None
    # The bundled public suffix list only: nothing is fetched, nothing is cached on disk.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def registered_domain(url: str) -> str | None:
    """Return the registered domain of a URL (`news.bbc.co.uk` -> `bbc.co.uk`); None if none."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    parts = _extractor()(host)
    return str(parts.top_domain_under_public_suffix or parts.domain) or None


@dataclass
class _Scan:
    """What the shards of one mix say, per source."""

    tokens: Counter[str] = field(default_factory=Counter)
    documents: Counter[str] = field(default_factory=Counter)
    with_url: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    domains: dict[str, Counter[str]] = field(default_factory=dict)
    bad_urls: Counter[str] = field(default_factory=Counter)
    dates: dict[str, list[str]] = field(default_factory=dict)


def _scan(folder: Path, manifest: Manifest) -> _Scan:
    scan = _Scan()
    for _, _, doc, tokens in iter_output(folder, manifest.shards, manifest.index.path):
        meta = doc.get("metadata") or {}
        source = str((meta.get("provenance") or {}).get("source", ""))
        scan.tokens[source] += tokens
        scan.documents[source] += 1
        scan.languages[str(meta.get("lang") or meta.get("language") or "unknown")] += tokens
        for key in ("created", "added"):
            value = doc.get(key)
            if isinstance(value, str) and value:
                span = scan.dates.setdefault(key, [value, value])
                span[0], span[1] = min(span[0], value), max(span[1], value)
        url = meta.get("url")
        if isinstance(url, str) and url:
            scan.with_url[source] += 1
            domain = registered_domain(url)
            if domain is None:
                scan.bad_urls[source] += 1
            else:
                per = scan.domains.setdefault(source, Counter())
                per[domain] += len(doc["text"].encode())
    return scan


def _kind(name: str, scan: _Scan, kinds: dict[str, str]) -> str:
    if name in kinds:
        return kinds[name]
    # Mostly documents with URLs: crawled pages.
    return "crawled" if 2 * scan.with_url[name] > scan.documents[name] else "public"


def _measures(manifest: Manifest) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {
        "filters": [],
        "deduplication": [],
        "personal_information": [],
        "toxicity": [],
        "decontamination": [],
        "opt_out": [],
        "takedowns": [],
    }
    where = f"{manifest.name} v{manifest.version}"
    for s in manifest.sources:
        f = s.funnel
        for clause, removed in zip(s.clauses, f.rejected_by_clause, strict=True):
            line = f"{where} {s.name}: `{clause}` removed {removed:,} of {f.read:,} documents"
            low = clause.lower()
            if is_dedup_clause(clause):
                out["deduplication"].append(line)
            elif any(w in low for w in _TOXIC):
                out["toxicity"].append(line)
            elif any(w in low for w in _CONTAMINATION):
                out["decontamination"].append(line)
            elif any(w in low for w in _OPTOUT):
                out["opt_out"].append(line)
            else:
                out["filters"].append(line)
    out["opt_out"].extend(_optout_lines(manifest, where))
    for t in manifest.takedowns or ():
        out["takedowns"].append(
            f"{where}: takedown {t.number} of {t.date} (v{t.previous_version} -> v{t.version},"
            f" {t.reason}): {counted(t.documents, 'document')} removed ({t.copies:,} output copies,"
            f" {t.tokens:,} tokens); {t.kind} list sha256 {t.list_sha256}"
        )
    for rule in manifest.spec.get("span_replacements") or []:
        out["personal_information"].append(
            f"{where}: spans of `{rule['attribute']}` replaced by `{rule['replacement']}`"
        )
    return out


def _optout_lines(manifest: Manifest, where: str) -> list[str]:
    """Describe the rights-reservation snapshots the mix's optout runs evaluated."""
    out = []
    for entry in manifest.optout or ():
        fetched = entry.get("fetched") or {}
        period = f", fetched {fetched.get('first')} to {fetched.get('last')}" if fetched else ""
        malformed = (entry.get("robots_malformed") or 0) + (entry.get("tdmrep_malformed") or 0)
        out.append(
            f"{where}: run {entry['run']} checked robots.txt and TDMRep reservations for user"
            f" agents {', '.join(entry.get('agents') or [])} against a snapshot of"
            f" {entry.get('sites', 0):,} sites ({entry.get('robots', 0):,} robots.txt,"
            f" {entry.get('tdmrep', 0):,} tdmrep.json, {entry.get('headers', 0):,} header"
            f" records{period}; {malformed:,} malformed files, their documents' decision"
            f" unknown), snapshot sha256 {entry.get('sha256')}"
        )
    return out


def build_summary(mix_dirs: list[str | Path], provider: Provider) -> dict[str, Any]:
    """Return the public summary of the training content in `mix_dirs`, as JSON values."""
    mixes: list[dict[str, Any]] = []
    sources: list[dict[str, Any]] = []
    measures: dict[str, list[str]] = {}
    languages: Counter[str] = Counter()
    domains: Counter[str] = Counter()
    bad_urls = 0
    dates: dict[str, list[str]] = {}
    for mix_dir in mix_dirs:
        mix = open_mix(mix_dir)
        m = mix.manifest
        scan = _scan(mix.folder, m)
        signing = signing_status(mix.folder, m.content_sha256)
        mixes.append(
            {
                "name": m.name,
                "version": m.version,
                "content_sha256": m.content_sha256,
                "tokens": m.totals.tokens,
                "documents": m.totals.documents,
                "signature": {
                    "signed": signing.signed,
                    "key_fingerprint": signing.key_fingerprint if signing.signed else None,
                    "note": signing.note,
                },
            }
        )
        languages.update(scan.languages)
        licences = {s.source: s for s in m.licences or ()}
        for s in m.sources:
            kind = _kind(s.name, scan, provider.source_kinds)
            shares = licences.get(s.name)
            sources.append(
                {
                    "mix": f"{m.name} v{m.version}",
                    "name": s.name,
                    "kind": kind,
                    "tokens": scan.tokens[s.name],
                    "documents": scan.documents[s.name],
                    "licences": {x.licence: x.share for x in shares.licences}
                    if shares
                    else {s.licence or "NOASSERTION": 1.0},
                }
            )
            if kind == "crawled":
                domains.update(scan.domains.get(s.name, Counter()))
                bad_urls += scan.bad_urls[s.name]
        for key, (low, high) in scan.dates.items():
            span = dates.setdefault(key, [low, high])
            span[0], span[1] = min(span[0], low), max(span[1], high)
        for key, lines in _measures(m).items():
            measures.setdefault(key, []).extend(lines)
    total = sum(s["tokens"] for s in sources)
    for row in sources:
        row["share"] = row["tokens"] / total if total else 0.0
    lang_total = sum(languages.values())
    ranked = sorted(domains.items(), key=lambda kv: (-kv[1], kv[0]))
    top = ranked[: math.ceil(TOP_DOMAINS * len(ranked))]
    domain_bytes = sum(domains.values())
    public = [s for s in sources if s["kind"] == "public"]
    named = [s for s in public if s["share"] > NAMED_SHARE]
    rest = [s for s in public if s["share"] <= NAMED_SHARE]
    return {
        "format": FORMAT,
        "provider": provider.values,
        "missing": list(provider.missing),
        "mixes": mixes,
        "size": {
            "text": {
                "tokens": total,
                "documents": sum(s["documents"] for s in sources),
                "range": text_range(total),
            }
        },
        "languages": [
            {"language": k, "tokens": v, "share": v / lang_total if lang_total else 0.0}
            for k, v in sorted(languages.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "sources": {
            "public_datasets": {
                "named": named,
                "other": {
                    "sources": len(rest),
                    "tokens": sum(s["tokens"] for s in rest),
                    "share": sum(s["share"] for s in rest),
                },
            },
            "crawled": [s for s in sources if s["kind"] == "crawled"],
            "other": [s for s in sources if s["kind"] not in ("public", "crawled")],
        },
        "domains": {
            "domains": len(ranked),
            "bytes": domain_bytes,
            "top": [
                {"domain": d, "bytes": b, "share": b / domain_bytes if domain_bytes else 0.0}
                for d, b in top
            ],
            "unparseable_urls": bad_urls,
        },
        "period": {k: {"first": v[0], "last": v[1]} for k, v in sorted(dates.items())},
        "processing": measures,
    }
