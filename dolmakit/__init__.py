"""dolmakit: curate pretraining corpora in the Dolma format, reproducibly.

Every command is one library call, and every call the CLI makes is exported here (docs/api.md).
Names load on first use (PEP 562), so `import dolmakit` and `dolmakit --help` stay fast and a
worker process pays only for the stage it runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> (module, attribute in it).
_EXPORTS: dict[str, tuple[str, str]] = {
    # Documents and errors
    "Document": ("dolmakit.document", "Document"),
    "Span": ("dolmakit.document", "Span"),
    "DolmakitError": ("dolmakit.errors", "DolmakitError"),
    "ConfigError": ("dolmakit.errors", "ConfigError"),
    "InputError": ("dolmakit.errors", "InputError"),
    # Reading and writing
    "read_documents": ("dolmakit.io.reader", "read_documents"),
    "read_with_attributes": ("dolmakit.io.attributes", "read_with_attributes"),
    "read_attribute_lines": ("dolmakit.io.attributes", "read_attribute_lines"),
    "attribute_key": ("dolmakit.io.attributes", "attribute_key"),
    "attribute_path": ("dolmakit.io.paths", "attribute_path"),
    "expand_inputs": ("dolmakit.io.paths", "expand_inputs"),
    "DocumentWriter": ("dolmakit.io.writer", "DocumentWriter"),
    "AttributeWriter": ("dolmakit.io.attributes", "AttributeWriter"),
    "Rejects": ("dolmakit.io.rejects", "Rejects"),
    "inspect_documents": ("dolmakit.io.inspect", "inspect_documents"),
    # Running work
    "Backend": ("dolmakit.run.backends", "Backend"),
    "make_backend": ("dolmakit.run.backends", "make_backend"),
    "RunOptions": ("dolmakit.run.options", "RunOptions"),
    "RunSummary": ("dolmakit.run.runner", "RunSummary"),
    # Stages
    "tag": ("dolmakit.taggers.stage", "tag"),
    "available_taggers": ("dolmakit.taggers.base", "available_taggers"),
    "tagger_info": ("dolmakit.taggers.base", "tagger_info"),
    "TrainConfig": ("dolmakit.taggers.train", "TrainConfig"),
    "train_classifier": ("dolmakit.taggers.train", "train_classifier"),
    "load_classes": ("dolmakit.taggers.train", "load_classes"),
    "load_labelled_jsonl": ("dolmakit.taggers.train", "load_labelled_jsonl"),
    "ExactConfig": ("dolmakit.dedup.config", "ExactConfig"),
    "MinHashConfig": ("dolmakit.dedup.config", "MinHashConfig"),
    "KeepRule": ("dolmakit.dedup.config", "KeepRule"),
    "dedup_exact": ("dolmakit.dedup.exact", "dedup_exact"),
    "dedup_minhash": ("dolmakit.dedup.stage", "dedup_minhash"),
    "MixSpec": ("dolmakit.mix.spec", "MixSpec"),
    "load_spec": ("dolmakit.mix.spec", "load_spec"),
    "build_mix": ("dolmakit.mix.build", "build_mix"),
    "read_manifest": ("dolmakit.mix.manifest", "read_manifest"),
    "IndexOptions": ("dolmakit.contamination.index", "IndexOptions"),
    "index_benchmarks": ("dolmakit.contamination.index", "index_benchmarks"),
    # Audit
    "verify_mix": ("dolmakit.audit.verify", "verify_mix"),
    "mix_sources": ("dolmakit.audit.sources", "mix_sources"),
    "trace_document": ("dolmakit.audit.trace", "trace"),
    "where_input": ("dolmakit.audit.trace", "where"),
    "diff_mixes": ("dolmakit.audit.diff", "diff_mixes"),
    "render_card": ("dolmakit.audit.card_data", "render_card"),
    "rebuild_mix": ("dolmakit.audit.rebuild", "rebuild_mix"),
    "StatsConfig": ("dolmakit.audit.stats", "StatsConfig"),
    "compute_stats": ("dolmakit.audit.stats", "compute_stats"),
    "audit_contamination": ("dolmakit.audit.contamination", "audit_contamination"),
    "run_demo": ("dolmakit.demo", "run_demo"),
    "load_pipeline": ("dolmakit.pipeline.spec", "load_pipeline"),
    "run_pipeline": ("dolmakit.pipeline.run", "run_pipeline"),
}

__all__ = [
    "AttributeWriter",
    "Backend",
    "ConfigError",
    "Document",
    "DocumentWriter",
    "DolmakitError",
    "ExactConfig",
    "IndexOptions",
    "InputError",
    "KeepRule",
    "MinHashConfig",
    "MixSpec",
    "Rejects",
    "RunOptions",
    "RunSummary",
    "Span",
    "StatsConfig",
    "TrainConfig",
    "__version__",
    "attribute_key",
    "attribute_path",
    "audit_contamination",
    "available_taggers",
    "build_mix",
    "compute_stats",
    "convert",
    "dedup_exact",
    "dedup_minhash",
    "diff_mixes",
    "expand_inputs",
    "index_benchmarks",
    "inspect_documents",
    "load_classes",
    "load_labelled_jsonl",
    "load_pipeline",
    "load_spec",
    "make_backend",
    "mix_sources",
    "read_attribute_lines",
    "read_documents",
    "read_manifest",
    "read_with_attributes",
    "rebuild_mix",
    "render_card",
    "run_demo",
    "run_pipeline",
    "tag",
    "tagger_info",
    "trace_document",
    "train_classifier",
    "verify_mix",
    "where_input",
]

# `convert` is also the name of a submodule: once any code imports `dolmakit.convert`, Python
# binds the module to that name here, so the function must be bound eagerly, after it.
from dolmakit.convert import convert  # noqa: E402


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use and cache the name here."""
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'dolmakit' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:
    from dolmakit.audit.card_data import render_card
    from dolmakit.audit.contamination import audit_contamination
    from dolmakit.audit.diff import diff_mixes
    from dolmakit.audit.rebuild import rebuild_mix
    from dolmakit.audit.sources import mix_sources
    from dolmakit.audit.stats import StatsConfig, compute_stats
    from dolmakit.audit.trace import trace as trace_document
    from dolmakit.audit.trace import where as where_input
    from dolmakit.audit.verify import verify_mix
    from dolmakit.contamination.index import IndexOptions, index_benchmarks
    from dolmakit.dedup.config import ExactConfig, KeepRule, MinHashConfig
    from dolmakit.dedup.exact import dedup_exact
    from dolmakit.dedup.stage import dedup_minhash
    from dolmakit.demo import run_demo
    from dolmakit.document import Document, Span
    from dolmakit.errors import ConfigError, DolmakitError, InputError
    from dolmakit.io.attributes import (
        AttributeWriter,
        attribute_key,
        read_attribute_lines,
        read_with_attributes,
    )
    from dolmakit.io.inspect import inspect_documents
    from dolmakit.io.paths import attribute_path, expand_inputs
    from dolmakit.io.reader import read_documents
    from dolmakit.io.rejects import Rejects
    from dolmakit.io.writer import DocumentWriter
    from dolmakit.mix.build import build_mix
    from dolmakit.mix.manifest import read_manifest
    from dolmakit.mix.spec import MixSpec, load_spec
    from dolmakit.pipeline.run import run_pipeline
    from dolmakit.pipeline.spec import load_pipeline
    from dolmakit.run.backends import Backend, make_backend
    from dolmakit.run.options import RunOptions
    from dolmakit.run.runner import RunSummary
    from dolmakit.taggers.base import available_taggers, tagger_info
    from dolmakit.taggers.stage import tag
    from dolmakit.taggers.train import (
        TrainConfig,
        load_classes,
        load_labelled_jsonl,
        train_classifier,
    )
