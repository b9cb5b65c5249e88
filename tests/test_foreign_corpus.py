"""benchmarks/foreign_corpus.py: Debian docs and man pages become a Dolma-format corpus."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from types import ModuleType

import msgspec
import zstandard
from conftest import ROOT, load_script


def load(name: str) -> ModuleType:
    return load_script(ROOT / "benchmarks" / f"{name}.py", f"bench_{name}")


MAN_PAGE = r""".\" a comment that must not show
.TH FROB 1 "2024" "frob 1.0" "User Commands"
.SH NAME
frob \- twiddle the \fBbits\fR of a file
.SH SYNOPSIS
.B frob
[\fIOPTION\fP]... \fIFILE\fR
.SH DESCRIPTION
.PP
Frob reads each FILE and writes it back with
every bit flipped \(em twice, so nothing changes.
.TP
.BR \-v ", " \-\-verbose
say what is happening
.de XX
hidden macro body
..
.nf
line one
line two
.fi
"""

LONG_PARA = "This changelog entry talks about a release of the frob package. " * 4


def make_roots(tmp: Path) -> tuple[Path, Path]:
    doc, man = tmp / "doc", tmp / "man"
    (doc / "frob").mkdir(parents=True)
    (doc / "frob" / "README").write_text(
        "Frob\r\n====\r\n\r\n\r\n\r\nFrob flips bits and flips them back again.   \n"
    )
    changelog = "\n\n".join(f"{i}. {LONG_PARA}" for i in range(40))
    (doc / "frob" / "changelog.Debian.gz").write_bytes(gzip.compress(changelog.encode()))
    (doc / "frob" / "copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: 2024 Frob Authors\nLicense: GPL-2+\n"
    )
    (doc / "frob" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (doc / "frob" / "notes.txt").write_bytes(b"\x00\x01binary pretending to be text")
    (doc / "frob" / "guide.html").write_text(
        "<html><head><style>p {color: red}</style><title>Frob guide</title></head>"
        "<body><h1>Using frob</h1><p>Run <b>frob</b> on a file &amp; watch.</p>"
        "<script>alert('no')</script><ul><li>first item</li><li>second item</li></ul>"
        "</body></html>"
    )
    os.symlink(doc / "frob" / "README", doc / "frob" / "README.link")
    (doc / "debian-handbook").mkdir()
    (doc / "debian-handbook" / "README").write_text("The dev corpus came from here.\n" * 9)
    (man / "man1").mkdir(parents=True)
    (man / "man1" / "frob.1.gz").write_bytes(gzip.compress(MAN_PAGE.encode()))
    (man / "man1" / "unfrob.1").write_text(".so man1/frob.1\n")
    (man / "de" / "man1").mkdir(parents=True)
    (man / "de" / "man1" / "frob.1").write_text(
        ".TH FROB 1\n.SH BESCHREIBUNG\nFrob liest jede Datei und schreibt sie umgedreht zurück, "
        "sodass sich am Ende nichts geändert hat.\n"
    )
    return doc, man


def read_docs(out: Path) -> dict[str, list[dict]]:
    docs: dict[str, list[dict]] = {}
    for path in sorted((out / "documents").glob("*/*.jsonl.zst")):
        data = zstandard.ZstdDecompressor().decompressobj().decompress(path.read_bytes())
        key = f"{path.parent.name}/{path.name}"
        docs[key] = [msgspec.json.decode(line) for line in data.splitlines()]
    return docs


def tree_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_debian_docs_become_a_dolma_corpus_build_corpus_accepts(tmp_path: Path) -> None:
    foreign = load("foreign_corpus")
    doc, man = make_roots(tmp_path)
    args = [
        "--doc-root",
        str(doc),
        "--man-root",
        str(man),
        "--max-chars",
        "1000",
        "--min-chars",
        "20",
    ]
    assert foreign.main([*args, "--out", str(tmp_path / "one")]) == 0
    docs = read_docs(tmp_path / "one")
    assert sorted(docs) == [
        "doc-changelog/en-00000.jsonl.zst",
        "doc-copyright/en-00000.jsonl.zst",
        "doc-html/en-00000.jsonl.zst",
        "doc-readme/en-00000.jsonl.zst",
        "man/de-00000.jsonl.zst",
        "man/en-00000.jsonl.zst",
    ]
    every = [d for group in docs.values() for d in group]
    for d in every:
        assert set(d) == {"id", "text", "source", "added", "created", "metadata"}
        assert d["metadata"]["lang"] in ("en", "de") and d["created"].endswith("Z")
        assert "dev corpus came from" not in d["text"]
    readme = docs["doc-readme/en-00000.jsonl.zst"][0]
    assert readme["text"] == "Frob\n====\n\nFrob flips bits and flips them back again."
    assert readme["id"] == "doc-readme-en-000000" and readme["source"] == "doc-readme"
    assert readme["metadata"]["path"].endswith("/frob/README")
    # A long file is cut at paragraph breaks; only the first --max-parts parts are kept.
    changelog = docs["doc-changelog/en-00000.jsonl.zst"]
    assert len(changelog) == 12 and all(len(d["text"]) <= 1000 for d in changelog)
    assert [d["metadata"]["part"] for d in changelog] == list(range(12))
    assert (
        changelog[0]["text"].startswith("0. This changelog")
        and "\n\n1. This" in changelog[0]["text"]
    )
    html = docs["doc-html/en-00000.jsonl.zst"][0]["text"]
    assert (
        html
        == "Frob guide\n\nUsing frob\n\nRun frob on a file & watch.\n\nfirst item\n\nsecond item"
    )
    page = docs["man/en-00000.jsonl.zst"][0]["text"]
    assert page.startswith(
        "NAME\n\nfrob - twiddle the bits of a file\n\nSYNOPSIS\n\nfrob [OPTION]... FILE"
    )
    assert "every bit flipped — twice, so nothing changes." in page
    assert "-v, --verbose\nsay what is happening" in page and "line one\nline two" in page
    for leaked in ("\\f", "comment", "hidden macro", ".TH", ".SH"):
        assert leaked not in page
    assert docs["man/de-00000.jsonl.zst"][0]["text"].startswith("BESCHREIBUNG\n\nFrob liest")
    summary = json.loads((tmp_path / "one" / "foreign_build.json").read_text())
    assert summary["skipped"] == {
        "doc:binary": 1,
        "doc:dev-corpus-package": 1,
        "doc:not-text": 1,
        "doc:part-over-max-parts": 2,  # 40 paragraphs of ~260 characters, 3 a part: 14 parts
        "doc:symlink": 1,
        "man:so-redirect": 1,
    }
    assert summary["docs"] == len(every)

    # Same bytes whatever the worker count; build_corpus takes the folder as its source.
    assert foreign.main([*args, "--out", str(tmp_path / "two"), "--workers", "2"]) == 0
    assert tree_bytes(tmp_path / "one") == tree_bytes(tmp_path / "two")
    build = load("build_corpus")
    source = str(tmp_path / "one" / "documents")
    assert build.main(["--source-dir", source, "--size", "60KB", "--out", str(tmp_path / "b")]) == 0
    built = json.loads((tmp_path / "b" / "bench_build.json").read_text())
    groups = {(g["source"], g["lang"]) for g in built["groups"]}
    assert ("man", "de") in groups and ("doc-changelog", "en") in groups
    assert built["bytes"] >= 60_000
