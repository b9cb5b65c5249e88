"""End-to-end dedup runs: exact modes, MinHash, keep rules, chaining, incremental, CLI."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import DEMO_CORPUS, write_lines

from dolmakit.cli.main import cli
from dolmakit.dedup import ExactConfig, KeepRule, MinHashConfig, dedup_exact, dedup_minhash
from dolmakit.dedup.normalize import normalize_text
from dolmakit.errors import ConfigError, DolmakitError
from dolmakit.io.attributes import read_attribute_lines, read_with_attributes
from dolmakit.io.reader import read_documents
from dolmakit.run.backends import make_backend
from dolmakit.run.options import RunOptions

LOREM_TEXT = (
    "the quick brown fox jumps over the lazy dog while seven wizards quietly hex "
    "a jovial bank clerk who sells stamps on mondays and reads poems at night in "
    "the old library near the river where boats drift slowly past green hills"
)
LOREM = LOREM_TEXT.split()


# Letters only: normalisation maps every digit to 0.
TAIL = ["zza", "zzb", "zzc", "zzd", "zze", "zzf", "zzg", "zzh"]
HEAD = ["yya", "yyb", "yyc", "yyd", "yye", "yyf", "yyg", "yyh"]


def doc(i: str, text: str, source: str = "web", **meta: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": i, "text": text, "source": source}
    if meta:
        out["metadata"] = meta
    return out


def attrs_of(dataset: Path, run: str) -> dict[str, dict[str, Any]]:
    """Return {id: attributes} over every document file of a dataset (checks alignment)."""
    out = {}
    for path in sorted((dataset / "documents").rglob("*.jsonl*")):
        for _, d, attrs in read_with_attributes(path, [run]):
            out[d.id] = attrs
    return out


def words_shingles(text: str, n: int = 5) -> set[str]:
    words = text.split()
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def hand_jaccard(a: str, b: str) -> float:
    x, y = words_shingles(a), words_shingles(b)
    return len(x & y) / len(x | y)


def test_exact_by_text_keeps_first_in_canonical_order(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    write_lines(ds / "documents" / "b.jsonl", [doc("b1", "Hello   World"), doc("b2", "other")])
    write_lines(
        ds / "documents" / "a.jsonl.gz",
        [doc("a1", "unique"), doc("a2", "hello world"), doc("a3", "  "), doc("a4", "Unique")],
    )
    summary = dedup_exact([ds / "documents"], "ex", run_options=RunOptions(progress=False))
    attrs = attrs_of(ds, "ex")
    key = "ex__exact__duplicate"
    assert {i for i, a in attrs.items() if key in a} == {"a4", "b1"}
    assert attrs["b1"][key] == [[0, 13, 1.0]]
    assert attrs["a2"]["ex__exact__cluster_size"] == [[0, 11, 2.0]]
    assert attrs["a3"] == {} and attrs["b2"] == {}
    assert (summary.documents, summary.clusters, summary.removed) == (6, 2, 2)
    assert summary.extra["documents_without_key"] == 1
    rows = pq.read_table(summary.report_dir / "clusters.parquet").to_pylist()
    assert [(r["cluster"], r["id"], r["keeper"], r["line"]) for r in rows] == [
        (0, "a1", True, 1), (0, "a4", False, 4), (1, "a2", True, 2), (1, "b1", False, 1),
    ]  # fmt: skip
    assert summary.report_dir == (ds / "attributes" / "ex" / ".dolmakit").resolve()
    assert (summary.report_dir / "summary.json").is_file()


def test_exact_raw_text_and_by_field(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    docs = [
        doc("1", "Hello World", url="http://x/a"),
        doc("2", "hello world", url="http://x/b"),
        doc("3", "something", url="http://x/a"),
        doc("4", "no url"),
    ]
    write_lines(ds / "documents" / "x.jsonl", docs)
    raw = dedup_exact(
        [ds / "documents"],
        "raw",
        ExactConfig(normalize=False),
        run_options=RunOptions(progress=False),
    )
    assert raw.removed == 0
    by_url = dedup_exact(
        [ds / "documents"],
        "url",
        ExactConfig(by="metadata.url"),
        run_options=RunOptions(progress=False),
    )
    attrs = attrs_of(ds, "url")
    assert "url__exact__duplicate" in attrs["3"]
    assert by_url.removed == 1 and by_url.extra["documents_without_key"] == 1


def test_exact_by_paragraph_spans(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    first = "Intro line\nShared paragraph here\n\nEnd"
    second = "Other start\nshared  PARAGRAPH here\nIntro line"
    write_lines(ds / "documents" / "p.jsonl", [doc("p1", first), doc("p2", second)])
    summary = dedup_exact(
        [ds / "documents"],
        "para",
        ExactConfig(by="paragraph"),
        run_options=RunOptions(progress=False),
    )
    attrs = attrs_of(ds, "para")
    key = "para__exact__paragraph_duplicate"
    assert key not in attrs["p1"]
    # "shared  PARAGRAPH here" is chars 12..34 of p2, "Intro line" chars 35..45.
    assert second[12:34] == "shared  PARAGRAPH here" and second[35:45] == "Intro line"
    assert attrs["p2"][key] == [[12, 34, 1.0], [35, 45, 1.0]]
    assert summary.removed == 2 and summary.clusters == 2
    rows = pq.read_table(summary.report_dir / "clusters.parquet").to_pylist()
    assert {(r["id"], r["paragraph"], r["start"], r["end"]) for r in rows if r["removed"]} == {
        ("p2", 1, 12, 34), ("p2", 2, 35, 45),
    }  # fmt: skip


def test_inputs_must_be_in_documents_folder(tmp_path: Path) -> None:
    write_lines(tmp_path / "loose.jsonl", [doc("1", "x")])
    with pytest.raises(DolmakitError, match="documents"):
        dedup_exact([tmp_path / "loose.jsonl"], "x", run_options=RunOptions(progress=False))


def demo_copy(tmp_path: Path) -> Path:
    ds = tmp_path / "demo"
    shutil.copytree(DEMO_CORPUS, ds / "documents")
    return ds


def test_minhash_finds_demo_mirror_copies(tmp_path: Path) -> None:
    ds = demo_copy(tmp_path)
    config = MinHashConfig(keep=KeepRule(source_priority=("python-doc",)))
    summary = dedup_minhash(
        [ds / "documents"], "mh", config, run_options=RunOptions(progress=False)
    )
    key = "mh__minhash__duplicate"
    originals = {
        d.id: d.text
        for _, d in read_documents(ds / "documents" / "python-doc" / "en-0000.jsonl.zst")
    }
    mirror = ds / "documents" / "python-mirror" / "en-0000.jsonl.zst"
    found = {"exact": 0, "near": 0}
    near_expected = 0
    for _, d, attrs in read_with_attributes(mirror, ["mh"]):
        meta = d.metadata or {}
        original = originals[meta["derived_from"]]
        if meta["copy"] == "exact":
            assert d.text == original
            assert attrs[key] == [[0, len(d.text), 1.0]], d.id
            assert attrs["mh__minhash__similarity"] == [[0, len(d.text), 1.0]]
        # python-doc is preferred, so every copy similar enough to its original goes.
        elif hand_jaccard(normalize_text(d.text), normalize_text(original)) >= 0.85:
            near_expected += 1
            assert key in attrs, d.id
        found[meta["copy"]] += key in attrs
    assert found["exact"] == 30 and found["near"] >= near_expected >= 10
    assert summary.per_source["python-mirror"]["removed"] == 30 + found["near"]
    assert summary.per_source["python-doc"]["removed"] == 0
    rows = pq.read_table(summary.report_dir / "clusters.parquet").to_pylist()
    keepers = {r["cluster"]: r for r in rows if r["keeper"]}
    assert len(keepers) == summary.clusters
    for r in rows:
        if r["source"] == "python-mirror":
            assert keepers[r["cluster"]]["source"] == "python-doc"
    assert summary.extra["bands"] == 16 and summary.extra["rows"] == 8


def test_minhash_deterministic_across_order_and_workers(tmp_path: Path) -> None:
    ds = demo_copy(tmp_path)
    inputs = sorted(str(p) for p in (ds / "documents").rglob("*.zst"))
    out_dir = ds / "attributes" / "mh"

    def run(order: list[str], backend: str, workers: int) -> dict[str, bytes]:
        shutil.rmtree(out_dir, ignore_errors=True)
        summary = dedup_minhash(
            order,
            "mh",
            MinHashConfig(),
            run_options=RunOptions(backend=make_backend(backend, workers), progress=False),
        )
        out = {
            str(p.relative_to(out_dir)): p.read_bytes()
            for p in out_dir.rglob("*.zst")
            if ".dolmakit" not in p.parts
        }
        out["clusters"] = (summary.report_dir / "clusters.parquet").read_bytes()
        return out

    first = run(inputs, "serial", 1)
    second = run(list(reversed(inputs)), "processes", 2)
    assert first.keys() == second.keys() and len(first) == 13
    for name in first:
        assert first[name] == second[name], name


def make_chain(tmp_path: Path) -> tuple[Path, list[str]]:
    base = (LOREM * 2)[:60]
    a = " ".join(base)
    b = " ".join(base[:52] + TAIL)
    c = " ".join(HEAD + base[8:52])
    c += " " + " ".join(TAIL)
    ds = tmp_path / "chain"
    write_lines(
        ds / "documents" / "c.jsonl",
        [doc("A", a, "s1"), doc("B", b, "s2"), doc("C", c, "s3"), doc("D", " ".join(LOREM[::-1]))],
    )
    return ds, [a, b, c]


def test_chaining_guard(tmp_path: Path) -> None:
    ds, (a, b, c) = make_chain(tmp_path)
    # Preconditions worked out by hand on word 5-grams: A~B and B~C, but A and C are far.
    assert hand_jaccard(a, b) >= 0.7 and hand_jaccard(b, c) >= 0.7
    assert hand_jaccard(a, c) < 0.7
    keep = KeepRule(source_priority=("s1", "s2", "s3"))
    config = MinHashConfig(threshold=0.7, bands=32, rows=2, keep=keep, chaining="keep")
    summary = dedup_minhash([ds / "documents"], "k", config, run_options=RunOptions(progress=False))
    attrs = attrs_of(ds, "k")
    assert "k__minhash__duplicate" in attrs["B"]
    assert "k__minhash__duplicate" not in attrs["C"]
    assert attrs["C"]["k__minhash__cluster_size"][0][2] == 3.0
    assert attrs["C"]["k__minhash__similarity"][0][2] == pytest.approx(hand_jaccard(a, c), abs=1e-5)
    assert attrs["D"] == {}
    assert summary.chained_clusters == 1 and summary.removed == 1
    remove = MinHashConfig(threshold=0.7, bands=32, rows=2, keep=keep, chaining="remove")
    summary = dedup_minhash([ds / "documents"], "r", remove, run_options=RunOptions(progress=False))
    assert "r__minhash__duplicate" in attrs_of(ds, "r")["C"]
    assert summary.removed == 2


def test_chaining_recenter(tmp_path: Path) -> None:
    # A~B~C as in make_chain, plus C2, a copy of C: C and C2 are far from the keeper A but
    # are duplicates of each other. keep: both stay; remove: both go; recenter: C (ranked
    # first among them) becomes a second keeper and C2, within the threshold of it, goes.
    _, (a, b, c) = make_chain(tmp_path)
    assert hand_jaccard(a, c) < 0.7 <= hand_jaccard(b, c)
    ds = tmp_path / "recenter"
    write_lines(
        ds / "documents" / "c.jsonl",
        [doc("A", a, "s1"), doc("B", b, "s2"), doc("C", c, "s3"), doc("C2", c, "s4")],
    )
    keep = KeepRule(source_priority=("s1", "s2", "s3", "s4"))
    removed = {}
    for mode in ("keep", "remove", "recenter"):
        config = MinHashConfig(threshold=0.7, bands=32, rows=2, keep=keep, chaining=mode)
        summary = dedup_minhash(
            [ds / "documents"], mode, config, run_options=RunOptions(progress=False)
        )
        attrs = attrs_of(ds, mode)
        removed[mode] = sorted(i for i in attrs if f"{mode}__minhash__duplicate" in attrs[i])
        assert summary.clusters == 1 and summary.chained_clusters == 1
    assert removed == {"keep": ["B"], "remove": ["B", "C", "C2"], "recenter": ["B", "C2"]}
    assert summary.extra["recentered_keepers"] == 1
    attrs = attrs_of(ds, "recenter")
    assert attrs["C"]["recenter__minhash__similarity"][0][2] == 1.0  # a keeper
    assert attrs["C2"]["recenter__minhash__similarity"][0][2] == 1.0  # its copy of C
    assert attrs["B"]["recenter__minhash__similarity"][0][2] == pytest.approx(
        hand_jaccard(a, b), abs=1e-5
    )
    rows = pq.read_table(summary.report_dir / "clusters.parquet").to_pylist()
    assert sorted(r["id"] for r in rows if r["keeper"]) == ["A", "C"]
    assert sorted(r["id"] for r in rows if r["removed"]) == ["B", "C2"]


def test_exact_verification_drops_false_candidates(tmp_path: Path) -> None:
    base = (LOREM * 2)[:60]
    a = " ".join(base)
    b = " ".join(base[:30] + [f"q{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(30)])
    j = hand_jaccard(a, b)
    assert 0.2 < j < 0.5
    ds = tmp_path / "v"
    write_lines(ds / "documents" / "v.jsonl", [doc("a", a), doc("b", b)])
    # 64 bands of 2 rows: documents sharing a third of their shingles collide almost surely.
    loose = MinHashConfig(threshold=0.8, bands=64, rows=2, verify="none", chaining="remove")
    none = dedup_minhash([ds / "documents"], "n", loose, run_options=RunOptions(progress=False))
    assert none.removed == 1 and none.verified_pairs == 1
    exact = MinHashConfig(threshold=0.8, bands=64, rows=2, verify="exact")
    checked = dedup_minhash([ds / "documents"], "e", exact, run_options=RunOptions(progress=False))
    assert checked.candidate_pairs == 1 and checked.verified_pairs == 0 and checked.removed == 0
    low = MinHashConfig(threshold=j - 0.01, bands=64, rows=2, verify="exact")
    kept = dedup_minhash([ds / "documents"], "l", low, run_options=RunOptions(progress=False))
    assert kept.verified_pairs == 1
    sim = attrs_of(ds, "l")["b"]["l__minhash__similarity"][0][2]
    assert sim == pytest.approx(j, abs=1e-5)


def test_keep_attribute_picks_highest_score(tmp_path: Path) -> None:
    ds = tmp_path / "q"
    text = " ".join(LOREM)
    path = write_lines(
        ds / "documents" / "q.jsonl", [doc("x", text), doc("y", text + " extra"), doc("z", text)]
    )
    qual = ds / "attributes" / "qual" / "q.jsonl"
    write_lines(
        qual,
        [
            {"id": "x", "attributes": {"qual__m__score": [[0, 1, 0.2]]}},
            {"id": "y", "attributes": {}},
            {"id": "z", "attributes": {"qual__m__score": [[0, 1, 0.9]]}},
        ],
    )
    config = MinHashConfig(keep=KeepRule(attribute="qual__m__score"))
    dedup_minhash([path], "dq", config, run_options=RunOptions(progress=False))
    attrs = attrs_of(ds, "dq")
    assert {i for i, a in attrs.items() if "dq__minhash__duplicate" in a} == {"x", "y"}


def test_incremental_run_against_saved_index(tmp_path: Path) -> None:
    text = " ".join(LOREM)
    old = tmp_path / "old"
    write_lines(old / "documents" / "o.jsonl", [doc("o1", text), doc("o2", "a different text")])
    first = dedup_minhash([old / "documents"], "mh", run_options=RunOptions(progress=False))
    old_attr = old / "attributes" / "mh" / "o.jsonl"
    before = old_attr.read_bytes()
    new = tmp_path / "new"
    longer = text + " and one more clause at the end"
    write_lines(new / "documents" / "n.jsonl", [doc("n1", longer), doc("n2", "fresh text here")])
    summary = dedup_minhash(
        [new / "documents"], "mh", index=first.report_dir, run_options=RunOptions(progress=False)
    )
    assert summary.indexed_documents == 2
    attrs = attrs_of(new, "mh")
    # The indexed document is kept even though the new copy is longer.
    assert "mh__minhash__duplicate" in attrs["n1"] and attrs["n2"] == {}
    assert old_attr.read_bytes() == before
    rows = pq.read_table(summary.report_dir / "clusters.parquet").to_pylist()
    assert {(r["id"], r["keeper"]) for r in rows} == {("o1", True), ("n1", False)}
    with pytest.raises(ConfigError, match="other options"):
        dedup_minhash(
            [new / "documents"], "mh2", MinHashConfig(ngram=3), index=first.report_dir,
            run_options=RunOptions(progress=False),
        )  # fmt: skip
    with pytest.raises(ConfigError, match="already in the index"):
        dedup_minhash(
            [old / "documents"],
            "mh3",
            index=first.report_dir,
            run_options=RunOptions(progress=False),
        )


def test_rejected_lines_keep_attributes_aligned(tmp_path: Path) -> None:
    ds = tmp_path / "bad"
    text = " ".join(LOREM)
    path = write_lines(
        ds / "documents" / "b.jsonl", [doc("1", text), "{not json", doc("2", text), '{"id": 3}']
    )
    summary = dedup_minhash([path], "m", run_options=RunOptions(progress=False))
    assert summary.read is not None and summary.read.rejected_total == 2
    lines = list(read_attribute_lines(ds / "attributes" / "m" / "b.jsonl"))
    assert [i for _, i, _ in lines] == ["1", "2"]
    assert "m__minhash__duplicate" in lines[1][2]


def test_cli_commands(tmp_path: Path) -> None:
    ds = tmp_path / "cli"
    text = " ".join(LOREM)
    write_lines(ds / "documents" / "c.jsonl", [doc("1", text), doc("2", text), doc("3", "x y")])
    runner = CliRunner()
    result = runner.invoke(
        cli, ["-q", "dedup", "minhash", str(ds / "documents"), "--run", "m", "--backend", "serial"]
    )
    assert result.exit_code == 0, result.output
    assert (
        "dedup minhash (m): 3 documents, 1 cluster of 2 documents,"
        " 1 document marked as a duplicate\n" in result.output
    )
    assert result.output.count(", 1 document marked as a duplicate\n") == 2  # total, per source
    result = runner.invoke(
        cli, ["-q", "dedup", "exact", str(ds / "documents"), "--run", "e", "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "1 document marked as a duplicate" in result.output
    assert "e__exact__duplicate" in attrs_of(ds, "e")["2"]
    bad = runner.invoke(cli, ["dedup", "minhash", str(ds / "documents"), "--bands", "3"])
    assert bad.exit_code != 0 and "give both bands and rows" in bad.output
    assert "Traceback" not in bad.output
    for sub in ("exact", "minhash"):
        assert "Example" in runner.invoke(cli, ["dedup", sub, "--help"]).output
