"""Run the whole pipeline on the embedded demo corpus and say what was produced where.

Stages: copy the corpus, tag it (run `tags`), mark exact and near duplicates (runs
`dedup_exact`, `dedup_minhash`), build the demo mix in its two versions from `mixes/`, then
audit: verify v2 against its manifest, diff v1 and v2, and render v2's data card; publish v2
as a Hugging Face dataset folder, write its training-content summary (with a made-up
provider.yaml), and take two documents down as v3, diffed against v2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from dolmakit.audit.card_data import render_card
from dolmakit.audit.contamination import audit_contamination
from dolmakit.audit.diff import diff_mixes
from dolmakit.audit.summary import build_summary, load_provider
from dolmakit.audit.summary_render import write_summary
from dolmakit.audit.verify import verify_mix
from dolmakit.contamination.index import index_benchmarks
from dolmakit.dedup import ExactConfig, KeepRule, MinHashConfig, dedup_exact, dedup_minhash
from dolmakit.errors import DolmakitError
from dolmakit.io import storage
from dolmakit.io.atomic import write_bytes_atomic
from dolmakit.io.paths import expand_inputs
from dolmakit.io.reader import read_documents
from dolmakit.io.units import counted
from dolmakit.mix import build_mix
from dolmakit.mix.files import read_table
from dolmakit.mix.takedown import read_takedown_list, take_down
from dolmakit.publish.release import publish_mix
from dolmakit.run.backends import make_backend
from dolmakit.run.options import RunOptions
from dolmakit.taggers.recipes import TaggerSpec
from dolmakit.taggers.stage import tag
from dolmakit.trace import build_index, open_index, trace_text
from dolmakit.trace.query import summarize

DEMO_TAGGERS = (
    "lengths",
    "lid_fasttext",
    "gopher_quality",
    "gopher_repetition",
    "c4",
    "fineweb",
    "ldnoobw",
    "toxicity",
    "pii",
    "tokens",
)
DEMO_MIXES = ("demo-v1.yaml", "demo-v2.yaml")
# A stand-in evaluation set cut from demo documents (so v1 contains it; v2 masks it).
DEMO_BENCHMARK = "benchmarks/demo_quiz.jsonl"
DEMO_INDEX = "benchmarks/demo_quiz.index"
DEMO_BENCHMARK_SOURCES = ("debian-reference", "gnu-standards")
DEMO_EXAMPLES_PER_SOURCE = 3
MARKER = ".dolmakit-demo"
# What only a provider can state, for the demo's summary (written to <out>/provider.yaml).
# The crawler is left empty on purpose: the summary lists it as missing, never invents it.
DEMO_PROVIDER = """\
# The provider's statements for the EU AI Act training-content summary (a demo's, made up).
provider: Demo Lab (a made-up provider)
contact: data-requests@demo-lab.example
authorised_representative: not applicable (provider established in the EU)
models: [demo-model-1]
market_date: 2027-01-01
crawler:
source_kinds:
  python: public
  handbook: public
  manuals: public
  fortunes: public
"""
DEMO_TAKEDOWN = "takedown-ids.txt"
DEMO_TAKEDOWN_REASON = "demo: the authors of two fortunes asked for their removal"


@dataclass
class DemoReport:
    """What the demo produced: one line per step, and the main paths."""

    out_dir: Path
    steps: list[str] = field(default_factory=list)
    ok: bool = True


def demo_corpus() -> Path:
    """Return the folder of the embedded demo corpus (`<dataset>/documents`)."""
    root = Path(str(resources.files("dolmakit") / "demo_corpus" / "documents"))
    if not root.is_dir():
        raise DolmakitError(f"{root}: the demo corpus is missing from this installation")
    return root


def demo_mixes(mixes_dir: str | Path | None = None) -> Path:
    """Return the folder holding the demo mix specs: given, or the repository's `mixes/`."""
    folder = Path(mixes_dir) if mixes_dir else Path(__file__).resolve().parent.parent / "mixes"
    missing = [name for name in DEMO_MIXES if not (folder / name).is_file()]
    if missing:
        raise DolmakitError(
            f"{folder}: demo mix specs {', '.join(missing)} not found; run the demo from a clone"
            " of the dolmakit repository or pass --mixes DIR"
        )
    return folder


def _claim(out: Path) -> None:
    """Make `out` the demo's folder: new, empty, or made by an earlier demo (its marker file).

    The demo replaces `data/` and `mixes/` inside it, so it must never take over a folder
    holding anything else.
    """
    if out.exists() and not (out / MARKER).is_file():
        if not out.is_dir():
            raise DolmakitError(f"{out}: not a folder")
        if any(out.iterdir()):
            raise DolmakitError(
                f"{out}: the folder is not empty and was not made by `dolmakit demo`;"
                " choose a new folder (the demo replaces data/ and mixes/ inside it)"
            )
    out.mkdir(parents=True, exist_ok=True)
    note = b"made by `dolmakit demo`; rerunning the demo replaces this folder\n"
    (out / MARKER).write_bytes(note)


def _copy_corpus(documents: Path) -> None:
    """Copy the demo corpus's files under `documents`, a local folder or an object prefix."""
    source = demo_corpus()
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        target = documents / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())


def run_demo(
    out_dir: str | Path,
    *,
    run_options: RunOptions | None = None,
    mixes_dir: str | Path | None = None,
) -> DemoReport:
    """Copy the demo corpus into `out_dir/data` and run every pipeline stage over it.

    Default run options: a process pool with one worker per core.
    """
    out = storage.location(out_dir).resolve()
    specs = demo_mixes(mixes_dir)
    report = DemoReport(out)
    data = out / "data"
    documents = data / "documents"
    _claim(out)
    for stale in (data, out / "mixes", out / "release", out / "summary"):
        storage.delete_tree(stale)
    _copy_corpus(documents)
    files = expand_inputs([documents])
    count = sum(1 for f in files for _ in read_documents(f))
    sources = sorted({f.parent.name for f in files})
    report.steps.append(
        f"corpus: {counted(count, 'document')} in {counted(len(files), 'file')} from"
        f" {counted(len(sources), 'source')}"
        f" ({', '.join(sources)}) -> {documents}"
    )
    options = run_options if run_options is not None else RunOptions(make_backend("processes"))
    backend = options.backend

    tagged = tag([documents], "tags", list(DEMO_TAGGERS), run_options=options)
    report.steps.append(
        f"tag: {counted(len(DEMO_TAGGERS), 'tagger')} over {counted(tagged.written, 'document')}"
        f" -> {data / 'attributes' / 'tags'}"
    )
    # Exact keeps the first copy in canonical order (python-doc sorts before python-mirror);
    # MinHash would keep the longest, the mirror's copy with its header and footer.
    keep = KeepRule(source_priority=("python-doc",))
    runs = [
        dedup_exact([documents], "dedup_exact", ExactConfig(), run_options=options),
        dedup_minhash(
            [documents],
            "dedup_minhash",
            MinHashConfig(keep=keep),
            run_options=options,
        ),
    ]
    for found, run in zip(runs, ("dedup_exact", "dedup_minhash"), strict=True):
        report.steps.append(
            f"dedup {found.method}: {found.removed:,} of {counted(found.documents, 'document')}"
            f" marked as {'a duplicate' if found.removed == 1 else 'duplicates'} in"
            f" {counted(found.clusters, 'cluster')} -> {data / 'attributes' / run}"
        )

    benchmarks = _benchmark_root(data)
    report.steps.extend(_demo_benchmark(documents, benchmarks, options))

    mixes = []
    for name in DEMO_MIXES:
        result = build_mix(specs / name, data_root=data, output=out / "mixes", run_options=options)
        mixes.append(result.mix_dir)
        report.steps.append(f"{result.lines()[0]} (spec {name})")

    difference = diff_mixes(mixes[0], mixes[-1])
    report.steps.append(
        f"audit diff v1 -> v2: {counted(len(difference.spec), 'spec change')},"
        f" {counted(difference.added, 'document')} added, {difference.removed:,} removed,"
        f" {difference.kept:,} kept"
    )

    for mix in (mixes[0], mixes[-1]):
        (bench,) = audit_contamination(mix, benchmarks / DEMO_INDEX, backend=backend).benchmarks
        report.steps.append(
            f"audit contamination {mix.name}: {bench.found} of {bench.detectable} examples of"
            f" benchmark {bench.name} found, in {bench.documents} documents"
        )
    traced = _index_and_trace(mixes[-1], options)
    report.steps.extend(_publish_and_take_down(out, mixes[-1]))
    report.steps.append(traced[0])
    markdown, html = render_card(mixes[-1], data_root=data)
    verified = verify_mix(mixes[-1], inputs=True, data_root=data)
    report.ok = verified.ok
    report.steps.append(f"audit verify: {verified.summary()}")
    report.steps.append(f"data card: {html} (and {markdown.name})")
    report.steps.append(traced[1])
    return report


def _publish_and_take_down(out: Path, mix_dir: Path) -> list[str]:
    """Publish v2, write its summary, then take two fortunes down as v3 and diff v2 and v3."""
    release = publish_mix(mix_dir, out / "release" / mix_dir.name)
    steps = [release.lines()[0]]
    provider = out / "provider.yaml"
    write_bytes_atomic(provider, DEMO_PROVIDER.encode())
    summary = build_summary([mix_dir], load_provider(provider))
    written = write_summary(summary, out / "summary" / mix_dir.name)
    missing = ", ".join(summary["missing"]) or "none"
    steps.append(
        f"audit summary: {summary['size']['text']['range']} ({summary['size']['text']['tokens']:,}"
        f" tokens), provider fields missing: {missing} -> {written[0].parent}"
    )
    index = read_table(mix_dir / "index.parquet", columns=["source", "id"]).to_pylist()
    fortunes = list(dict.fromkeys(r["id"] for r in index if r["source"] == "fortunes"))[:2]
    listed = out / DEMO_TAKEDOWN
    write_bytes_atomic(listed, "".join(f"{i}\n" for i in fortunes).encode())
    result = take_down(mix_dir, read_takedown_list(listed, "ids"), DEMO_TAKEDOWN_REASON)
    steps.append(result.lines()[0])
    difference = diff_mixes(mix_dir, result.mix_dir)
    removed = ", ".join(doc_id for _, _, doc_id in difference.removed_examples)
    steps.append(
        f"audit diff v2 -> v3: {difference.added:,} added, {difference.removed:,} removed"
        f" ({removed}), {difference.kept:,} kept, {counted(len(difference.spec), 'spec change')}"
    )
    return steps


def demo_output(mix_dir: Path) -> str:
    """Return a made-up "model output" around one sentence of the mix's first manual."""
    for shard in sorted(p for p in storage.list_files(mix_dir) if p.name.startswith("shard-")):
        for _, doc in read_documents(shard):
            source = ((doc.metadata or {}).get("provenance") or {}).get("source")
            lines = [line for line in doc.text.split("\n") if len(line.split()) >= 16]
            if source == "manuals" and lines:
                sentence = " ".join(lines[0].split()[:14]).rstrip(",;:")
                return (
                    "Good question! From what I remember of the documentation, "
                    f"{sentence} - I hope this helps you get started."
                )
    raise DolmakitError(f"{mix_dir}: the demo mix has no manual to quote")


def _index_and_trace(mix_dir: Path, options: RunOptions) -> tuple[str, str]:
    """Index the mix and trace a made-up output; return the two report lines.

    The span index memory-maps local files: a mix in object storage is indexed and traced
    in a local temporary copy (the lines are the same), and its index is not kept.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="dolmakit-demo-trace-") as scratch:
        local = mix_dir
        if storage.is_remote(mix_dir):
            local = Path(scratch)
            for path in storage.list_files(mix_dir):
                if path.name.startswith("shard-") or path.name in (
                    "manifest.json",
                    "index.parquet",
                ):
                    (local / path.name).write_bytes(path.read_bytes())
        built = build_index(local, run_options=options)
        index = open_index(local)
        try:
            result = trace_text(index, demo_output(local))
        finally:
            index.close()
    return f"{built.lines()[0].split(' -> ')[0]}", f"trace: {summarize(result)}"


def _benchmark_root(data: Path) -> Path:
    """Return where the demo benchmark and its index go: the data folder, or a local scratch.

    The contamination index is read from local files; with the demo's data in object storage
    it is built in a local temporary folder (removed by the system, not by the demo).
    """
    if not storage.is_remote(data):
        return data
    import tempfile

    return Path(tempfile.mkdtemp(prefix="dolmakit-demo-benchmarks-"))


def _demo_benchmark(documents: Path, data: Path, options: RunOptions) -> list[str]:
    """Cut a small benchmark from demo documents, index it, and tag run `evals` with it.

    Each example is 60 words from the middle of one of the first long documents of the
    manuals: a question of 45 words and an answer of 15.
    """
    import json

    rows = []
    for source in DEMO_BENCHMARK_SOURCES:
        taken = 0
        for path in expand_inputs([documents / source]):
            for _, doc in read_documents(path):
                words = doc.text.split()
                if len(words) < 150 or taken == DEMO_EXAMPLES_PER_SOURCE:
                    continue
                middle = words[len(words) // 2 - 30 : len(words) // 2 + 30]
                rows.append(
                    {
                        "id": f"quiz-{source}-{taken}",
                        "question": " ".join(middle[:45]),
                        "answer": " ".join(middle[45:]),
                    }
                )
                taken += 1
    bench = data / DEMO_BENCHMARK
    write_bytes_atomic(bench, "".join(json.dumps(r) + "\n" for r in rows).encode())
    summary = index_benchmarks(
        [f"demo_quiz={bench}"], data / DEMO_INDEX, "demo_quiz", ["question", "answer"], "id"
    )
    spec = TaggerSpec("contamination", {"index": str(data / DEMO_INDEX)})
    tagged = tag([documents], "evals", [spec], run_options=options)
    return [
        f"contamination index: {summary.lines[0]}",
        f"tag contamination: {tagged.written:,} documents -> run evals",
    ]
