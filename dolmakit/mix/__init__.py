"""The mixer: filter documents on their attributes, sample sources by token weights, write
interleaved, versioned shards with a provenance manifest (docs/mixer.md, docs/manifest.md)."""

from __future__ import annotations

from dolmakit.mix.build import MixResult, build_from_spec_dict, build_mix
from dolmakit.mix.manifest import Manifest, ManifestError, content_hash, read_manifest
from dolmakit.mix.sampling import decide, unit
from dolmakit.mix.spec import MixSpec, SourceSpec, load_spec

__all__ = [
    "Manifest",
    "ManifestError",
    "MixResult",
    "MixSpec",
    "SourceSpec",
    "build_from_spec_dict",
    "build_mix",
    "content_hash",
    "decide",
    "load_spec",
    "read_manifest",
    "unit",
]
