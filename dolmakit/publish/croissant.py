"""Describe a published mix in Croissant 1.0 (`croissant.json`), the MLCommons metadata format.

One FileSet (the Parquet files) and one RecordSet whose fields are the Parquet columns.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dolmakit.publish.card import hub_licences

if TYPE_CHECKING:
    from dolmakit.publish.release import Release

CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
_CR_TERMS = (
    "citeAs column conformsTo data dataType equivalentProperty examples extract field"
    " fileProperty fileObject"
    " fileSet format includes isLiveDataset jsonPath key md5 parentField path recordSet"
    " references regex repeated replace samplingRate separator source subField transform"
)
_TYPED = {"data": "@json", "examples": "@json", "dataType": "@vocab"}


def _context() -> dict[str, Any]:
    context: dict[str, Any] = {
        "@language": "en",
        "@vocab": "https://schema.org/",
        "sc": "https://schema.org/",
        "cr": "http://mlcommons.org/croissant/",
        "rai": "http://mlcommons.org/croissant/RAI/",
        "dct": "http://purl.org/dc/terms/",
    }
    for term in _CR_TERMS.split():
        prefix = "dct" if term == "conformsTo" else "cr"
        value = f"{prefix}:{term}"
        context[term] = {"@id": value, "@type": _TYPED[term]} if term in _TYPED else value
    return context


def _field(name: str, data_type: str, description: str) -> dict[str, Any]:
    return {
        "@type": "cr:Field",
        "@id": f"documents/{name}",
        "name": name,
        "description": description,
        "dataType": data_type,
        "source": {"fileSet": {"@id": "parquet-files"}, "extract": {"column": name}},
    }


_COLUMNS = (
    ("id", "sc:Text", "document id, unique within its source"),
    ("text", "sc:Text", "the document text"),
    ("source", "sc:Text", "the document's own source field (Dolma)"),
    ("added", "sc:Text", "when the document was added to its dataset (ISO 8601)"),
    ("created", "sc:Text", "when the document was created (ISO 8601)"),
    ("metadata", "sc:Text", "the document's metadata as a JSON object"),
)
_PROVENANCE = (
    ("provenance_source", "sc:Text", "the mix source the document was sampled for"),
    ("provenance_path", "sc:Text", "input file, relative to the data root"),
    ("provenance_line", "sc:Integer", "1-based line in the input file"),
    ("provenance_repeat", "sc:Integer", "0 for the first copy, 1, 2, ... for repeats"),
)


def croissant(release: Release) -> dict[str, Any]:
    """Return the Croissant JSON-LD object of a published mix."""
    m = release.manifest
    columns = _COLUMNS + (_PROVENANCE if release.provenance else ())
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{m.name}-v{m.version}")
    return {
        "@context": _context(),
        "@type": "sc:Dataset",
        "name": name,
        "description": m.description or f"The {m.name} mix, version {m.version}.",
        "conformsTo": CONFORMS_TO,
        "citeAs": f"{m.name} v{m.version} (dolmakit mix, content sha256 {m.content_sha256})",
        "license": hub_licences(release),
        "version": _semver(m.version),
        "distribution": [
            {
                "@type": "cr:FileSet",
                "@id": "parquet-files",
                "name": "parquet-files",
                "description": "the mix's documents in output order",
                "encodingFormat": "application/x-parquet",
                "includes": "data/*.parquet",
            }
        ],
        "recordSet": [
            {
                "@type": "cr:RecordSet",
                "@id": "documents",
                "name": "documents",
                "description": "one record per output document, in mix order",
                "field": [_field(n, t, d) for n, t, d in columns],
            }
        ],
    }


def _semver(version: str) -> str:
    """Return a mix version as the MAJOR.MINOR.PATCH Croissant asks for (`2` gives `2.0.0`)."""
    parts = version.split(".")
    if all(p.isdigit() for p in parts) and len(parts) <= 3:
        return ".".join(parts + ["0"] * (3 - len(parts)))
    return version
