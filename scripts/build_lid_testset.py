"""Build the labelled language-ID test set tests/data/lid/handbook.jsonl.gz.

Source: The Debian Administrator's Handbook and its translations (de, fr, es, ja, ru) in the
development corpus (GPL-2+ / CC BY-SA 3.0). Its "translations" contain untranslated English
paragraphs, so a file's language is not every paragraph's language. A paragraph is dropped,
without consulting any language-ID model (so that the test is not circular), when:
  - it is short or code-like: fewer than 120 characters, fewer than 60% letters among its
    non-space characters, or a shell/config-looking line (`$ `, `# `, `{`, `=`...);
  - in a translated file, it equals an English paragraph after whitespace normalisation, or
    half or more of its word 3-grams occur in the English handbook (partly translated
    paragraphs such as "Kapitel 4, Installation presented these technologies ...").
Kept paragraphs are grouped, in order, into test documents of 1-3 paragraphs (at most 1,500
characters); a fixed-seed sample of DOCS_PER_LANG per language is written as Dolma documents
with `metadata.lang` the label. Deterministic: the same corpus gives the same bytes.

    python scripts/build_lid_testset.py [--corpus ../shared/corpus/dev/documents]
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

from dolmakit.document import Document
from dolmakit.io.reader import read_documents
from dolmakit.io.writer import DocumentWriter

LANGS = ("en", "de", "fr", "es", "ja", "ru")
DOCS_PER_LANG = 60
MIN_CHARS = 120
MAX_CHARS = 1500
MIN_LETTER_FRACTION = 0.6
MAX_ENGLISH_SHINGLE_FRACTION = 0.5
SEED = 20240601
CODE_LIKE = re.compile(r"(^|\n)\s*(\$ |# |<|\{|\}|[\w.-]+\s*=)|://|/usr/|/etc/|\w+\(\)")
ROOT = Path(__file__).resolve().parent.parent


def paragraphs(folder: Path, lang: str) -> list[tuple[str, str]]:
    """Return (document id, paragraph) for every paragraph of one language's files, in order."""
    out: list[tuple[str, str]] = []
    for path in sorted(folder.glob(f"{lang}-*.jsonl.zst")):
        for _, doc in read_documents(path):
            for part in re.split(r"\n\s*\n", doc.text):
                if part.strip():
                    out.append((doc.id, part.strip()))
    return out


def normalise(text: str) -> str:
    """Collapse whitespace, for exact comparison with the English source."""
    return " ".join(text.split())


def shingles(text: str) -> set[tuple[str, ...]]:
    """Return the set of lower-cased word 3-grams of `text`."""
    words = text.lower().split()
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def is_prose(text: str) -> bool:
    """Return True if `text` is long enough and reads as prose, not code or a heading list."""
    if len(text) < MIN_CHARS or CODE_LIKE.search(text):
        return False
    visible = [c for c in text if not c.isspace()]
    letters = sum(c.isalpha() for c in visible)
    return letters >= MIN_LETTER_FRACTION * len(visible)


def is_untranslated(text: str, english: set[str], english_shingles: set[tuple[str, ...]]) -> bool:
    """Return True if a translated file's paragraph is (mostly) the English original."""
    if normalise(text) in english:
        return True
    grams = shingles(text)
    if not grams:
        return False
    return sum(g in english_shingles for g in grams) >= MAX_ENGLISH_SHINGLE_FRACTION * len(grams)


def group(kept: list[tuple[str, str]], rng: random.Random) -> list[tuple[str, str]]:
    """Group consecutive kept paragraphs of the same source document into 1-3 paragraph texts."""
    docs: list[tuple[str, str]] = []
    i = 0
    while i < len(kept):
        size = rng.choice((1, 2, 3))
        doc_id, text = kept[i]
        j = i + 1
        while j < len(kept) and j - i < size and kept[j][0] == doc_id:
            candidate = text + "\n\n" + kept[j][1]
            if len(candidate) > MAX_CHARS:
                break
            text = candidate
            j += 1
        docs.append((doc_id, text[:MAX_CHARS] if j == i + 1 else text))
        i = j
    return docs


def build(corpus: Path, out: Path) -> dict[str, int]:
    """Write the test set; return the number of documents per language."""
    folder = corpus / "debian-handbook"
    english_paras = [p for _, p in paragraphs(folder, "en")]
    english = {normalise(p) for p in english_paras}
    english_shingles: set[tuple[str, ...]] = set()
    for p in english_paras:
        english_shingles |= shingles(p)
    rng = random.Random(SEED)
    counts: dict[str, int] = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    with DocumentWriter(out) as writer:
        for lang in LANGS:
            kept = [
                (doc_id, p)
                for doc_id, p in paragraphs(folder, lang)
                if is_prose(p)
                and (lang == "en" or not is_untranslated(p, english, english_shingles))
            ]
            docs = group(kept, rng)
            chosen = sorted(rng.sample(range(len(docs)), min(DOCS_PER_LANG, len(docs))))
            for n, index in enumerate(chosen):
                doc_id, text = docs[index]
                writer.write(
                    Document(
                        id=f"lid-{lang}-{n:03d}",
                        text=text,
                        source="debian-handbook",
                        metadata={"lang": lang, "from": doc_id},
                    )
                )
            counts[lang] = len(chosen)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "dev" / "documents"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "tests" / "data" / "lid" / "handbook.jsonl.gz"
    )
    args = parser.parse_args()
    print(build(args.corpus, args.out))


if __name__ == "__main__":
    main()
