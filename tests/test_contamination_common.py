"""Boilerplate no benchmark repeats: n-grams common in a reference corpus, licence folders."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_lines

from dolmakit.cli.main import cli
from dolmakit.contamination.index import IndexOptions, index_benchmarks
from dolmakit.contamination.lookup import open_index
from dolmakit.contamination.match import match_texts
from dolmakit.errors import ConfigError, InputError

VOCAB = [f"t{i}" for i in range(4000)]


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(n))


def setup(tmp_path: Path) -> tuple[Path, Path, str, str]:
    """A benchmark whose first example is half licence text, and a corpus where the licence
    is in 25 documents (each with its own other text) and the distinctive half in one."""
    rng = random.Random(11)
    licence = "permission is hereby granted free of charge to any person obtaining a copy " + words(
        rng, 17
    )
    distinctive = words(rng, 30)
    bench = write_lines(
        tmp_path / "quiz.jsonl",
        [
            {"id": "mixed", "q": f"{licence} {distinctive}"},
            {"id": "licence", "q": licence},
            {"id": "other", "q": words(rng, 40)},
        ],
    )
    docs = [{"id": f"l{i}", "text": f"{words(rng, 20)}\n\n{licence}\n\n{words(rng, 20)}"}
            for i in range(25)]  # fmt: skip
    docs.append({"id": "hit", "text": f"{words(rng, 10)} {distinctive} {words(rng, 10)}"})
    corpus = tmp_path / "corpus" / "documents" / "web"
    write_lines(corpus / "part-0.jsonl", docs[:13])
    write_lines(corpus / "part-1.jsonl.gz", docs[13:])
    return bench, tmp_path / "corpus", licence, distinctive


def build(tmp_path: Path, bench: Path, out: str, **options: object) -> Path:
    index_benchmarks([f"quiz={bench}"], tmp_path / out, "quiz", ["q"], "id",
                     IndexOptions(**options))  # type: ignore[arg-type]  # fmt: skip
    return tmp_path / out


def found(root: Path, text: str) -> list[str]:
    index = open_index(root)
    (result,) = match_texts(index, [text], 0.4)
    return sorted(index.example_id[h.example] for h in result.hits)


def test_ngrams_common_in_a_reference_corpus_are_set_aside(tmp_path: Path) -> None:
    bench, corpus, licence, distinctive = setup(tmp_path)
    page = f"header text here\n\n{licence}\n\nfooter text there"
    # Without the rule, a page holding only the licence "contains" both licence examples.
    plain = build(tmp_path, bench, "plain")
    assert found(plain, page) == ["licence", "mixed"]
    root = build(tmp_path, bench, "common", common_in=(corpus,), max_docs_per_ngram=20)
    assert found(root, page) == []
    assert found(root, f"intro {distinctive} outro") == ["mixed"]
    record = json.loads((root / "index.json").read_text())
    licence_ngrams = len(licence.split()) - 13 + 1
    assert record["common_in"]["documents"] == 26 and record["common_in"]["files"] == 2
    assert record["common_in"]["ngrams"] == licence_ngrams
    assert record["common_in"]["max_docs_per_ngram"] == 20
    assert record["common_ngrams"] == licence_ngrams
    statuses = record["benchmarks"][0]["examples"]
    assert statuses["only_common"] == 1 and statuses["indexed"] == 2
    # The threshold is "more than": at 25 the 25 licence documents are not enough.
    loose = build(tmp_path, bench, "loose", common_in=(corpus,), max_docs_per_ngram=25)
    assert found(loose, page) == ["licence", "mixed"]
    again = build(tmp_path, bench, "again", common_in=(corpus,), max_docs_per_ngram=20)
    for name in ("index.json", "ngrams.npy", "common.npy", "examples.parquet"):
        assert (root / name).read_bytes() == (again / name).read_bytes()


def test_a_bad_reference_corpus_stops_the_build_naming_it(tmp_path: Path) -> None:
    bench, corpus, _, _ = setup(tmp_path)
    (corpus / "documents" / "web" / "part-2.jsonl").write_text('{"id": "x", "text": "a"}\n{oops\n')
    with pytest.raises(InputError, match=r"part-2\.jsonl:2"):
        build(tmp_path, bench, "bad", common_in=(corpus,))
    short = write_lines(tmp_path / "short.jsonl", [{"id": "s", "q": "only five words here now"}])
    (corpus / "documents" / "web" / "part-2.jsonl").unlink()
    summary = index_benchmarks([f"s={short}"], tmp_path / "short", "s", ["q"], "id",
                               IndexOptions(common_in=(corpus,)))  # fmt: skip
    assert summary.record["common_in"]["documents"] == 26
    assert summary.record["common_in"]["ngrams"] == 0
    assert "1 shorter than 13 words (not detectable)" in summary.lines[0]
    with pytest.raises(ConfigError, match="at least 1"):
        build(tmp_path, bench, "zero", common_in=(corpus,), max_docs_per_ngram=0)


def test_cli_common_in_and_a_folder_of_boilerplate(tmp_path: Path) -> None:
    bench, corpus, licence, _ = setup(tmp_path)
    runner = CliRunner()
    args = ["contamination", "index", f"quiz={bench}", "--name", "quiz", "--fields", "q"]
    args += ["--id-field", "id"]
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "a"), "--common-in", str(corpus)])
    assert result.exit_code == 0, result.output
    assert "18 of them held by more than 20 of the 26 documents in 2 reference files" in (
        result.output
    )
    assert "1 made only of common n-grams" in result.output
    licences = tmp_path / "common-licenses"
    licences.mkdir()
    (licences / "MIT").write_text(f"The licence:\n\n{licence}\n")
    (licences / ".hidden").write_text("ignored " * 20)
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "b"), "--boilerplate", str(licences)])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "b" / "index.json").read_text())
    assert [f["path"] for f in record["boilerplate"]] == ["MIT"]
    assert found(tmp_path / "b", licence) == []
    missing = tmp_path / "nowhere"
    result = runner.invoke(cli, [*args, "-o", str(tmp_path / "c"), "--common-in", str(missing)])
    assert result.exit_code != 0 and "nowhere" in result.output
    assert "Traceback" not in result.output
