"""`dolmakit dedup exact` and `dedup minhash` on s3:// give the results of local runs.

A small dataset with exact and near duplicates across two sources is written locally and
copied to a bucket of the loopback S3 server; every run is made on both and compared: the
attribute files byte for byte, clusters.parquet row for row (its `path` column names the
documents, local paths or s3:// URIs), summary.json whole, and the report folders file for
file (names differ only in the path hash of the shard keys; no work or temporary file stays).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import write_lines
from conftest_ray import ray_cluster
from conftest_s3 import tree_bytes, upload_tree

from dolmakit.cli.main import cli
from dolmakit.io.arrays import read_table
from dolmakit.io.storage import RemotePath

__all__ = ["ray_cluster"]  # the session fixture, imported so that pytest finds it

TEXT = (
    "the quick brown fox jumps over the lazy dog while seven wizards quietly hex a jovial "
    "bank clerk who sells stamps on mondays and reads poems at night in the old library"
)
OTHER = (
    "rain fell on the harbour town for three days and the fishing boats stayed tied to the "
    "pier while children counted gulls from the windows of the school above the market"
)
SHARED_PARAGRAPH = "a repeated boilerplate paragraph about cookies and privacy settings"
FAST = ("--partitions", "4", "--backend", "serial")
_KEY_HASH = re.compile(r"(^|/)[0-9a-f]{12}-")


def doc(i: str, text: str, source: str, url: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": i, "text": text, "source": source}
    if url is not None:
        out["metadata"] = {"url": url}
    return out


def write_dataset(root: Path) -> Path:
    """Write a two-source dataset under `root`; return its documents folder."""
    write_lines(
        root / "documents" / "web" / "a.jsonl",
        [
            doc("a1", TEXT, "web", "http://x/1"),
            doc("a2", f"{SHARED_PARAGRAPH}\n{OTHER}", "web", "http://x/2"),
            doc("a3", "a short unrelated note", "web"),
        ],
    )
    write_lines(
        root / "documents" / "news" / "b.jsonl",
        [
            doc("b1", TEXT + " again", "news", "http://x/1"),
            doc("b2", TEXT, "news"),
            doc("b3", f"headline\n{SHARED_PARAGRAPH}", "news", "http://x/3"),
        ],
    )
    return root / "documents"


def ok(*args: object) -> str:
    result = CliRunner().invoke(cli, ["--quiet", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


def attribute_files(dataset: Path, run: str) -> dict[str, bytes]:
    tree = tree_bytes(dataset / "attributes" / run)
    return {k: v for k, v in tree.items() if not k.startswith(".dolmakit")}


def report_names(report: Path) -> list[str]:
    """Return the files of a report folder, shard keys without their path hash."""
    return sorted(_KEY_HASH.sub(r"\1", k) for k in tree_bytes(report))


def clusters(report: Path, roots: dict[str, str]) -> list[dict[str, Any]]:
    """Return the rows of clusters.parquet, document paths made relative to their root."""
    rows = read_table(report / "clusters.parquet").to_pylist()
    for row in rows:
        for root, name in roots.items():
            if row["path"].startswith(root + "/"):
                row["path"] = name + row["path"][len(root) :]
    return rows


def summary(report: Path) -> dict[str, Any]:
    body = json.loads((report / "summary.json").read_bytes())
    return {k: v for k, v in body.items() if "time" not in k and "seconds" not in k}


def same_run(
    local_ds: Path, remote_ds: Path, run: str, local_report: Path, remote_report: Path
) -> None:
    """Assert a local and a remote run wrote the same attributes, clusters and summary."""
    assert attribute_files(remote_ds, run) == attribute_files(local_ds, run)
    roots = {str(local_ds.parent): "R", str(remote_ds.parent): "R"}
    assert clusters(remote_report, roots) == clusters(local_report, roots)
    assert summary(remote_report) == summary(local_report)
    names = report_names(remote_report)
    assert names == report_names(local_report)
    # Only the exact method's per-shard hashes stay in work/ (for a rerun).
    leftovers = [n for n in names if n.startswith("work/") and not n.startswith("work/shards/")]
    assert not leftovers and not [n for n in names if ".tmp-" in n]


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("text", {"a1": "duplicate"}),  # b2 (news sorts first) keeps the text
        ("metadata.url", {"a1": "duplicate"}),  # b1 and a1 share http://x/1
        # b3 holds the shared paragraph first; b2's text is a1's one paragraph.
        ("paragraph", {"a1": "paragraph_duplicate", "a2": "paragraph_duplicate"}),
    ],
)
def test_exact_on_s3_equals_local(
    tmp_path: Path, s3_bucket: RemotePath, by: str, expected: dict[str, str]
) -> None:
    local = tmp_path / "ds"
    write_dataset(local)
    remote = s3_bucket / "ds"
    upload_tree(local, remote)
    ok("dedup", "exact", local / "documents", "--run", "ex", "--by", by, *FAST)
    ok("dedup", "exact", remote / "documents", "--run", "ex", "--by", by, *FAST)
    report = "attributes/ex/.dolmakit"
    same_run(local, remote, "ex", local / report, remote / report)
    marked = {}
    for line in (remote / "attributes/ex/web/a.jsonl").read_bytes().splitlines():
        row = json.loads(line)
        for key in row["attributes"]:
            if "duplicate" in key:
                marked[row["id"]] = key.split("__")[-1]
    assert marked == expected
    assert any(n.startswith("work/shards/") for n in report_names(remote / report))


def test_minhash_incremental_on_s3_equals_local(tmp_path: Path, s3_bucket: RemotePath) -> None:
    local = tmp_path / "local"
    write_lines(
        local / "old/documents/web/a.jsonl", [doc("o1", TEXT, "web"), doc("o2", OTHER, "web")]
    )
    write_lines(
        local / "new/documents/news/b.jsonl",
        [doc("n1", TEXT + " again", "news"), doc("n2", TEXT, "news"), doc("n3", "fresh", "news")],
    )
    remote = s3_bucket / "ds"
    upload_tree(local, remote)
    for root in (local, remote):
        ok("dedup", "minhash", root / "old/documents", "--run", "mh", *FAST)
        ok(
            "dedup", "minhash", root / "new/documents", "--run", "mh", *FAST,
            "--index", root / "old/attributes/mh/.dolmakit", "--report-dir", root / "report",
        )  # fmt: skip
    old_report = "old/attributes/mh/.dolmakit"
    same_run(local / "old", remote / "old", "mh", local / old_report, remote / old_report)
    same_run(local / "new", remote / "new", "mh", local / "report", remote / "report")
    got = summary(remote / "report")
    assert got["indexed_documents"] == 2 and got["removed"] == 2  # n1, n2 against o1
    rows = clusters(remote / "report", {str(remote): "R"})
    assert {(r["id"], r["path"][:6], r["keeper"]) for r in rows} == {
        ("o1", "R/old/", True), ("n1", "R/new/", False), ("n2", "R/new/", False),
    }  # fmt: skip


def test_minhash_mixing_local_documents_and_s3_report(
    tmp_path: Path, s3_bucket: RemotePath
) -> None:
    """Local documents and attributes, the report and index in the bucket; two processes."""
    local = tmp_path / "ds"
    write_dataset(local)
    args = ("--partitions", "4", "--run", "mh")
    ok("dedup", "minhash", local / "documents", *args, "--backend", "serial",
       "--report-dir", tmp_path / "report")  # fmt: skip
    want = attribute_files(local, "mh")
    report = s3_bucket / "reports/mh"
    ok("dedup", "minhash", local / "documents", *args, "--backend", "processes", "--workers",
       "2", "--report-dir", report)  # fmt: skip
    assert attribute_files(local, "mh") == want
    assert clusters(report, {}) == clusters(tmp_path / "report", {})
    assert summary(report) == summary(tmp_path / "report")
    assert report_names(report) == report_names(tmp_path / "report")
    assert summary(report)["removed"] == 2  # b1 and a1 near/exact copies of b2


def test_minhash_on_s3_with_processes_and_ray(
    tmp_path: Path, s3_bucket: RemotePath, ray_cluster: Any
) -> None:
    local = tmp_path / "ds"
    write_dataset(local)
    remote = s3_bucket / "ds"
    upload_tree(local, remote)
    report = "attributes/mh/.dolmakit"
    ok("dedup", "minhash", local / "documents", "--run", "mh", *FAST)
    ok("dedup", "minhash", remote / "documents", "--run", "mh", "--partitions", "4",
       "--backend", "processes", "--workers", "2")  # fmt: skip
    same_run(local, remote, "mh", local / report, remote / report)
    ray_ds = s3_bucket / "ray"
    upload_tree(local / "documents", ray_ds / "documents")
    ok("dedup", "minhash", ray_ds / "documents", "--run", "mh", "--partitions", "4",
       "--backend", "ray", "--workers", "2")  # fmt: skip
    assert attribute_files(ray_ds, "mh") == attribute_files(local, "mh")
    roots = {str(local): "DS", str(ray_ds): "DS"}
    assert clusters(ray_ds / report, roots) == clusters(local / report, roots)
    got, want = summary(ray_ds / report), summary(local / report)
    assert (got.pop("clustering"), want.pop("clustering")) == ("distributed", "local")
    assert got == want
