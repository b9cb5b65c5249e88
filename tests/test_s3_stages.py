"""Commands on s3:// inputs and outputs give the bytes of the same run on local files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DEMO_CORPUS, make_docs, write_lines
from conftest_ray import ray_cluster
from conftest_s3 import tree_bytes, upload_tree

from dolmakit.cli.main import cli
from dolmakit.errors import InputError
from dolmakit.io import storage
from dolmakit.io.storage import RemotePath
from dolmakit.run.backends import make_backend
from dolmakit.run.options import RunOptions
from dolmakit.taggers.stage import tag
from dolmakit.taggers.train import load_classes

__all__ = ["ray_cluster"]  # the session fixture, imported so that pytest finds it
TAGGERS = "lengths,gopher_quality,c4"


def visible_bytes(root: Path) -> dict[str, bytes]:
    """Return {relative path: bytes} without hidden run records (they name their paths)."""
    return {
        k: v
        for k, v in tree_bytes(root).items()
        if not any(p.startswith(".") for p in Path(k).parts)
    }


def small_corpus(root: Path) -> Path:
    """Copy two demo files and a small mixed folder (with a bad line) under `root`."""
    for name in ("debian-handbook/en-0000.jsonl.zst", "debian-handbook/fr-0000.jsonl.zst"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DEMO_CORPUS / name, root / name)
    write_lines(root / "mixed" / "a.jsonl.gz", [*make_docs(30, "mixed"), "{not json"])
    return root


def run_cli(args: list[str]) -> str:
    result = CliRunner().invoke(cli, ["--quiet", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_convert_tag_inspect_stats_round_trip(tmp_path: Path, s3_bucket: RemotePath) -> None:
    source = small_corpus(tmp_path / "source")
    local, remote = tmp_path / "ds", s3_bucket / "ds"
    for ds in (local, remote):
        run_cli(["convert", str(source), f"{ds}/documents", "--backend", "serial"])
    run_cli(
        ["tag", f"{local}/documents", "--run", "q", "--taggers", TAGGERS, "--backend", "serial"]
    )
    run_cli(["tag", f"{remote}/documents", "--run", "q", "--taggers", TAGGERS, "--workers", "2"])
    want = visible_bytes(local)
    assert sorted(want) == [
        "attributes/q/debian-handbook/en-0000.jsonl.zst",
        "attributes/q/debian-handbook/fr-0000.jsonl.zst",
        "attributes/q/mixed/a.jsonl.zst",
        "documents/debian-handbook/en-0000.jsonl.zst",
        "documents/debian-handbook/fr-0000.jsonl.zst",
        "documents/mixed/a.jsonl.zst",
    ]
    assert visible_bytes(remote) == want
    records = json.loads(
        (remote / "attributes/q/.dolmakit/mixed/a.jsonl.zst.done.json").read_bytes()
    )
    assert records["input"]["etag"] and records["outputs"][0]["path"].startswith("s3://")
    rejects = (remote / "documents/.dolmakit/rejects.jsonl").read_bytes().decode()
    assert f'"path":"{source}/mixed/a.jsonl.gz","line":31' in rejects

    shown = [
        run_cli(["inspect", f"{ds}/documents", "--json", "--limit", "4"]) for ds in (local, remote)
    ]
    assert shown[0] == shown[1] and len(shown[0].splitlines()) == 4
    assert "q__c4__pass" in shown[1]
    reports = [run_cli(["stats", str(ds)]) for ds in (local, remote)]
    assert reports[1] == reports[0].replace(str(local), str(remote))

    # Parquet written to s3 reads back as the same documents (from s3 to local).
    run_cli(["convert", f"{remote}/documents", f"{s3_bucket}/pq", "--format", "parquet"])
    run_cli(["convert", f"{s3_bucket}/pq", str(tmp_path / "back"), "--format", "jsonl.zst"])
    assert visible_bytes(tmp_path / "back") == {
        k.removeprefix("documents/"): v for k, v in want.items() if k.startswith("documents/")
    }


def test_resume_after_a_partial_run_on_s3(tmp_path: Path, s3_bucket: RemotePath) -> None:
    files = {f"p{i}.jsonl": make_docs(20, prefix=f"f{i}-") for i in range(3)}
    files["p2.jsonl"].append("{broken")  # type: ignore[arg-type]
    for name, docs in files.items():
        write_lines(tmp_path / "ds" / "documents" / name, docs)
    upload_tree(tmp_path / "ds", s3_bucket / "ds")
    remote = f"{s3_bucket}/ds/documents"
    with pytest.raises(InputError, match=r"p2.jsonl:21: invalid JSON"):
        tag([remote], "q", TAGGERS, run_options=RunOptions(on_error="fail", progress=False))
    assert not (s3_bucket / "ds/attributes/q/p2.jsonl").exists()
    assert (s3_bucket / "ds/attributes/q/.dolmakit/p1.jsonl.done.json").is_file()
    # The input is repaired: the finished shards are kept, the changed one is redone.
    fixed = tmp_path / "ds" / "documents" / "p2.jsonl"
    write_lines(fixed, files["p2.jsonl"][:-1])
    (s3_bucket / "ds/documents/p2.jsonl").write_bytes(fixed.read_bytes())
    again = tag([remote], "q", TAGGERS, run_options=RunOptions(on_error="fail", progress=False))
    assert (again.shards, again.shards_skipped, again.written) == (3, 2, 60)
    tag([tmp_path / "ds" / "documents"], "q", TAGGERS, run_options=RunOptions(progress=False))
    assert visible_bytes(s3_bucket / "ds") == visible_bytes(tmp_path / "ds")
    # A changed object (new ETag) is redone even when its size stays the same.
    (s3_bucket / "ds/attributes/q/p0.jsonl").write_bytes(
        b"x" * storage.size(s3_bucket / "ds/attributes/q/p0.jsonl")
    )
    third = tag([remote], "q", TAGGERS, run_options=RunOptions(progress=False))
    assert third.shards_skipped == 2
    assert visible_bytes(s3_bucket / "ds") == visible_bytes(tmp_path / "ds")


def test_ray_tag_on_s3_equals_local(tmp_path: Path, s3_bucket: RemotePath, ray_cluster) -> None:
    source = small_corpus(tmp_path / "ds" / "documents")
    upload_tree(tmp_path / "ds", s3_bucket / "ds")
    tag([source], "q", TAGGERS, run_options=RunOptions(progress=False))
    summary = tag(
        [f"{s3_bucket}/ds/documents"],
        "q",
        TAGGERS,
        run_options=RunOptions(backend=make_backend("ray"), progress=False),
    )
    assert summary.shards == 3 and summary.rejected_total == 1
    assert visible_bytes(s3_bucket / "ds") == visible_bytes(tmp_path / "ds")


def test_train_classifier_reads_documents_from_s3(tmp_path: Path, s3_bucket: RemotePath) -> None:
    source = small_corpus(tmp_path / "docs")
    upload_tree(source, s3_bucket / "docs")
    local = load_classes(
        {
            "en": [str(source / "debian-handbook/en-0000.jsonl.zst")],
            "fr": [str(source / "debian-handbook/fr-*.jsonl.zst")],
        }
    )
    remote = load_classes(
        {
            "en": [f"{s3_bucket}/docs/debian-handbook/en-0000.jsonl.zst"],
            "fr": [f"{s3_bucket}/docs/debian-handbook/fr-*.jsonl.zst"],
        }
    )
    assert remote.examples == local.examples and len(remote.examples) > 100
    assert list(remote.files.values()) == list(local.files.values())
    assert list(remote.files) == [
        f"{s3_bucket}/docs/debian-handbook/{lang}-0000.jsonl.zst" for lang in ("en", "fr")
    ]
    result = CliRunner().invoke(
        cli,
        [
            "train-classifier",
            "x",
            "--class",
            f"a={s3_bucket}/docs",
            "--class",
            "b=y",
            "--output",
            f"{s3_bucket}/model",
        ],
    )
    assert result.exit_code == 2 and "--output must be a local folder" in result.output
