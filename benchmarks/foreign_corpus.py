"""Turn the Debian documentation installed on this machine into a Dolma-format corpus.

Usage::

    python benchmarks/foreign_corpus.py --out /tmp/foreign [--workers 2]
    python benchmarks/build_corpus.py --source-dir /tmp/foreign/documents --size 50MB --out BENCH

The project develops on its dev corpus (Debian handbook and reference, Python docs, GNU
standards, fortunes). This script builds a corpus the code was never tuned on, from
``/usr/share/doc`` and ``/usr/share/man``, laid out like the dev corpus:
``OUT/documents/<source>/<lang>-NNNNN.jsonl.zst`` with documents
``{id, text, source, added, created, metadata: {lang, origin, path, part}}``.

Sources (one folder each):

* ``doc-readme``     README files
* ``doc-changelog``  changelogs, NEWS, HISTORY (``changelog.Debian.gz`` is full of templates)
* ``doc-copyright``  ``copyright``, LICENSE, COPYING (licence boilerplate, on purpose)
* ``doc-text``       other plain text (``.txt``, ``.md``, ``.rst``, AUTHORS, TODO, ...)
* ``doc-html``       HTML stripped to text
* ``man``            man pages rendered to text by a small roff stripper (``--groff`` renders them
  with groff instead: slower, and its output depends on the groff version)

Long files are cut at paragraph breaks into documents of at most ``--max-chars`` characters
(the dev corpus's longest document is ~8,000), so a part is ``metadata.part``; only the first
``--max-parts`` parts of a file are kept, so a few huge upstream changelogs do not dominate.
Packages the dev corpus was made from are left out (``--exclude``). Man pages of one family
(name up to the first ``_``, ``-`` or ``.``, e.g. the 16,000 ``gcloud_*`` pages) are capped
at ``--family-cap``, chosen by a hash of the name, so one package does not make up the corpus.

Determinism: files are walked in sorted order, symlinks are skipped, ``created`` is the file's
mtime and ``added`` a fixed date, and the pool returns results in input order, so the bytes
depend only on the installed files and the options, not on ``--workers``. Everything not turned
into a document is counted by reason in ``OUT/foreign_build.json``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import html.parser
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import msgspec
import zstandard

ADDED = "2026-12-01T00:00:00Z"
# Packages whose documentation the dev corpus was built from.
DEV_PACKAGES = (
    "debian-handbook",
    "debian-reference",
    "debian-reference-common",
    "debian-reference-en",
    "python3-doc",
    "python3.11-doc",
    "gnu-standards",
    "fortunes",
    "fortunes-min",
    "fortune-mod",
)
_LANG_CODES = "ar bg ca cs da de el es et eu fi fr gl he hr hu id it ja ko lt nl no pl pt ro ru sk"
LANGS = frozenset(f"{_LANG_CODES} sl sr sv th tr uk vi zh".split())
TEXT_EXTS = {"", "txt", "md", "rst", "text", "markdown", "asciidoc", "adoc", "org"}
HTML_EXTS = {"html", "htm", "xhtml"}
TEXT_NAMES = ("authors", "todo", "thanks", "contributors", "credits", "install", "faq", "bugs")


# ---- classification ---------------------------------------------------------------------
def doc_source(name: str) -> str | None:
    """The source a /usr/share/doc file belongs to (name without .gz), or None to skip it."""
    low = name.lower()
    ext = low.rsplit(".", 1)[1] if "." in low else ""
    if ext in HTML_EXTS:
        return "doc-html"
    if low.startswith(("changelog", "news", "history", "changes")):
        return "doc-changelog"
    if low.startswith(("copyright", "license", "licence", "copying")):
        return "doc-copyright"
    if low.startswith("readme"):
        return "doc-readme"
    if ext in TEXT_EXTS or ext in LANGS or low.startswith(TEXT_NAMES):
        return "doc-text"
    return None


def name_lang(name: str) -> str:
    """A language code named in a file name (README.de, guide.ja.txt), else 'en'."""
    for part in name.lower().split(".")[1:]:
        if part in LANGS:
            return part
    return "en"


def family(name: str) -> str:
    return re.split(r"[-_.]", name, maxsplit=1)[0]


# ---- text extraction --------------------------------------------------------------------
def read_bytes(path: str) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read()
    return gzip.decompress(data) if path.endswith(".gz") else data


def decode(data: bytes) -> tuple[str | None, str]:
    """(text, encoding), or (None, reason) for binary data."""
    if b"\x00" in data[:8192]:
        return None, "binary"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def clean_plain(text: str) -> str:
    """Unix newlines, no trailing spaces or form feeds, at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


class _HTMLText(html.parser.HTMLParser):
    BLOCK: ClassVar[set[str]] = {
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "tr",
        "table",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "section",
        "article",
        "blockquote",
        "hr",
        "pre",
        "title",
        "header",
        "footer",
        "nav",
        "aside",
        "figure",
        "caption",
        "form",
    }
    SKIP: ClassVar[set[str]] = {"script", "style", "noscript", "svg"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIP:
            self.skip += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag in self.BLOCK:
            self.out.append("\n\n")
            self.pre += tag == "pre"
        elif tag in ("td", "th"):
            self.out.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCK:
            self.out.append("\n\n")
            self.pre -= tag == "pre" and self.pre > 0

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        self.out.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(text: str) -> str:
    """Visible text of an HTML page; block elements become paragraph breaks."""
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    joined = "".join(parser.out)
    return clean_plain("\n".join(line.strip() for line in joined.split("\n")))


_NAMED = {
    "em": "—",
    "en": "–",
    "aq": "'",
    "dq": '"',
    "lq": "“",
    "rq": "”",
    "oq": "‘",
    "cq": "’",
    "bu": "•",
    "co": "©",
    "rg": "®",
    "tm": "™",
    "hy": "-",
    "mi": "-",
    "ti": "~",
    "ha": "^",
    "sl": "/",
    "rs": "\\",
    "ga": "`",
    "at": "@",
    "sh": "#",
    "Do": "$",
    "bv": "|",
    "ba": "|",
    "or": "|",
    "pl": "+",
    "eq": "=",
    "->": "→",
    "<-": "←",
    ">=": "≥",
    "<=": "≤",
    "!=": "≠",
    "mu": "×",
    "de": "°",
    "ct": "¢",
    "Po": "£",
    "Eu": "€",
    "Fo": "«",
    "Fc": "»",
    "fo": "‹",
    "fc": "›",
    "ua": "↑",
    "da": "↓",
    "lB": "[",
    "rB": "]",
    "lC": "{",
    "rC": "}",
    "la": "⟨",
    "ra": "⟩",
    "R": "®",
    "Tm": "™",
    "Lq": "“",
    "Rq": "”",
    "Aq": "'",
}
_ESC = re.compile(
    r"\\(?:"
    r"f(?:\(..|\[[^\]]*\]|.)"  # font
    r"|s[-+]?(?:\(..|\[[^\]]*\]|\d{1,2})"  # size
    r"|[nmgk](?:\(..|\[[^\]]*\]|.)"  # registers, colours
    r"|\*(?:\((?P<s2>..)|\[(?P<sb>[^\]]*)\]|(?P<s1>.))"  # strings
    r"|\((?P<c2>..)|\[(?P<cb>[^\]]*)\]"  # named characters
    r"|[hvwlLDXoNbxSRZ]'[^']*'"  # motions and drawing
    r"|(?P<one>.))"
)
_ONE = {"-": "-", "e": "\\", "'": "'", "`": "`", " ": " ", "~": " ", "0": " ", "t": "\t"}
_MDOC = {
    "Nm",
    "Fl",
    "Ar",
    "Op",
    "Oo",
    "Oc",
    "Xr",
    "Pa",
    "Va",
    "Dq",
    "Sq",
    "Ql",
    "Qq",
    "Em",
    "Sy",
    "Li",
    "Cm",
    "Ic",
    "Ev",
    "Fn",
    "Ft",
    "Fa",
    "Dv",
    "Er",
    "Nd",
    "Ns",
    "Pq",
    "Po",
    "Pc",
    "Bq",
    "Brq",
    "Aq",
    "Ad",
    "An",
    "Lk",
    "Mt",
    "Ux",
    "Bx",
    "No",
    "Tn",
    "Cd",
    "Vt",
    "Ms",
    "Sx",
    "Ta",
    "Xo",
    "Xc",
    "Dl",
    "D1",
    "Eo",
    "Ec",
    "St",
    "At",
    "Fx",
    "Nx",
    "Ox",
}
_BREAK = {
    "PP",
    "P",
    "LP",
    "sp",
    "Pp",
    "Bl",
    "El",
    "Bd",
    "Ed",
    "RS",
    "RE",
    "in",
    "ti",
    "EX",
    "EE",
    "HP",
    "ne",
    "bp",
    "Lp",
    "Rs",
    "Re",
    "YS",
    "SY",
}


def _escape(match: re.Match) -> str:
    name = match.group("c2") or match.group("cb") or match.group("s2") or match.group("sb")
    name = name or match.group("s1")
    if name is not None:
        return _NAMED.get(name, "")
    one = match.group("one")
    if one is not None:
        return _ONE.get(one, "")
    return ""


def roff_args(rest: str) -> list[str]:
    """Split a request's arguments, honouring double quotes."""
    return [a[1:-1] if a.startswith('"') else a for a in re.findall(r'"[^"]*"?|\S+', rest)]


def roff_to_text(src: str) -> str | None:
    """Plain text of a man page (man or mdoc macros), or None for a `.so` redirect."""
    lines = src.replace("\r\n", "\n").split("\n")
    paras: list[list[str]] = [[]]
    fill = True
    skip_until: str | None = None
    brace = 0
    tbl = 0  # 0 outside a table, 1 in its format lines, 2 in its data
    tag_next = False

    def brk() -> None:
        if paras[-1]:
            paras.append([])

    def add(text: str, new_line: bool = False) -> None:
        nonlocal tag_next
        text = _ESC.sub(_escape, text.replace("\\\\", "\\e")).rstrip()
        if not text.strip():
            return
        cur = paras[-1]
        if cur and (fill and not new_line and not tag_next):
            cur[-1] = (cur[-1] + " " + text.strip()).lstrip()
        else:
            cur.append(text.strip() if fill else text)
        if tag_next:
            tag_next = False
            cur.append("")  # the body starts on a line of its own

    for line in lines:
        if skip_until is not None:
            if line.strip() == skip_until:
                skip_until = None
            continue
        if brace:
            brace += line.count("\\{") - line.count("\\}")
            brace = max(brace, 0)
            continue
        if tbl:
            if line.startswith(".TE"):
                tbl = 0
                brk()
            elif tbl == 1:
                tbl = 2 if line.rstrip().endswith(".") else 1
            elif not line.startswith((".", "'")):
                add(line.replace("T{", "").replace("T}", "").replace("\t", " "), new_line=True)
            continue
        if line.startswith((".", "'")) and not line.startswith(("..", "'\\'")):
            m = re.match(r"[.']\s*(\S*)\s*(.*)", line)
            req, rest = (m.group(1), m.group(2)) if m else ("", "")
            if req.startswith('\\"') or req == "":
                continue
            if req == "so":
                if not any(p for p in paras if p):
                    return None
                continue
            if req in ("de", "am", "ig", "de1", "ds1"):
                skip_until = ".." if req != "ig" or not rest.strip() else "." + rest.strip()
                continue
            if req in ("if", "ie", "el", "while"):
                if "\\{" in line:
                    brace = max(0, line.count("\\{") - line.count("\\}"))
                continue
            if req == "TS":
                tbl = 1
                brk()
                continue
            if req in ("SH", "SS", "Sh", "Ss"):
                brk()
                if rest.strip():
                    add(" ".join(roff_args(rest)))
                    brk()
                continue
            if req in ("nf", "Bd", "EX"):
                brk()
                fill = req == "Bd" and "-literal" not in rest and "-unfilled" not in rest
                continue
            if req in ("fi", "Ed", "EE"):
                fill = True
                brk()
                continue
            if req in ("TP", "TQ"):
                brk()
                tag_next = True
                continue
            if req in ("IP", "It"):
                brk()
                if rest.strip():
                    words = [w for w in roff_args(rest) if not (req == "It" and w in _MDOC)]
                    if req == "IP":
                        words = words[:1]
                    add(" ".join(words))
                    paras[-1].append("")
                continue
            if req in _BREAK:
                brk()
                continue
            if req == "br":
                if paras[-1]:
                    paras[-1].append("")
                continue
            if req in ("B", "I", "SM", "SB", "TH", "Dt", "Dd", "Os"):
                if req in ("B", "I", "SM", "SB"):
                    add(" ".join(roff_args(rest)))
                continue
            if len(req) == 2 and req[0] in "BIR" and req[1] in "BIR":
                add("".join(roff_args(rest)))
                continue
            if req in _MDOC:
                words = [w for w in roff_args(rest) if w not in _MDOC]
                if req == "Fl":
                    words = ["-" + w for w in words] or ["-"]
                elif req == "Nd":
                    words = ["-", *words]
                add(" ".join(words))
                continue
            continue  # any other request only formats
        if not line.strip():
            brk()
            continue
        add(line, new_line=fill and line[:1].isspace())
    out = []
    for para in paras:
        text = "\n".join(x for x in "\n".join(para).split("\n") if x.strip())
        if text.strip():
            out.append(text)
    return clean_plain("\n\n".join(out))


def groff_to_text(src: bytes) -> str | None:
    """A man page rendered by groff (no overstrikes or colour)."""
    if re.match(rb"\s*\.so\s", src):
        return None
    proc = subprocess.run(
        ["groff", "-mandoc", "-Tutf8", "-P-cbou", "-rLL=100n", "-rcR=1"],
        input=src,
        capture_output=True,
        check=False,
    )
    return clean_plain(proc.stdout.decode("utf-8", "replace"))


# ---- documents --------------------------------------------------------------------------
def chunk(text: str, max_chars: int) -> list[str]:
    """Cut text at paragraph breaks (then line breaks) into pieces of at most max_chars."""
    pieces: list[str] = []
    cur: list[str] = []
    size = 0
    for para in text.split("\n\n"):
        parts = [para]
        if len(para) > max_chars:
            parts, line_buf = [], ""
            for line in para.split("\n"):
                while len(line) > max_chars:
                    parts.append(line[:max_chars])
                    line = line[max_chars:]
                if line_buf and len(line_buf) + 1 + len(line) > max_chars:
                    parts.append(line_buf)
                    line_buf = line
                else:
                    line_buf = line_buf + "\n" + line if line_buf else line
            if line_buf:
                parts.append(line_buf)
        for part in parts:
            if cur and size + 2 + len(part) > max_chars:
                pieces.append("\n\n".join(cur))
                cur, size = [], 0
            cur.append(part)
            size += len(part) + 2
    if cur:
        pieces.append("\n\n".join(cur))
    return pieces


def list_files(doc_root: Path | None, man_root: Path | None, opts: argparse.Namespace):
    """(jobs, skipped): jobs are (kind, path, rel, source, lang, package), in sorted order."""
    jobs: list[tuple[str, str, str, str, str, str]] = []
    skipped: Counter = Counter()
    exclude = set(opts.exclude)
    if doc_root is not None and doc_root.is_dir():
        for dirpath, dirnames, filenames in os.walk(doc_root):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, doc_root)
            package = rel_dir.split(os.sep)[0]
            if package in exclude:
                skipped["doc:dev-corpus-package"] += len(filenames)
                dirnames[:] = []
                continue
            for fname in sorted(filenames):
                path = os.path.join(dirpath, fname)
                if os.path.islink(path):
                    skipped["doc:symlink"] += 1
                    continue
                name = fname[:-3] if fname.endswith(".gz") else fname
                source = doc_source(name)
                if source is None:
                    skipped["doc:not-text"] += 1
                    continue
                rel = os.path.relpath(path, doc_root)
                jobs.append(("doc", path, rel, source, name_lang(name), package))
    if man_root is not None and man_root.is_dir():
        fams: dict[str, list[tuple[str, tuple]]] = {}
        for dirpath, dirnames, filenames in os.walk(man_root):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, man_root)
            parts = rel_dir.split(os.sep)
            if not parts[-1].startswith("man"):
                continue
            lang = parts[0].split("_")[0].split(".")[0].split("@")[0] if len(parts) > 1 else "en"
            for fname in sorted(filenames):
                path = os.path.join(dirpath, fname)
                if os.path.islink(path):
                    skipped["man:symlink"] += 1
                    continue
                rel = os.path.relpath(path, man_root)
                fam = family(fname)
                job = ("man", path, rel, "man", lang, fam)
                fams.setdefault(f"{lang}/{fam}", []).append((fname, job))
        for key in sorted(fams):
            members = fams[key]
            if len(members) > opts.family_cap:
                skipped["man:family-cap"] += len(members) - opts.family_cap
                members = sorted(members, key=lambda m: hashlib.sha1(m[0].encode()).digest())
                members = sorted(members[: opts.family_cap])
            jobs.extend(job for _, job in members)
    jobs.sort(key=lambda j: (j[0], j[2]))
    return jobs, skipped


def convert(job: tuple[tuple[str, str, str, str, str, str], bool]) -> tuple[str, object]:
    """('ok', (text, encoding, mtime)) or ('skip', reason) for one file."""
    (kind, path, _rel, source, _lang, _pkg), use_groff = job
    try:
        data = read_bytes(path)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        return "skip", f"{kind}:unreadable ({type(exc).__name__})"
    mtime = os.stat(path).st_mtime
    if kind == "man" and use_groff:
        text, enc = groff_to_text(data), "groff"
    else:
        text, enc = decode(data)
        if text is None:
            return "skip", f"{kind}:{enc}"
        if kind == "man":
            text = roff_to_text(text)
        elif source == "doc-html":
            text = html_to_text(text)
        else:
            text = clean_plain(text)
    if text is None:
        return "skip", f"{kind}:so-redirect"
    if not text.strip():
        return "skip", f"{kind}:empty"
    return "ok", (text, enc, mtime)


class Writer:
    """Writes `<dir>/<lang>-NNNNN.jsonl.zst` per (source, lang), rolling past `shard_size`."""

    def __init__(self, out: Path, shard_size: int) -> None:
        self.out = out
        self.shard_size = shard_size
        self.open: dict[tuple[str, str], list] = {}  # key -> [fh, comp, shard, bytes]

    def write(self, source: str, lang: str, line: bytes) -> None:
        st = self.open.get((source, lang))
        if st is None or st[3] >= self.shard_size:
            shard = 0 if st is None else st[2] + 1
            if st is not None:
                st[0].write(st[1].flush())
                st[0].close()
            directory = self.out / "documents" / source
            directory.mkdir(parents=True, exist_ok=True)
            fh = open(directory / f"{lang}-{shard:05d}.jsonl.zst", "wb")  # noqa: SIM115
            # One compressor per open stream: compressobjs of one ZstdCompressor share its state.
            comp = zstandard.ZstdCompressor(level=3).compressobj()
            st = self.open[(source, lang)] = [fh, comp, shard, 0]
        st[0].write(st[1].compress(line))
        st[3] += len(line)

    def close(self) -> None:
        for st in self.open.values():
            st[0].write(st[1].flush())
            st[0].close()


def build(opts: argparse.Namespace) -> dict:
    """Write the corpus under opts.out and return the summary (also in foreign_build.json)."""
    out = Path(opts.out)
    docs_dir = out / "documents"
    if docs_dir.exists() and any(docs_dir.iterdir()):
        raise SystemExit(f"{docs_dir} is not empty: choose another --out")
    doc_root = Path(opts.doc_root) if opts.doc_root else None
    man_root = Path(opts.man_root) if opts.man_root else None
    jobs, skipped = list_files(doc_root, man_root, opts)
    if opts.max_files:
        jobs = jobs[: opts.max_files]
    work = [(job, opts.groff) for job in jobs]
    if opts.workers > 1:
        with ProcessPoolExecutor(opts.workers) as pool:
            results = list(pool.map(convert, work, chunksize=32))
    else:
        results = [convert(w) for w in work]
    writer = Writer(out, opts.shard_size)
    seq: Counter = Counter()
    groups: dict[str, dict] = {}
    for (kind, _path, rel, source, lang, pkg), (status, value) in zip(jobs, results, strict=True):
        if status == "skip":
            skipped[str(value)] += 1
            continue
        text, enc, mtime = value  # type: ignore[misc]
        created = datetime.fromtimestamp(int(mtime), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        pieces = chunk(text, opts.max_chars)
        if opts.max_parts and len(pieces) > opts.max_parts:
            skipped[f"{kind}:part-over-max-parts"] += len(pieces) - opts.max_parts
            pieces = pieces[: opts.max_parts]
        stats = groups.setdefault(f"{source}/{lang}", {"files": 0, "docs": 0, "bytes": 0})
        stats["files"] += 1
        root = "/usr/share/man" if kind == "man" else "/usr/share/doc"
        for part, piece in enumerate(pieces):
            if len(piece) < opts.min_chars:
                skipped[f"{kind}:part-under-min-chars"] += 1
                continue
            n = seq[(source, lang)]
            seq[(source, lang)] += 1
            meta = {
                "lang": lang,
                "origin": f"Debian package documentation ({pkg})",
                "path": f"{root}/{rel}",
                "part": part,
                "encoding": enc,
            }
            doc = {
                "id": f"{source}-{lang}-{n:06d}",
                "text": piece,
                "source": source,
                "added": ADDED,
                "created": created,
                "metadata": meta,
            }
            line = msgspec.json.encode(doc) + b"\n"
            writer.write(source, lang, line)
            stats["docs"] += 1
            stats["bytes"] += len(piece.encode())
    writer.close()
    summary = {
        "doc_root": str(doc_root) if doc_root else None,
        "man_root": str(man_root) if man_root else None,
        "renderer": "groff" if opts.groff else "roff-stripper",
        "max_chars": opts.max_chars,
        "min_chars": opts.min_chars,
        "family_cap": opts.family_cap,
        "max_parts": opts.max_parts,
        "files_listed": len(jobs),
        "docs": sum(g["docs"] for g in groups.values()),
        "text_bytes": sum(g["bytes"] for g in groups.values()),
        "groups": dict(sorted(groups.items())),
        "skipped": dict(sorted(skipped.items())),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "foreign_build.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output dataset dir (documents/ goes inside)")
    ap.add_argument("--doc-root", default="/usr/share/doc", help="'' to leave it out")
    ap.add_argument("--man-root", default="/usr/share/man", help="'' to leave it out")
    ap.add_argument("--exclude", nargs="*", default=list(DEV_PACKAGES), help="doc packages")
    ap.add_argument("--max-chars", type=int, default=8000, help="longest document")
    ap.add_argument("--min-chars", type=int, default=80, help="shorter parts are dropped")
    ap.add_argument("--max-parts", type=int, default=12, help="documents per file (0: all)")
    ap.add_argument("--family-cap", type=int, default=150, help="man pages per name family")
    ap.add_argument("--max-files", type=int, default=0, help="first N files only (0: all)")
    ap.add_argument("--shard-size", type=int, default=50_000_000, help="uncompressed bytes")
    ap.add_argument("--groff", action="store_true", help="render man pages with groff")
    ap.add_argument("--workers", type=int, default=1, help="processes (output is identical)")
    opts = ap.parse_args(argv)
    if opts.max_chars < 100 or opts.min_chars < 0 or opts.family_cap < 1:
        ap.error("need --max-chars >= 100, --min-chars >= 0 and --family-cap >= 1")
    t0 = time.perf_counter()
    summary = build(opts)
    dt = time.perf_counter() - t0
    print(f"{'source/lang':<22} {'files':>7} {'docs':>7} {'MB':>8}", file=sys.stderr)
    for key, g in summary["groups"].items():
        print(f"{key:<22} {g['files']:>7} {g['docs']:>7} {g['bytes'] / 1e6:>8.2f}", file=sys.stderr)
    print(
        f"wrote {summary['docs']:,} docs, {summary['text_bytes'] / 1e6:,.1f} MB of text in "
        f"{dt:.1f} s; skipped {summary['skipped']}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
