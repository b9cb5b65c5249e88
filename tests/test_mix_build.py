"""Building mixes end to end: provenance, manifest, versioning, determinism, resume, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from test_mix_helpers import make_source, read_output, words, write_spec

from dolmakit.cli.main import cli
from dolmakit.errors import DolmakitError
from dolmakit.mix import build_mix, content_hash, decide, read_manifest
from dolmakit.run.backends import ProcessBackend, SerialBackend
from dolmakit.run.options import RunOptions


def small_dataset(root: Path, n_web: int = 40, n_books: int = 12) -> None:
    web = [
        {"id": f"w{i}", "text": words(20 + i % 7, "web"), "metadata": {"k": i}}
        for i in range(n_web)
    ]
    make_source(
        root,
        "web",
        web,
        {
            "tags": [
                {"tags__lang__en": [[0, len(d["text"]), (i % 10) / 10]]} for i, d in enumerate(web)
            ],
            "dedup": [
                {"dedup__exact__duplicate": [[0, len(d["text"]), 1]]} if i % 8 == 0 else {}
                for i, d in enumerate(web)
            ],
        },
    )
    books = [{"id": f"b{i}", "text": words(50 + 3 * i, "book")} for i in range(n_books)]
    make_source(root, "books", books, {"tags": [{} for _ in books]})


def spec_dict(**changes) -> dict:
    spec = {
        "name": "toy",
        "version": 1,
        "seed": 11,
        "tokenizer": "whitespace",
        "sources": [
            {
                "name": "web",
                "documents": "documents/web/*.jsonl.zst",
                "attributes": ["tags", "dedup"],
                "filter": "lang.en >= 0.3 and not exact.duplicate",
                "weight": 0.5,
            },
            {
                "name": "books",
                "documents": ["documents/books/*.jsonl.zst"],
                "attributes": ["tags"],
                "weight": 0.5,
                "max_repeats": 3,
            },
        ],
        "output": {"format": "jsonl.zst", "shard_size": 4000},
    }
    spec.update(changes)
    return spec


def build(tmp_path: Path, spec: dict | None = None, out: str = "out", backend=None, **kw):
    path = write_spec(tmp_path / "mix.yaml", spec or spec_dict())
    run = RunOptions(backend or SerialBackend(), progress=False)
    return build_mix(path, data_root=tmp_path, output=tmp_path / out, run_options=run, **kw)


def test_funnel_provenance_and_manifest(tmp_path):
    small_dataset(tmp_path)
    result = build(tmp_path)
    m = read_manifest(result.mix_dir)
    assert result.mix_dir == (tmp_path / "out" / "toy" / "v1").resolve()
    web, books = m.sources
    # web: lang.en = (i % 10) / 10 < 0.3 for i % 10 in {0, 1, 2}: 12 of 40 fail clause 0;
    # exact duplicates are i % 8 == 0: i in {0, 8, ..., 32}; of those, 0, 8, 16, 24, 32 -> i%10 in
    # {0, 8, 6, 4, 2}: 0 and 32 already failed clause 0, so 3 fail clause 1.
    assert web.clauses == ("lang.en >= 0.3", "not exact.duplicate")
    assert web.funnel.read == 40
    assert web.funnel.rejected_by_clause == (12, 3)
    assert web.funnel.passed == 25
    # without a target the mix is as large as possible without repeating a weighted source
    assert web.rate == 1.0 and web.funnel.sampled == 25
    assert books.funnel.tokens_available == sum(50 + 3 * i for i in range(12))
    assert m.content_sha256 == content_hash(m) == result.manifest.content_sha256
    docs = read_output(result.mix_dir)
    assert len(docs) == m.totals.documents == sum(s.documents for s in m.shards)
    assert m.totals.shards == len(m.shards) > 1
    first = docs[0]["metadata"]["provenance"]
    assert set(first) == {"source", "path", "line", "repeat"}
    assert first["path"] == f"documents/{first['source']}/part-0.jsonl.zst"
    # every shard but the last holds both sources
    assert all(len(s.sources) == 2 for s in m.shards[:-1])
    # index rows point at the output documents
    index = pq.read_table(result.mix_dir / "index.parquet").to_pylist()
    assert [r["id"] for r in index] == [d["id"] for d in docs]
    # decision log: one row per input document, outcomes re-computable with decide()
    rows = [r for d in m.decisions for r in pq.read_table(result.mix_dir / d.path).to_pylist()]
    assert len(rows) == 52
    for row in rows:
        source = next(s for s in m.sources if s.name == row["source"])
        if row["outcome"] != "rejected":
            assert row["repeats"] == decide(m.seed, row["source"], row["id"], source.rate)


def test_weights_realised_with_upsampling_and_target(tmp_path):
    small_dataset(tmp_path)
    spec = spec_dict(target_tokens=1500)
    spec["sources"][0]["weight"], spec["sources"][1]["weight"] = 1, 4
    result = build(tmp_path, spec)
    m = result.manifest
    assert m.target_tokens == 1500
    assert [s.declared_share for s in m.sources] == [0.2, 0.8]
    for s in m.sources:
        f = s.funnel
        assert f.target_tokens is not None
        assert abs(f.tokens_emitted - f.target_tokens) <= 90  # within one document
    books = m.sources[1]
    assert books.rate > 1 and books.funnel.repeated > 0
    copies = [d for d in read_output(result.mix_dir) if d["metadata"]["provenance"]["repeat"] > 0]
    assert copies and all(d["metadata"]["provenance"]["source"] == "books" for d in copies)


def test_weight_that_cannot_be_honoured_warns(tmp_path):
    small_dataset(tmp_path)
    spec = spec_dict(target_tokens=20000)
    result = build(tmp_path, spec)
    assert any(
        w.startswith("source 'books': weight 0.5 cannot be honoured") for w in result.warnings
    )
    assert result.manifest.sources[1].rate == 3.0


def test_span_replacement_on_multibyte_text(tmp_path):
    text = "日本語のテキスト mail@例え.jp と 電話 +81 3 1234 5678 です"
    email = (text.index("mail"), text.index(" と"))
    phone = (text.index("+81"), text.index(" です"))
    docs = [{"id": "j1", "text": text}]
    attrs = [
        {
            "pii__pii__email": [[email[0], email[1], 1.0]],
            "pii__pii__phone": [[phone[0], phone[1], 0.4]],
        }
    ]
    make_source(tmp_path, "ja", docs, {"pii": attrs})
    spec: dict[str, Any] = {
        "name": "ja",
        "version": 1,
        "seed": 1,
        "tokenizer": "whitespace",
        "sources": [
            {"name": "ja", "documents": "documents/ja/*", "attributes": ["pii"], "rate": 1}
        ],
        "span_replacements": [
            {"attribute": "pii.email", "replacement": "|||EMAIL_ADDRESS|||"},
            {"attribute": "pii.phone", "replacement": "<{}>", "min_score": 0.5},
        ],
        "output": {"format": "jsonl.gz"},
    }
    result = build(tmp_path, spec)
    (doc,) = read_output(result.mix_dir)
    assert doc["text"] == "日本語のテキスト |||EMAIL_ADDRESS||| と 電話 +81 3 1234 5678 です"
    spec["span_replacements"][1]["min_score"] = 0.3
    spec["version"] = 2
    (doc,) = read_output(build(tmp_path, spec).mix_dir)
    assert doc["text"] == "日本語のテキスト |||EMAIL_ADDRESS||| と 電話 <+81 3 1234 5678> です"


def _files(mix_dir: Path) -> dict[str, bytes]:
    return {
        p.relative_to(mix_dir).as_posix(): p.read_bytes()
        for p in sorted(mix_dir.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def test_one_or_two_workers_and_reruns_give_identical_bytes(tmp_path):
    small_dataset(tmp_path)
    for i in range(3):  # more input files so that two workers really share the work
        make_source(tmp_path, "web", [{"id": f"x{i}-{j}", "text": words(30 + j)} for j in range(9)],
                    {"tags": [{"tags__lang__en": [[0, 1, 0.9]]}] * 9, "dedup": [{}] * 9},
                    name=f"more-{i}.jsonl.zst")  # fmt: skip
    serial = build(tmp_path, out="a", backend=SerialBackend())
    pooled = build(tmp_path, out="b", backend=ProcessBackend(2))
    again = build(tmp_path, out="c", backend=SerialBackend())
    assert _files(serial.mix_dir) == _files(pooled.mix_dir) == _files(again.mix_dir)
    hashes = {r.manifest.content_sha256 for r in (serial, pooled, again)}
    assert len(hashes) == 1
    assert pooled.manifest.timing.workers == 2


def test_versions_are_never_silently_changed(tmp_path):
    small_dataset(tmp_path)
    first = build(tmp_path)
    same = build(tmp_path)
    assert same.already_built and same.manifest == first.manifest
    changed = spec_dict(seed=12)
    with pytest.raises(DolmakitError, match=r"built from another spec .* bump 'version'"):
        build(tmp_path, changed)
    draft = build(tmp_path, changed, force=True)
    assert draft.manifest.draft is True and draft.manifest.seed == 12
    bumped = build(tmp_path, spec_dict(seed=12, version=2))
    assert bumped.mix_dir.name == "v2" and bumped.manifest.draft is False


def test_cli_mix(tmp_path):
    small_dataset(tmp_path)
    path = write_spec(tmp_path / "mix.yaml", spec_dict())
    args = ["-q", "mix", str(path), "--output", str(tmp_path / "o"), "--backend", "serial"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("mix toy v1: ")
    assert "web: read 40, passed 25" in result.output
    bad = write_spec(tmp_path / "bad.yaml", spec_dict(seed="x"))
    result = CliRunner().invoke(cli, ["mix", str(bad), "--output", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.output == f"Error: {bad}:3: seed: expected an integer, got a string ('x')\n"


def test_sigkill_mid_build_then_rerun_gives_identical_bytes(tmp_path):
    big = words(3000)
    for s in range(12):
        docs = [{"id": f"{s}-{i}", "text": f"{i} {big}"} for i in range(60)]
        make_source(tmp_path, "web", docs, {"tags": [{}] * 60}, name=f"p{s:02d}.jsonl.zst")
    spec = {
        "name": "k",
        "version": 1,
        "seed": 5,
        "tokenizer": "whitespace",
        "sources": [
            {"name": "web", "documents": "documents/web/*", "attributes": ["tags"], "rate": 0.6}
        ],
        "output": {"shard_size": "2MB"},
    }
    path = write_spec(tmp_path / "mix.yaml", spec)
    reference = build_mix(
        path, data_root=tmp_path, output=tmp_path / "ref", run_options=RunOptions(progress=False)
    )
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "dolmakit",
        "-q",
        "mix",
        str(path),
        "--output",
        str(out),
        "--backend",
        "serial",
    ]
    proc = subprocess.Popen(cmd, start_new_session=True)
    records = out / "k" / "v1" / ".work" / "pass2-records"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(records.glob("*.done.json"))) < 2:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "k" / "v1" / "manifest.json").exists()
    rerun = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    mix_dir = out / "k" / "v1"
    assert _files(mix_dir) == _files(reference.mix_dir)
    assert (
        json.loads((mix_dir / "manifest.json").read_text())["content_sha256"]
        == reference.manifest.content_sha256
    )


@pytest.mark.parametrize("fmt", ["jsonl.zst", "parquet"])
def test_output_metadata_equals_what_the_whole_documents_hold(tmp_path: Path, fmt: str) -> None:
    # The licence count reads only `metadata` of each output line: it must see what reading
    # the whole documents sees, tokens and order included.
    from dolmakit.mix.output import iter_output, iter_output_metadata

    small_dataset(tmp_path)
    docs = [
        {"id": f"l{i}", "text": words(30, "lic"), "metadata": {"license": ["MIT", 7, None][i % 3]}}
        for i in range(9)
    ]
    make_source(tmp_path, "lic", docs, {"tags": [{} for _ in docs]})
    spec = spec_dict(output={"format": fmt, "shard_size": 3000})
    spec["sources"].append(
        {"name": "lic", "documents": "documents/lic/*.jsonl.zst", "attributes": ["tags"],
         "weight": 0.2, "licence": "CC0-1.0"}
    )  # fmt: skip
    built = build(tmp_path, spec)
    shards = list(built.manifest.shards)
    assert len(shards) > 1
    whole = [
        ({"metadata": d.get("metadata")}, n) for *_, d, n in iter_output(built.mix_dir, shards)
    ]
    assert list(iter_output_metadata(built.mix_dir, shards)) == whole
    assert {repr((m["metadata"] or {}).get("license")) for m, _ in whole} >= {"'MIT'", "7", "None"}
