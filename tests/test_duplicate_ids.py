"""Ids that repeat within a source are counted and named by every stage; empty ids rejected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dolmakit.cli.main import cli
from dolmakit.errors import DolmakitError
from dolmakit.io.duplicate_ids import IdTable, find_duplicate_ids
from dolmakit.mix.manifest import read_manifest

X = ['{"id":"a","text":"one two"}', '{"id":"b","text":"three four"}', '{"id":"a","text":"five"}']
Y = ['{"id":"b","text":"seven"}', '{"id":"c","text":"eight"}', '{"id":"a","source":"s","text":"x"}']
EXAMPLES = "id 'a' at {d}/x.jsonl:1 and {d}/x.jsonl:3; id 'b' at {d}/x.jsonl:2 and {d}/y.jsonl:1"


def corpus(tmp_path: Path) -> Path:
    docs = tmp_path / "ds" / "documents" / "web"
    docs.mkdir(parents=True)
    (docs / "x.jsonl").write_text("\n".join(X) + "\n")
    (docs / "y.jsonl").write_text("\n".join(Y) + "\n")
    return docs


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [*args, "--backend", "serial"])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def expected(docs: Path, source: str = "(no source)") -> str:
    return (
        f"2 document ids repeat within a source ({source}: 2); lookups by id are ambiguous for"
        f" them: {EXAMPLES.format(d=docs)}"
    )


@pytest.mark.parametrize(
    "command",
    [
        ["tag", "{docs}", "--run", "t", "--taggers", "lengths"],
        ["convert", "{docs}", "{tmp}/out"],
        ["convert", "{docs}", "{tmp}/parts", "--shard-size", "1KB"],
        ["dedup", "exact", "{docs}", "--run", "e"],
        ["dedup", "minhash", "{docs}", "--run", "m"],
    ],
    ids=["tag", "convert", "reshard", "dedup-exact", "dedup-minhash"],
)
def test_every_stage_warns_then_fails_on_repeated_ids(tmp_path: Path, command: list[str]) -> None:
    docs = corpus(tmp_path)
    args = [a.format(docs=docs, tmp=tmp_path) for a in command]
    code, out = invoke(*args)
    assert code == 0, out
    assert f"  warning: {expected(docs)}\n" in out  # 'a' of source 's' is another document
    code, out = invoke(*args, "--on-error", "fail")
    assert code != 0
    assert out.splitlines()[-1] == f"Error: {expected(docs)} (--on-error fail)"


def test_dedup_counts_them_in_its_summary(tmp_path: Path) -> None:
    docs = corpus(tmp_path)
    assert invoke("dedup", "exact", str(docs), "--run", "e")[0] == 0
    summary = json.loads((tmp_path / "ds/attributes/e/.dolmakit/summary.json").read_text())
    assert summary["duplicate_ids"] == {"total": 2, "per_source": {"": 2}}


def mix_spec(tmp_path: Path) -> Path:
    spec = tmp_path / "mix.yaml"
    spec.write_text(
        "name: d\nversion: 1\nseed: 1\ntokenizer: whitespace\noutput: {root: mixes}\n"
        "sources:\n  - {name: web, documents: ds/documents/web/*.jsonl, weight: 1.0}\n"
    )
    return spec


def test_the_mix_counts_them_per_source_in_its_manifest(tmp_path: Path) -> None:
    docs = corpus(tmp_path)
    code, out = invoke("-q", "mix", str(mix_spec(tmp_path)))
    assert code == 0, out
    rel = docs.relative_to(tmp_path)
    # In a mix the source is the spec's: 'a' with source 's' repeats 'a' of web too.
    line = (
        "3 document ids repeat within a source (web: 3); lookups by id are ambiguous for them:"
        f" {EXAMPLES.format(d=rel)}; id 'a' at {rel}/x.jsonl:1 and {rel}/y.jsonl:3"
    )
    assert f"  warning: {line}\n" in out
    assert "web: read 6 (3 with a repeated id)" in out
    manifest = read_manifest(tmp_path / "mixes" / "d" / "v1")
    assert manifest.sources[0].funnel.duplicate_ids == 3
    assert line in manifest.warnings
    assert invoke("audit", "verify", str(tmp_path / "mixes" / "d" / "v1"))[0] == 0


def test_the_mix_stops_before_sampling_under_fail(tmp_path: Path) -> None:
    corpus(tmp_path)
    code, out = invoke("-q", "mix", str(mix_spec(tmp_path)), "--on-error", "fail")
    assert code != 0 and out.startswith("Error: 3 document ids repeat within a source (web: 3)")
    assert not list((tmp_path / "mixes" / "d" / "v1").glob("*.jsonl*"))


def test_a_manifest_without_the_count_still_reads(tmp_path: Path) -> None:
    docs = corpus(tmp_path)
    (docs / "x.jsonl").write_text('{"id":"a","text":"one two"}\n')
    (docs / "y.jsonl").write_text('{"id":"b","text":"seven"}\n')
    assert invoke("-q", "mix", str(mix_spec(tmp_path)))[0] == 0
    mix = tmp_path / "mixes" / "d" / "v1"
    assert "duplicate_ids" not in (mix / "manifest.json").read_text()  # omitted when 0
    assert read_manifest(mix).sources[0].funnel.duplicate_ids == 0
    assert invoke("audit", "verify", str(mix))[0] == 0  # the content hash is unchanged


def test_an_empty_id_is_rejected_by_every_reader(tmp_path: Path) -> None:
    docs = tmp_path / "ds" / "documents" / "web"
    docs.mkdir(parents=True)
    (docs / "x.jsonl").write_text('{"id":"","text":"one"}\n{"id":"b","text":"two"}\n')
    code, out = invoke("tag", str(docs), "--run", "t", "--taggers", "lengths", "--on-error", "fail")
    assert out == f"Error: {docs}/x.jsonl:1: invalid document: field 'id' must not be empty\n"
    assert code != 0
    code, out = invoke("convert", str(docs), str(tmp_path / "out"))
    assert code == 0 and "1 rejected" in out


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from([None, "s"])), max_size=30))
def test_repeats_are_documents_whose_source_and_id_came_before(
    rows: list[tuple[str, str | None]],
) -> None:
    half = len(rows) // 2
    shards = [rows[:half], rows[half:]]
    tables = [
        IdTable(f"f{n}", list(range(1, len(s) + 1)), [i for i, _ in s], [src for _, src in s])
        for n, s in enumerate(shards)
    ]
    found = find_duplicate_ids(2, tables.__getitem__)
    seen: set[tuple[str, str | None]] = set()
    repeats: dict[str, int] = {}
    for doc_id, source in rows:
        if (doc_id, source) in seen:
            repeats[source or ""] = repeats.get(source or "", 0) + 1
        seen.add((doc_id, source))
    assert found.total == sum(repeats.values())
    assert found.by_source == dict(sorted(repeats.items()))
    assert len(found.examples) == min(3, found.total)
    if found.total:
        with pytest.raises(DolmakitError):
            found.check("fail")
    else:
        assert found.check("fail") is None
