"""`dolmakit mix` and `dolmakit audit` on s3:// give the bytes and reports of local runs.

One dataset (documents, a `tags` run and a real MinHash dedup run: tests/test_audit_helpers)
is built locally with mixes v1 and v2, and copied to a bucket of the loopback S3 server; the
same specs are then mixed from and into the bucket, and the audit commands read both.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import write_lines
from conftest_ray import ray_cluster
from conftest_s3 import make_bucket, s3_environment, tree_bytes, upload_tree
from test_audit_helpers import Mixes, build_mixes, spec
from test_mix_helpers import write_spec

from dolmakit.cli.main import cli
from dolmakit.errors import ConfigError
from dolmakit.io.storage import RemotePath
from dolmakit.mix import build_mix
from dolmakit.run.backends import make_backend
from dolmakit.run.options import RunOptions

__all__ = ["ray_cluster"]  # the session fixture, imported so that pytest finds it


@dataclass(frozen=True)
class Built:
    """The local dataset and mixes, and their copies (data) and rebuilds (mixes) in S3."""

    local: Mixes
    specs: Path
    bucket: RemotePath
    data: RemotePath
    v1: RemotePath
    v2: RemotePath


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, ["--quiet", *map(str, args)])


def ok(*args: object) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.output


def content(root: Path) -> dict[str, bytes]:
    """Return every file of a mix folder but its manifest (which notes where the data was)."""
    return {k: v for k, v in tree_bytes(root).items() if k != "manifest.json"}


def manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_bytes())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, s3_server: str) -> Iterator[Built]:
    """Build the local mixes, upload the data, and build v1 and v2 again with s3:// paths."""
    root = tmp_path_factory.mktemp("s3-mix")
    local = build_mixes(root)
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
            patch.delenv(name, raising=False)
        for name, value in s3_environment(s3_server).items():
            patch.setenv(name, value)
        bucket = make_bucket(s3_server, "mix-audit")
        for path in sorted(local.data.rglob("*")):  # the dedup run's index is not needed
            rel = path.relative_to(local.data).as_posix()
            if path.is_file() and ("/.dolmakit/" not in rel or rel.endswith("clusters.parquet")):
                (bucket / "data" / rel).write_bytes(path.read_bytes())
        for version in (1, 2):
            ok(
                "mix",
                root / "specs" / f"toy-v{version}.yaml",
                "--data-root",
                bucket / "data",
                "--output",
                bucket / "mixes",
            )
        yield Built(
            local, root / "specs", bucket, bucket / "data", bucket / "mixes/toy/v1",
            bucket / "mixes/toy/v2",
        )  # fmt: skip


def test_mix_on_s3_writes_the_bytes_of_the_local_mix(built: Built) -> None:
    for remote, local in ((built.v1, built.local.v1), (built.v2, built.local.v2)):
        want = content(local)
        assert sorted(want) == [
            "decisions/d-00000.parquet",
            "decisions/d-00001.parquet",
            "index.parquet",
            *[f"shard-{n:05d}.jsonl.zst" for n in range(manifest(local)["totals"]["shards"])],
        ]
        assert content(remote) == want  # no work files left behind either
        mine, theirs = manifest(remote), manifest(local)
        assert mine["content_sha256"] == theirs["content_sha256"]
        assert mine["location"] == {"data_root": str(built.data)}
        assert {k: v for k, v in mine.items() if k not in ("timing", "location")} == {
            k: v for k, v in theirs.items() if k not in ("timing", "location")
        }
    # Same spec again: nothing to do (the manifest is read from the bucket).
    again = ok(
        "mix", built.specs / "toy-v1.yaml", "--data-root", built.data, "--output",
        f"{built.bucket}/mixes",
    )  # fmt: skip
    assert again.startswith("already built, nothing to do: mix toy v1")
    assert f"-> {built.v1}\n" in again


def test_mix_mixing_local_and_s3_and_output_root_in_the_spec(built: Built, tmp_path: Path) -> None:
    # Local data, output on s3 through the spec's output.root, work files on a local disk;
    # two worker processes.
    path = write_spec(
        tmp_path / "mix.yaml",
        {**spec(1), "output": {**spec(1)["output"], "root": f"{built.bucket}/from-local"}},
    )
    work = tmp_path / "work"
    ok("mix", path, "--data-root", built.local.data, "--work-dir", work, "--workers", "2",
       "--backend", "processes")  # fmt: skip
    assert content(built.bucket / "from-local/toy/v1") == content(built.local.v1)
    assert (work / "toy").is_dir() and not (work / "toy/v1").exists()
    # Data on s3 named by absolute URIs in the spec, output on a local disk.
    absolute = spec(1)
    for source in absolute["sources"]:
        source["documents"] = [f"{built.data}/{g}" for g in source["documents"]]
    path = write_spec(tmp_path / "abs.yaml", absolute)
    result = build_mix(
        path, data_root=built.data, output=tmp_path / "out", run_options=RunOptions(progress=False)
    )
    assert result.mix_dir == tmp_path / "out/toy/v1"
    assert content(result.mix_dir) == content(built.local.v1)
    # A glob that matches nothing in the bucket is a spec error naming the bucket's prefix.
    nowhere = f"{built.bucket}/nowhere"
    with pytest.raises(
        ConfigError, match=f"matches no document files under the data root {nowhere}"
    ):
        build_mix(
            built.specs / "toy-v1.yaml",
            data_root=nowhere,
            output=tmp_path,
            run_options=RunOptions(progress=False),
        )


def test_verify_on_s3(built: Built) -> None:
    clean = invoke("audit", "verify", built.v1, "--inputs", "--data-root", built.data)
    assert clean.exit_code == 0, clean.output
    local = invoke("audit", "verify", built.local.v1, "--inputs", "--data-root", built.local.data)
    assert clean.output == local.output
    assert clean.output.startswith("verified toy v1: ") and ", 5 input files:" in clean.output
    # A copy of the mix with one flipped byte in one shard object, and one stray object.
    copy = built.bucket / "tampered/toy/v1"
    upload_tree(built.local.v1, copy)
    shard = copy / "shard-00001.jsonl.zst"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01
    shard.write_bytes(bytes(data))
    (copy / "notes/extra.txt").write_bytes(b"stray")
    bad = invoke("audit", "verify", copy)
    assert bad.exit_code == 1
    problems = [line for line in bad.output.splitlines() if not line.startswith("FAILED")]
    assert problems[0] == "changed: shard-00001.jsonl.zst: sha256 differs"
    assert "extra: notes/extra.txt: a file not listed in the manifest" in problems
    assert bad.output.splitlines()[-1].startswith("FAILED toy v1: 4 shards")
    missing = invoke("audit", "verify", f"{built.bucket}/no/such/mix")
    assert missing.exit_code == 1
    assert f"{built.bucket}/no/such/mix/manifest.json" in missing.output
    assert "no manifest" in missing.output and "Traceback" not in missing.output


def test_sources_trace_where_diff_on_s3_match_local(built: Built) -> None:
    def both(*args: str, data: bool = False) -> tuple[str, str]:
        extra_remote = ("--data-root", str(built.data)) if data else ()
        extra_local = ("--data-root", str(built.local.data)) if data else ()
        remote = ok("audit", *args[:1], str(built.v1), *args[1:], *extra_remote)
        local = ok("audit", *args[:1], str(built.local.v1), *args[1:], *extra_local)
        return remote, local

    remote, local = both("sources", "--json")
    assert remote == local and json.loads(remote)[0]["name"] == "web"
    remote, local = both("trace", "shard-00000:1", "--attributes", data=True)
    assert remote == local and "attr:     tags__lang__en" in remote
    remote, local = both("where", "documents/books/part-0.jsonl.zst:3", data=True)
    assert remote == local and "outcome:  in the mix" in remote
    # w5 was removed as a near duplicate of w4: the dedup run's clusters (in the bucket)
    # name the kept document (their paths are the local ones the dedup run saw).
    remote, _ = both("where", "w5", data=True)
    assert "removed as a duplicate by clause `not minhash.duplicate`; the kept copy is w4" in remote
    # The recorded data root (in the bucket) is used when --data-root is not given.
    assert ok("audit", "trace", built.v1, "w7") == ok(
        "audit", "trace", built.local.v1, "w7", "--data-root", built.local.data
    )
    # diff between an s3 mix and a local one, both ways round, as between two local mixes.
    assert ok("audit", "diff", built.v1, built.local.v2) == ok(
        "audit", "diff", built.local.v1, built.local.v2
    )
    assert ok("audit", "diff", built.local.v2, built.v1) == ok(
        "audit", "diff", built.local.v2, built.local.v1
    )


def test_card_and_rebuild_on_s3(built: Built, tmp_path: Path) -> None:
    cards = built.bucket / "cards"
    out = ok("audit", "card", built.v1, "--out", cards, "--data-root", built.data)
    assert out == f"wrote {cards}/card.md\nwrote {cards}/card.html\n"
    ok("audit", "card", built.local.v1, "--out", tmp_path, "--data-root", built.local.data)
    for name in ("card.md", "card.html"):
        assert (cards / name).read_bytes() == (tmp_path / name).read_bytes()
    # A card written into the s3 mix folder is not an "extra" file for verify.
    ok("audit", "card", built.v2)
    assert ok("audit", "verify", built.v2).startswith("verified toy v2")
    # Rebuild of the s3 mix from the s3 data: into a local temporary folder, and into s3.
    assert ok("audit", "rebuild", built.v1, "--data-root", built.data).startswith(
        "reproducible: 7 files byte-identical (s3://mix-audit/mixes/toy/v1)"
    )
    kept = built.bucket / "rebuilt"
    assert ok("audit", "rebuild", built.v2, "--keep", kept).startswith("reproducible: ")
    assert content(kept / "toy/v2") == content(built.local.v2)


def test_mix_with_ray_on_s3_equals_local(built: Built, ray_cluster) -> None:
    result = build_mix(
        built.specs / "toy-v1.yaml",
        data_root=built.data,
        output=built.bucket / "ray",
        run_options=RunOptions(backend=make_backend("ray"), progress=False),
    )
    assert result.mix_dir == built.bucket / "ray/toy/v1"
    assert content(result.mix_dir) == content(built.local.v1)
    assert manifest(result.mix_dir)["content_sha256"] == manifest(built.local.v1)["content_sha256"]


def test_unreadable_lines_of_s3_inputs_are_listed_relative_to_the_data_root(
    built: Built, tmp_path: Path
) -> None:
    docs = [json.dumps({"id": f"p{i}", "text": f"plain text number {i}"}) for i in range(6)]
    docs.insert(3, "{not json")
    local = tmp_path / "data"
    write_lines(local / "documents/plain/part-0.jsonl", docs)
    upload_tree(local, built.bucket / "plain")
    path = write_spec(
        tmp_path / "plain.yaml",
        {
            "name": "plain",
            "version": 1,
            "seed": 3,
            "tokenizer": "whitespace",
            "sources": [{"name": "plain", "documents": "documents/*/*.jsonl", "rate": 1.0}],
        },
    )
    mine = build_mix(
        path,
        data_root=built.bucket / "plain",
        output=built.bucket / "plain-mix",
        run_options=RunOptions(progress=False),
    )
    theirs = build_mix(
        path, data_root=local, output=tmp_path / "mix", run_options=RunOptions(progress=False)
    )
    assert content(mine.mix_dir) == content(theirs.mix_dir)
    rejects = [
        json.loads(line)
        for line in (mine.mix_dir / ".dolmakit" / "rejects.jsonl").read_bytes().splitlines()
    ]
    assert [(r["path"], r["line"]) for r in rejects] == [("documents/plain/part-0.jsonl", 4)]
    assert mine.manifest.totals.documents == 6
