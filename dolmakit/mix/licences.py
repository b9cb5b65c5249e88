"""Check licences as SPDX expressions and count each source's output tokens per licence.

A source's `licence` in the spec is an SPDX expression (`CC-BY-4.0`, `GPL-2.0-or-later AND
CC-BY-SA-3.0`, `LicenseRef-<name>` for one without an identifier); a document may carry its
own in `metadata.license`, which wins over its source's. Parsing uses the maintained
`license-expression` library (the `publish` extra). A syntax error is refused; an identifier
not in the SPDX list, and share-alike or non-commercial terms, are warnings; `allowed_licences`
in the spec refuses any other identifier. A document with no licence at all is `NOASSERTION`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from dolmakit.errors import ConfigError
from dolmakit.mix.manifest import LicenceShare, SourceLicences

UNSTATED = "NOASSERTION"
# Copyleft / share-alike: derived works must carry the same licence.
_SHARE_ALIKE = re.compile(r"(^|-)SA(-|$)|^(A|L)?GPL-|^GFDL-|^ODbL-|^CC-BY-NC-SA-", re.IGNORECASE)
_NON_COMMERCIAL = re.compile(r"(^|-)NC(-|$)", re.IGNORECASE)
_INSTALL = "pip install 'dolmakit[publish]'"


@dataclass(frozen=True)
class Licence:
    """A parsed SPDX expression: its normal form and the identifiers it names."""

    expression: str
    keys: tuple[str, ...]
    unknown: tuple[str, ...]

    def terms(self) -> list[str]:
        """Return the notable terms of the licence: share-alike, non-commercial."""
        found = []
        if any(_SHARE_ALIKE.search(k) for k in self.keys):
            found.append("share-alike")
        if any(_NON_COMMERCIAL.search(k) for k in self.keys):
            found.append("non-commercial")
        return found


@cache
def _licensing() -> Any:
    try:
        from license_expression import get_spdx_licensing
    except ImportError:
        raise ConfigError(
            f"licences are read as SPDX expressions with license-expression: {_INSTALL}"
        ) from None
    return get_spdx_licensing()


@cache
def parse_licence(text: str) -> Licence:
    """Parse an SPDX expression; ValueError with the parser's reason if it is not one."""
    from license_expression import ExpressionError

    licensing = _licensing()
    try:
        parsed = licensing.parse(text, validate=False, strict=True)
    except ExpressionError as exc:
        raise ValueError(f"not an SPDX expression ({exc})") from None
    if parsed is None:
        raise ValueError("empty licence expression")
    keys = tuple(sorted({s.key for s in licensing.license_symbols(parsed)}))
    unknown = tuple(
        k
        for k in sorted(licensing.unknown_license_keys(parsed))
        if not k.startswith(("LicenseRef-", "DocumentRef-"))
    )
    return Licence(str(parsed), keys, unknown)


def spec_licence_warnings(
    sources: Iterable[tuple[str, str, str]], allowed: tuple[str, ...] | None
) -> list[str]:
    """Check each (source, licence, where) of a spec; return warnings, ConfigError if refused.

    `where` is `file:line` of the field, for the error line.
    """
    warnings = []
    for name, text, where in sources:
        if not text:
            warnings.append(f"source {name}: no licence given (recorded as {UNSTATED})")
            continue
        try:
            licence = parse_licence(text)
        except ValueError as exc:
            raise ConfigError(f"{where}: licence {text!r}: {exc}") from None
        warnings.extend(_warnings(f"source {name}", text, licence))
        outside = _not_allowed(licence, allowed)
        if outside:
            raise ConfigError(
                f"{where}: licence {text!r} names {', '.join(outside)}, not in allowed_licences"
                f" ({', '.join(allowed or ())})"
            )
    return warnings


def document_licence_warnings(
    counts: Mapping[str, Mapping[str, tuple[int, int]]],
    spec_licences: Mapping[str, str],
    allowed: tuple[str, ...] | None,
) -> list[str]:
    """Check the licences documents carry (`{source: {licence: (documents, tokens)}}`)."""
    warnings = []
    for source, per in counts.items():
        for text, (docs, _) in per.items():
            if text in (spec_licences.get(source) or UNSTATED, UNSTATED):
                continue
            what = f"source {source}: {docs:,} documents with metadata.license"
            try:
                licence = parse_licence(text)
            except ValueError as exc:
                warnings.append(f"{what} {text!r}: {exc}")
                continue
            warnings.extend(_warnings(what, text, licence))
            outside = _not_allowed(licence, allowed)
            if outside:
                raise ConfigError(
                    f"{what} {text!r} naming {', '.join(outside)}, not in allowed_licences"
                    f" ({', '.join(allowed or ())})"
                )
    return warnings


def _warnings(what: str, text: str, licence: Licence) -> list[str]:
    out = [f"{what}: licence {text!r}: unknown SPDX identifier {k!r}" for k in licence.unknown]
    out.extend(f"{what}: licence {text!r} has {term} terms" for term in licence.terms())
    return out


def _not_allowed(licence: Licence, allowed: tuple[str, ...] | None) -> list[str]:
    if allowed is None:
        return []
    normal = {k.lower() for k in allowed}
    return [k for k in licence.keys if k.lower() not in normal]


def document_licence(doc: Mapping[str, Any], source_licence: str) -> str:
    """Return the licence a document is under: its `metadata.license`, else its source's."""
    meta = doc.get("metadata")
    own = meta.get("license") if isinstance(meta, dict) else None
    if isinstance(own, str) and own.strip():
        return own.strip()
    return source_licence or UNSTATED


def count_licences(
    documents: Iterable[tuple[Mapping[str, Any], int]], source_licences: Mapping[str, str]
) -> dict[str, dict[str, tuple[int, int]]]:
    """Return `{source: {licence: (documents, tokens)}}` over (output document, tokens) pairs."""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for doc, tokens in documents:
        meta = doc.get("metadata") or {}
        source = str((meta.get("provenance") or {}).get("source", ""))
        licence = document_licence(doc, source_licences.get(source, ""))
        per = out.setdefault(source, {})
        docs, toks = per.get(licence, (0, 0))
        per[licence] = (docs + 1, toks + tokens)
    return out


def licence_shares(
    counts: Mapping[str, Mapping[str, tuple[int, int]]], order: Sequence[str]
) -> tuple[SourceLicences, ...]:
    """Return the manifest's `licences`: per source (in `order`), most tokens first."""
    out = []
    for source in order:
        per = counts.get(source, {})
        total = sum(tokens for _, tokens in per.values())
        shares = sorted(per.items(), key=lambda kv: (-kv[1][1], kv[0]))
        out.append(
            SourceLicences(
                source=source,
                licences=tuple(
                    LicenceShare(
                        licence=text,
                        documents=docs,
                        tokens=tokens,
                        share=tokens / total if total else 0.0,
                    )
                    for text, (docs, tokens) in shares
                ),
            )
        )
    return tuple(out)
