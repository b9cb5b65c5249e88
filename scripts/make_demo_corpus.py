"""Rebuild the embedded demo corpus (dolmakit/demo_corpus) from ../shared/corpus.

Deterministic: the same development corpus gives the same files. Run from the project root:
    python scripts/make_demo_corpus.py [--corpus ../shared/corpus/dev/documents]
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

from dolmakit.document import Document
from dolmakit.io.reader import read_documents
from dolmakit.io.writer import DocumentWriter

# (source, language, number of documents taken from the start of its first files)
TAKE = [
    ("python-doc", "en", 300),
    ("debian-reference", "en", 120),
    ("gnu-standards", "en", 80),
    *[("debian-handbook", lang, 80) for lang in ("en", "de", "fr", "es", "ja", "ru")],
    ("fortunes", "en", 800),
    ("fortunes", "de", 400),
]
MIRROR_EXACT = 30
MIRROR_NEAR = 30
HEADER = (
    "Mirrored from docs.python.org. Last updated: 2024-05-01. Report problems to the webmaster."
)
FOOTER = "© Python Software Foundation. This page is licensed under the PSF licence. Back to top"


def take(corpus: Path, source: str, lang: str, count: int) -> list[Document]:
    """Return the first `count` documents of a source and language."""
    docs: list[Document] = []
    for path in sorted((corpus / source).glob(f"{lang}-*.jsonl.zst")):
        for _, doc in read_documents(path):
            docs.append(doc)
            if len(docs) == count:
                return docs
    return docs


def mirror(python_docs: list[Document]) -> list[Document]:
    """Copy some python-doc documents, exactly and with boilerplate and small edits."""
    rng = random.Random(20261123)
    picked = rng.sample(python_docs, MIRROR_EXACT + MIRROR_NEAR)
    out = []
    for i, doc in enumerate(picked):
        text = doc.text
        kind = "exact"
        if i >= MIRROR_EXACT:
            kind = "near"
            paragraphs = text.split("\n\n")
            if len(paragraphs) > 3 and i % 2:
                del paragraphs[rng.randrange(1, len(paragraphs) - 1)]
            text = "\n\n".join([HEADER, *paragraphs, FOOTER])
        out.append(
            Document(
                id=f"mirror-{i:04d}",
                text=text,
                source="python-mirror",
                added=doc.added,
                created=doc.created,
                metadata={
                    "lang": "en",
                    "url": f"https://mirror.example.org/{doc.id}",
                    "derived_from": doc.id,
                    "copy": kind,
                },
            )
        )
    return out


def main() -> None:
    """Write the demo corpus."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus/dev/documents"))
    parser.add_argument("--out", type=Path, default=Path("dolmakit/demo_corpus/documents"))
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    python_docs: list[Document] = []
    for source, lang, count in TAKE:
        docs = take(args.corpus, source, lang, count)
        if source == "python-doc":
            python_docs = docs
        with DocumentWriter(args.out / source / f"{lang}-0000.jsonl.zst") as writer:
            for doc in docs:
                writer.write(doc)
    with DocumentWriter(args.out / "python-mirror" / "en-0000.jsonl.zst") as writer:
        for doc in mirror(python_docs):
            writer.write(doc)


if __name__ == "__main__":
    main()
