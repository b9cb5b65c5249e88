"""benchmarks/bench_pipeline.py: the four stages as fresh processes on a tiny corpus."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from conftest import ROOT, write_lines


def load_bench() -> ModuleType:
    path = ROOT / "benchmarks" / "bench_pipeline.py"
    spec = importlib.util.spec_from_file_location("bench_pipeline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def tiny_corpus(root: Path) -> Path:
    """Write 24 documents: distinct texts, exact copies, and one with an e-mail address."""
    para = "The quick brown fox jumps over the lazy dog while the farmer watches the field."
    docs = []
    for i in range(16):
        body = "\n\n".join(f"{para} Paragraph {j} of document {i} says {i * j}." for j in range(8))
        docs.append({"id": f"d{i}", "text": body, "source": "web"})
    docs += [{"id": f"copy{i}", "text": docs[i]["text"], "source": "web"} for i in range(6)]
    docs.append({"id": "mail", "text": docs[7]["text"] + "\n\nWrite to me@example.org now."})
    docs.append({"id": "blank", "text": "   ", "source": "web"})
    write_lines(root / "documents" / "web" / "en-0000.jsonl.zst", docs[:12])
    write_lines(root / "documents" / "web" / "en-0001.jsonl.zst", docs[12:])
    return root


def test_pipeline_bench_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_bench()
    corpus = tiny_corpus(tmp_path / "corpus")
    before = sorted(p.relative_to(corpus) for p in corpus.rglob("*"))
    out = tmp_path / "result.json"
    scratch = tmp_path / "scratch"
    code = bench.main(
        ["--corpus", str(corpus), "--workers", "1", "--json", str(out), "--scratch", str(scratch)]
    )
    assert code == 0
    # The corpus is left as it was (attributes and the mix went to the scratch copy, removed).
    assert sorted(p.relative_to(corpus) for p in corpus.rglob("*")) == before
    assert not scratch.exists()
    result = json.loads(out.read_text())
    assert result["input_bytes"] == sum(bench.uncompressed_size(p) for p in corpus.rglob("*.zst"))
    summary = result["variants"]["after"]
    assert [s["stage"] for s in summary["stages"]] == list(bench.STAGES)
    for stage in summary["stages"]:
        # A stage is at least a Python interpreter importing dolmakit: CPU and memory show it.
        assert stage["cpu_s"] > 0.05 and stage["wall_s"] > 0 and stage["peak_rss_mb"] > 20
    total = summary["total"]
    assert total["cpu_s"] == pytest.approx(sum(s["cpu_s"] for s in summary["stages"]), abs=0.01)
    expected = total["cpu_s"] / 3600 * 1e12 / result["input_bytes"]
    assert total["core_hours_per_tb"] == pytest.approx(expected, rel=1e-3)
    printed = capsys.readouterr().out
    assert "dedup minhash" in printed and "core-h per TB" in printed

    # --compare against the saved result prints before/after rows for every stage.
    saved = tmp_path / "old.json"
    saved.write_text(out.read_text())
    rows = bench.format_compare(json.loads(saved.read_text())["variants"]["after"], summary, False)
    assert [line.split()[0] for line in rows.splitlines()[1:]] == [
        "tag",
        "dedup",
        "dedup",
        "mix",
        "total",
    ]
    assert "1.00x" in rows


def test_failing_stage_names_the_stage_and_its_log(tmp_path: Path) -> None:
    bench = load_bench()
    corpus = tiny_corpus(tmp_path / "corpus")
    broken = tmp_path / "broken-python"
    broken.write_text("#!/bin/sh\necho 'no dolmakit here' >&2\nexit 3\n")
    broken.chmod(0o755)
    with pytest.raises(SystemExit, match=r"(?s)stage 'tag' failed \(exit 3\).*no dolmakit here"):
        bench.main(
            ["--corpus", str(corpus), "--python", str(broken), "--scratch", str(tmp_path / "s")]
        )


def test_no_documents_is_one_clear_line(tmp_path: Path) -> None:
    bench = load_bench()
    (tmp_path / "empty" / "documents").mkdir(parents=True)
    with pytest.raises(SystemExit, match=r"no .* document files"):
        bench.main(["--corpus", str(tmp_path / "empty")])


def test_core_hours_and_summary_medians() -> None:
    bench = load_bench()
    assert bench.core_hours_per_tb(3600.0, 10**12) == 1.0
    runs = [
        [
            bench.StageTime(stage, cpu, cpu * 2, 100.0 + cpu)
            for stage, cpu in zip(bench.STAGES, cpus, strict=True)
        ]
        for cpus in ([1.0, 2.0, 3.0, 4.0], [3.0, 2.0, 1.0, 6.0], [2.0, 9.0, 2.0, 5.0])
    ]
    summary = bench.summarise(runs, 10**8)
    assert [s["cpu_s"] for s in summary["stages"]] == [2.0, 2.0, 2.0, 5.0]
    assert [s["peak_rss_mb"] for s in summary["stages"]] == [103.0, 109.0, 103.0, 106.0]
    assert summary["total"]["cpu_s"] == 12.0  # median of the run totals 10, 12, 18
    assert summary["stages"][0]["mb_per_s_per_core"] == 50.0
