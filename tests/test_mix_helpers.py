"""Helpers for the mixer tests (no tests here): build small Dolma datasets and specs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from dolmakit.io.compression import open_write


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write JSON objects one per line, compressed by the file's extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open_write(path) as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False).encode() + b"\n")
    return path


def make_source(
    root: Path,
    source: str,
    docs: list[dict[str, Any]],
    runs: dict[str, list[dict[str, Any]]] | None = None,
    name: str = "part-0.jsonl.zst",
) -> None:
    """Write documents of one source, and per run one attribute line per document."""
    write_jsonl(root / "documents" / source / name, docs)
    for run, attrs in (runs or {}).items():
        rows = [{"id": d["id"], "attributes": a} for d, a in zip(docs, attrs, strict=True)]
        write_jsonl(root / "attributes" / run / source / name, rows)


def words(n: int, tag: str = "w") -> str:
    """Return a text of n whitespace-separated words."""
    return " ".join(f"{tag}{i}" for i in range(n))


def write_spec(path: Path, spec: dict[str, Any]) -> Path:
    """Write a mix spec as YAML."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def read_output(mix_dir: Path) -> list[dict[str, Any]]:
    """Read every output document of a mix, in shard order."""
    from dolmakit.io.reader import read_documents

    out: list[dict[str, Any]] = []
    for shard in sorted(mix_dir.glob("shard-*")):
        out.extend(doc.to_dict() for _, doc in read_documents(shard))
    return out


def simple_spec(*sources: dict[str, Any], fmt: str = "jsonl.zst") -> dict[str, Any]:
    """Return a spec named t v1 (seed 1, whitespace tokens) with these sources."""
    return {
        "name": "t",
        "version": 1,
        "seed": 1,
        "tokenizer": "whitespace",
        "sources": list(sources),
        "output": {"format": fmt},
    }
