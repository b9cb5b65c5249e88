"""`audit rebuild`: a real mix rebuilt from its manifest is byte-identical; tampering shows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_audit_helpers import Mixes, build_mixes, copy_mix

from dolmakit.audit.rebuild import rebuild_mix
from dolmakit.cli.main import cli
from dolmakit.mix import build_from_spec_dict, content_hash
from dolmakit.run.options import RunOptions


@pytest.fixture(scope="module")
def mixes(tmp_path_factory: pytest.TempPathFactory) -> Mixes:
    return build_mixes(tmp_path_factory.mktemp("audit-rebuild"))


def test_untouched_mix_is_reproducible(mixes: Mixes, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["audit", "rebuild", str(mixes.v1)])
    assert result.exit_code == 0, result.output
    files = len(list(mixes.v1.glob("shard-*"))) + len(list(mixes.v1.glob("decisions/*"))) + 1
    assert result.output == (f"reproducible: {files} files byte-identical ({mixes.v1})\n")


def test_tampered_shard_shows_the_first_difference(mixes: Mixes, tmp_path: Path) -> None:
    mix = copy_mix(mixes.v1, tmp_path / "mix")
    shard = mix / "shard-00001.jsonl.zst"
    data = bytearray(shard.read_bytes())
    at = len(data) // 2
    data[at] ^= 0xFF
    shard.write_bytes(bytes(data))
    result = CliRunner().invoke(cli, ["audit", "rebuild", str(mix)])
    assert result.exit_code == 1
    assert result.output == (
        f"not reproducible: shard-00001.jsonl.zst: first differs at byte {at:,}\n"
    )


def test_changed_input_shows_in_the_manifest(mixes: Mixes, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(mixes.data, data)
    # the same data in another folder: the content hash does not depend on where it is
    assert rebuild_mix(mixes.v1, data_root=data).reproducible
    extra = data / "documents" / "web" / "part-1.jsonl.zst"
    shutil.copy(data / "documents" / "web" / "part-0.jsonl.zst", extra)
    for run in ("tags", "dedup_minhash"):
        src = data / "attributes" / run / "web" / "part-0.jsonl.zst"
        shutil.copy(src, src.with_name("part-1.jsonl.zst"))
    result = rebuild_mix(mixes.v1, data_root=data)
    assert not result.reproducible
    # inputs are listed in job order: the new web file comes before the books file
    assert result.message().startswith("not reproducible: manifest.json: field decisions[1].")


def test_build_from_spec_dict_gives_the_same_content(mixes: Mixes, tmp_path: Path) -> None:
    manifest = json.loads((mixes.v2 / "manifest.json").read_text())
    rebuilt = build_from_spec_dict(
        manifest["spec"],
        mixes.data,
        tmp_path / "out",
        spec_file=manifest["spec_file"],
        run_options=RunOptions(progress=False),
    )
    assert rebuilt.mix_dir == (tmp_path / "out" / "toy" / "v2").resolve()
    assert rebuilt.manifest.content_sha256 == manifest["content_sha256"]
    assert content_hash(rebuilt.manifest) == content_hash(manifest) == manifest["content_sha256"]
    assert rebuilt.manifest.location.data_root == str(mixes.data.resolve())
    for shard in manifest["shards"]:
        path = shard["path"]
        assert (rebuilt.mix_dir / path).read_bytes() == (mixes.v2 / path).read_bytes()


def test_rebuild_keep_folder(mixes: Mixes, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["audit", "rebuild", str(mixes.v2), "--keep", str(tmp_path / "kept")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "kept" / "toy" / "v2" / "manifest.json").is_file()


@pytest.mark.parametrize("sizing", [{"scale": 0.5}, {"target_tokens": "2K"}, {}])
def test_canonical_spec_validates_back_to_itself(tmp_path: Path, sizing: dict) -> None:
    from test_mix_helpers import write_spec

    from dolmakit.mix.spec import load_spec, spec_from_canonical

    raw = {
        "name": "x",
        "version": "2b",
        "seed": 3,
        "tokenizer": "whitespace",
        **sizing,
        "sources": [
            {
                "name": "a",
                "documents": "documents/a/*.jsonl",
                "attributes": ["t"],
                "filter": {"include": ["$.attributes[?(@.t__q__s && @.t__q__s[0][2] >= 0.5)]"]},
                "weight": 2,
            },
            {"name": "b", "documents": ["documents/b/*"], "rate": 1.5, "max_repeats": 2},
        ],
        "span_replacements": [{"attribute": "pii.email", "replacement": "E", "min_score": 0.1}],
        "output": {"format": "jsonl", "shard_size": "1MB", "drop_fields": ["added"]},
    }
    spec = load_spec(write_spec(tmp_path / "s.yaml", raw))
    again = spec_from_canonical(spec.canonical(), Path("s.yaml"))
    assert again.canonical() == spec.canonical()
    assert again.sha256() == spec.sha256()
