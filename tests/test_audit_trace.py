"""`audit trace` and `audit where` against known documents of a real mix (real MinHash run).

Expected fates are worked out from the fixture's construction (test_audit_helpers) and the
sampling formula of docs/manifest.md, re-implemented here; locations from reading the shards.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_audit_helpers import SEED, WEB_DOCS, WEB_RATE, Mixes, build_mixes, lang_en

from dolmakit.audit.trace import trace, where
from dolmakit.cli.main import cli
from dolmakit.io.reader import read_documents
from dolmakit.run.options import RunOptions

WEB = "documents/web/part-0.jsonl.zst"
BOOKS = "documents/books/part-0.jsonl.zst"


@pytest.fixture(scope="module")
def mixes(tmp_path_factory: pytest.TempPathFactory) -> Mixes:
    return build_mixes(tmp_path_factory.mktemp("audit-trace"))


def unit(seed: int, source: str, doc_id: str) -> float:
    """The sampling value, as docs/manifest.md specifies it."""
    digest = hashlib.blake2b(
        f"{seed}\x1f{source}\x1f{doc_id}".encode(), digest_size=8, person=b"dolmakit-sample"
    ).digest()
    return (int.from_bytes(digest, "big") >> 11) / 2**53


def copies(rate: float, u: float) -> int:
    return math.floor(rate) + (1 if u < rate - math.floor(rate) else 0)


def shard_rows(mix: Path) -> list[tuple[str, int, dict]]:
    """Return (shard file, row, document) of every output document."""
    return [
        (shard.name, row, doc.to_dict())
        for shard in sorted(mix.glob("shard-*.jsonl.zst"))
        for row, doc in read_documents(shard)
    ]


def books_rate(mix: Path) -> float:
    import json

    manifest = json.loads((mix / "manifest.json").read_text())
    return float(manifest["sources"][1]["rate"])


def passes_v1(i: int) -> bool:
    return lang_en(i) >= 0.3 and i != 5


def test_trace_shard_row_names_input_and_copy(mixes: Mixes) -> None:
    rows = shard_rows(mixes.v1)
    for shard, row, doc in rows[:6]:
        prov = doc["metadata"]["provenance"]
        same = [d for _, _, d in rows if d["id"] == doc["id"]]
        (origin,) = trace(mixes.v1, f"{shard.split('.')[0]}:{row}")
        assert (origin.source, origin.path, origin.line) == (
            prov["source"],
            prov["path"],
            prov["line"],
        )
        assert origin.id == doc["id"]
        assert origin.copies == len(same)
        assert origin.notes[0].startswith(
            f"{shard.split('.')[0]}:{row} is copy {prov['repeat'] + 1}"
        )


def test_trace_repeated_document_by_id(mixes: Mixes) -> None:
    rate = books_rate(mixes.v1)
    assert rate > 2
    expected = {f"b{i}": copies(rate, unit(SEED, "books", f"b{i}")) for i in range(8)}
    doc_id = max(expected, key=lambda k: expected[k])
    (origin,) = trace(mixes.v1, doc_id)
    assert origin.outcome == "kept"
    assert origin.copies == expected[doc_id] >= 3
    where_in_shards = sorted(
        (shard, row, d["metadata"]["provenance"]["repeat"])
        for shard, row, d in shard_rows(mixes.v1)
        if d["id"] == doc_id
    )
    assert sorted(origin.locations) == where_in_shards
    assert sorted(r for _, _, r in where_in_shards) == list(range(expected[doc_id]))
    assert (origin.path, origin.line) == (BOOKS, int(doc_id[1:]) + 1)
    result = CliRunner().invoke(cli, ["audit", "trace", str(mixes.v1), doc_id])
    assert result.exit_code == 0
    assert f"in the mix {expected[doc_id]} times" in result.output
    assert "(repeat 1)" in result.output


def test_trace_kept_web_document_shows_clauses_and_attributes(mixes: Mixes) -> None:
    doc_id = next(
        f"w{i}" for i in range(WEB_DOCS) if passes_v1(i) and unit(SEED, "web", f"w{i}") < WEB_RATE
    )
    (origin,) = trace(mixes.v1, doc_id)
    assert [(c.clause, c.passed) for c in origin.clauses] == [
        ("lang.en >= 0.3", True),
        ("not minhash.duplicate", True),
    ]
    assert origin.attributes is not None
    score = origin.attributes["tags__lang__en"][0][2]
    assert score == lang_en(int(doc_id[1:]))


def test_where_rejected_by_first_clause(mixes: Mixes) -> None:
    (origin,) = where(mixes.v1, "w11")
    assert origin.outcome == "rejected"
    assert origin.failed_clause == "lang.en >= 0.3"
    assert origin.duplicate_of is None
    assert (origin.path, origin.line, origin.copies) == (WEB, 12, 0)
    result = CliRunner().invoke(cli, ["audit", "where", str(mixes.v1), f"{WEB}:12"])
    assert result.exit_code == 0
    assert "not in the mix: rejected by filter clause `lang.en >= 0.3`" in result.output
    assert "[FAIL] lang.en >= 0.3" in result.output


def test_where_duplicate_names_the_kept_document(mixes: Mixes) -> None:
    # w5 (line 6) is a near-copy of w4 (line 5); the MinHash run keeps w4 (same length,
    # earlier line) and the filter's second clause removes w5.
    (origin,) = where(mixes.v1, f"{WEB}:6")
    assert origin.id == "w5"
    assert origin.outcome == "rejected"
    assert origin.failed_clause == "not minhash.duplicate"
    assert origin.duplicate_of == f"w4 ({WEB}:5)"
    result = CliRunner().invoke(cli, ["audit", "where", str(mixes.v1), "web/part-0.jsonl.zst:6"])
    assert "removed as a duplicate by clause `not minhash.duplicate`" in result.output
    assert f"the kept copy is w4 ({WEB}:5)" in result.output
    (kept,) = where(mixes.v1, "w4")
    assert kept.outcome in ("kept", "not-sampled")
    assert kept.outcome == ("kept" if unit(SEED, "web", "w4") < WEB_RATE else "not-sampled")


def test_where_not_sampled(mixes: Mixes) -> None:
    passing = [f"w{i}" for i in range(WEB_DOCS) if passes_v1(i)]
    unsampled = {d for d in passing if unit(SEED, "web", d) >= WEB_RATE}
    assert unsampled and len(unsampled) < len(passing)
    for doc_id in passing:
        (origin,) = where(mixes.v1, doc_id)
        assert origin.outcome == ("not-sampled" if doc_id in unsampled else "kept"), doc_id
    doc_id = sorted(unsampled)[0]
    (origin,) = where(mixes.v1, doc_id)
    assert origin.copies == 0 and origin.locations == []
    assert origin.u == pytest.approx(unit(SEED, "web", doc_id))
    assert origin.reason() == (
        "not in the mix: passed the filter but was not sampled: its sampling value"
        f" {unit(SEED, 'web', doc_id):.6f} >= rate {WEB_RATE:.6f}"
    )
    assert not any(d["id"] == doc_id for _, _, d in shard_rows(mixes.v1))


def test_where_by_absolute_path_and_kept_copies(mixes: Mixes) -> None:
    rate = books_rate(mixes.v1)
    path = mixes.data / BOOKS
    (origin,) = where(mixes.v1, f"{path}:3")
    assert origin.id == "b2"
    assert origin.copies == copies(rate, unit(SEED, "books", "b2"))
    assert len(origin.locations) == origin.copies


def test_every_input_document_has_one_fate(mixes: Mixes) -> None:
    fates = {}
    for i in range(WEB_DOCS):
        (origin,) = where(mixes.v1, f"{WEB}:{i + 1}")
        fates[origin.id] = origin.outcome
    assert sum(1 for f in fates.values() if f == "rejected") == 10  # 9 by language, w5
    assert sum(1 for f in fates.values() if f == "kept") == sum(
        1 for i in range(WEB_DOCS) if passes_v1(i) and unit(SEED, "web", f"w{i}") < WEB_RATE
    )


def test_unknown_references(mixes: Mixes) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["audit", "trace", str(mixes.v1), "w0"])
    assert result.exit_code == 1
    assert "w0: not an output document" in result.output
    assert f"dolmakit audit where {mixes.v1} w0" in result.output
    result = runner.invoke(cli, ["audit", "where", str(mixes.v1), f"{WEB}:99"])
    assert result.exit_code == 1
    assert f"{WEB}:99: no such document line" in result.output
    result = runner.invoke(cli, ["audit", "trace", str(mixes.v1), "7:1"])
    assert "7:1: no shard 7" in result.output


def test_where_unreadable_input_line(tmp_path: Path) -> None:
    from test_mix_helpers import write_spec

    from dolmakit.io.compression import open_write
    from dolmakit.mix import build_mix

    data = tmp_path / "data"
    path = data / "documents" / "notes" / "a.jsonl.zst"
    path.parent.mkdir(parents=True)
    with open_write(path) as out:
        out.write(b'{"id": "n1", "text": "one two"}\n{not json\n{"id": "n3", "text": "three"}\n')
    spec = {
        "name": "bad",
        "version": 1,
        "seed": 1,
        "tokenizer": "whitespace",
        "sources": [{"name": "notes", "documents": ["documents/notes/*.jsonl.zst"], "rate": 1}],
    }
    built = build_mix(
        write_spec(tmp_path / "s.yaml", spec),
        data_root=data,
        output=tmp_path / "m",
        run_options=RunOptions(progress=False),
    )
    (origin,) = where(built.mix_dir, "documents/notes/a.jsonl.zst:2")
    assert (origin.outcome, origin.source, origin.copies) == ("unreadable", "notes", 0)
    assert origin.reason() == (
        "not in the mix: the input line could not be read (see .dolmakit/rejects.jsonl)"
    )
    (kept,) = where(built.mix_dir, "documents/notes/a.jsonl.zst:3")
    assert (kept.id, kept.outcome, kept.copies) == ("n3", "kept", 1)
    result = CliRunner().invoke(cli, ["audit", "where", str(built.mix_dir), "notes/a.jsonl.zst:2"])
    assert result.exit_code == 0
    assert "note:     the mixer could not read this line: " in result.output


def test_an_id_shared_by_two_input_documents_is_called_ambiguous(tmp_path: Path) -> None:
    from test_mix_helpers import write_spec

    from dolmakit.io.compression import open_write
    from dolmakit.mix import build_mix

    data = tmp_path / "data"
    for source in ("a", "b"):
        path = data / "documents" / source / "x.jsonl.zst"
        path.parent.mkdir(parents=True)
        with open_write(path) as out:
            out.write(f'{{"id": "same", "text": "text of {source}"}}\n'.encode())
    spec = {
        "name": "amb",
        "version": 1,
        "seed": 1,
        "tokenizer": "whitespace",
        "sources": [
            {"name": s, "documents": [f"documents/{s}/*.jsonl.zst"], "rate": 1} for s in "ab"
        ],
    }
    built = build_mix(
        write_spec(tmp_path / "s.yaml", spec),
        data_root=data,
        output=tmp_path / "m",
        run_options=RunOptions(progress=False),
    )
    for found in (trace(built.mix_dir, "same"), where(built.mix_dir, "same")):
        assert sorted(o.source for o in found) == ["a", "b"]
        assert all(o.notes[0].startswith("ambiguous id: 'same' names 2 different") for o in found)
    result = CliRunner().invoke(cli, ["audit", "trace", str(built.mix_dir), "same"])
    assert result.exit_code == 0
    assert "name one by SHARD:ROW" in result.output
    (one,) = trace(built.mix_dir, "shard-00000.jsonl.zst:1")
    assert not any(n.startswith("ambiguous") for n in one.notes)
