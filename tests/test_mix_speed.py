"""The mixer's speed options: token counts from a tokens attribute, shards written in parts."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from test_mix_helpers import make_source, read_output, words, write_spec

import dolmakit.mix.shards as shards
from dolmakit.errors import ConfigError, DolmakitError
from dolmakit.mix import build_mix, read_manifest
from dolmakit.run.backends import ProcessBackend, SerialBackend
from dolmakit.run.options import RunOptions


def dataset(root: Path, factor: float = 1.0, missing: int = -1, bad: int = -1) -> None:
    """Two sources; run `tok` holds each text's word count times `factor`.

    Book b0 has an 'e-mail' span over its second word that the spec replaces by two words.
    """
    web = [{"id": f"w{i}", "text": words(20 + i % 7, "web")} for i in range(30)]
    books = [{"id": f"b{i}", "text": words(50 + 3 * i, "book")} for i in range(10)]
    for name, docs in (("web", web), ("books", books)):
        tok = []
        for i, d in enumerate(docs):
            n = len(d["text"].split()) * factor
            if i == bad:
                n = 2.5
            tok.append({} if i == missing else {"tok__tokens__count": [[0, len(d["text"]), n]]})
        pii: list[dict[str, list[list[float]]]] = [{} for _ in docs]
        if name == "books":
            start = docs[0]["text"].index("book1 ")
            pii[0] = {"pii__regex__email": [[start, start + len("book1"), 1.0]]}
        make_source(root, name, docs, {"tok": tok, "pii": pii})


def spec(tokens: bool, fmt: str = "jsonl.zst", version: int = 1) -> dict:
    sources = []
    for name, weight in (("web", 0.6), ("books", 0.4)):
        source = {
            "name": name,
            "documents": f"documents/{name}/*.jsonl.zst",
            "attributes": ["tok", "pii"],
            "weight": weight,
        }
        if tokens:
            source["tokens"] = "tok.tokens.count"
        sources.append(source)
    return {
        "name": "speed",
        "version": version,
        "seed": 5,
        "tokenizer": "whitespace",
        "sources": sources,
        "span_replacements": [{"attribute": "pii.regex.email", "replacement": "MAIL ADDRESS"}],
        "output": {"format": fmt, "shard_size": 3000},
    }


def build(root: Path, spec_dict: dict, out: str, backend=None, on_error="skip"):
    path = write_spec(root / out / "mix.yaml", spec_dict)  # one file name: it is content
    run = RunOptions(backend or SerialBackend(), on_error=on_error, progress=False)
    return build_mix(path, data_root=root, output=root / out, run_options=run)


def files(mix_dir: Path) -> dict[str, bytes]:
    return {
        p.relative_to(mix_dir).as_posix(): p.read_bytes()
        for p in sorted(mix_dir.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def test_tokens_from_attribute_give_the_same_mix_as_counting(tmp_path):
    dataset(tmp_path)
    counted = build(tmp_path, spec(tokens=False), "counted")
    read = build(tmp_path, spec(tokens=True), "read")
    assert files(counted.mix_dir) == files(read.mix_dir)
    a, b = read_manifest(counted.mix_dir), read_manifest(read.mix_dir)
    assert a.sources == b.sources and a.shards == b.shards
    assert b.warnings == () and b.spec["sources"][0]["tokens"] == "tok.tokens.count"
    assert "tokens" not in a.spec["sources"][0]  # specs without it keep their hash
    # b0 has 50 words; the replacement turns one word into two.
    books = b.sources[1].funnel.tokens_available
    assert books == sum(50 + 3 * i for i in range(10)) + 1


def test_tokens_are_read_from_the_attribute_except_where_spans_changed_the_text(tmp_path):
    dataset(tmp_path, factor=2.0)
    m = build(tmp_path, spec(tokens=True), "double").manifest
    web, books = m.sources
    assert web.funnel.tokens_available == 2 * sum(20 + i % 7 for i in range(30))
    # b0's text was changed by a span replacement: counted (51 words), not read (100)
    assert books.funnel.tokens_available == 2 * sum(50 + 3 * i for i in range(1, 10)) + 51


def test_missing_token_values_are_counted_with_a_warning(tmp_path):
    dataset(tmp_path, factor=2.0, missing=3)
    m = build(tmp_path, spec(tokens=True), "missing").manifest
    assert m.warnings == (
        "source 'books': 1 passing documents have no 'tok.tokens.count' value; their tokens "
        "were counted with whitespace",
        "source 'web': 1 passing documents have no 'tok.tokens.count' value; their tokens "
        "were counted with whitespace",
    )
    # web w3 (23 words) counted once, the others read at twice their count
    expected = 2 * sum(20 + i % 7 for i in range(30) if i != 3) + 23
    assert m.sources[0].funnel.tokens_available == expected


def test_a_token_value_that_is_not_a_count_is_an_error(tmp_path):
    dataset(tmp_path, bad=2)
    with pytest.raises(DolmakitError) as info:
        build(tmp_path, spec(tokens=True), "bad", on_error="fail")
    assert str(info.value) == (
        "documents/web/part-0.jsonl.zst:3: source 'web', id 'w2': tokens: 'tok.tokens.count' "
        "is 2.5, not a token count (a non-negative integer)"
    )


def test_a_tokens_run_of_another_tokenizer_is_refused(tmp_path):
    dataset(tmp_path)
    record = tmp_path / "attributes" / "tok" / ".dolmakit" / "run.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"run": "tok", "taggers": [{"name": "tokens", "params": {}}]}))
    with pytest.raises(ConfigError) as info:
        build(tmp_path, spec(tokens=True), "other")
    assert str(info.value) == (
        f"{tmp_path / 'other' / 'mix.yaml'}:12: sources[0].tokens: run 'tok' counted tokens with "
        "'cl100k_base', but the spec's tokenizer is 'whitespace': tag again with tokenizer "
        "whitespace, or remove 'tokens' to count them here"
    )


def test_tokens_must_name_an_attribute(tmp_path):
    dataset(tmp_path)
    bad = spec(tokens=True)
    bad["sources"][1]["tokens"] = "metadata.tokens"
    with pytest.raises(ConfigError) as info:
        build(tmp_path, bad, "meta")
    assert str(info.value).endswith(
        "sources[1].tokens: 'metadata.tokens' is not an attribute (e.g. tags.tokens.count)"
    )


@pytest.mark.parametrize("fmt", ["jsonl.gz", "jsonl.zst"])
def test_shards_written_in_parts_by_two_workers_equal_serial(tmp_path, monkeypatch, fmt):
    dataset(tmp_path)
    whole = build(tmp_path, spec(True, fmt), "whole")
    monkeypatch.setattr(shards, "PART_BYTES", 700)  # several parts per 3000-byte shard
    serial = build(tmp_path, spec(True, fmt), "serial", backend=SerialBackend())
    pooled = build(tmp_path, spec(True, fmt), "pooled", backend=ProcessBackend(2))
    assert files(serial.mix_dir) == files(pooled.mix_dir)
    assert serial.manifest.content_sha256 == pooled.manifest.content_sha256
    # parts are independent gzip members / zstd frames: other bytes, the same documents
    first = "shard-00000." + fmt
    assert (serial.mix_dir / first).read_bytes() != (whole.mix_dir / first).read_bytes()
    assert read_output(serial.mix_dir) == read_output(whole.mix_dir)
    if fmt == "jsonl.gz":  # any gzip reader sees the members as one stream
        text = gzip.decompress((serial.mix_dir / first).read_bytes()).decode()
        assert [json.loads(x)["id"] for x in text.splitlines()] == [
            d["id"] for d in read_output(whole.mix_dir)[: len(text.splitlines())]
        ]
