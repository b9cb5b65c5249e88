"""Helpers for the audit tests (no tests here): a small dataset, a real dedup run, two mixes.

The dataset (data root `<root>/data`):
- `web`: 24 documents; `tags__lang__en` = (i % 10) / 10, so i % 10 in {0, 1, 2} (9 documents)
  fail `lang.en >= 0.3`; w5 is a near-copy of w4 (one word differs), marked by a real MinHash
  run (`dedup_minhash`, keeper w4: same length, earlier line). Sampled at a fixed rate 0.6.
- `books`: 8 documents, weighted, with a token target that makes them repeat (rate > 1).
Mix v1 (`toy/v1`) and v2 (`toy/v2`: stricter language threshold, web rate 0.85).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from test_mix_helpers import make_source, write_spec

from dolmakit.mix import build_mix
from dolmakit.run.options import RunOptions

WEB_DOCS = 24
BOOK_DOCS = 8
SEED = 7
WEB_RATE = 0.6


def letters(n: int) -> str:
    """Return n written in letters (a, b, ..., z, ba, bb, ...): MinHash maps digits to 0."""
    out = ""
    while True:
        n, digit = divmod(n, 26)
        out = chr(ord("a") + digit) + out
        if n == 0:
            return out


def web_text(i: int) -> str:
    """Return web document i's text: unique words, except w4/w5 which share 39 of 40."""
    if i in (4, 5):
        words = [f"shared{letters(k)}" for k in range(40)]
        if i == 5:
            words[-1] = "sharedzz"
        return " ".join(words)
    return " ".join(f"w{letters(i)}x{letters(k)}" for k in range(20 + i))


def book_text(i: int) -> str:
    """Return book document i's text (30 + 5 i distinct words)."""
    return " ".join(f"b{letters(i)}y{letters(k)}" for k in range(30 + 5 * i))


def lang_en(i: int) -> float:
    """Return web document i's English score."""
    return (i % 10) / 10


def web_docs() -> list[dict[str, Any]]:
    """Return the web documents (every third one is German, by metadata)."""
    return [
        {
            "id": f"w{i}",
            "text": web_text(i),
            "source": "web",
            "metadata": {"lang": "de" if i % 3 == 0 else "en"},
        }
        for i in range(WEB_DOCS)
    ]


def book_docs() -> list[dict[str, Any]]:
    """Return the book documents."""
    return [
        {"id": f"b{i}", "text": book_text(i), "source": "books", "metadata": {"lang": "en"}}
        for i in range(BOOK_DOCS)
    ]


def spec(version: int = 1) -> dict[str, Any]:
    """Return the mix spec of version 1 or 2."""
    threshold = 0.3 if version == 1 else 0.5
    return {
        "name": "toy",
        "version": version,
        "description": "Audit test mix.",
        "seed": SEED,
        "tokenizer": "whitespace",
        "target_tokens": 1400,
        "sources": [
            {
                "name": "web",
                "documents": ["documents/web/*.jsonl.zst"],
                "attributes": ["tags", "dedup_minhash"],
                "filter": f"lang.en >= {threshold} and not minhash.duplicate",
                "rate": WEB_RATE if version == 1 else 0.85,
                "licence": "CC BY 4.0",
                "notes": "Crawled pages.",
            },
            {
                "name": "books",
                "documents": ["documents/books/*.jsonl.zst"],
                "attributes": ["tags"],
                "weight": 1.0,
                "licence": "public domain",
            },
        ],
        "output": {"format": "jsonl.zst", "shard_size": 3000},
    }


def make_dataset(data: Path) -> None:
    """Write documents, the `tags` run and a real MinHash dedup run under `data`."""
    from dolmakit.dedup import dedup_minhash

    web = web_docs()
    make_source(
        data,
        "web",
        web,
        {
            "tags": [
                {"tags__lang__en": [[0, len(d["text"]), lang_en(i)]]} for i, d in enumerate(web)
            ]
        },
    )
    books = book_docs()
    make_source(data, "books", books, {"tags": [{} for _ in books]})
    dedup_minhash(
        [data / "documents" / "web"], run="dedup_minhash", run_options=RunOptions(progress=False)
    )


@dataclass(frozen=True)
class Mixes:
    """The built fixture: data root and the two mix folders."""

    data: Path
    v1: Path
    v2: Path


def build_mixes(root: Path) -> Mixes:
    """Build the dataset and mixes v1 and v2 under `root`."""
    data = root / "data"
    make_dataset(data)
    dirs = []
    for version in (1, 2):
        path = write_spec(root / "specs" / f"toy-v{version}.yaml", spec(version))
        result = build_mix(
            path, data_root=data, output=root / "mixes", run_options=RunOptions(progress=False)
        )
        dirs.append(result.mix_dir)
    return Mixes(data, dirs[0], dirs[1])


def copy_mix(mix_dir: Path, target: Path) -> Path:
    """Copy a mix folder (to tamper with it) and return the copy."""
    shutil.copytree(mix_dir, target)
    return target
