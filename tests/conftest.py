"""Shared fixtures: small Dolma datasets written into tmp_path."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import settings

from dolmakit.io.compression import open_write

ROOT = Path(__file__).resolve().parent.parent
SHARED_CORPUS = ROOT.parent / "shared" / "corpus" / "dev" / "documents"
DEMO_CORPUS = ROOT / "dolmakit" / "demo_corpus" / "documents"

# CI draws the same examples every run, so a property failure is found in a developer's run
# (random examples) and reproduced there, not seen once as a flaky CI.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def load_script(path: Path, name: str) -> ModuleType:
    """Import a script that is not in a package (benchmarks/...) as module `name`."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def write_lines(path: Path, lines: Iterable[bytes | str | dict[str, Any]]) -> Path:
    """Write raw lines (bytes or str) or JSON objects, one per line, compressed by extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open_write(path) as out:
        for line in lines:
            if isinstance(line, dict):
                line = json.dumps(line, ensure_ascii=False)
            if isinstance(line, str):
                line = line.encode()
            out.write(line + b"\n")
    return path


def make_docs(n: int, source: str = "web", prefix: str = "d") -> list[dict[str, Any]]:
    """Return n small distinct documents."""
    return [
        {
            "id": f"{prefix}{i}",
            "text": f"Document number {i} of {source}.\n\nIt has two paragraphs, é ü 日本.",
            "source": source,
            "metadata": {"n": i},
        }
        for i in range(n)
    ]


def make_kill_corpus(src: Path, shards: int = 16) -> Path:
    """Write shards big enough (about 3 MB of text each) that a kill can land mid-run."""
    big_text = " ".join(f"word{i}" for i in range(12_000))
    for s in range(shards):
        write_lines(
            src / f"part-{s:03d}.jsonl.zst",
            [{"id": f"{s}-{i}", "text": f"{i} {big_text}"} for i in range(40)],
        )
    return src


@pytest.fixture
def dataset(tmp_path: Path) -> Callable[..., Path]:
    """Build `<tmp>/ds/documents/<name>` files from lists of documents; return the dataset root."""

    def build(files: dict[str, list[dict[str, Any]]]) -> Path:
        root = tmp_path / "ds"
        for name, docs in files.items():
            write_lines(root / "documents" / name, docs)
        return root

    return build


# The loopback S3 server and per-test buckets (tests/conftest_s3.py).
from conftest_s3 import s3_bucket, s3_server  # noqa: E402, F401
