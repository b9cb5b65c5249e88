"""Injection benchmark for benchmark contamination, with datatrove's n-gram filter beside it.

Held-back documents of the development corpus are cut into "evaluation examples" (40-100
words: a question of the first three quarters, an answer of the rest) that the remaining
corpus does not contain: the held-back documents and every document sharing a run of 20 words
(lower-cased, split at whitespace) with one are removed: the Python documentation repeats
whole passages and the Debian Reference its table of contents, which are real overlaps.
Examples are then planted into host documents verbatim, with about 3% of their words
replaced, reformatted (case, whitespace, punctuation), or half of them (the first or second
half); all other documents have nothing planted. Recall is scored per kind (for
dolmakit, the planted example must be among those found), and documents with nothing planted
give the false positives. datatrove 0.10.1 runs `NGramsDecontFilter` with its
`NGramsDecontConfig` defaults (12-grams of the answer and of the answer's overlap with the
question) and, as a second column, with `find_query_ngrams=True` (every n-gram).

    python benchmarks/bench_contamination.py --out /tmp/contamination-bench [--no-peer]
    python benchmarks/bench_contamination.py --speed      # 1M n-gram index: MB/s, bytes/n-gram

Prints a JSON summary and the Markdown tables of docs/contamination.md.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from dolmakit.contamination.index import index_benchmarks  # noqa: E402
from dolmakit.contamination.lookup import open_index  # noqa: E402
from dolmakit.contamination.match import DEFAULT_MIN_COVERAGE, match_texts  # noqa: E402
from dolmakit.io.paths import expand_inputs  # noqa: E402
from dolmakit.io.reader import read_documents  # noqa: E402

DEV_CORPUS = Path("/work/shared/corpus/dev/documents")
KINDS = ("verbatim", "edited", "reformatted", "half")
PER_KIND = 200
HELD_DOCS = 500


def load_corpus() -> list[dict]:
    """Return the English documents of the development corpus, in path order."""
    docs = []
    for path in expand_inputs([DEV_CORPUS]):
        if path.parent.name != "python-doc" and not path.name.startswith("en"):
            continue
        for _, doc in read_documents(path):
            docs.append({"id": doc.id, "text": doc.text, "source": path.parent.name})
    return docs


def _windows(text: str, size: int = 20) -> set[int]:
    """Return hashes of the text's raw 20-word windows (lower-cased, punctuation kept)."""
    words = text.lower().split()
    return {hash(tuple(words[i : i + size])) for i in range(len(words) - size + 1)}


def make_examples(docs: list[dict], rng: random.Random) -> tuple[list[dict], list[dict], int]:
    """Hold documents back, cut two examples from each, drop documents that overlap them."""
    candidates = [d for d in docs if d["source"] != "fortunes" and len(d["text"].split()) >= 240]
    held = rng.sample(candidates, HELD_DOCS)
    held_ids = {d["id"] for d in held}
    held_windows = set().union(*(_windows(d["text"]) for d in held))
    rest, overlapping = [], 0
    for d in docs:
        if d["id"] in held_ids:
            continue
        if not held_windows.isdisjoint(_windows(d["text"])):
            overlapping += 1
            continue
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
                    "question": " ".join(piece[:cut]),
                    "answer": " ".join(piece[cut:]),
                }
            )
    rng.shuffle(examples)
    return examples, rest, overlapping


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


def plant(examples: list[dict], docs: list[dict], rng: random.Random) -> tuple[list[dict], dict]:
    """Return the corpus with examples planted, and {doc id: (kind, example id)}."""
    vocab = sorted({w for d in docs[:2000] for w in d["text"].split() if w.isalpha()})
    hosts = rng.sample(range(len(docs)), PER_KIND * len(KINDS))
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


def run_dolmakit(work: Path, bench: Path, docs: list[dict]) -> tuple[dict, float, float]:
    start = time.perf_counter()
    index_benchmarks([f"held={bench}"], work / "idx", "held", ["question", "answer"], "id")
    seconds_index = time.perf_counter() - start
    index = open_index(work / "idx")
    start = time.perf_counter()
    found: dict[str, set[str]] = {}
    texts = [d["text"] for d in docs]
    for i in range(0, len(texts), 512):
        for d, result in zip(
            docs[i : i + 512],
            match_texts(index, texts[i : i + 512], DEFAULT_MIN_COVERAGE),
            strict=True,
        ):
            if result.hits:
                found[d["id"]] = {index.example_id[h.example] for h in result.hits}
    return found, seconds_index, time.perf_counter() - start


def run_datatrove(work: Path, bench: Path, docs_path: Path, query: bool) -> dict:
    from peers import PEER_SCRIPTS, ensure_venv

    py = ensure_venv("datatrove")
    cmd = [str(py), str(PEER_SCRIPTS / "datatrove_decont.py"), "--bench", str(bench)]
    cmd += ["--docs", str(docs_path), "--work", str(work / ("dt-q" if query else "dt"))]
    if query:
        cmd.append("--query-ngrams")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])


def score(flagged: dict[str, set[str] | None], truth: dict, clean_ids: list[str]) -> dict:
    """Return recall per kind, false positives on clean documents, and precision."""
    out: dict = {}
    tp = 0
    for kind in KINDS:
        docs = [d for d, (k, _) in truth.items() if k == kind]
        hit = 0
        for d in docs:
            got = flagged.get(d, "missing")
            if got == "missing":
                continue
            if got is None or truth[d][1] in got:  # None: the tool names no example
                hit += 1
        tp += hit
        out[kind] = hit / len(docs)
    fp = sum(1 for d in clean_ids if d in flagged)
    out["clean_flagged"] = fp
    out["clean_docs"] = len(clean_ids)
    out["clean_not_flagged"] = 1 - fp / len(clean_ids)
    out["precision"] = tp / (tp + fp) if tp + fp else 1.0
    return out


def injection(out_dir: Path, peer: bool) -> dict:
    rng = random.Random(20240601)
    out_dir.mkdir(parents=True, exist_ok=True)
    docs = load_corpus()
    examples, rest, overlapping = make_examples(docs, rng)
    planted, truth = plant(examples, rest, rng)
    bench = out_dir / "held.jsonl"
    bench.write_text("".join(json.dumps(e) + "\n" for e in examples))
    docs_path = out_dir / "docs.jsonl"
    docs_path.write_text("".join(json.dumps(d) + "\n" for d in planted))
    clean = [d["id"] for d in planted if d["id"] not in truth]
    found, seconds_index, seconds_match = run_dolmakit(out_dir, bench, planted)
    size = sum(len(d["text"].encode()) for d in planted)
    summary: dict = {
        "corpus": {
            "documents": len(planted),
            "mb": size / 1e6,
            "examples": len(examples),
            "held_back_documents": HELD_DOCS,
            "removed_overlapping_documents": overlapping,
            "per_kind": PER_KIND,
        },
        "dolmakit": {
            **score(dict(found), truth, clean),
            "seconds_index": seconds_index,
            "seconds_match": seconds_match,
        },
    }
    if peer:
        for query, key in ((False, "datatrove_defaults"), (True, "datatrove_query_ngrams")):
            result = run_datatrove(out_dir, bench, docs_path, query)
            flagged = dict.fromkeys(result["flagged"])
            summary[key] = {
                **score(flagged, truth, clean),  # type: ignore[arg-type]
                "seconds_index": result["seconds_index"],
                "seconds_match": result["seconds_filter"],
                "config": result["config"],
            }
    return summary


def speed(target_ngrams: int = 1_000_000) -> dict:
    """Tag the corpus against an index of about `target_ngrams` n-grams; MB/s on one core."""
    import tempfile

    from dolmakit.document import Document
    from dolmakit.taggers.contamination import ContaminationTagger

    rng = random.Random(7)
    docs = load_corpus()
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
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for i in range(0, len(batch), 512):
                tagger.tag_batch(batch[i : i + 512])
            best = min(best, time.perf_counter() - start)
        return {
            "ngrams": int(index.hashes.size),
            "bytes_per_ngram": index.nbytes / index.hashes.size,
            "seconds_index": seconds_index,
            "text_mb": size / 1e6,
            "mb_per_s": size / 1e6 / best,
        }


def markdown(summary: dict) -> str:
    """Return the results as the Markdown table of docs/contamination.md."""
    cols = [k for k in ("dolmakit", "datatrove_defaults", "datatrove_query_ngrams") if k in summary]

    def row(label: str, cell) -> str:  # type: ignore[no-untyped-def]
        return f"| {label} | " + " | ".join(cell(summary[c]) for c in cols) + " |"

    rows = ["| kind | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for kind in KINDS:
        rows.append(row(f"recall, {kind}", lambda r, k=kind: f"{r[k]:.3f}"))
    rows.append(
        row("clean documents flagged", lambda r: f"{r['clean_flagged']} of {r['clean_docs']:,}")
    )
    rows.append(row("clean documents not flagged", lambda r: f"{r['clean_not_flagged']:.4f}"))
    rows.append(row("precision", lambda r: f"{r['precision']:.4f}"))
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
    ap.add_argument("--no-peer", action="store_true", help="skip datatrove")
    ap.add_argument("--speed", action="store_true", help="measure tagging speed instead")
    args = ap.parse_args()
    if args.speed:
        print(json.dumps(speed(), indent=2))
        return 0
    summary = injection(args.out, not args.no_peer)
    print(json.dumps(summary, indent=2))
    print(markdown(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
