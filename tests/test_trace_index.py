"""`dolmakit index` and `dolmakit trace` on a real mix of demo-corpus text.

The mix takes every document of four demo sources (English, and the Japanese handbook for
multi-byte text) into a few shards; the tests check the index against the shards, its bytes
across worker counts and after a kill, the planted-passage recall, and every bad input.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml
from click.testing import CliRunner
from conftest import DEMO_CORPUS
from test_mix_helpers import write_spec

from dolmakit.cli.main import cli
from dolmakit.io.reader import read_documents
from dolmakit.mix import build_mix
from dolmakit.run.backends import ProcessBackend
from dolmakit.run.options import RunOptions

pytest.importorskip("pydivsufsort")

import dolmakit.trace.build as building
from dolmakit.trace import (
    IndexOptions,
    SpanOptions,
    TraceOptions,
    build_index,
    open_index,
    trace_text,
)
from dolmakit.trace.layout import read_index_manifest
from dolmakit.trace.words import count_words

SOURCES = {
    "manuals": ["gnu-standards/en-0000.jsonl.zst", "debian-reference/en-0000.jsonl.zst"],
    "handbook": ["debian-handbook/en-0000.jsonl.zst", "debian-handbook/ja-0000.jsonl.zst"],
}
SMALL_SHARDS = IndexOptions(shard_bytes=300_000)


def make_mix(root: Path) -> Path:
    """Copy demo documents under `root/data` and mix all of them; return the mix folder."""
    for files in SOURCES.values():
        for name in files:
            target = root / "data" / "documents" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(DEMO_CORPUS / name, target)
    spec = {
        "name": "t",
        "version": 1,
        "seed": 3,
        "tokenizer": "whitespace",
        "sources": [
            {
                "name": name,
                "documents": [f"documents/{f}" for f in files],
                "rate": 1.0,
            }
            for name, files in SOURCES.items()
        ],
        "output": {"format": "jsonl.zst", "shard_size": "300KB"},
    }
    path = write_spec(root / "mix.yaml", spec)
    return build_mix(
        path, data_root=root / "data", output=root / "mixes", run_options=RunOptions(progress=False)
    ).mix_dir


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mix with a span index of several index shards (read-only for the tests)."""
    mix_dir = make_mix(tmp_path_factory.mktemp("trace"))
    build_index(mix_dir, SMALL_SHARDS, run_options=RunOptions(progress=False))
    return mix_dir


@pytest.fixture
def fresh(tmp_path: Path, built: Path) -> Path:
    """A copy of the built mix and index that a test may damage."""
    copy = tmp_path / "mix"
    shutil.copytree(built, copy)
    return copy


def shard_documents(mix_dir: Path) -> dict[tuple[str, int], Any]:
    """Return (shard name, row) -> document of every output document."""
    found = {}
    for shard in sorted(mix_dir.glob("shard-*")):
        for row, doc in read_documents(shard):
            found[(shard.name, row)] = doc
    return found


def index_bytes(mix_dir: Path) -> dict[str, bytes]:
    folder = mix_dir / "index"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_the_index_has_several_shards_and_its_size_is_bounded(built: Path) -> None:
    manifest = read_index_manifest(built)
    assert len(manifest["shards"]) >= 3
    totals = manifest["totals"]
    assert totals["documents"] == sum(1 for _ in shard_documents(built))
    assert totals["index_bytes"] <= 6 * totals["text_bytes"]
    assert all(s["text_bytes"] <= SMALL_SHARDS.shard_bytes for s in manifest["shards"])
    assert not (built / "index" / ".work").exists()


def test_the_position_map_matches_the_shards(built: Path) -> None:
    documents = shard_documents(built)
    index = open_index(built)
    seen = 0
    for number, shard in enumerate(index.shards):
        for start in shard.starts.tolist():
            located = index.locate(number, start + 1)
            where = index.provenance(number, located)
            doc = documents[(where.shard_path, where.row)]
            assert index.text_of(number, located) == doc.text.encode()
            assert where.id == doc.id
            provenance = doc.metadata["provenance"]
            assert (where.source, where.path, where.line) == (
                provenance["source"],
                provenance["path"],
                provenance["line"],
            )
            seen += 1
    assert seen == len(documents)
    index.close()


def test_index_bytes_do_not_depend_on_the_worker_count(tmp_path: Path, built: Path) -> None:
    other = tmp_path / "mix"
    shutil.copytree(built, other, ignore=shutil.ignore_patterns("index"))
    build_index(
        other, SMALL_SHARDS, run_options=RunOptions(backend=ProcessBackend(2), progress=False)
    )
    assert index_bytes(other) == index_bytes(built)


def test_a_complete_index_is_left_alone_and_rebuilt_with_other_options(fresh: Path) -> None:
    before = index_bytes(fresh)
    again = build_index(fresh, SMALL_SHARDS, run_options=RunOptions(progress=False))
    assert again.up_to_date
    assert again.lines()[0].startswith("index up to date: ")
    one = build_index(
        fresh, IndexOptions(shard_bytes=1 << 30), run_options=RunOptions(progress=False)
    )
    assert not one.up_to_date and len(one.manifest["shards"]) == 1
    assert index_bytes(fresh) != before


def test_auto_shard_size_grows_with_the_mix_only_past_64_shards() -> None:
    auto = IndexOptions()
    assert auto.recorded()["shard_bytes"] == "auto"
    assert auto.shard_limit(10_000) == 32 << 20  # a small mix: one 32 MiB shard's worth
    assert auto.shard_limit(2 << 30) == 32 << 20  # 2 GiB: 64 shards of 32 MiB
    assert auto.shard_limit(10 << 30) == -(-(10 << 30) // 64)  # 10 GiB: 64 shards
    assert auto.shard_limit(100 << 30) == 1 << 30  # 100 GiB: 1 GiB shards, 100 of them
    assert IndexOptions(shard_bytes=5000).shard_limit(100 << 30) == 5000


def test_the_default_index_records_auto_and_the_size_it_chose(tmp_path: Path) -> None:
    mix_dir = make_mix(tmp_path)
    result = CliRunner().invoke(cli, ["-q", "index", str(mix_dir), "--backend", "serial"])
    assert result.exit_code == 0, result.output
    manifest = read_index_manifest(mix_dir)
    assert manifest["options"]["shard_bytes"] == "auto"
    assert manifest["shard_bytes"] == 32 << 20 and len(manifest["shards"]) == 1
    result = CliRunner().invoke(
        cli, ["-q", "index", str(mix_dir), "--backend", "serial", "--shard-size", "300KB"]
    )
    assert result.exit_code == 0, result.output
    manifest = read_index_manifest(mix_dir)
    assert manifest["options"]["shard_bytes"] == manifest["shard_bytes"] == 300_000
    assert len(manifest["shards"]) > 1


def test_a_killed_build_reruns_to_the_same_bytes(tmp_path: Path, built: Path) -> None:
    mix_dir = tmp_path / "mix"
    shutil.copytree(built, mix_dir, ignore=shutil.ignore_patterns("index"))
    cmd = [sys.executable, "-m", "dolmakit", "-q", "index", str(mix_dir)]
    cmd += ["--backend", "serial", "--shard-size", "20KB"]
    proc = subprocess.Popen(cmd, start_new_session=True)
    records = mix_dir / "index" / ".work" / "records-2"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(records.glob("*.done.json"))) < 3:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (mix_dir / "index" / "index.json").exists(), "the build ended before the kill"
    result = CliRunner().invoke(cli, ["trace", str(mix_dir), "some words"])
    assert "a partial span index (its build did not finish" in result.output
    rerun = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    reference = tmp_path / "reference"
    shutil.copytree(built, reference, ignore=shutil.ignore_patterns("index"))
    build_index(reference, IndexOptions(shard_bytes=20_000), run_options=RunOptions(progress=False))
    assert index_bytes(mix_dir) == index_bytes(reference)


def gibberish(rng: random.Random, n: int) -> str:
    """Return n made-up words (a digit inside each, so none occurs in the demo text)."""
    return " ".join(
        "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(3))
        + str(rng.randrange(10))
        + "".join(rng.choice("aeiou") for _ in range(2))
        for _ in range(n)
    )


@pytest.mark.parametrize("searches", ["compiled", "pure Python"])
def test_planted_passages_are_found_with_their_documents(built: Path, searches: str) -> None:
    rng = random.Random(11)
    documents = sorted(shard_documents(built).items())
    index = open_index(built)
    if searches == "pure Python":  # the reference searches, as without dolmakit._suffix
        for shard in index.shards:
            shard._native = None
    planted: list[tuple[str, set[str]]] = []
    pieces = [gibberish(rng, 15)]
    while len(planted) < 20:
        _, doc = rng.choice(documents)
        lines = [line.split() for line in doc.text.split("\n") if len(line.split()) >= 12]
        if not lines:
            continue
        words = rng.choice(lines)
        first = rng.randrange(len(words) - 10)
        passage = " ".join(words[first : first + rng.randrange(6, 11)])
        holders = {d.id for _, d in documents if passage in d.text}
        if count_words(passage) < 6 or index.count(passage.encode()) > 10:
            continue
        if not (passage[0].isalnum() and passage[-1].isalnum()):
            continue
        planted.append((passage, holders))
        pieces += [passage, gibberish(rng, 15)]
    output = " ".join(pieces)
    result = trace_text(index, output, TraceOptions())
    for passage, holders in planted:
        covering = [s for s in result.spans if passage in s.text]
        assert covering, f"planted passage not found: {passage!r}"
        assert holders <= {d.id for s in covering for d in s.documents}
    for span in result.spans:
        assert any(span.text in passage for passage, _ in planted) or any(
            passage in span.text for passage, _ in planted
        ), f"a span from the unplanted text: {span.text!r}"
    shards = shard_documents(built)
    for span in result.spans:
        for doc in span.documents:
            assert span.text in shards[(doc.shard, doc.row)].text
            assert doc.match == span.text
    index.close()


def test_unicode_text_is_traced_with_character_offsets(built: Path) -> None:
    index = open_index(built)
    ja = next(
        d
        for d in shard_documents(built).values()
        if d.metadata["provenance"]["path"].endswith("ja-0000.jsonl.zst") and len(d.text) > 200
    )
    line = max(ja.text.split("\n"), key=len)
    passage = line[:40]
    output = f"前置き😀 {passage}"
    result = trace_text(index, output)
    assert result.spans
    best = max(result.spans, key=lambda s: s.end - s.start)
    assert output[best.start : best.end] == best.text
    assert best.text in passage
    assert ja.id in {d.id for s in result.spans for d in s.documents}
    index.close()


def test_cli_trace_terminal_and_json(built: Path) -> None:
    doc = next(iter(shard_documents(built).values()))
    passage = " ".join(max(doc.text.split("\n"), key=lambda s: len(s.split())).split()[:12])
    text = f"qzx7aa {passage} vbn3ee"
    result = CliRunner().invoke(cli, ["trace", str(built), text, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["text"] == text
    assert data["spans"] and data["spans"][0]["text"] in passage
    assert doc.id in {d["id"] for d in data["spans"][0]["documents"]}
    shown = CliRunner().invoke(cli, ["trace", str(built), text])
    assert shown.exit_code == 0, shown.output
    span = data["spans"][0]
    marked = f"{text[: span['start']]}⟦1 {span['text']}⟧1{text[span['end'] :]}"
    assert shown.output.startswith(marked + "\n\n1 spans kept of ")
    assert f"{doc.id}  (source " in shown.output
    assert "follow up: dolmakit audit trace" in shown.output
    stdin = CliRunner().invoke(cli, ["trace", str(built), "-", "--json"], input=text)
    assert json.loads(stdin.output) == data


def run(*args: object, **kwargs: Any) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


def test_missing_index(tmp_path: Path, built: Path) -> None:
    bare = tmp_path / "mix"
    shutil.copytree(built, bare, ignore=shutil.ignore_patterns("index"))
    result = run("trace", bare, "some text")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {bare}: no span index; build one with: dolmakit index {bare}\n"
    )


def test_damaged_or_stale_index(fresh: Path) -> None:
    sa = fresh / "index" / "sa-00001.bin"
    sa.write_bytes(sa.read_bytes()[:100])
    result = run("trace", fresh, "some text")
    assert result.exit_code == 1
    assert "damaged index files: sa-00001.bin (100 bytes, index.json says" in result.output
    verify = run("audit", "verify", fresh, "--backend", "serial")
    assert verify.exit_code == 1
    assert "truncated: index/sa-00001.bin: 100 bytes" in verify.output
    shard = fresh / "shard-00001.jsonl.zst"
    shard.write_bytes(shard.read_bytes() + b"x")
    result = run("trace", fresh, "some text")
    assert result.exit_code == 1
    assert "the index no longer matches the mix: shards no longer match the index:" in (
        result.output
    )
    assert "shard-00001.jsonl.zst (" in result.output and result.output.count("\n") == 1
    rebuild = run("-q", "index", fresh, "--backend", "serial")
    assert rebuild.exit_code == 1
    assert "shard-00001.jsonl.zst: the mix shard does not match its manifest" in rebuild.output


def test_audit_verify_checks_the_index(fresh: Path) -> None:
    ok = run("audit", "verify", fresh, "--backend", "serial")
    assert ok.exit_code == 0, ok.output
    text = fresh / "index" / "text-00000.bin"
    data = bytearray(text.read_bytes())
    data[10] ^= 1
    text.write_bytes(bytes(data))
    bad = run("audit", "verify", fresh, "--backend", "serial")
    assert bad.exit_code == 1
    assert "changed: index/text-00000.bin: sha256 differs" in bad.output
    (fresh / "index" / "index.json").unlink()
    partial = run("audit", "verify", fresh, "--backend", "serial")
    assert "index: index/: " in partial.output and "a partial span index" in partial.output
    assert "extra" not in partial.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"ab\0cd", "a binary file (NUL byte at offset 2), not text"),
        (b"caf\xe9 au lait", "not UTF-8 text (byte 0xe9 at offset 3)"),
        (b"  \n\t ", "the output text is empty: nothing to trace"),
        (b"x" * 30, "30 bytes; the limit is 20 bytes (--max-bytes)"),
    ],
)
def test_bad_output_files(tmp_path: Path, built: Path, content: bytes, message: str) -> None:
    path = tmp_path / "out.txt"
    path.write_bytes(content)
    result = run("trace", built, "--file", path, "--max-bytes", "20")
    assert result.exit_code == 1
    assert result.output == f"Error: {path}: {message}\n"


def test_bad_text_arguments(built: Path) -> None:
    assert run("trace", built, "").output == (
        "Error: TEXT: the output text is empty: nothing to trace\n"
    )
    assert run("trace", built, "y" * 30, "--max-bytes", "20").output == (
        "Error: TEXT: 30 bytes; the limit is 20 bytes (--max-bytes)\n"
    )
    over = run("trace", built, "-", "--max-bytes", "20", input="z" * 50)
    assert over.output == (
        "Error: standard input: more than 20 bytes; the limit is 20 bytes (--max-bytes)\n"
    )


def test_a_port_in_use(built: Path) -> None:
    pytest.importorskip("uvicorn")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = run("trace", built, "--serve", "--port", port)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: port {port} on 127.0.0.1 is in use; choose another with --port\n"
    )


PHRASE = "the lantern keeper counted seven quiet ships tonight"


def test_at_most_max_documents_per_span_ranked_by_relevance(tmp_path: Path) -> None:
    from test_mix_helpers import write_jsonl

    rng = random.Random(5)
    rows = [
        {
            "id": f"d{i:02d}",
            # d00-d14 hold the phrase (d03 twice); more harbour words: closer to the output
            "text": f"{gibberish(rng, 30)} {PHRASE} {' harbour' * (i % 5)} {gibberish(rng, 5)}"
            + (f"\n{PHRASE}" if i == 3 else ""),
            "source": "s",
        }
        for i in range(15)
    ] + [{"id": f"e{i}", "text": gibberish(rng, 40), "source": "s"} for i in range(5)]
    write_jsonl(tmp_path / "data" / "documents" / "s" / "a.jsonl.zst", rows)
    spec = {
        "name": "p",
        "version": 1,
        "seed": 1,
        "tokenizer": "whitespace",
        "sources": [{"name": "s", "documents": ["documents/s/*.jsonl.zst"], "rate": 1.0}],
        "output": {"format": "jsonl.zst", "shard_size": "2KB"},
    }
    path = write_spec(tmp_path / "mix.yaml", spec)
    mix_dir = build_mix(path, data_root=tmp_path / "data", output=tmp_path / "mixes").mix_dir
    build_index(mix_dir, IndexOptions(shard_bytes=3000), run_options=RunOptions(progress=False))
    index = open_index(mix_dir)
    assert len(index.shards) >= 3  # the phrase's documents are spread over index shards
    output = f"harbour harbour harbour {PHRASE} qq9zz"
    assert trace_text(index, output).spans == ()  # 16 occurrences: over --max-frequency 10
    wide = TraceOptions(spans=SpanOptions(max_frequency=20))
    (span,) = trace_text(index, output, wide).spans
    assert span.text == PHRASE and span.count == 16
    listed = [d.id for d in span.documents]
    assert len(listed) == 10 == len(set(listed))
    scores = [d.score for d in span.documents]
    assert scores == sorted(scores, reverse=True)
    # the nine with the most "harbour" words (4, 3, 2 of them) are among the ten, none with 0
    harbours = [int(i[1:]) % 5 for i in listed]
    assert sorted(harbours)[1:] == [2, 2, 2, 3, 3, 3, 4, 4, 4] and harbours[-1] == 1
    three = TraceOptions(spans=SpanOptions(max_frequency=20), max_documents=3)
    (top,) = trace_text(index, output, three).spans
    assert [d.id for d in top.documents] == listed[:3]
    index.close()


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_other_shard_formats_index_to_the_same_text(tmp_path: Path, built: Path, fmt: str) -> None:
    spec = yaml.safe_load((built.parent.parent.parent / "mix.yaml").read_text())
    spec["output"]["format"] = fmt
    path = write_spec(tmp_path / "mix.yaml", spec)
    data = built.parent.parent.parent / "data"
    quiet = RunOptions(progress=False)
    other = build_mix(path, data_root=data, output=tmp_path / "mixes", run_options=quiet).mix_dir
    build_index(other, SMALL_SHARDS, run_options=RunOptions(progress=False))
    ours, theirs = index_bytes(built), index_bytes(other)
    assert sorted(ours) == sorted(theirs)
    for name in ours:
        if name.startswith(("text-", "sa-")):
            assert ours[name] == theirs[name], name
    index = open_index(other)
    assert index.provenance(0, index.locate(0, 0)).row == 1
    index.close()


def test_running_out_of_memory_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_memory(*_: Any, **__: Any) -> None:
        raise pa.lib.ArrowMemoryError("malloc of size 8589934592 failed")

    mix_dir = make_mix(tmp_path)
    monkeypatch.setattr(building, "write_table", no_memory)
    result = CliRunner().invoke(cli, ["-q", "index", str(mix_dir), "--backend", "serial"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: out of memory (malloc of size 8589934592 failed): rerun with fewer --workers"
        " (or a smaller --shard-size for dolmakit index) or with more memory; finished parts"
        " are kept\n"
    )
