"""Contamination through the pipeline: tag, mix (filter and mask), manifest, audit, CLI."""

from __future__ import annotations

import json
import random
from pathlib import Path

from click.testing import CliRunner
from test_mix_helpers import read_output, write_jsonl, write_spec

from dolmakit.cli.main import cli
from dolmakit.run.options import RunOptions

VOCAB = [f"v{i}" for i in range(3000)]


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(n))


def setup(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """Write a benchmark of 4 examples and a dataset where 2 of them are planted."""
    rng = random.Random(9)
    examples = [_text(rng, 40) for _ in range(4)]
    write_jsonl(
        tmp_path / "evals" / "quiz.jsonl",
        [{"uid": f"quiz-{i}", "q": e.rsplit(" ", 10)[0], "a": e.split()[-10:]}
         for i, e in enumerate(examples)],
    )  # fmt: skip
    docs = [{"id": f"d{i}", "text": _text(rng, 80)} for i in range(10)]
    docs[2]["text"] = "Before. " + examples[0].upper() + " After."
    docs[5]["text"] += "\n" + " ".join(examples[1].split()[:25])
    docs[7]["text"] += " " + " ".join(examples[3].split()[:14])  # 0.35: not present
    data = tmp_path / "data"
    write_jsonl(data / "documents" / "web" / "part-0.jsonl.zst", docs)
    return data, tmp_path / "evals" / "quiz.jsonl", examples


def spec_dict(**changes: object) -> dict:
    out = {
        "name": "m",
        "version": 1,
        "seed": 1,
        "tokenizer": "whitespace",
        "sources": [
            {
                "name": "web",
                "documents": "documents/web/*.jsonl.zst",
                "attributes": ["evals"],
                "weight": 1.0,
            }
        ],
    }
    out.update(changes)
    return out


def test_tag_mix_and_audit(tmp_path: Path) -> None:
    data, bench, examples = setup(tmp_path)
    runner = CliRunner()
    index = tmp_path / "quiz.index"
    result = runner.invoke(
        cli,
        ["contamination", "index", str(bench), "--name", "evals", "--fields", "q,a",
         "--id-field", "uid", "-o", str(index)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "quiz: 4 of 4 examples indexed"
    result = runner.invoke(
        cli,
        ["-q", "tag", str(data / "documents"), "--run", "evals", "--taggers", "contamination",
         "--param", f"contamination.index={index}", "--backend", "serial"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in _read(data / "attributes/evals/web/part-0.jsonl.zst")]
    hit = {
        i: a["attributes"]["evals__contamination__examples_hit"][0][2] for i, a in enumerate(lines)
    }
    assert hit == {i: (1 if i in (2, 5) else 0) for i in range(10)}
    attrs = lines[2]["attributes"]
    assert attrs["evals__contamination__example_quiz"][0][2] == 0
    assert attrs["evals__contamination__coverage_quiz"][0][2] == 1.0
    span = attrs["evals__contamination__match"][0]
    doc2 = "Before. " + examples[0].upper() + " After."
    assert doc2[span[0] : span[1]] == examples[0].upper()
    assert lines[5]["attributes"]["evals__contamination__coverage_quiz"][0][2] == 0.625
    assert lines[7]["attributes"]["evals__contamination__longest_match"][0][2] == 14
    assert lines[7]["attributes"]["evals__contamination__max_coverage"][0][2] == 0.35
    run = json.loads((data / "attributes/evals/.dolmakit/run.json").read_text())
    assert run["taggers"][0]["record"]["n"] == 13

    plain = write_spec(tmp_path / "v1.yaml", spec_dict())
    masked = write_spec(
        tmp_path / "v2.yaml",
        spec_dict(version=2, span_replacements=[
            {"attribute": "contamination.match", "replacement": "[benchmark]"}]),
    )  # fmt: skip
    dropped = write_spec(tmp_path / "v3.yaml", spec_dict(version=3))
    dropped_spec = spec_dict(version=3)
    dropped_spec["sources"][0]["filter"] = "contamination.examples_hit == 0"
    write_spec(dropped, dropped_spec)
    for path in (plain, masked, dropped):
        out = str(tmp_path / "mixes")
        args = ["-q", "mix", str(path), "--data-root", str(data), "--output", out]
        result = runner.invoke(cli, [*args, "--backend", "serial"])
        assert result.exit_code == 0, result.output
    mixes = tmp_path / "mixes" / "m"
    texts = {d["id"]: d["text"] for d in read_output(mixes / "v2")}
    assert texts["d2"] == "Before. [benchmark] After."
    assert " ".join(examples[1].split()[:25]) not in texts["d5"] and "[benchmark]" in texts["d5"]
    assert {d["id"] for d in read_output(mixes / "v3")} == {f"d{i}" for i in range(10)} - {
        "d2",
        "d5",
    }
    manifest = json.loads((mixes / "v2" / "manifest.json").read_text())
    (record,) = manifest["contamination"]
    assert record["run"] == "evals" and record["benchmarks"] == ["quiz"]
    assert record["sha256"] == run["taggers"][0]["record"]["index_sha256"]
    assert record["index"] == str(index.resolve())  # outside the data root: absolute

    audit = ["audit", "contamination", "--index", str(index), "--workers", "1"]
    result = runner.invoke(cli, [*audit, str(mixes / "v1"), "--max-share", "0.25"])
    assert result.exit_code == 1, result.output
    assert (
        "quiz: 2 of 4 detectable examples found (50.0%; 4 in the benchmark) in 2 documents"
        in result.output
    )
    assert "ABOVE --max-share 0.25" in result.output and "quiz-0 (#0): 40 words" in result.output
    result = runner.invoke(cli, [*audit, str(mixes / "v1"), "--max-share", "0.5"])
    assert result.exit_code == 0, result.output
    for version in ("v2", "v3"):
        result = runner.invoke(cli, [*audit, str(mixes / version), "--max-share", "0", "--json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        assert report["ok"] and report["benchmarks"][0]["found"] == 0
    assert report["mix_record"][0]["sha256"] == report["index_sha256"]


def test_tagger_refuses_missing_index_parameter(tmp_path: Path) -> None:
    data, _, _ = setup(tmp_path)
    result = CliRunner().invoke(
        cli, ["-q", "tag", str(data / "documents"), "--run", "e", "--taggers", "contamination"]
    )
    assert result.exit_code == 1
    assert "'contamination': bad parameters: missing a required argument: 'index'" in result.output
    result = CliRunner().invoke(
        cli, ["-q", "tag", str(data / "documents"), "--run", "e", "--taggers", "contamination",
              "--param", f"contamination.index={tmp_path}"],
    )  # fmt: skip
    assert result.exit_code == 1 and "not a benchmark index" in result.output


def _read(path: Path) -> list[str]:
    from dolmakit.io.reader import iter_lines

    return [line.decode() for _, line in iter_lines(str(path), 1 << 20) if line is not None]


def test_card_has_a_contamination_section(tmp_path: Path) -> None:
    from dolmakit.audit.card_data import render_card
    from dolmakit.contamination.index import index_benchmarks
    from dolmakit.mix import build_mix
    from dolmakit.taggers.recipes import TaggerSpec
    from dolmakit.taggers.stage import tag

    data, bench, _ = setup(tmp_path)
    index = tmp_path / "quiz.index"
    index_benchmarks([str(bench)], index, "evals", ["q", "a"], "uid")
    spec = TaggerSpec("contamination", {"index": str(index)})
    tag([data / "documents"], "evals", [spec], run_options=RunOptions(progress=False))
    quiet = RunOptions(progress=False)
    mix = build_mix(write_spec(tmp_path / "v1.yaml", spec_dict()), data_root=data,
                    output=tmp_path / "mixes", run_options=quiet).mix_dir  # fmt: skip
    md, html = render_card(mix, data_root=data)
    text = md.read_text()
    assert "## Benchmark contamination" in text
    assert "| quiz | 2 of 4 | 50.0% | 2 | web (2) |" in text
    assert "Benchmark examples found in the mix" in html.read_text()
