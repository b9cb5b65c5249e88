"""dolmakit: curate pretraining corpora in the Dolma format, reproducibly."""

from __future__ import annotations

__version__ = "0.1.0"

from dolmakit.convert import convert
from dolmakit.document import Document, Span
from dolmakit.errors import ConfigError, DolmakitError, InputError
from dolmakit.io.attributes import (
    AttributeWriter,
    attribute_key,
    read_attribute_lines,
    read_with_attributes,
)
from dolmakit.io.paths import attribute_path, expand_inputs, split_dataset_path
from dolmakit.io.reader import read_documents
from dolmakit.io.rejects import Rejects
from dolmakit.io.writer import DocumentWriter, JsonlWriter
from dolmakit.run.backends import Backend, ProcessBackend, SerialBackend, make_backend
from dolmakit.run.runner import RunSummary, ShardJob, ShardResult, run_shards

__all__ = [
    "AttributeWriter",
    "Backend",
    "ConfigError",
    "Document",
    "DocumentWriter",
    "DolmakitError",
    "InputError",
    "JsonlWriter",
    "ProcessBackend",
    "Rejects",
    "RunSummary",
    "SerialBackend",
    "ShardJob",
    "ShardResult",
    "Span",
    "__version__",
    "attribute_key",
    "attribute_path",
    "convert",
    "expand_inputs",
    "make_backend",
    "read_attribute_lines",
    "read_documents",
    "read_with_attributes",
    "run_shards",
    "split_dataset_path",
]
