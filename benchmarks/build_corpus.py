"""Scale the dev corpus to a benchmark corpus of a given uncompressed size.

Usage::

    python benchmarks/build_corpus.py --size 200MB --out /tmp/bench200 [--seed 0]

Writes Dolma-format documents to ``OUT/documents/<source>/<lang>-NNNNN.jsonl.zst`` (shards of
``--shard-size`` uncompressed bytes) and a summary to ``OUT/bench_build.json``.

Every output document is one of four kinds, recorded in ``metadata.bench``:

* ``original``    a dev-corpus document, verbatim: ``{"kind": "original", "from": DEV_ID}``
* ``recombined``  a new document made of runs of paragraphs taken from 2+ different dev documents
  of the same source and language: ``{"kind": "recombined", "parts": [[DEV_ID, start, n], ...]}``
* ``exact_dup``   a verbatim copy of an earlier ``original``/``recombined`` output document:
  ``{"kind": "exact_dup", "of": OUT_ID}``
* ``near_dup``    an edited copy of one: ``{"kind": "near_dup", "of": OUT_ID, "ops": [...]}``
  with ops among header, footer, insert_para, delete_para, swap_paras, word_noise, truncate.

Duplicates always point at a distinct (``original``/``recombined``) document of the same source
and language that was written earlier, so the ground-truth clusters are stars: a distinct
document plus every document whose ``of`` names it. Caveat: the dev corpus has duplicates of its
own (translated handbooks with untranslated English paragraphs, repeated fortunes), and very
short recombined documents may coincide by chance; a benchmark needing exact truth for exact
duplicates should hash the texts.

Determinism: each (source, lang) group has its own RNG seeded from (seed, source, lang), so the
output bytes depend only on the inputs, ``--seed``, ``--size``, ``--shard-size``, the fractions
and ``--reservoir`` — not on ``--workers``. Memory is bounded: the dev corpus (~20 MB) plus a
reservoir sample of at most ``--reservoir`` earlier documents per group being built.
"""

from __future__ import annotations

import argparse
import functools
import glob
import json
import math
import os
import random
import re
import shutil
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import zstandard

DEFAULT_SOURCE_DIR = "/work/shared/corpus/dev/documents"
CJK_LANGS = {"ja", "zh", "ko"}
_SIZE_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)(i?)b?\s*$", re.IGNORECASE)
_SENT_RE = re.compile(r"(?<=[.!?])\s+(?=\S)|(?<=[。！？])(?=\S)")

# Boilerplate that web pages and mirrored docs wrap around content. "{n}" and "{y}" are filled
# with random numbers so that copies share a template but not always the exact string.
HEADERS = {
    "en": [
        "Skip to main content | Home > Documentation > Page {n}",
        "This is an archived copy of the page, retrieved on {y}-0{m}-1{n}.",
        "Menu Search Sign in Register",
        "Note: this document was mirrored from the upstream project on {y}. Some links may not "
        "work.",
    ],
    "de": [
        "Zum Inhalt springen | Startseite > Dokumentation > Seite {n}",
        "Dies ist eine archivierte Kopie der Seite, abgerufen am 1{n}.0{m}.{y}.",
        "Menü Suche Anmelden Registrieren",
    ],
    "fr": [
        "Aller au contenu | Accueil > Documentation > Page {n}",
        "Ceci est une copie archivée de la page, consultée le 1{n}/0{m}/{y}.",
        "Menu Rechercher Se connecter S'inscrire",
    ],
    "es": [
        "Ir al contenido | Inicio > Documentación > Página {n}",
        "Esta es una copia archivada de la página, consultada el 1{n}/0{m}/{y}.",
        "Menú Buscar Iniciar sesión Registrarse",
    ],
    "ja": [
        "メインコンテンツへスキップ | ホーム > ドキュメント > ページ {n}",
        "これは {y} 年 {m} 月に取得したページのアーカイブです。",
        "メニュー 検索 ログイン 登録",
    ],
    "ru": [
        "Перейти к содержимому | Главная > Документация > Страница {n}",
        "Это архивная копия страницы, сохранённая 1{n}.0{m}.{y}.",
        "Меню Поиск Войти Регистрация",
    ],
}
FOOTERS = {
    "en": [
        "Copyright © {y} The Authors. All rights reserved.",
        "Share this page: Facebook Twitter Email Print",
        "Last updated on {y}-0{m}-1{n}. Found a typo? Report a bug.",
        "Privacy policy | Terms of use | Contact us | Sitemap",
    ],
    "de": [
        "Copyright © {y} Die Autoren. Alle Rechte vorbehalten.",
        "Seite teilen: Facebook Twitter E-Mail Drucken",
        "Zuletzt aktualisiert am 1{n}.0{m}.{y}. Impressum | Datenschutz | Kontakt",
    ],
    "fr": [
        "Copyright © {y} Les auteurs. Tous droits réservés.",
        "Partager cette page : Facebook Twitter E-mail Imprimer",
        "Dernière mise à jour le 1{n}/0{m}/{y}. Mentions légales | Confidentialité | Contact",
    ],
    "es": [
        "Copyright © {y} Los autores. Todos los derechos reservados.",
        "Compartir esta página: Facebook Twitter Correo Imprimir",
        "Última actualización: 1{n}/0{m}/{y}. Aviso legal | Privacidad | Contacto",
    ],
    "ja": [
        "Copyright © {y} 著者一同. All rights reserved.",
        "このページを共有: Facebook Twitter メール 印刷",
        "最終更新日: {y} 年 {m} 月 1{n} 日。プライバシーポリシー | 利用規約 | お問い合わせ",
    ],
    "ru": [
        "Copyright © {y} Авторы. Все права защищены.",
        "Поделиться: Facebook Twitter Эл. почта Печать",
        "Последнее обновление: 1{n}.0{m}.{y}. Политика конфиденциальности | Контакты",
    ],
}


@functools.lru_cache(maxsize=1 << 18)
def _sentences(paragraph: str) -> list[str]:
    """Sentences of a dev-corpus paragraph (cached: the pool of paragraphs is fixed)."""
    return _SENT_RE.split(paragraph)


def parse_size(text: str) -> int:
    """'200MB' -> 200_000_000; '1GiB' -> 2**30; plain integers are bytes."""
    m = _SIZE_RE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text!r} (examples: 200MB, 1.5GB, 512MiB)")
    value, unit, binary = float(m.group(1)), m.group(2).lower(), m.group(3)
    base = 1024 if binary else 1000
    return int(value * base ** " kmgt".index(unit or " "))


@dataclass
class Group:
    """The dev documents of one (source, lang)."""

    source: str
    lang: str
    docs: list[dict] = field(default_factory=list)
    paras: list[list[str]] = field(default_factory=list)
    text_bytes: int = 0


def load_groups(source_dir: str) -> dict[tuple[str, str], Group]:
    files = sorted(glob.glob(os.path.join(source_dir, "*", "*.jsonl*")))
    if not files:
        raise SystemExit(f"no documents under {source_dir}")
    groups: dict[tuple[str, str], Group] = {}
    dctx = zstandard.ZstdDecompressor()
    for path in files:
        with open(path, "rb") as fh:
            data = fh.read()
        if path.endswith(".zst"):
            data = dctx.decompressobj().decompress(data)
        source = os.path.basename(os.path.dirname(path))
        for line in data.splitlines():
            if not line.strip():
                continue
            doc = msgspec.json.decode(line)
            text = doc.get("text") or ""
            if not text.strip():
                continue
            src = doc.get("source") or source
            lang = (doc.get("metadata") or {}).get("lang") or "und"
            grp = groups.get((src, lang))
            if grp is None:
                grp = groups[(src, lang)] = Group(src, lang)
            grp.docs.append(doc)
            grp.paras.append([p for p in text.split("\n\n") if p.strip()] or [text])
            grp.text_bytes += len(text.encode())
    return groups


class ShardWriter:
    """Writes `<dir>/<lang>-NNNNN.jsonl.zst`, rolling to a new shard past `shard_size` bytes."""

    BUFFER = 1 << 20

    def __init__(self, directory: Path, lang: str, shard_size: int, level: int = 3) -> None:
        self.directory = directory
        self.lang = lang
        self.shard_size = shard_size
        self.cctx = zstandard.ZstdCompressor(level=level)
        self.shard = -1
        self.fh = None
        self.comp = None
        self.buf: list[bytes] = []
        self.buf_bytes = 0
        self.shard_bytes = 0
        self.paths: list[str] = []
        directory.mkdir(parents=True, exist_ok=True)

    def _open(self) -> None:
        self.shard += 1
        path = self.directory / f"{self.lang}-{self.shard:05d}.jsonl.zst"
        self.paths.append(str(path))
        self.fh = open(path, "wb")  # noqa: SIM115 (closed in _close_shard)
        self.comp = self.cctx.compressobj()
        self.shard_bytes = 0

    def _flush(self) -> None:
        if self.buf:
            self.fh.write(self.comp.compress(b"".join(self.buf)))
            self.buf = []
            self.buf_bytes = 0

    def _close_shard(self) -> None:
        if self.fh is not None:
            self._flush()
            self.fh.write(self.comp.flush())
            self.fh.close()
            self.fh = None

    def write(self, line: bytes) -> None:
        if self.fh is None or self.shard_bytes >= self.shard_size:
            self._close_shard()
            self._open()
        self.buf.append(line)
        self.buf_bytes += len(line)
        self.shard_bytes += len(line)
        if self.buf_bytes >= self.BUFFER:
            self._flush()

    def close(self) -> None:
        self._close_shard()


class GroupBuilder:
    """Generates the documents of one (source, lang) group."""

    def __init__(self, grp: Group, seed: int, args: argparse.Namespace) -> None:
        self.g = grp
        self.rng = random.Random(f"dolmakit-bench:{seed}:{grp.source}:{grp.lang}")
        self.exact_frac = args.exact_frac
        self.near_frac = args.near_frac
        self.splice_frac = args.splice_frac
        self.reservoir_cap = args.reservoir
        self.reservoir: list[tuple[str, str, int]] = []  # (out id, text, dev doc index)
        self.n_distinct = 0
        self.cjk = grp.lang in CJK_LANGS
        self.short = sorted(len(p) for p in grp.paras)[len(grp.paras) // 2] < 4
        lang = grp.lang if grp.lang in HEADERS else "en"
        self.headers, self.footers = HEADERS[lang], FOOTERS[lang]
        self.vocab = self._vocab()
        order = list(range(len(grp.docs)))
        self.rng.shuffle(order)
        self.originals = order

    def _vocab(self) -> list[str]:
        rng = random.Random(self.rng.random())
        words: list[str] = []
        for i in rng.sample(range(len(self.g.docs)), min(500, len(self.g.docs))):
            words.extend(w for w in self.g.docs[i]["text"].split() if w.isalpha() and len(w) > 1)
        return sorted(set(words)) or ["the"]

    # ---- distinct documents -------------------------------------------------------------
    def recombine(self) -> tuple[str, dict, int]:
        rng, paras = self.rng, self.g.paras
        ndocs = len(paras)
        n = len(paras[rng.randrange(ndocs)])
        if self.short or n < 2:
            n = max(2, n) + rng.randint(0, 1)
        chosen: list[str] = []
        parts: list[list] = []
        used: set[int] = set()
        first = -1
        while len(chosen) < n:
            d = rng.randrange(ndocs)
            for _ in range(8):
                if d not in used or ndocs <= len(used):
                    break
                d = rng.randrange(ndocs)
            used.add(d)
            dp = paras[d]
            max_run = max(1, min(3, n // 2, len(dp) - 1, n - len(chosen)))
            run = rng.randint(1, max_run)
            start = rng.randrange(len(dp) - run + 1)
            chosen.extend(dp[start : start + run])
            parts.append([self.g.docs[d]["id"], start, run])
            if first < 0:
                first = d
        bench: dict = {"kind": "recombined", "parts": parts}
        if self.splice_frac > 0:
            splices = self._splice(chosen)
            if splices:
                bench["splices"] = splices
        return "\n\n".join(chosen), bench, first

    def _splice(self, chosen: list[str]) -> list[list]:
        """Replace some paragraphs by the head of themselves + the tail of another paragraph.

        Paragraph reuse would otherwise be the only source of novelty, so at 10x the dev size
        almost every paragraph of a "distinct" document would also occur elsewhere. Records
        ``[paragraph index, [dev id, paragraph], sentences kept from own head, tail start]``.
        """
        rng, paras = self.rng, self.g.paras
        out = []
        joiner = "" if self.cjk else " "
        for i, para in enumerate(chosen):
            if rng.random() >= self.splice_frac:
                continue
            head = _sentences(para)
            if len(head) < 2:
                continue
            d = rng.randrange(len(paras))
            k = rng.randrange(len(paras[d]))
            tail = _sentences(paras[d][k])
            if len(tail) < 2:
                continue
            cut, start = rng.randint(1, len(head) - 1), rng.randint(1, len(tail) - 1)
            chosen[i] = joiner.join(head[:cut] + tail[start:])
            out.append([i, [self.g.docs[d]["id"], k], cut, start])
        return out

    # ---- near duplicates ----------------------------------------------------------------
    def _boiler(self, templates: list[str]) -> str:
        rng = self.rng
        t = templates[rng.randrange(len(templates))]
        return t.format(n=rng.randint(1, 9), m=rng.randint(1, 9), y=rng.randint(2003, 2024))

    def near_dup(self, text: str) -> tuple[str, list[dict]]:
        rng = self.rng
        ops: list[dict] = []
        n_ops = rng.choices((1, 2, 3), weights=(6, 3, 1))[0]
        names = ["header", "footer", "insert_para", "delete_para", "swap_paras", "word_noise"]
        names += ["truncate"]
        weights = [2, 2, 2, 2, 1.5, 3, 1.5]
        for _ in range(n_ops * 3):
            if len(ops) >= n_ops:
                break
            name = rng.choices(names, weights=weights)[0]
            if any(o["op"] == name for o in ops):
                continue
            new, op = getattr(self, "_op_" + name)(text)
            if op is not None:
                text = new
                ops.append(op)
        if not ops:
            text, op = self._op_word_noise(text, force=True)
            ops.append(op)
        return text, ops

    def _op_header(self, text: str):
        b = self._boiler(self.headers)
        if len(b) > 0.2 * len(text):
            return text, None
        return b + "\n\n" + text, {"op": "header", "text": b}

    def _op_footer(self, text: str):
        b = self._boiler(self.footers)
        if len(b) > 0.2 * len(text):
            return text, None
        return text + "\n\n" + b, {"op": "footer", "text": b}

    def _op_insert_para(self, text: str):
        rng = self.rng
        ps = text.split("\n\n")
        for _ in range(4):
            d = rng.randrange(len(self.g.paras))
            dp = self.g.paras[d]
            k = rng.randrange(len(dp))
            if len(dp[k]) <= 0.2 * len(text):
                at = rng.randint(0, len(ps))
                ps.insert(at, dp[k])
                op = {"op": "insert_para", "at": at, "from": [self.g.docs[d]["id"], k]}
                return "\n\n".join(ps), op
        return text, None

    def _op_delete_para(self, text: str):
        ps = text.split("\n\n")
        if len(ps) < 3:
            return text, None
        at = self.rng.randrange(len(ps))
        if len(ps[at]) > 0.2 * len(text):
            return text, None
        del ps[at]
        return "\n\n".join(ps), {"op": "delete_para", "at": at}

    def _op_swap_paras(self, text: str):
        ps = text.split("\n\n")
        if len(ps) < 2:
            return text, None
        at = self.rng.randrange(len(ps) - 1)
        ps[at], ps[at + 1] = ps[at + 1], ps[at]
        return "\n\n".join(ps), {"op": "swap_paras", "at": at}

    def _op_word_noise(self, text: str, force: bool = False):
        rng = self.rng
        rate = round(rng.uniform(0.005, 0.03), 3)
        if self.cjk:
            toks = list(text)
            cand = [i for i, c in enumerate(toks) if not c.isspace()]
        else:
            toks = text.split(" ")
            cand = range(len(toks))
        if not cand:
            return text, None
        k = max(1, round(rate * len(cand)))
        subs = dels = 0
        for i in sorted(rng.sample(cand, min(k, len(cand))), reverse=True):
            if rng.random() < 0.5:
                if self.cjk:
                    toks[i] = text[cand[rng.randrange(len(cand))]]
                else:
                    toks[i] = self.vocab[rng.randrange(len(self.vocab))]
                subs += 1
            elif self.cjk:
                del toks[i]
                dels += 1
            else:
                w = toks[i]
                # keep a paragraph break that was glued to the deleted word
                if "\n" in w:
                    toks[i] = w[w.index("\n") :]
                else:
                    del toks[i]
                dels += 1
        new = ("" if self.cjk else " ").join(toks)
        return new, {"op": "word_noise", "rate": rate, "subs": subs, "dels": dels}

    def _op_truncate(self, text: str):
        keep = round(self.rng.uniform(0.85, 0.97), 3)
        cut = int(len(text) * keep)
        if not self.cjk:
            sp = text.rfind(" ", 0, cut)
            if sp > len(text) // 2:
                cut = sp
        if cut < 20:
            return text, None
        return text[:cut].rstrip(), {"op": "truncate", "keep": keep}

    # ---- main loop ----------------------------------------------------------------------
    def _remember(self, out_id: str, text: str, dev_idx: int) -> None:
        """Reservoir sample (algorithm R) over the distinct documents written so far."""
        self.n_distinct += 1
        if len(self.reservoir) < self.reservoir_cap:
            self.reservoir.append((out_id, text, dev_idx))
        else:
            j = self.rng.randrange(self.n_distinct)
            if j < self.reservoir_cap:
                self.reservoir[j] = (out_id, text, dev_idx)

    def run(self, target: int, out_dir: Path, shard_size: int, level: int) -> dict:
        g, rng = self.g, self.rng
        writer = ShardWriter(out_dir / "documents" / g.source, g.lang, shard_size, level)
        p_original = min(1.0, g.text_bytes / max(1, target))
        counts: Counter = Counter()
        kind_bytes: Counter = Counter()
        written = 0
        seq = 0
        next_orig = 0
        dumps = msgspec.json.encode
        while written < target:
            r = rng.random()
            if r < self.exact_frac and self.reservoir:
                of_id, text, di = self.reservoir[rng.randrange(len(self.reservoir))]
                bench = {"kind": "exact_dup", "of": of_id}
                distinct = False
            elif r < self.exact_frac + self.near_frac and self.reservoir:
                of_id, text, di = self.reservoir[rng.randrange(len(self.reservoir))]
                text, ops = self.near_dup(text)
                bench = {"kind": "near_dup", "of": of_id, "ops": ops}
                distinct = False
            elif next_orig < len(self.originals) and rng.random() < p_original:
                di = self.originals[next_orig]
                next_orig += 1
                text = g.docs[di]["text"]
                bench = {"kind": "original", "from": g.docs[di]["id"]}
                distinct = True
            else:
                text, bench, di = self.recombine()
                distinct = True
            src = g.docs[di]
            meta = dict(src.get("metadata") or {})
            meta["lang"] = g.lang
            meta["bench"] = bench
            out_id = f"{g.source}-{g.lang}-b{seq:08d}"
            seq += 1
            doc = {"id": out_id, "text": text, "source": g.source}
            for key in ("added", "created"):
                if src.get(key) is not None:
                    doc[key] = src[key]
            doc["metadata"] = meta
            line = dumps(doc) + b"\n"
            writer.write(line)
            written += len(line)
            counts[bench["kind"]] += 1
            kind_bytes[bench["kind"]] += len(line)
            if distinct:
                self._remember(out_id, text, di)
        writer.close()
        return {
            "source": g.source,
            "lang": g.lang,
            "target_bytes": target,
            "bytes": written,
            "docs": seq,
            "docs_by_kind": dict(sorted(counts.items())),
            "bytes_by_kind": dict(sorted(kind_bytes.items())),
            "shards": len(writer.paths),
        }


def _build_group(job: tuple) -> dict:
    source_dir, key, target, seed, out_dir, args = job
    groups = _GROUP_CACHE.get(source_dir)
    if groups is None:
        groups = _GROUP_CACHE[source_dir] = load_groups(source_dir)
    builder = GroupBuilder(groups[key], seed, args)
    return builder.run(target, Path(out_dir), args.shard_size, args.level)


_GROUP_CACHE: dict[str, dict] = {}


def build(args: argparse.Namespace) -> dict:
    out = Path(args.out)
    docs_dir = out / "documents"
    if docs_dir.exists() and any(docs_dir.iterdir()):
        if not args.force:
            raise SystemExit(f"{docs_dir} is not empty (use --force to replace it)")
        shutil.rmtree(docs_dir)
    groups = load_groups(args.source_dir)
    _GROUP_CACHE[args.source_dir] = groups
    total_text = sum(g.text_bytes for g in groups.values())
    keys = sorted(groups)
    # Split the target across groups in proportion to their share of dev-corpus text.
    targets = {k: math.ceil(args.size * groups[k].text_bytes / total_text) for k in keys}
    jobs = [(args.source_dir, k, targets[k], args.seed, str(out), args) for k in keys]
    if args.workers > 1:
        # Largest groups first so the pool stays busy.
        jobs.sort(key=lambda j: -j[2])
        with ProcessPoolExecutor(args.workers) as pool:
            results = list(pool.map(_build_group, jobs))
    else:
        results = [_build_group(j) for j in jobs]
    results.sort(key=lambda r: (r["source"], r["lang"]))
    summary = {
        "size": args.size,
        "seed": args.seed,
        "shard_size": args.shard_size,
        "exact_frac": args.exact_frac,
        "near_frac": args.near_frac,
        "splice_frac": args.splice_frac,
        "reservoir": args.reservoir,
        "source_dir": args.source_dir,
        "bytes": sum(r["bytes"] for r in results),
        "docs": sum(r["docs"] for r in results),
        "docs_by_kind": dict(
            sorted(sum((Counter(r["docs_by_kind"]) for r in results), Counter()).items())
        ),
        "groups": results,
    }
    (out / "bench_build.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=parse_size, required=True, help="uncompressed JSONL size")
    ap.add_argument("--out", required=True, help="output dataset dir (documents/ goes inside)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--source-dir", default=DEFAULT_SOURCE_DIR)
    ap.add_argument("--shard-size", type=parse_size, default=parse_size("50MB"))
    ap.add_argument("--exact-frac", type=float, default=0.10, help="share of exact copies")
    ap.add_argument("--near-frac", type=float, default=0.15, help="share of near-duplicates")
    ap.add_argument(
        "--splice-frac",
        type=float,
        default=0.5,
        help="chance that a paragraph of a recombined document is spliced with another's tail",
    )
    ap.add_argument(
        "--reservoir", type=int, default=5000, help="documents kept per group as dup bases"
    )
    ap.add_argument("--level", type=int, default=3, help="zstd level")
    ap.add_argument("--workers", type=int, default=1, help="processes (output is identical)")
    ap.add_argument("--force", action="store_true", help="replace an existing OUT/documents")
    args = ap.parse_args(argv)
    if min(args.exact_frac, args.near_frac) < 0 or args.exact_frac + args.near_frac >= 1:
        ap.error("need 0 <= exact-frac, near-frac and exact-frac + near-frac < 1")
    if not 0 <= args.splice_frac <= 1:
        ap.error("--splice-frac must be within [0, 1]")
    if args.reservoir < 1 or args.shard_size < 1:
        ap.error("--reservoir and --shard-size must be positive")
    t0 = time.perf_counter()
    summary = build(args)
    dt = time.perf_counter() - t0
    mb = summary["bytes"] / 1e6
    print(
        f"wrote {summary['docs']:,} docs, {mb:,.1f} MB uncompressed in {dt:.1f} s "
        f"({mb / dt:,.1f} MB/s): {summary['docs_by_kind']}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
