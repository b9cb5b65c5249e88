"""Injection benchmark for benchmark contamination, with datatrove's n-gram filter beside it.

Held-back documents of a corpus (the development corpus, or `--corpus`, e.g. the Debian
documentation of benchmarks/foreign_corpus.py) are cut into "evaluation examples" (40-100
words: a question of the first three quarters, an answer of the rest), one benchmark per
source of the held document. The remaining corpus must not contain them: every document
sharing a run of 20 words (lower-cased letters and digits, punctuation dropped) with a held
document is removed, unless every such run is held by 5 or more documents (licences,
templates, repeated passages): those stay, as "boilerplate-sharing" documents scored apart.
Examples are then planted into host documents verbatim, with about 3% of their words
replaced, reformatted (case, whitespace, punctuation), or half of them (the first or second
half); all other documents have nothing planted. Recall is scored per kind and per benchmark
(for dolmakit, the planted example must be among those found), and documents with nothing
planted give the false positives. datatrove 0.10.1 runs `NGramsDecontFilter` with its
`NGramsDecontConfig` defaults (12-grams of the answer and of the answer's overlap with the
question) and, as a second column, with `find_query_ngrams=True` (every n-gram).

    python benchmarks/bench_contamination.py --out /tmp/contamination-bench [--no-peer]
    python benchmarks/bench_contamination.py --corpus F/documents --max-mb 10 [--common-in-corpus]
    python benchmarks/bench_contamination.py --speed      # 1M n-gram index: MB/s, bytes/n-gram

Prints a JSON summary and the Markdown tables of docs/contamination.md; writes the summary
and every flagged unplanted document with its matched text (`unplanted_flags.jsonl`) to --out.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import re
import string
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from dolmakit.contamination.index import IndexOptions, index_benchmarks  # noqa: E402
from dolmakit.contamination.lookup import open_index  # noqa: E402
from dolmakit.contamination.match import DEFAULT_MIN_COVERAGE, match_texts  # noqa: E402
from dolmakit.io.paths import expand_inputs  # noqa: E402
from dolmakit.io.reader import read_documents  # noqa: E402

DEV_CORPUS = Path("/work/shared/corpus/dev/documents")
KINDS = ("verbatim", "edited", "reformatted", "half")
PER_KIND = 200
HELD_DOCS = 500
COMMON_DOCS = 5  # a 20-word window in this many documents is boilerplate, not an overlap
NO_HELD_SOURCES = {"fortunes"}  # too short to cut examples from


def load_corpus(corpus: Path = DEV_CORPUS, max_mb: float = 0.0, seed: int = 0) -> list[dict]:
    """Return the English documents of a Dolma folder, in path order.

    A document is English when its ``metadata.lang`` is ``en``, or without one when its
    file name starts with ``en`` (the dev corpus's python-doc folder is all English). With
    `max_mb`, a seeded sample of whole documents up to that much text, kept in path order.
    """
    docs = []
    for path in expand_inputs([corpus]):
        for _, doc in read_documents(path):
            lang = (doc.metadata or {}).get("lang")
            english = lang == "en" if lang else path.name.startswith("en")
            if english or path.parent.name == "python-doc":
                source = doc.source or path.parent.name
                docs.append({"id": doc.id, "text": doc.text, "source": source})
    if max_mb:
        order = list(range(len(docs)))
        random.Random(seed).shuffle(order)
        keep, size = [], 0
        for i in order:
            if size >= max_mb * 1e6:
                break
            keep.append(i)
            size += len(docs[i]["text"].encode())
        docs = [docs[i] for i in sorted(keep)]
    return docs


_WORD = re.compile(r"[^\W_]+")


def _windows(text: str, size: int = 20) -> set[int]:
    """Return hashes of the text's 20-word windows: lower-cased runs of letters and digits.

    Punctuation and markup do not separate a shared passage: the same licence behind `#`,
    ` * ` or `--` comment marks, or a Python passage with other markup, is the same run of
    words (with whitespace-split words, such documents passed as clean).
    """
    words = _WORD.findall(text.lower())
    return {hash(tuple(words[i : i + size])) for i in range(len(words) - size + 1)}


def make_examples(
    docs: list[dict], rng: random.Random
) -> tuple[list[dict], list[dict], int, set[str]]:
    """Hold documents back, cut two examples from each, drop documents that overlap them.

    A 20-word window of a held document found in fewer than `COMMON_DOCS` other documents
    is a real overlap: documents holding one are removed. Documents that share only windows
    found in `COMMON_DOCS` or more documents (licences, templates, repeated passages) stay
    in the corpus as "boilerplate" documents: they hold part of an example, but only text
    that many documents hold, and are scored apart from the clean ones. Returns the
    examples, the remaining documents, the count removed, and the boilerplate ids.
    """
    candidates = [
        d for d in docs if d["source"] not in NO_HELD_SOURCES and len(d["text"].split()) >= 240
    ]
    held = rng.sample(candidates, min(HELD_DOCS, len(candidates)))
    held_ids = {d["id"] for d in held}
    held_windows = set().union(*(_windows(d["text"]) for d in held))
    shared: dict[str, set[int]] = {}
    df: Counter[int] = Counter()
    for d in docs:
        if d["id"] in held_ids:
            continue
        common = held_windows.intersection(_windows(d["text"]))
        if common:
            shared[d["id"]] = common
            df.update(common)
    rest, overlapping, boiler = [], 0, set()
    for d in docs:
        if d["id"] in held_ids:
            continue
        common = shared.get(d["id"])
        if common and any(df[w] < COMMON_DOCS for w in common):
            overlapping += 1
            continue
        if common:
            boiler.add(d["id"])
        rest.append(d)
    examples = []
    for d in held:
        words = d["text"].split()
        half = len(words) // 2
        for part, (lo, hi) in enumerate(((0, half), (half, len(words)))):
            length = rng.randint(40, 100)
            length = min(length, hi - lo)
            start = rng.randint(lo, hi - length)
            piece = words[start : start + length]
            cut = (len(piece) * 3) // 4
            examples.append(
                {
                    "id": f"{d['id']}#{part}",
                    "benchmark": bench_name(d["source"]),
                    "question": " ".join(piece[:cut]),
                    "answer": " ".join(piece[cut:]),
                }
            )
    rng.shuffle(examples)
    return examples, rest, overlapping, boiler


def bench_name(source: str) -> str:
    """The benchmark an example of `source` goes to: a valid index name."""
    return re.sub(r"[^0-9a-z]+", "_", source.lower()).strip("_")


def _edited(words: list[str], rng: random.Random, vocab: list[str]) -> list[str]:
    out = list(words)
    for i in rng.sample(range(len(out)), max(1, round(0.03 * len(out)))):
        out[i] = rng.choice(vocab)
    return out


def _reformatted(words: list[str], rng: random.Random) -> str:
    pieces = []
    for w in words:
        r = rng.random()
        w = w.upper() if r < 0.15 else w.title() if r < 0.3 else w.lower() if r < 0.45 else w
        if rng.random() < 0.2:
            w = w.strip(string.punctuation) or w
        elif rng.random() < 0.1:
            w += rng.choice([",", ";", " -", "."])
        pieces.append(w)
        pieces.append(rng.choice([" ", " ", " ", "  ", "\n", "\t", " \n "]))
    return "".join(pieces).strip()


def plant(
    examples: list[dict], docs: list[dict], rng: random.Random, boiler: set[str] = frozenset()
) -> tuple[list[dict], dict]:
    """Return the corpus with examples planted, and {doc id: (kind, example id)}.

    Hosts are drawn from the documents that share nothing with any example.
    """
    vocab = sorted({w for d in docs[:2000] for w in d["text"].split() if w.isalpha()})
    eligible = [i for i, d in enumerate(docs) if d["id"] not in boiler]
    hosts = rng.sample(eligible, PER_KIND * len(KINDS))
    truth: dict[str, tuple[str, str]] = {}
    out = [dict(d) for d in docs]
    for k, kind in enumerate(KINDS):
        for j in range(PER_KIND):
            example = examples[k * PER_KIND + j]
            words = (example["question"] + " " + example["answer"]).split()
            if kind == "verbatim":
                text = " ".join(words)
            elif kind == "edited":
                text = " ".join(_edited(words, rng, vocab))
            elif kind == "reformatted":
                text = _reformatted(words, rng)
            else:
                half = len(words) // 2
                text = " ".join(words[:half] if rng.random() < 0.5 else words[half:])
            host = out[hosts[k * PER_KIND + j]]
            paras = host["text"].split("\n\n")
            at = rng.randint(0, len(paras))
            host["text"] = "\n\n".join([*paras[:at], text, *paras[at:]])
            truth[host["id"]] = (kind, example["id"])
    return out, truth


def run_dolmakit(
    work: Path, benches: dict[str, Path], docs: list[dict], options: IndexOptions
) -> tuple[dict, dict, float, float]:
    """Index the benchmarks, match every document: ({doc id: example ids}, details, seconds)."""
    start = time.perf_counter()
    specs = [f"{name}={path}" for name, path in sorted(benches.items())]
    index_benchmarks(specs, work / "idx", "held", ["question", "answer"], "id", options)
    seconds_index = time.perf_counter() - start
    index = open_index(work / "idx")
    start = time.perf_counter()
    found: dict[str, set[str]] = {}
    details: dict[str, list] = {}
    texts = [d["text"] for d in docs]
    for i in range(0, len(texts), 512):
        for d, result in zip(
            docs[i : i + 512],
            match_texts(index, texts[i : i + 512], DEFAULT_MIN_COVERAGE),
            strict=True,
        ):
            if result.hits:
                found[d["id"]] = {index.example_id[h.example] for h in result.hits}
                details[d["id"]] = [
                    {
                        "example": index.example_id[h.example],
                        "coverage": round(h.coverage, 3),
                        "text": [d["text"][s:e] for s, e in h.regions],
                    }
                    for h in result.hits
                ]
    return found, details, seconds_index, time.perf_counter() - start


def run_datatrove(work: Path, bench: Path, docs_path: Path, query: bool) -> dict:
    from peers import PEER_SCRIPTS, ensure_venv

    py = ensure_venv("datatrove")
    cmd = [str(py), str(PEER_SCRIPTS / "datatrove_decont.py"), "--bench", str(bench)]
    cmd += ["--docs", str(docs_path), "--work", str(work / ("dt-q" if query else "dt"))]
    if query:
        cmd.append("--query-ngrams")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])


def score(
    flagged: dict[str, set[str] | None],
    truth: dict,
    clean_ids: list[str],
    boiler_ids: list[str],
    bench_of: dict[str, str],
) -> dict:
    """Return recall per kind and per benchmark, false positives, and precision.

    A planted document counts when it is flagged with its example (or flagged at all, for a
    tool that names no example). False positives are flagged clean documents; documents
    sharing only boilerplate with an example are counted apart (`boiler_flagged`).
    """
    out: dict = {}
    tp = 0
    per_bench: dict[str, list[int]] = {}
    for kind in KINDS:
        docs = [d for d, (k, _) in truth.items() if k == kind]
        hit = 0
        for d in docs:
            got = flagged.get(d, "missing")
            found = got != "missing" and (got is None or truth[d][1] in got)
            hit += found
            counts = per_bench.setdefault(bench_of[truth[d][1]], [0, 0])
            counts[0] += found
            counts[1] += 1
        tp += hit
        out[kind] = hit / len(docs)
    out["per_benchmark"] = {
        b: {"found": f, "planted": n} for b, (f, n) in sorted(per_bench.items())
    }
    fp = sum(1 for d in clean_ids if d in flagged)
    out["clean_flagged"] = fp
    out["clean_docs"] = len(clean_ids)
    out["clean_not_flagged"] = 1 - fp / len(clean_ids)
    out["precision"] = tp / (tp + fp) if tp + fp else 1.0
    # Per benchmark (for a tool that names examples): unplanted documents flagged with one
    # of its examples, clean and boilerplate-sharing.
    unplanted = [(d, "clean") for d in clean_ids] + [(d, "boiler") for d in boiler_ids]
    by_bench: dict[str, Counter[str]] = {}
    for d, kind in unplanted:
        for b in {bench_of[e] for e in flagged.get(d) or ()}:
            by_bench.setdefault(b, Counter())[kind] += 1
    out["unplanted_flags_per_benchmark"] = {b: dict(c) for b, c in sorted(by_bench.items())}
    out["boiler_flagged"] = bf = sum(1 for d in boiler_ids if d in flagged)
    out["boiler_docs"] = len(boiler_ids)
    # Flags on documents that share only boilerplate with an example count as false here.
    out["precision_boiler_false"] = tp / (tp + fp + bf) if tp + fp + bf else 1.0
    return out


def injection(
    out_dir: Path,
    peer: bool,
    corpus: Path = DEV_CORPUS,
    max_mb: float = 0.0,
    options: IndexOptions | None = None,
    common_in_corpus: bool = False,
) -> dict:
    """Plant, index, match and score; with `common_in_corpus` the index sets aside n-grams
    common in the planted corpus itself (`--common-in`, as a user checking it would)."""
    options = options or IndexOptions()
    rng = random.Random(20240601)
    out_dir.mkdir(parents=True, exist_ok=True)
    docs = load_corpus(corpus, max_mb)
    examples, rest, overlapping, boiler = make_examples(docs, rng)
    planted, truth = plant(examples, rest, rng, boiler)
    bench_of = {e["id"]: e["benchmark"] for e in examples}
    benches: dict[str, Path] = {}
    (out_dir / "bench").mkdir(exist_ok=True)
    for name in sorted(set(bench_of.values())):
        benches[name] = out_dir / "bench" / f"{name}.jsonl"
        rows = [e for e in examples if e["benchmark"] == name]
        benches[name].write_text("".join(json.dumps(e) + "\n" for e in rows))
    bench = out_dir / "held.jsonl"
    bench.write_text("".join(json.dumps(e) + "\n" for e in examples))
    docs_path = out_dir / "docs.jsonl"
    docs_path.write_text("".join(json.dumps(d) + "\n" for d in planted))
    clean = [d["id"] for d in planted if d["id"] not in truth and d["id"] not in boiler]
    boiler_ids = sorted(boiler)
    if common_in_corpus:
        options = dataclasses.replace(options, common_in=(docs_path,))
    found, details, seconds_index, seconds_match = run_dolmakit(out_dir, benches, planted, options)
    source_of = {d["id"]: d["source"] for d in planted}
    with (out_dir / "unplanted_flags.jsonl").open("w") as fh:
        for doc_id in sorted(details):
            if doc_id not in truth:
                row = {"doc": doc_id, "source": source_of[doc_id], "boiler": doc_id in boiler}
                fh.write(json.dumps({**row, "hits": details[doc_id]}) + "\n")
    size = sum(len(d["text"].encode()) for d in planted)
    summary: dict = {
        "corpus": {
            "path": str(corpus),
            "documents": len(planted),
            "mb": size / 1e6,
            "examples": len(examples),
            "examples_per_benchmark": dict(sorted(Counter(bench_of.values()).items())),
            "held_back_documents": HELD_DOCS,
            "removed_overlapping_documents": overlapping,
            "boilerplate_documents": len(boiler),
            "per_kind": PER_KIND,
            "boilerplate_files": [str(p) for p in options.boilerplate],
            "common_in_corpus": common_in_corpus,
            "max_docs_per_ngram": options.max_docs_per_ngram if common_in_corpus else None,
        },
        "dolmakit": {
            **score(dict(found), truth, clean, boiler_ids, bench_of),
            "seconds_index": seconds_index,
            "seconds_match": seconds_match,
        },
    }
    if peer:
        for query, key in ((False, "datatrove_defaults"), (True, "datatrove_query_ngrams")):
            result = run_datatrove(out_dir, bench, docs_path, query)
            flagged = dict.fromkeys(result["flagged"])
            summary[key] = {
                **score(flagged, truth, clean, boiler_ids, bench_of),  # type: ignore[arg-type]
                "seconds_index": result["seconds_index"],
                "seconds_match": result["seconds_filter"],
                "config": result["config"],
            }
    return summary


def speed(corpus: Path = DEV_CORPUS, max_mb: float = 0.0, target_ngrams: int = 1_000_000) -> dict:
    """Tag the corpus against an index of about `target_ngrams` n-grams; MB/s on one core."""
    import tempfile

    from dolmakit.document import Document
    from dolmakit.taggers.contamination import ContaminationTagger

    rng = random.Random(7)
    docs = load_corpus(corpus, max_mb)
    vocab = sorted({w for d in docs for w in d["text"].split()})
    per = 60
    count = target_ngrams // (per - 12) + 1
    with tempfile.TemporaryDirectory() as tmp:
        bench = Path(tmp) / "big.jsonl"
        with bench.open("w") as f:
            for i in range(count):
                f.write(json.dumps({"id": str(i), "q": " ".join(rng.choices(vocab, k=per))}) + "\n")
        start = time.perf_counter()
        index_benchmarks([f"big={bench}"], Path(tmp) / "idx", "big", ["q"], "id")
        seconds_index = time.perf_counter() - start
        tagger = ContaminationTagger(str(Path(tmp) / "idx"))
        index = tagger.index
        batch = [Document(d["id"], d["text"]) for d in docs]
        size = sum(len(d.text.encode()) for d in batch)
        tagger.tag_batch(batch[:512])  # warm the tables
        best = best_cpu = float("inf")
        for _ in range(3):
            start, cpu = time.perf_counter(), time.process_time()
            for i in range(0, len(batch), 512):
                tagger.tag_batch(batch[i : i + 512])
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - cpu)
        return {
            "corpus": str(corpus),
            "ngrams": int(index.hashes.size),
            "bytes_per_ngram": index.nbytes / index.hashes.size,
            "seconds_index": seconds_index,
            "text_mb": size / 1e6,
            "mb_per_s": size / 1e6 / best,
            # Per CPU second of this process: what one core does, whatever else the machine
            # runs (wall-clock MB/s falls with the load average on a shared machine).
            "mb_per_cpu_s": size / 1e6 / best_cpu,
            "load_average": os.getloadavg()[0],
        }


def markdown(summary: dict) -> str:
    """Return the results as the Markdown table of docs/contamination.md."""
    cols = [k for k in ("dolmakit", "datatrove_defaults", "datatrove_query_ngrams") if k in summary]

    def row(label: str, cell) -> str:  # type: ignore[no-untyped-def]
        return f"| {label} | " + " | ".join(cell(summary[c]) for c in cols) + " |"

    rows = ["| kind | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for kind in KINDS:
        rows.append(row(f"recall, {kind}", lambda r, k=kind: f"{r[k]:.3f}"))
    for bench in summary["dolmakit"]["per_benchmark"]:

        def cell(r: dict, b: str = bench) -> str:
            got = r["per_benchmark"][b]
            return f"{got['found'] / got['planted']:.3f} ({got['found']}/{got['planted']})"

        rows.append(row(f"recall, benchmark `{bench}`", cell))
    rows.append(
        row("clean documents flagged", lambda r: f"{r['clean_flagged']} of {r['clean_docs']:,}")
    )
    rows.append(row("clean documents not flagged", lambda r: f"{r['clean_not_flagged']:.4f}"))
    rows.append(row("precision", lambda r: f"{r['precision']:.4f}"))
    rows.append(
        row(
            "boilerplate-sharing documents flagged",
            lambda r: f"{r['boiler_flagged']} of {r['boiler_docs']:,}",
        )
    )
    rows.append(
        row("precision, boilerplate flags false", lambda r: f"{r['precision_boiler_false']:.4f}")
    )
    rows.append(
        row(
            "seconds (index + match)",
            lambda r: f"{r['seconds_index']:.1f} + {r['seconds_match']:.1f}",
        )
    )
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="/tmp/contamination-bench", type=Path)
    ap.add_argument("--corpus", default=DEV_CORPUS, type=Path, help="a Dolma documents folder")
    ap.add_argument("--max-mb", type=float, default=0.0, help="sample this much text (0: all)")
    ap.add_argument(
        "--boilerplate", type=Path, action="append", default=[], help="index --boilerplate"
    )
    ap.add_argument(
        "--common-in-corpus", action="store_true", help="index --common-in the planted corpus"
    )
    ap.add_argument("--max-docs-per-ngram", type=int, default=20)
    ap.add_argument("--no-peer", action="store_true", help="skip datatrove")
    ap.add_argument("--speed", action="store_true", help="measure tagging speed instead")
    args = ap.parse_args()
    if args.speed:
        print(json.dumps(speed(args.corpus, args.max_mb), indent=2))
        return 0
    options = IndexOptions(
        boilerplate=tuple(args.boilerplate), max_docs_per_ngram=args.max_docs_per_ngram
    )
    summary = injection(
        args.out, not args.no_peer, args.corpus, args.max_mb, options, args.common_in_corpus
    )
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print(markdown(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
