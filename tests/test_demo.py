"""The demo end to end, and audit answers about known documents of the demo mix.

Expected answers are worked out here from the demo corpus, the attribute files and the shards
directly (not through the audit code): the mirror's exact copies are duplicates of the
python-doc document they were copied from, manuals failing the Gopher rules are rejected by
that clause, python documents that pass every filter but appear in no shard were not sampled,
and manuals appearing twice in the shards are repeats.
"""

from __future__ import annotations

import collections
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dolmakit import read_documents
from dolmakit.audit.trace import trace, where
from dolmakit.cli.main import cli

pytest.importorskip("fasttext")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(cli, ["-q", "demo", str(out), "--workers", "2"])
    assert result.exit_code == 0, result.output
    return out, result.output


def shard_copies(mix: Path) -> collections.Counter[tuple[str, int]]:
    """Count output copies per (input path, line) from the shards' provenance."""
    copies: collections.Counter[tuple[str, int]] = collections.Counter()
    for shard in sorted(mix.glob("shard-*.jsonl.zst")):
        for _, doc in read_documents(shard):
            prov = (doc.metadata or {})["provenance"]
            copies[(prov["path"], prov["line"])] += 1
    return copies


def attributes(out: Path, run: str, rel: str) -> list[dict[str, Any]]:
    path = out / "data" / "attributes" / run / rel
    return [json.loads(line)["attributes"] for line in _lines(path)]


def _lines(path: Path) -> list[str]:
    from dolmakit.io.compression import iter_chunks

    return b"".join(iter_chunks(path)).decode().splitlines()


def test_demo_ends_with_the_audit_summary_and_the_card(demo: tuple[Path, str]) -> None:
    out, output = demo
    lines = output.splitlines()
    assert lines[0].startswith("corpus: 2,240 documents in 12 files from 6 sources")
    assert lines[-5].startswith("index: 1 index shard over 1,050 documents, ")
    assert lines[-4].startswith("audit verify: verified demo v2: ")
    assert lines[-4].endswith("all match the manifest")
    assert lines[-3] == f"data card: {out / 'mixes/demo/v2/card.html'} (and card.md)"
    assert (out / "mixes/demo/v2/manifest.json").is_file()
    assert (out / "mixes/demo/v1/manifest.json").is_file()
    html = (out / "mixes/demo/v2/card.html").read_text()
    assert html.count("<svg") >= 5


def test_demo_ends_by_tracing_a_made_up_output(demo: tuple[Path, str]) -> None:
    from dolmakit.demo import demo_output

    out, output = demo
    mix = out / "mixes/demo/v2"
    found = re.fullmatch(
        r"trace: a \d+-word output repeats \d+ spans? of the mix; the longest, \d+ words"
        r' \("(?P<span>.+)"\), is in the mix .+, in document (?P<id>\S+) \(source manuals\)'
        r" at (?P<shard>shard-\d+\.jsonl\.zst):(?P<row>\d+), from (?P<path>\S+):(?P<line>\d+)",
        output.splitlines()[-2],
    )
    assert found, output.splitlines()[-2]
    doc = dict(read_documents(mix / found["shard"]))[int(found["row"])]
    assert doc.id == found["id"]
    assert found["span"] in doc.text and found["span"] in demo_output(mix)
    provenance = (doc.metadata or {})["provenance"]
    assert (provenance["path"], provenance["line"]) == (found["path"], int(found["line"]))
    assert (mix / "index" / "index.json").is_file()


def shard_lines(mix: Path) -> list[bytes]:
    """Return every output line of a mix as stored, in shard order."""
    from dolmakit.io.compression import iter_chunks

    out: list[bytes] = []
    for shard in sorted(mix.glob("shard-*.jsonl.zst")):
        out.extend(b"".join(iter_chunks(shard)).splitlines())
    return out


def test_demo_publishes_v2_summarises_it_and_takes_two_fortunes_down_as_v3(
    demo: tuple[Path, str],
) -> None:
    out, output = demo
    v2, v3 = out / "mixes/demo/v2", out / "mixes/demo/v3"
    lines = output.splitlines()
    totals = json.loads((v2 / "manifest.json").read_text())["totals"]
    published = f"published demo v2: {totals['documents']:,} documents in 1 Parquet file"
    assert f"{published} -> {out / 'release/v2'}" in lines
    card = (out / "release/v2/README.md").read_text()
    assert card.startswith("---\n") and (out / "release/v2/croissant.json").is_file()
    summary = json.loads((out / "summary/v2/summary.json").read_text())
    assert summary["missing"] == ["crawler"]  # the demo provider.yaml leaves it empty
    assert summary["provider"]["market_date"] == "2027-01-01"
    assert summary["size"]["text"]["tokens"] == totals["tokens"]
    # the list: the first two fortunes of v2's output, read from its shards
    fortunes = []
    for line in shard_lines(v2):
        doc = json.loads(line)
        if doc["metadata"]["provenance"]["source"] == "fortunes" and doc["id"] not in fortunes:
            fortunes.append(doc["id"])
    listed = (out / "takedown-ids.txt").read_text().split()
    assert listed == fortunes[:2]
    after = shard_lines(v3)
    assert after == [x for x in shard_lines(v2) if json.loads(x)["id"] not in listed]
    assert "takedown 1 of demo v2 -> v3: 2 of 2 ids matched; removed 2 documents" in output
    assert f"audit diff v2 -> v3: 0 added, 2 removed ({', '.join(sorted(listed))}), " in output
    [origin] = where(v3, listed[0])
    assert origin.reason().startswith("not in the mix: removed by takedown 1 (demo: ")


def test_where_names_the_kept_original_of_a_mirror_copy(demo: tuple[Path, str]) -> None:
    out, _ = demo
    mirror = list(read_documents(out / "data/documents/python-mirror/en-0000.jsonl.zst"))
    line, copy = next((n, d) for n, d in mirror if (d.metadata or {})["copy"] == "exact")
    original = (copy.metadata or {})["derived_from"]
    [origin] = where(out / "mixes/demo/v2", f"documents/python-mirror/en-0000.jsonl.zst:{line}")
    assert origin.copies == 0
    assert origin.duplicate_of is not None and original in origin.duplicate_of
    assert origin.failed_clause == "not exact.duplicate"


def test_where_names_the_filter_clause_that_rejected_a_manual(demo: tuple[Path, str]) -> None:
    out, _ = demo
    rel = "debian-reference/en-0000.jsonl.zst"
    rows = attributes(out, "tags", rel)
    failing = [
        i + 1 for i, attrs in enumerate(rows) if attrs["tags__gopher_quality__pass"][0][2] == 0
    ]
    assert failing, "the demo corpus has manuals failing the Gopher rules"
    [origin] = where(out / "mixes/demo/v2", f"documents/{rel}:{failing[0]}")
    assert origin.copies == 0
    assert origin.failed_clause == "gopher_quality.pass == 1"


def test_where_says_not_sampled_and_trace_lists_repeats(demo: tuple[Path, str]) -> None:
    out, _ = demo
    mix = out / "mixes/demo/v2"
    copies = shard_copies(mix)
    rel = "python-doc/en-0000.jsonl.zst"
    exact = attributes(out, "dedup_exact", rel)
    near = attributes(out, "dedup_minhash", rel)
    unsampled = [
        i + 1
        for i in range(len(exact))
        if not exact[i].get("dedup_exact__exact__duplicate")
        and not near[i].get("dedup_minhash__minhash__duplicate")
        and copies[(f"documents/{rel}", i + 1)] == 0
    ]
    assert unsampled, "python is downsampled in the demo mix"
    [origin] = where(mix, f"documents/{rel}:{unsampled[0]}")
    assert origin.copies == 0
    assert origin.failed_clause is None and origin.duplicate_of is None
    assert origin.u is not None and origin.rate is not None and origin.u >= origin.rate

    twice = sorted(key for key, n in copies.items() if n == 2)
    assert twice, "the manuals are upsampled in demo v2"
    path, line = twice[0]
    [origin] = where(mix, f"{path}:{line}")
    assert origin.copies == 2
    doc_id = origin.id
    traced = trace(mix, doc_id)
    assert sum(o.copies for o in traced) == 2
    assert len(traced[0].locations) == 2


def test_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    precious = tmp_path / "data" / "precious.txt"
    precious.write_text("keep me")
    result = CliRunner().invoke(cli, ["-q", "demo", str(tmp_path)])
    assert result.exit_code == 1
    assert "was not made by `dolmakit demo`" in result.output
    assert precious.read_text() == "keep me"


def test_demo_takes_new_empty_or_earlier_demo_folders(tmp_path: Path) -> None:
    from dolmakit.demo import MARKER, _claim

    _claim(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    _claim(tmp_path / "empty")
    assert (tmp_path / "new" / MARKER).is_file() and (tmp_path / "empty" / MARKER).is_file()
    (tmp_path / "new" / "data").mkdir()
    _claim(tmp_path / "new")  # an earlier demo's folder, with its marker, is taken again


def test_demo_on_object_storage_writes_the_local_bytes(
    demo: tuple[Path, str], s3_bucket: Any
) -> None:
    local, output = demo
    remote = s3_bucket / "demo"
    result = CliRunner().invoke(cli, ["-q", "demo", str(remote), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.replace(str(remote), "ROOT") == output.replace(str(local), "ROOT")
    mix = local / "mixes" / "demo" / "v2"
    shards = sorted(p.name for p in mix.glob("shard-*"))
    assert (
        shards
        and sorted(
            p.name for p in (remote / "mixes/demo/v2").iterdir() if p.name.startswith("shard-")
        )
        == shards
    )
    for name in shards:
        assert (remote / "mixes/demo/v2" / name).read_bytes() == (mix / name).read_bytes(), name


def readme_examples() -> list[str]:
    """Return the README's shell examples that run on a demo output (not Ray, S3, the demo)."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"^```sh\n(.*?)^```$", readme, re.DOTALL | re.MULTILINE):
        for command in block.replace("\\\n", " ").splitlines():
            command = command.split("  #")[0].strip()
            runs_here = "--backend ray" not in command and "s3://" not in command
            runs_here = runs_here and "--serve" not in command  # a server: test_trace_browser
            if command.startswith(("dolmakit ", "printf ")) and "demo-out" in command and runs_here:
                commands.append(command)
    return [c for c in commands if not c.startswith("dolmakit demo ")]


@pytest.mark.slow  # about a minute: every example, run as a user would, on a copy of the demo
def test_readme_examples_work_on_the_demo_output(demo: tuple[Path, str], tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    out, _ = demo
    examples = readme_examples()
    assert len(examples) >= 15  # inspect, convert, tag, train, dedup, mix, audit, stats
    assert not any(re.search(r"(?<![-\w/])data/documents", c) for c in examples)
    shutil.copytree(out, tmp_path / "demo-out")
    for folder in ("mixes", "taggers"):
        (tmp_path / folder).symlink_to(Path(__file__).resolve().parent.parent / folder)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for command in examples:
        done = subprocess.run(
            ["sh", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr, command
    # everything the examples wrote is under demo-out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo-out", "mixes", "taggers"]
    assert (tmp_path / "demo-out" / "stats.html").is_file()


def test_demo_finds_its_benchmark_in_v1_and_v2_masks_it(demo: tuple[Path, str]) -> None:
    from dolmakit.contamination.ngrams import normalise

    out, output = demo
    assert "contamination index: demo_quiz: 6 of 6 examples indexed" in output
    assert "audit contamination v1: 6 of 6 examples of benchmark demo_quiz found" in output
    assert "audit contamination v2: 0 of 6 examples of benchmark demo_quiz found" in output
    bench = out / "data" / "benchmarks" / "demo_quiz.jsonl"
    rows = [json.loads(line) for line in bench.read_text().splitlines()]
    # Worked out from the shards directly: each question's words, normalised, in v1 and not v2.
    questions = [" ".join(normalise(r["question"])) for r in rows]

    def texts(version: str) -> list[str]:
        mix = out / "mixes" / "demo" / version
        return [d.text for s in sorted(mix.glob("shard-*.jsonl.zst")) for _, d in read_documents(s)]

    v1 = [" ".join(normalise(t)) for t in texts("v1")]
    raw2 = texts("v2")
    v2 = [" ".join(normalise(t)) for t in raw2]
    assert all(any(q in t for t in v1) for q in questions)
    assert not any(q[:200] in t for q in questions for t in v2)
    assert sum(t.count("|||BENCHMARK|||") for t in raw2) >= 6
    manifest = json.loads((out / "mixes/demo/v2/manifest.json").read_text())
    (record,) = manifest["contamination"]
    assert record["benchmarks"] == ["demo_quiz"] and record["run"] == "evals"
    index = out / "data" / "benchmarks" / "demo_quiz.index"
    audit = ["audit", "contamination", "--index", str(index), "--max-share", "0"]
    result = CliRunner().invoke(cli, [*audit, str(out / "mixes/demo/v1")])
    assert result.exit_code == 1 and "demo_quiz: 6 of 6 detectable examples found" in result.output
    assert "\n  source python: " in result.output and "coverage 1.00, document " in result.output
    result = CliRunner().invoke(cli, [*audit, str(out / "mixes/demo/v2")])
    assert result.exit_code == 0, result.output


def demo_files(out: Path) -> dict[str, bytes]:
    """Return the demo's output files by relative path (records with mtimes left out)."""
    found = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        if not rel.endswith((".done.json", "/lock")) and "/.dolmakit/pipelines/" not in rel:
            found[rel] = path.read_bytes()
    return found


@pytest.mark.slow  # tens of seconds: both dedup runs and a release, on the demo's own folder
def test_the_example_pipeline_makes_what_the_demo_made(demo: tuple[Path, str]) -> None:
    """`pipelines/demo.yaml`, run where the demo ran, finds its work done and changes no byte.

    Run last, on the demo's folder itself (the stages' shard records name absolute paths, so
    a copy would be tagged again); it only adds the pipeline's records and a release.
    """
    out, _ = demo
    repo = Path(__file__).resolve().parent.parent
    before = demo_files(out)
    text = (repo / "pipelines" / "demo.yaml").read_text()
    pipeline = out.parent / "demo-pipeline.yaml"
    pipeline.write_text(text.replace("../demo-out/", f"{out}/").replace("../", f"{repo}/"))
    result = CliRunner().invoke(cli, ["-q", "run", str(pipeline), "--workers", "2"])
    assert result.exit_code == 0, result.output
    rows = {line.split("  ")[0]: line for line in result.output.splitlines()[2:]}
    assert "12 of 12 shards" in rows["tag tags (demo)"]
    assert "12 of 12 shards" in rows["tag evals (demo)"]
    assert "built earlier" in rows["mix demo v1"] and "built earlier" in rows["mix demo v2"]
    assert rows["index demo v2"].endswith("up to date")
    after = demo_files(out)
    release = {k for k in after if k.startswith("release/pipeline-v2/")}
    assert "release/pipeline-v2/README.md" in release
    assert {k: v for k, v in after.items() if k not in release} == before
