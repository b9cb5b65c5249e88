"""`dolmakit run`: the same bytes as the separate commands, resume after kill -9, strict config.

The pipeline and the separate commands run on copies of the demo corpus at the same path (one
after the other), so that every recorded path is the same and whole trees can be compared
byte for byte. What may differ is left out: completion records (they hold mtimes), lock
files, the pipeline's own state folder and the build timing in mix manifests.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DEMO_CORPUS, ROOT

from dolmakit.cli.main import cli
from dolmakit.io.lock import PIPELINE_LOCK, exclusive, lock_path
from dolmakit.pipeline import load_pipeline
from dolmakit.pipeline.run import PipelineReport, StageReport, plan

TAGGERS = "lengths,c4,gopher_quality"
# A part of the demo corpus with exact and near copies (the mirror) and two other sources.
SHARDS = (
    "python-doc/en-0000.jsonl.zst",
    "python-mirror/en-0000.jsonl.zst",
    "debian-handbook/en-0000.jsonl.zst",
    "fortunes/en-0000.jsonl.zst",
)
MIX = """\
name: small
version: 1
seed: 7
tokenizer: whitespace
sources:
  - name: python
    documents: [documents/python-doc/*.jsonl.zst, documents/python-mirror/*.jsonl.zst]
    attributes: [tags, dedup_exact, dedup_minhash]
    filter: not exact.duplicate and not minhash.duplicate and gopher_quality.pass == 1
    weight: 0.6
  - name: rest
    documents: [documents/debian-handbook/*.jsonl.zst, documents/fortunes/*.jsonl.zst]
    attributes: [tags, dedup_exact]
    filter: not exact.duplicate
    weight: 0.4
output:
  shard_size: 256KB
"""
PIPELINE = """\
name: small
datasets:
  demo: data
tag:
  - run: tags
    taggers: [lengths, c4, gopher_quality]
dedup:
  - run: dedup_exact
    method: exact
  - run: dedup_minhash
    method: minhash
    keep: {source_priority: [python-doc]}
mixes:
  - spec: mix.yaml
    output: mixes
    index: true
    publish: release
"""


def workspace(root: Path) -> Path:
    """Lay out a fresh copy of the demo corpus, the mix spec and the pipeline under root/ws."""
    ws = root / "ws"
    shutil.rmtree(ws, ignore_errors=True)
    for shard in SHARDS:
        (ws / "data" / "documents" / shard).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DEMO_CORPUS / shard, ws / "data" / "documents" / shard)
    (ws / "mix.yaml").write_text(MIX)
    (ws / "pipeline.yaml").write_text(PIPELINE)
    return ws


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, ["-q", *args])
    assert result.exit_code == 0, result.output
    return result.output


def separate_commands(ws: Path) -> None:
    """Run each stage with its own command, as a user without a pipeline file would."""
    docs, data = str(ws / "data" / "documents"), str(ws / "data")
    serial = ("--backend", "serial")
    invoke("tag", docs, "--run", "tags", "--taggers", TAGGERS, *serial)
    invoke("dedup", "exact", docs, "--run", "dedup_exact", *serial)
    invoke("dedup", "minhash", docs, "--run", "dedup_minhash", "--source-priority", "python-doc")
    mix = str(ws / "mix.yaml")
    invoke("mix", mix, "--data-root", data, "--output", str(ws / "mixes"), *serial)
    invoke("index", str(ws / "mixes" / "small" / "v1"), *serial)
    invoke("publish", str(ws / "mixes" / "small" / "v1"), str(ws / "release"))


def tree(ws: Path) -> dict[str, bytes]:
    """Return every output file's bytes by relative path, leaving out what may differ."""
    out = {}
    for path in sorted(p for p in ws.rglob("*") if p.is_file()):
        rel = path.relative_to(ws).as_posix()
        if rel.startswith("data/.dolmakit/pipelines/") or rel.endswith((".done.json", "/lock")):
            continue
        data = path.read_bytes()
        if path.name == "manifest.json" and "mixes/" in rel:
            manifest = json.loads(data)
            manifest.pop("timing")
            data = json.dumps(manifest, sort_keys=True).encode()
        out[rel] = data
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """Return the folder the runs use and the outputs of the separate commands there."""
    root = tmp_path_factory.mktemp("pipeline")
    ws = workspace(root)
    separate_commands(ws)
    files = tree(ws)
    shutil.rmtree(ws)
    return root, files


def differences(expected: dict[str, bytes], got: dict[str, bytes]) -> list[str]:
    names = sorted(set(expected) | set(got))
    return [n for n in names if expected.get(n) != got.get(n)]


def test_the_pipeline_writes_what_the_separate_commands_write(
    reference: tuple[Path, dict[str, bytes]],
) -> None:
    root, expected = reference
    ws = workspace(root)
    output = invoke("run", str(ws / "pipeline.yaml"), "--workers", "2")
    assert differences(expected, tree(ws)) == []
    assert any(name.startswith("mixes/small/v1/shard-") for name in expected)
    assert "release/README.md" in expected and "mixes/small/v1/index/index.json" in expected
    lines = output.splitlines()
    assert lines[0] == "pipeline small: 6 stages"
    assert lines[1].split() == [
        "stage",
        "documents",
        "bytes",
        "wall",
        "s",
        "cpu",
        "s",
        "done",
        "earlier",
    ]
    assert [line.split("  ")[0] for line in lines[2:8]] == [
        "tag tags (demo)",
        "dedup exact dedup_exact",
        "dedup minhash dedup_minhash",
        "mix small v1",
        "index small v1",
        "publish small v1",
    ]
    assert lines[2].split()[3] == "1,240"  # every document was tagged
    assert lines[8].startswith("total") and lines[8].endswith("0 of 6 stages skipped")

    again = invoke("run", str(ws / "pipeline.yaml"), "--workers", "2").splitlines()
    assert all(" whole stage" in line for line in again[2:8]), again
    assert again[8].endswith("6 of 6 stages skipped")
    assert differences(expected, tree(ws)) == []
    shutil.rmtree(ws)


def test_a_pipeline_killed_midway_finishes_with_the_same_bytes(
    reference: tuple[Path, dict[str, bytes]],
) -> None:
    root, expected = reference
    ws = workspace(root)
    command = [sys.executable, "-m", "dolmakit", "-q", "run", str(ws / "pipeline.yaml")]
    state = ws / "data" / ".dolmakit" / "pipelines" / "small"
    # Killed in the MinHash stage: the tag and exact-dedup stages have finished, and some
    # MinHash signature shards too.
    signatures = ws / "data" / "attributes" / "dedup_minhash" / ".dolmakit" / "records"
    process = subprocess.Popen(
        [*command, "--backend", "serial"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 120
    while not list(signatures.glob("signatures/*.done.json")):
        assert process.poll() is None, process.communicate()[0].decode()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert (state / "dedup-dedup_exact.done.json").is_file()
    assert not (state / "dedup-dedup_minhash.done.json").exists()
    assert not (ws / "mixes" / "small" / "v1" / "manifest.json").exists()

    rerun = subprocess.run(
        [*command, "--workers", "2"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert rerun.returncode == 0, rerun.stderr
    lines = rerun.stdout.splitlines()
    assert " whole stage" in lines[2] and " whole stage" in lines[3]
    assert " whole stage" not in lines[4]
    assert differences(expected, tree(ws)) == []
    shutil.rmtree(ws)


# ------------------------------------------------------------------ the pipeline file


def write_pipeline(tmp_path: Path, text: str) -> Path:
    (tmp_path / "data" / "documents").mkdir(parents=True, exist_ok=True)
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    return path


def run_cli(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["-q", "run", str(path)])
    return result.exit_code, result.output


BAD = [
    ("unknown top key", "name: p\ndatasets: {d: data}\ntags: []\n", ":3: tags: unknown key 'tags'"),
    (
        "unknown tag key",
        "name: p\ndatasets: {d: data}\ntag:\n  - run: t\n    taggers: [lengths]\n    batch: 3\n",
        ":6: tag[0].batch: unknown key 'batch'",
    ),
    (
        "unknown tagger",
        "name: p\ndatasets: {d: data}\ntag:\n  - run: t\n    taggers: [lengths, nope]\n",
        ":5: tag[0].taggers[1]: 'nope': unknown tagger",
    ),
    (
        "unknown minhash key",
        "name: p\ndatasets: {d: data}\ndedup:\n  - run: r\n    method: minhash\n    by: text\n",
        ":6: dedup[0].by: unknown key 'by'",
    ),
    (
        "bad method",
        "name: p\ndatasets: {d: data}\ndedup:\n  - run: r\n    method: fuzzy\n",
        ":5: dedup[0].method: give method: exact or method: minhash",
    ),
    (
        "bad threshold",
        "name: p\ndatasets: {d: data}\ndedup:\n  - run: r\n    method: minhash\n    threshold: 2\n",
        ":4: dedup[0]: threshold must be between 0 and 1, got 2.0",
    ),
    (
        "unknown dataset",
        "name: p\ndatasets: {d: data}\ndedup:\n  - run: r\n    method: exact\n    datasets: [e]\n",
        ":6: dedup[0].datasets[0]: unknown dataset 'e' (datasets: d)",
    ),
    (
        "missing dataset folder",
        "name: p\ndatasets:\n  d: nowhere\ntag: []\n",
        ":3: datasets.d: the dataset folder",
    ),
    (
        "missing mix spec",
        "name: p\ndatasets: {d: data}\nmixes:\n  - spec: none.yaml\n",
        ":4: mixes[0].spec: the mix spec",
    ),
    (
        "no stages",
        "name: p\ndatasets: {d: data}\n",
        ":1: pipeline: no stages",
    ),
    (
        "run twice",
        "name: p\ndatasets: {d: data}\ntag:\n  - {run: r, taggers: [lengths]}\n"
        "dedup:\n  - {run: r, method: exact}\n",
        ": run 'r' appears twice among the tag and dedup runs",
    ),
    (
        "wrong type",
        "name: p\ndatasets: {d: data}\ntag:\n  - run: t\n    taggers: [lengths]\n"
        "    batch_size: many\n",
        ":6: tag[0].batch_size: expected an integer, got a string ('many')",
    ),
]


@pytest.mark.parametrize(("case", "text", "expected"), BAD, ids=[c[0] for c in BAD])
def test_a_bad_pipeline_is_refused_in_one_line_naming_file_and_line(
    tmp_path: Path, case: str, text: str, expected: str
) -> None:
    path = write_pipeline(tmp_path, text)
    code, output = run_cli(path)
    assert code != 0
    assert "Traceback" not in output
    assert output.startswith(f"Error: {path}"), output
    assert expected in output, output
    assert len(output.strip().splitlines()) == 1


def test_the_example_pipeline_lists_the_demo_stages(tmp_path: Path) -> None:
    for folder in ("pipelines", "mixes"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    data = tmp_path / "demo-out" / "data"
    (data / "documents").mkdir(parents=True)
    (data / "benchmarks").mkdir()
    (data / "benchmarks" / "demo_quiz.jsonl").write_text(
        '{"id": "q", "question": "a", "answer": "b"}\n'
    )
    pipeline = load_pipeline(tmp_path / "pipelines" / "demo.yaml")
    assert [stage.label for stage in plan(pipeline)] == [
        "contamination index demo_quiz",
        "tag tags (demo)",
        "tag evals (demo)",
        "dedup exact dedup_exact",
        "dedup minhash dedup_minhash",
        "mix demo v1",
        "mix demo v2",
        "index demo v2",
        "publish demo v2",
    ]
    (evals,) = pipeline.tag[1].recipe.taggers
    assert evals.params["index"] == str(data / "benchmarks" / "demo_quiz.index")


def test_a_second_run_of_the_same_pipeline_is_turned_away(tmp_path: Path) -> None:
    path = write_pipeline(
        tmp_path, "name: p\ndatasets: {d: data}\ntag:\n  - {run: t, taggers: [lengths]}\n"
    )
    with exclusive(load_pipeline(path).state, "run of pipeline 'p'", name=PIPELINE_LOCK):
        code, output = run_cli(path)
    assert code != 0
    assert "another run of pipeline 'p' is writing here: pid " in output
    assert len(output.strip().splitlines()) == 1


def test_a_stage_writing_into_the_state_folder_is_not_turned_away(tmp_path: Path) -> None:
    # The state folder is the tag run's folder: the pipeline's lock and the stage's are two files.
    path = write_pipeline(
        tmp_path,
        "name: p\ndatasets: {d: data}\nstate: data/attributes/t\n"
        "tag:\n  - {run: t, taggers: [lengths]}\n",
    )
    shutil.copyfile(DEMO_CORPUS / SHARDS[3], tmp_path / "data" / "documents" / "f.jsonl.zst")
    run = tmp_path / "data" / "attributes" / "t"
    with exclusive(run, "tag run 't'"):  # the stage's own lock is still held against others
        code, output = run_cli(path)
    assert code != 0
    assert "another tag run 't' is writing here: pid " in output
    code, output = run_cli(path)
    assert code == 0, output
    assert (run / "f.jsonl.zst").is_file()
    assert lock_path(run, PIPELINE_LOCK).is_file() and lock_path(run).is_file()


def test_the_summary_says_when_ray_workers_cpu_is_not_counted() -> None:
    stages = [StageReport("tag", documents=3, bytes=10, wall_seconds=1.0, cpu_seconds=0.5)]
    local = PipelineReport("p", list(stages)).lines()
    assert not any("Ray" in line for line in local)
    ray = PipelineReport("p", list(stages), distributed=True).lines()
    assert ray[:-1] == local
    assert ray[-1].startswith("cpu s counts this process and its child processes only")
