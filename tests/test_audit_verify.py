"""`dolmakit audit verify` on a real mix: an untouched mix passes, each tampering is named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from test_audit_helpers import Mixes, build_mixes, copy_mix

from dolmakit.audit.verify import verify_mix
from dolmakit.cli.main import cli
from dolmakit.io.compression import open_write
from dolmakit.io.reader import read_documents


@pytest.fixture(scope="module")
def mixes(tmp_path_factory: pytest.TempPathFactory) -> Mixes:
    return build_mixes(tmp_path_factory.mktemp("audit-verify"))


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["audit", "verify", *args])


def tampered(mixes: Mixes, tmp_path: Path) -> Path:
    return copy_mix(mixes.v1, tmp_path / "mix")


def test_untouched_mix_passes_with_one_line(mixes: Mixes) -> None:
    shards = sorted(mixes.v1.glob("shard-*.jsonl.zst"))
    docs = [doc for shard in shards for _, doc in read_documents(shard)]
    tokens = sum(len(d.text.split()) for d in docs)  # the mix's tokenizer is 'whitespace'
    size = sum(p.stat().st_size for p in shards)
    result = run(str(mixes.v1))
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"verified toy v1: {len(shards)} shards, {len(docs):,} documents, {tokens:,} tokens,"
        f" {size:,} bytes: all match the manifest\n"
    )


def test_flipped_byte_is_a_changed_shard(mixes: Mixes, tmp_path: Path) -> None:
    mix = tampered(mixes, tmp_path)
    shard = mix / "shard-00001.jsonl.zst"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01
    shard.write_bytes(bytes(data))
    result = run(str(mix))
    assert result.exit_code == 1
    assert "changed: shard-00001.jsonl.zst: sha256 differs" in result.output
    assert result.output.splitlines()[-1].startswith("FAILED toy v1:")
    report = verify_mix(mix)
    assert {p.path for p in report.problems} == {"shard-00001.jsonl.zst"}


def test_truncated_shard(mixes: Mixes, tmp_path: Path) -> None:
    mix = tampered(mixes, tmp_path)
    shard = mix / "shard-00002.jsonl.zst"
    size = shard.stat().st_size
    shard.write_bytes(shard.read_bytes()[: size // 2])
    result = run(str(mix))
    assert result.exit_code == 1
    assert (
        f"truncated: shard-00002.jsonl.zst: {size // 2:,} bytes, manifest says {size:,}"
        in result.output
    )


def test_removed_shard(mixes: Mixes, tmp_path: Path) -> None:
    mix = tampered(mixes, tmp_path)
    (mix / "shard-00003.jsonl.zst").unlink()
    result = run(str(mix))
    assert result.exit_code == 1
    assert "missing: shard-00003.jsonl.zst: listed in the manifest, not found" in result.output
    assert "FAILED toy v1: 3 shards" in result.output


def test_added_shard(mixes: Mixes, tmp_path: Path) -> None:
    mix = tampered(mixes, tmp_path)
    shutil.copy(mix / "shard-00000.jsonl.zst", mix / "shard-00004.jsonl.zst")
    result = run(str(mix))
    assert result.exit_code == 1
    assert "extra: shard-00004.jsonl.zst: a shard not listed in the manifest" in result.output
    assert result.output.endswith(": 1 problem\n")


def test_edited_manifest(mixes: Mixes, tmp_path: Path) -> None:
    mix = tampered(mixes, tmp_path)
    manifest = json.loads((mix / "manifest.json").read_text())
    manifest["sources"][0]["licence"] = "CC0"  # a claim changed by hand, nothing else
    (mix / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    result = run(str(mix))
    assert result.exit_code == 1
    assert "manifest: manifest.json: content hash" in result.output
    assert "the manifest was edited" in result.output


def test_manifest_edit_with_a_fixed_up_hash_still_fails_on_the_shard(
    mixes: Mixes, tmp_path: Path
) -> None:
    from dolmakit.mix import content_hash

    mix = tampered(mixes, tmp_path)
    manifest = json.loads((mix / "manifest.json").read_text())
    manifest["shards"][0]["documents"] += 1
    manifest["content_sha256"] = content_hash(manifest)
    (mix / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    report = verify_mix(mix)
    assert [p.kind for p in report.problems] == ["count"]
    assert report.problems[0].path == "shard-00000.jsonl.zst"


def test_moving_the_mix_changes_nothing(mixes: Mixes, tmp_path: Path) -> None:
    mix = tampered(mixes, tmp_path / "elsewhere")
    assert verify_mix(mix).ok


def test_inputs_detects_a_changed_input_file(mixes: Mixes, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(mixes.data, data)
    ok = run(str(mixes.v1), "--inputs", "--data-root", str(data))
    assert ok.exit_code == 0, ok.output
    assert ok.output.endswith(", 5 input files: all match the manifest\n")
    # rewrite one attribute file with one score changed: same documents, other bytes
    attrs = data / "attributes" / "tags" / "web" / "part-0.jsonl.zst"
    rows = [d.to_dict() for _, d in read_documents(data / "documents" / "web" / "part-0.jsonl.zst")]
    with open_write(attrs) as out:
        for i, row in enumerate(rows):
            score = 0.95 if i == 0 else (i % 10) / 10
            line = {
                "id": row["id"],
                "attributes": {"tags__lang__en": [[0, len(row["text"]), score]]},
            }
            out.write(json.dumps(line).encode() + b"\n")
    without = run(str(mixes.v1), "--data-root", str(data))
    assert without.exit_code == 0
    result = run(str(mixes.v1), "--inputs", "--data-root", str(data))
    assert result.exit_code == 1
    assert f"input changed: {attrs}:" in result.output
    assert result.output.endswith(", 5 input files: 1 problem\n")


def test_inputs_uses_the_recorded_data_root(mixes: Mixes) -> None:
    report = verify_mix(mixes.v1, inputs=True)
    assert report.ok and report.inputs_checked == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["audit", "verify", "{tmp}"], "{tmp}/manifest.json: no manifest"),
        (["audit", "verify", "{tmp}/nothing"], "{tmp}/nothing/manifest.json: no manifest"),
        (["audit", "sources", "{tmp}"], "{tmp}/manifest.json: no manifest"),
        (["audit", "trace", "{v1}", "nosuchdoc"], "nosuchdoc: not an output document"),
        (["audit", "where", "{v1}", "nosuchdoc"], "nosuchdoc: not an input document id"),
        (["audit", "trace", "{v1}", "shard-00000:999"], "shard-00000:999: shard-00000.jsonl.zst"),
        (["audit", "card", "{tmp}"], "{tmp}/manifest.json: no manifest"),
        (["audit", "rebuild", "{tmp}"], "{tmp}/manifest.json: no manifest"),
        (["audit", "diff", "{v1}", "{tmp}"], "{tmp}/manifest.json: no manifest"),
    ],
)
def test_errors_are_one_line(mixes: Mixes, tmp_path: Path, args: list[str], message: str) -> None:
    values = {"tmp": str(tmp_path), "v1": str(mixes.v1)}
    result = CliRunner().invoke(cli, [a.format(**values) for a in args])
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: " + message.format(**values)), lines[0]


def test_not_json_manifest_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    result = CliRunner().invoke(cli, ["audit", "verify", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {tmp_path}/manifest.json: invalid JSON")


def test_damaged_index_is_named_by_verify_and_one_line_for_trace(
    mixes: Mixes, tmp_path: Path
) -> None:
    mix = tampered(mixes, tmp_path)
    index = mix / "index.parquet"
    index.write_bytes(index.read_bytes()[:100])
    result = run(str(mix))
    assert result.exit_code == 1
    assert "truncated: index.parquet:" in result.output
    traced = CliRunner().invoke(cli, ["audit", "trace", str(mix), "b1"])
    assert traced.exit_code == 1
    assert traced.output.startswith("Error: unreadable Parquet file in the mix")
    assert len(traced.output.strip().splitlines()) == 1


def test_other_json_is_not_a_mix(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"name": "x"}')
    result = CliRunner().invoke(cli, ["audit", "sources", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {tmp_path}/manifest.json: not a dolmakit mix manifest"
        " (format is not 'dolmakit.mix.manifest/1')\n"
    )
